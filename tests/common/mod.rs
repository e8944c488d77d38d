//! Shared by the Ruby interop tests: JSON equality as the typed dump defines it, JSON paths into a dump, the
//! differences that an older ActiveJob's reading is allowed to have from Rails 8.1's (and so from Rust's), and
//! running `ruby_interop/typed_dump.rb`.
//!
//! Each test module uses part of it.
#![allow(dead_code)]

pub mod versioned_envelope;

use activejob_karafka::json::JsonStyle;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The escaping a fixture was written with (two fixtures turned ActiveSupport's escaping off).
pub fn style_for(name: &str) -> activejob_karafka::json::JsonStyle {
    match name {
        "strings_escaping_html_entities_off.json" => JsonStyle {
            escape_html_entities: false,
            escape_js_separators: true,
        },
        "strings_escaping_load_defaults_8_1.json" => JsonStyle {
            escape_html_entities: true,
            escape_js_separators: false,
        },
        _ => JsonStyle::default(),
    }
}

/// The golden payloads of one fixture dir (`6.1`, `7.1`, `8.1`), sorted: every `*.json` but the
/// manifest and Rails 8.1's readings.
pub fn golden_payloads(version: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(crate_root().join("fixtures").join(version))
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && name != "manifest.json" && name != "rails81_decoded.json"
        })
        .collect();
    files.sort();
    files
}

/// Straight to the process's stderr: libtest captures `println!`, and these lines must show in every run.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

// ------------------------------------------------------------------------------------------------ JSON equality

/// A JSON number as a value: integers and floats never equal each other (`1` vs `1.0`), while spellings of the
/// same float are equal (`1e20`, `1e+20`, `1.0e+20`, `100000000000000000000.0`). Compared exactly, digit by digit
/// (serde_json keeps the source text with `arbitrary_precision`), so no precision is lost either way.
#[derive(Debug, PartialEq, Eq)]
pub enum NumKey {
    /// sign and digits without leading zeros; zero has no sign
    Int(bool, String),
    /// sign, significant digits without leading/trailing zeros, and the power of ten of the last digit;
    /// zero keeps its sign (`-0.0` is not `0.0` in Ruby)
    Float(bool, String, i64),
    /// not a JSON number spelling (should not happen): compared as text
    Raw(String),
}

pub fn num_key(text: &str) -> NumKey {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !digits_ok(int_part) || frac_part.is_some_and(|f| !digits_ok(f)) {
        return NumKey::Raw(text.to_string());
    }
    if frac_part.is_none() && exponent.is_none() {
        let digits = int_part.trim_start_matches('0');
        return if digits.is_empty() {
            NumKey::Int(false, "0".into())
        } else {
            NumKey::Int(negative, digits.into())
        };
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => match e.strip_prefix('+').unwrap_or(e).parse() {
            Ok(v) => v,
            Err(_) => return NumKey::Raw(text.to_string()),
        },
    };
    let frac = frac_part.unwrap_or("");
    let mut digits = format!("{int_part}{frac}");
    let mut power = exp - frac.len() as i64;
    while digits.ends_with('0') {
        digits.pop();
        power += 1;
    }
    let digits = digits.trim_start_matches('0').to_string();
    if digits.is_empty() {
        return NumKey::Float(negative, String::new(), 0);
    }
    NumKey::Float(negative, digits, power)
}

pub fn json_path_join_key(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// The first place where two JSON values differ: (path, left, right). Object key order is not significant.
pub fn first_diff(a: &Value, b: &Value, path: &str) -> Option<(String, String, String)> {
    let here = |x: &Value, y: &Value| Some((path.to_string(), show(Some(x)), show(Some(y))));
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if num_key(&x.to_string()) == num_key(&y.to_string()) {
                None
            } else {
                here(a, b)
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = json_path_join_key(path, k);
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_diff(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, show(Some(va)), show(None))),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    return Some((json_path_join_key(path, k), show(None), show(Some(vb))));
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_diff(va, vb, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            if x.len() != y.len() {
                return Some((
                    format!("{path} (length)"),
                    format!("{} items", x.len()),
                    format!("{} items", y.len()),
                ));
            }
            None
        }
        (Value::Null, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) if x == y => None,
        (Value::String(x), Value::String(y)) if x == y => None,
        _ => here(a, b),
    }
}

pub fn json_equal(a: &Value, b: &Value) -> bool {
    first_diff(a, b, "$").is_none()
}

pub fn show(v: Option<&Value>) -> String {
    match v {
        None => "<absent>".to_string(),
        Some(v) => clip(&v.to_string()),
    }
}

pub fn clip(s: &str) -> String {
    const MAX: usize = 400;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

// ------------------------------------------------------------------------------------------------ JSON paths

#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// `$`, `$.arguments[0].entries[2][1]`, `$.enqueued_at`.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let rest = path
        .strip_prefix('$')
        .unwrap_or_else(|| panic!("JSON path must start with $: {path}"));
    let bytes = rest.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end] != b'.' && bytes[end] != b'[' {
                    end += 1;
                }
                assert!(end > start, "empty key in JSON path {path}");
                segs.push(Seg::Key(rest[start..end].to_string()));
                i = end;
            }
            b'[' => {
                let close = rest[i..]
                    .find(']')
                    .map(|j| i + j)
                    .unwrap_or_else(|| panic!("unclosed [ in {path}"));
                let index = rest[i + 1..close]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad index in {path}"));
                segs.push(Seg::Index(index));
                i = close + 1;
            }
            _ => panic!("bad JSON path {path}"),
        }
    }
    segs
}

pub fn get_path<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(v, |node, seg| match seg {
        Seg::Key(k) => node.as_object()?.get(k),
        Seg::Index(i) => node.as_array()?.get(*i),
    })
}

/// Takes the node at `segs` out of the document so that the rest can be compared: an object member is removed, an
/// array item (or the whole document) is replaced by a marker, keeping the other items' positions.
pub fn blank_path(v: &mut Value, segs: &[Seg]) {
    const MARK: &str = "<documented difference>";
    let Some((last, parents)) = segs.split_last() else {
        *v = Value::String(MARK.into());
        return;
    };
    let mut node = v;
    for seg in parents {
        let next = match seg {
            Seg::Key(k) => node.as_object_mut().and_then(|o| o.get_mut(k)),
            Seg::Index(i) => node.as_array_mut().and_then(|a| a.get_mut(*i)),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    match last {
        Seg::Key(k) => {
            if let Some(o) = node.as_object_mut() {
                o.remove(k);
            }
        }
        Seg::Index(i) => {
            if let Some(item) = node.as_array_mut().and_then(|a| a.get_mut(*i)) {
                *item = Value::String(MARK.into());
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------ versions, times

/// "6.1.7.10" -> [6, 1, 7, 10]; "8.2.0.alpha" -> [8, 2, 0] (a prerelease counts as its release).
pub fn version(text: &str) -> Vec<u64> {
    text.split('.').map_while(|p| p.parse().ok()).collect()
}

pub fn ver_lt(v: &[u64], than: &str) -> bool {
    v < version(than).as_slice()
}

/// An `iso8601(9)` time ("2024-03-15T08:30:45.123456789-04:00", "...Z") as (UTC seconds since 1970, nanoseconds).
pub fn instant(text: &str) -> Option<(i64, u32)> {
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, rest) = text.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() {
        return None;
    }
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (oh, om) = rest[i + 1..].split_once(':')?;
        let secs = num(oh)? * 3600 + num(om)? * 60;
        (
            &rest[..i],
            if &rest[i..i + 1] == "-" { -secs } else { secs },
        )
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':');
    let (h, mi, s) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    if frac.len() > 9 || (!frac.is_empty() && num(frac).is_none()) {
        return None;
    }
    let nanos = format!("{frac:0<9}").parse::<u32>().ok()?;
    // days from 1970-01-01 in the proleptic Gregorian calendar
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s - offset, nanos))
}

/// "2026-11-24T21:27:49Z" -> "2026-11-24T21:27:49.000000000Z": what Rails 7.1+ prints for the time it parses.
pub fn iso8601_9(text: &str) -> Option<String> {
    let body = text.strip_suffix('Z')?;
    let (base, frac) = body.split_once('.').unwrap_or((body, ""));
    (frac.len() <= 9).then(|| format!("{base}.{frac:0<9}Z"))
}

// ------------------------------------------------------------------------------------------------ documented differences

/// Where the Ruby dump and the Rust dump of one payload may differ.
pub struct Ctx<'a> {
    pub payload: &'a Value,
    pub ruby: Option<&'a Value>,
    pub rust: Option<&'a Value>,
}

/// One documented way an older ActiveJob reads a payload differently from Rails 8.1. Where it applies (payload and
/// JSON path of the typed dump) is up to each test: a "site".
pub struct Rule {
    /// shown in the summary, with the number of payloads it matched
    pub label: &'static str,
    /// why this Ruby reads the payload differently from Rails 8.1 (and so from Rust)
    pub reason: &'static str,
    /// the reader versions (ActiveJob loaded by typed_dump.rb) that read it this way
    pub applies: fn(&[u64]) -> bool,
    /// the shape the difference must have
    pub check: fn(&Ctx) -> Result<(), String>,
}

/// The consumer's ambient zone (typed_dump.rb sets `Time.zone = "UTC"` before each payload, like a Rails app).
pub fn in_consumer_zone(twz: &Value) -> bool {
    twz["time_zone_name"] == "UTC" && twz["tzinfo"] == "Etc/UTC"
}

/// Both sides a TimeWithZone at the same instant, Ruby's in the consumer's zone: the re-zoning is the only change.
pub fn same_instant_twz<'a>(ctx: &Ctx<'a>) -> Result<(&'a Value, &'a Value), String> {
    let (Some(ruby), Some(rust)) = (ctx.ruby, ctx.rust) else {
        return Err("a TimeWithZone is missing on one side".into());
    };
    for side in [ruby, rust] {
        if side["type"] != "ActiveSupport::TimeWithZone" {
            return Err(format!(
                "expected a TimeWithZone on both sides, got {}",
                show(Some(side))
            ));
        }
    }
    let (a, b) = (
        ruby["iso8601"].as_str().and_then(instant),
        rust["iso8601"].as_str().and_then(instant),
    );
    if a.is_none() || a != b {
        return Err("the two sides are not the same instant".into());
    }
    if !in_consumer_zone(ruby) {
        return Err("Ruby's value is not in the consumer's zone (UTC)".into());
    }
    Ok((ruby, rust))
}

pub fn is_deserialization_error(ruby: Option<&Value>, serializer: &str) -> Result<(), String> {
    let Some(ruby) = ruby else {
        return Err("Ruby dump missing".into());
    };
    let message = ruby["message"].as_str().unwrap_or("");
    if ruby["error_class"] != "ActiveJob::DeserializationError" || !message.contains(serializer) {
        return Err(format!(
            "expected ActiveJob::DeserializationError naming {serializer}, got {}",
            show(Some(ruby))
        ));
    }
    Ok(())
}

pub fn decoded_with_argument_type(rust: Option<&Value>, type_name: &str) -> Result<(), String> {
    let args = rust
        .and_then(|r| r.get("arguments"))
        .and_then(Value::as_array);
    match args {
        Some(items) if items.iter().any(|a| a["type"] == type_name) => Ok(()),
        _ => Err(format!(
            "expected Rust to decode the job with a {type_name} argument, got {}",
            show(rust)
        )),
    }
}

pub static ENQUEUED_AT_STRING: Rule = Rule {
    label: "enqueued_at kept as String before 7.1",
    reason:
        "6.1 and 7.0 keep enqueued_at as the payload's String; 7.1+ parses it with Time.iso8601 \
             (reference §3 row 11, §4 'enqueued_at', §9)",
    applies: |v| ver_lt(v, "7.1"),
    check: |ctx| {
        let sent = ctx.payload["enqueued_at"]
            .as_str()
            .ok_or("payload has no enqueued_at string")?;
        let ruby_ok = ctx
            .ruby
            .is_some_and(|r| r["class"] == "String" && r["value"] == sent);
        let want = iso8601_9(sent).ok_or("payload enqueued_at is not ...Z")?;
        let rust_ok = ctx
            .rust
            .is_some_and(|r| r["class"] == "Time" && r["iso8601"] == want.as_str());
        if ruby_ok && rust_ok {
            Ok(())
        } else {
            Err(format!(
                "expected Ruby String {sent:?} and Rust Time {want:?}"
            ))
        }
    },
};

pub static SCHEDULED_AT_IGNORED: Rule = Rule {
    label: "scheduled_at ignored before 7.1",
    reason: "the scheduled_at key exists from 7.1; 6.1 and 7.0 ignore it (the job's scheduled_at stays nil) \
             (reference §3 row 12, §4 'scheduled_at ISO string', §9)",
    applies: |v| ver_lt(v, "7.1"),
    check: |ctx| {
        let sent = ctx.payload["scheduled_at"].as_str().ok_or("payload has no scheduled_at string")?;
        let want = iso8601_9(sent).ok_or("payload scheduled_at is not ...Z")?;
        let ruby_ok = ctx.ruby == Some(&Value::Null);
        let rust_ok = ctx.rust.is_some_and(|r| r["class"] == "Time" && r["iso8601"] == want.as_str());
        if ruby_ok && rust_ok {
            Ok(())
        } else {
            Err(format!("expected Ruby nil and Rust Time {want:?}"))
        }
    },
};

pub static TWZ_TIME_ZONE_KEY_IGNORED: Rule = Rule {
    label: "TimeWithZone time_zone key ignored before 7.0.9/7.1.3",
    reason: "6.1, 7.0.0-7.0.8 and 7.1.0-7.1.2 ignore the TimeWithZone serializer's time_zone key and re-zone \
             the instant into the consumer's ambient Time.zone (UTC here); 8.1 uses the key \
             (reference §4 'TWZ with time_zone key', §6 TimeWithZoneSerializer, §9)",
    applies: |v| ver_lt(v, "7.0.9") || (!ver_lt(v, "7.1") && ver_lt(v, "7.1.3")),
    check: |ctx| same_instant_twz(ctx).map(|_| ()),
};

pub static TWZ_CONSUMER_ZONE: Rule = Rule {
    label: "TimeWithZone read in the consumer's zone, not the job's, before 8.1",
    reason: "a TimeWithZone without time_zone (written by 6.1-7.1.2) is put in Time.zone at deserialization; \
             before 8.1 arguments are deserialized outside the job's Time.use_zone(timezone), so in the \
             consumer's zone (UTC), while 8.1 (ExecutionState) uses the job's timezone (reference §3 \
             '8.1.0', §4 'TWZ without time_zone', §9 'locale/zone around arg decoding')",
    applies: |v| ver_lt(v, "8.1"),
    check: |ctx| {
        let (_, rust) = same_instant_twz(ctx)?;
        let job_zone = ctx.payload["timezone"].as_str().ok_or("payload has no timezone")?;
        if rust["time_zone_name"] != job_zone {
            return Err(format!("expected Rust to read it in the job's timezone {job_zone:?}"));
        }
        Ok(())
    },
};

pub static RANGE_UNREADABLE: Rule = Rule {
    label: "cannot read Range before 7.0",
    reason: "RangeSerializer exists from 7.0: 6.1 raises ActiveJob::DeserializationError ('Serializer \
             ActiveJob::Serializers::RangeSerializer is not known') where 8.1 gives Ranges (reference §4, §6, §9)",
    applies: |v| ver_lt(v, "7.0"),
    check: |ctx| {
        is_deserialization_error(ctx.ruby, "RangeSerializer")?;
        decoded_with_argument_type(ctx.rust, "Range")
    },
};

pub static BIGDECIMAL_UNREADABLE: Rule = Rule {
    label: "cannot read BigDecimal serializer before 7.1",
    reason: "BigDecimalSerializer exists from 7.1: 6.1 and 7.0 raise ActiveJob::DeserializationError \
             ('Serializer ActiveJob::Serializers::BigDecimalSerializer is not known') where 8.1 gives \
             BigDecimals (reference §4, §6, §9)",
    applies: |v| ver_lt(v, "7.1"),
    check: |ctx| {
        is_deserialization_error(ctx.ruby, "BigDecimalSerializer")?;
        decoded_with_argument_type(ctx.rust, "BigDecimal")
    },
};

pub static CONTINUATION_IGNORED: Rule = Rule {
    label: "continuation keys ignored before 8.1",
    reason: "ActiveJob::Continuable is 8.1+: an older worker's job of that name is a plain job, and the \
             continuation/resumptions keys are unknown top-level keys it ignores (reference §4 'continuation \
             key on a non-Continuable job', §7, §9)",
    applies: |v| ver_lt(v, "8.1"),
    check: |ctx| match (ctx.ruby, ctx.rust) {
        (None, Some(_)) => Ok(()),
        _ => Err("expected the key absent from Ruby's dump and present in Rust's".into()),
    },
};

/// Every rule, in the order summaries list them.
pub static RULES: [&Rule; 7] = [
    &ENQUEUED_AT_STRING,
    &SCHEDULED_AT_IGNORED,
    &TWZ_TIME_ZONE_KEY_IGNORED,
    &TWZ_CONSUMER_ZONE,
    &RANGE_UNREADABLE,
    &BIGDECIMAL_UNREADABLE,
    &CONTINUATION_IGNORED,
];

/// The rules that hold for a reader of this ActiveJob version.
pub fn active_rules(activejob: &[u64]) -> Vec<&'static Rule> {
    RULES
        .iter()
        .copied()
        .filter(|r| (r.applies)(activejob))
        .collect()
}

/// What comparing one payload's two dumps found.
pub struct Verdict {
    /// differences that are not documented, documented ones that did not happen or had another shape
    pub problems: Vec<String>,
    /// labels of the documented differences that happened
    pub fired: BTreeSet<&'static str>,
}

/// Compares Ruby's and Rust's dumps of one payload. `sites` are the documented differences for it (active rules
/// only, paths into the typed dump); a whole-document site (`$`) takes in every other one. Each site must differ,
/// and in its rule's shape; everything outside the sites must be equal.
pub fn compare_documented(
    name: &str,
    payload: &Value,
    ruby_dump: &Value,
    rust_dump: &Value,
    mut sites: Vec<(&'static Rule, &str)>,
) -> Verdict {
    if sites.iter().any(|(_, p)| *p == "$") {
        sites.retain(|(_, p)| *p == "$");
    }
    let mut problems = Vec::new();
    let (mut ruby_rest, mut rust_rest) = (ruby_dump.clone(), rust_dump.clone());
    let mut fired: BTreeSet<&'static str> = BTreeSet::new();
    for (rule, path) in &sites {
        let segs = parse_path(path);
        let ctx = Ctx {
            payload,
            ruby: get_path(ruby_dump, &segs),
            rust: get_path(rust_dump, &segs),
        };
        let differs = match (ctx.ruby, ctx.rust) {
            (Some(a), Some(b)) => !json_equal(a, b),
            (None, None) => false,
            _ => true,
        };
        if !differs {
            problems.push(format!(
                "{name} {path}: documented difference '{}' did not happen (both sides: {})",
                rule.label,
                show(ctx.ruby)
            ));
            continue;
        }
        if let Err(why) = (rule.check)(&ctx) {
            problems.push(format!(
                "{name} {path}: differs, but not as documented by '{}': {why}\n      ruby: {}\n      rust: {}",
                rule.label,
                show(ctx.ruby),
                show(ctx.rust)
            ));
        }
        fired.insert(rule.label);
        blank_path(&mut ruby_rest, &segs);
        blank_path(&mut rust_rest, &segs);
    }
    if let Some((path, a, b)) = first_diff(&ruby_rest, &rust_rest, "$") {
        problems.push(format!(
            "{name}: undocumented difference at {path}\n      ruby: {a}\n      rust: {b}"
        ));
    }
    Verdict { problems, fired }
}

/// Counts for the summary line.
#[derive(Default)]
pub struct Tally {
    pub identical: usize,
    pub documented: usize,
    /// documented payloads whose only difference is enqueued_at
    pub only_enqueued_at: usize,
    pub per_rule: BTreeMap<&'static str, usize>,
}

impl Tally {
    /// Counts one payload that compared without problems.
    pub fn add(&mut self, fired: &BTreeSet<&'static str>) {
        if fired.is_empty() {
            self.identical += 1;
            return;
        }
        self.documented += 1;
        if fired.len() == 1 && fired.contains(ENQUEUED_AT_STRING.label) {
            self.only_enqueued_at += 1;
        }
        for label in fired {
            *self.per_rule.entry(label).or_default() += 1;
        }
    }

    /// `X identical, Y differ as documented (rule: n, ...); Z of them only in enqueued_at`
    pub fn summary(&self, active: &[&Rule]) -> String {
        let breakdown: Vec<String> = active
            .iter()
            .filter_map(|r| {
                self.per_rule
                    .get(r.label)
                    .map(|n| format!("{}: {n}", r.label))
            })
            .collect();
        format!(
            "{} identical, {} differ as documented ({}){}",
            self.identical,
            self.documented,
            if breakdown.is_empty() {
                "none".to_string()
            } else {
                breakdown.join(", ")
            },
            if self.only_enqueued_at > 0 {
                format!("; {} of them only in enqueued_at", self.only_enqueued_at)
            } else {
                String::new()
            },
        )
    }
}

/// Prints every problem and the documented differences of this reader, then fails.
pub fn fail_on_problems(prefix: &str, problems: &[String], active: &[&Rule], reader: &str) {
    if problems.is_empty() {
        return;
    }
    for p in problems {
        say(&format!("  FAIL {p}"));
    }
    for rule in active {
        say(&format!(
            "  documented for this reader: {}: {}",
            rule.label, rule.reason
        ));
    }
    panic!(
        "{prefix}: {} problem(s) comparing Rust's typed dumps with {reader}",
        problems.len()
    );
}

// ------------------------------------------------------------------------------------------------ Ruby side

/// Set to 1 to run without Ruby on purpose.
pub const SKIP_RUBY_VAR: &str = "ACTIVEJOB_KARAFKA_SKIP_RUBY";

/// True when the Ruby comparison is switched off; says so loudly, as a skipped check must never look like a pass.
pub fn ruby_skipped(prefix: &str) -> bool {
    if std::env::var(SKIP_RUBY_VAR).as_deref() != Ok("1") {
        return false;
    }
    let lines = [
        format!("{prefix}: SKIPPED ({SKIP_RUBY_VAR}=1): Rust's typed dumps were NOT"),
        "compared with a real Ruby ActiveJob. Unset it where Ruby + ActiveJob are installed."
            .to_string(),
    ];
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 6;
    say(&"#".repeat(width));
    for l in &lines {
        say(&format!("## {l:<w$} ##", w = width - 6));
    }
    say(&"#".repeat(width));
    true
}

pub struct RubyRun {
    /// "Ruby 3.1.2 / ActiveJob 6.1.7.10"
    pub reader: String,
    pub activejob: Vec<u64>,
    /// one dump per payload, in input order
    pub dumps: Vec<Value>,
}

fn ruby_command() -> Vec<String> {
    let cmd = std::env::var("ACTIVEJOB_KARAFKA_RUBY").unwrap_or_else(|_| "ruby".into());
    let words: Vec<String> = cmd.split_whitespace().map(String::from).collect();
    assert!(!words.is_empty(), "ACTIVEJOB_KARAFKA_RUBY is empty");
    words
}

const RUBY_HELP: &str = "install Debian's Ruby and ActiveJob (apt-get install ruby ruby-activejob), or point \
ACTIVEJOB_KARAFKA_RUBY at a Ruby with ActiveJob (e.g. `bundle exec ruby`, see ruby_interop/README.md); \
set ACTIVEJOB_KARAFKA_SKIP_RUBY=1 to skip the Ruby comparison on purpose";

/// Runs `typed_dump.rb --named ARGS...` once (it takes a while to load Rails). `inputs` are the names it must
/// answer with, in order: a file as given, or `FILE.jsonl:LINE` for each line of a `.jsonl` file.
pub fn run_typed_dump(args: &[String], inputs: &[String]) -> RubyRun {
    let words = ruby_command();
    let output = Command::new(&words[0])
        .args(&words[1..])
        .arg("ruby_interop/typed_dump.rb")
        .arg("--named")
        .args(args)
        .current_dir(crate_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "ruby_interop: cannot start `{}`: {e}\n  -> {RUBY_HELP}",
                words.join(" ")
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let hint = if stderr.contains("cannot load such file") {
            format!("Ruby runs but cannot load ActiveJob (or its dependencies)\n  -> {RUBY_HELP}")
        } else {
            "ruby_interop/typed_dump.rb failed".to_string()
        };
        panic!(
            "ruby_interop: {hint}\n  status: {}\n  stderr:\n{stderr}",
            output.status
        );
    }
    // One object per line; split on \n only (a dump may hold a raw U+2028).
    let stdout = String::from_utf8(output.stdout).expect("typed_dump.rb printed non-UTF-8");
    let lines: Vec<&str> = stdout.split('\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines.len(),
        inputs.len(),
        "typed_dump.rb answered {} of {} payloads",
        lines.len(),
        inputs.len()
    );
    let mut dumps = Vec::with_capacity(inputs.len());
    for (input, line) in inputs.iter().zip(lines) {
        let mut v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("typed_dump.rb line not JSON ({e}): {line}"));
        assert_eq!(
            v["input"],
            input.as_str(),
            "typed_dump.rb answered out of order"
        );
        dumps.push(v["decoded"].take());
    }
    // "typed_dump: ruby_version=3.1.2 activejob_version=6.1.7.10 payloads=135"
    let field = |name: &str| -> Option<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("typed_dump:"))
            .flat_map(|l| l.split_whitespace())
            .find_map(|w| w.strip_prefix(&format!("{name}=")).map(String::from))
    };
    let aj = field("activejob_version")
        .unwrap_or_else(|| panic!("typed_dump.rb did not report its versions:\n{stderr}"));
    let rb = field("ruby_version").unwrap_or_default();
    RubyRun {
        reader: format!("Ruby {rb} / ActiveJob {aj}"),
        activejob: version(&aj),
        dumps,
    }
}

/// The ActiveJob version the Ruby reader loads (`6.1.7.10`), asked before writing payloads for it.
#[allow(dead_code)]
pub fn ruby_activejob_version() -> String {
    let words = ruby_command();
    let output = Command::new(&words[0])
        .args(&words[1..])
        .args(["-e", "require 'active_job'; print ActiveJob.gem_version"])
        .current_dir(crate_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "ruby_interop: cannot start `{}`: {e}\n  -> {RUBY_HELP}",
                words.join(" ")
            )
        });
    assert!(
        output.status.success(),
        "ruby_interop: Ruby cannot load ActiveJob: {}\n  -> {RUBY_HELP}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
