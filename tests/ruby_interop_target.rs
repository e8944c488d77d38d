//! Payloads written for the Ruby reader's own Rails version (`rails_version`, `Job::encode_for`), read by that
//! Ruby: on this machine Debian's ActiveJob 6.1 (`ruby_interop/typed_dump.rb`), so every payload is written as
//! Rails 6.1 writes it.
//!
//! The corpus holds every argument kind the writer has (each kind with edge values) and a few hundred seeded
//! random argument trees and envelopes. Each job is written for the reader's version; what that version cannot
//! read is refused (`EncodeErrorKind::NotReadableBy`) and counted; everything written goes to Ruby. Property: Ruby
//! reads every written payload, and its reading equals Rust's reading of the same bytes (Rust told the same
//! Rails version), the one exception being how 6.1/7.0 hold `enqueued_at` (the payload's String, where Rust has
//! the parsed time; checked to be the same text).
//!
//! Ruby is required, as in the other interop tests (ACTIVEJOB_KARAFKA_SKIP_RUBY=1 skips loudly;
//! ACTIVEJOB_KARAFKA_RUBY picks the command, and the target follows the ActiveJob it loads).

mod common;

use activejob_karafka::arguments::{CustomObject, GlobalId, Hash, HashKey, HashKind, Range, Value};
use activejob_karafka::continuation::Continuation;
use activejob_karafka::ruby::duration::Duration;
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::ruby::time_zone;
use activejob_karafka::ruby::{Integer, Numeric};
use activejob_karafka::typed::typed_dump;
use activejob_karafka::{DecodeOptions, EncodeErrorKind, EnvelopeTime, Job, RailsVersion};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use common::{
    active_rules, compare_documented, crate_root, fail_on_problems, ruby_activejob_version,
    ruby_skipped, run_typed_dump, say, Tally,
};
use serde_json::{json, Map, Value as Json};

/// Random trees per run: enough to meet every kind many times over, small enough for one Ruby process.
const RANDOM_JOBS: usize = 600;
const SEED: u64 = 0x005e_ed61;

// ------------------------------------------------------------------------------------------------ random source

/// xorshift64*: a fixed seed gives the same corpus on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const TEXT_PIECES: [&str; 16] = [
    "a", "Z", "0", " ", "<", ">", "&", "\"", "\\", "/", "\n", "\u{0}", "\u{7f}", "ż", "日本",
    "\u{2028}",
];
const ZONES: [&str; 8] = [
    "UTC",
    "Berlin",
    "Eastern Time (US & Canada)",
    "Tokyo",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Europe/Warsaw",
];
const MODULES: [&str; 5] = [
    "String",
    "Comparable",
    "ImportJob",
    "Billing::Invoice",
    "Reporting",
];
const LOCALES: [&str; 4] = ["en", "de", "pl", "pt-BR"];

fn text(rng: &mut Rng) -> String {
    (0..rng.below(6)).map(|_| rng.pick(&TEXT_PIECES)).collect()
}

fn key_name(rng: &mut Rng) -> String {
    format!(
        "{}{}",
        rng.pick(&["id", "name", "at", "ż", "k k", ""]),
        rng.below(50)
    )
}

fn integer(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => Value::from(rng.below(1000) as i64 - 500),
        1 => Value::from(rng.next() as i64),
        2 => Value::Integer(
            Integer::parse(&format!("{}{:020}", rng.below(9) + 1, rng.next())).unwrap(),
        ),
        _ => Value::Integer(
            Integer::parse(&format!("-{}{:020}", rng.below(9) + 1, rng.next())).unwrap(),
        ),
    }
}

fn float(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Float(f64::NAN),
        1 => Value::Float(-0.0),
        2 => Value::Float(rng.below(100_000) as f64 / 100.0),
        _ => {
            let f = f64::from_bits(rng.next());
            Value::Float(if f.is_finite() { f } else { 1.5e300 })
        }
    }
}

fn instant(rng: &mut Rng) -> DateTime<Utc> {
    // 1901 .. 2099: Ruby and Rust agree on the calendar, and offsets are whole minutes.
    let seconds = rng.below(6_248_000_000) as i64 - 2_177_000_000;
    Utc.timestamp_opt(seconds, (rng.next() % 1_000_000_000) as u32)
        .unwrap()
}

fn offset(rng: &mut Rng) -> FixedOffset {
    FixedOffset::east_opt((rng.below(27 * 4) as i32 - 12 * 4) * 900).unwrap()
}

fn date(rng: &mut Rng) -> Value {
    let day = NaiveDate::from_ymd_opt(1583, 1, 1).unwrap()
        + chrono::Duration::days(rng.below(200_000) as i64);
    Value::Date(day)
}

fn duration(rng: &mut Rng) -> Value {
    let units = [
        ("seconds", 1),
        ("minutes", 60),
        ("hours", 3600),
        ("days", 86_400),
        ("weeks", 604_800),
    ];
    let mut parts = Vec::new();
    let mut total = 0;
    for (unit, seconds) in units {
        if rng.chance(40) {
            let amount = rng.below(20) as i64 - 5;
            parts.push((unit.to_owned(), Numeric::Integer(Integer::Small(amount))));
            total += amount * seconds;
        }
    }
    let value = Numeric::Integer(Integer::Small(total));
    Value::Duration(Duration::from_wire(value, parts).expect("a Duration"))
}

fn big_decimal(rng: &mut Rng) -> Value {
    let sign = if rng.chance(30) { "-" } else { "" };
    let fraction = format!("{:03}", rng.below(1000));
    let fraction = fraction.trim_end_matches('0');
    let fraction = if fraction.is_empty() { "0" } else { fraction };
    Value::BigDecimal(format!("{sign}{}.{fraction}", rng.below(1_000_000)))
}

fn leaf(rng: &mut Rng) -> Value {
    match rng.below(17) {
        0 => Value::Nil,
        1 => Value::Bool(rng.chance(50)),
        2 => integer(rng),
        3 => float(rng),
        4 | 5 => Value::String(text(rng)),
        6 => Value::symbol(text(rng)),
        7 => Value::GlobalId(GlobalId::new("shop", "User", rng.below(10_000).to_string())),
        8 => Value::GlobalId(GlobalId::new(
            "shop",
            "Billing::Invoice",
            format!("inv-{}", rng.below(999)),
        )),
        9 => date(rng),
        10 => Value::Time(RubyTime {
            instant: instant(rng).with_timezone(&offset(rng)),
            utc: false,
        }),
        11 => Value::time_utc(instant(rng)),
        12 => Value::DateTime(instant(rng).with_timezone(&offset(rng))),
        13 => Value::time_with_zone(instant(rng), time_zone::lookup(rng.pick(&ZONES)).unwrap()),
        14 => duration(rng),
        15 => big_decimal(rng),
        _ => match rng.below(2) {
            0 => Value::Module((rng.pick(&MODULES)).to_owned()),
            _ => money(
                rng.below(100_000) as i64 - 500,
                rng.pick(&["EUR", "PLN", "USD"]),
            ),
        },
    }
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 || rng.chance(55) {
        return leaf(rng);
    }
    // A Range is refused for 6.1 with its whole job: rare enough to leave most jobs written.
    match rng.below(12) {
        0..=4 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        5 => Value::Range(Box::new(Range {
            begin: integer(rng),
            end: integer(rng),
            exclude_end: rng.chance(50),
        })),
        kind => {
            let kind = [HashKind::Plain, HashKind::Keywords, HashKind::Indifferent][kind % 3];
            let entries = (0..rng.below(4))
                .map(|_| {
                    let name = key_name(rng);
                    let key = if kind != HashKind::Indifferent && rng.chance(50) {
                        HashKey::Symbol(name)
                    } else {
                        HashKey::String(name)
                    };
                    (key, value(rng, depth - 1))
                })
                .collect();
            Value::Hash(Hash { entries, kind })
        }
    }
}

fn money(cents: i64, currency: &str) -> Value {
    let mut fields = Map::new();
    fields.insert("amount_cents".into(), json!(cents));
    fields.insert("currency".into(), json!(currency));
    Value::Custom(CustomObject {
        serializer: "MoneySerializer".into(),
        ruby_class: Some("Money".into()),
        fields,
    })
}

fn random_job(rng: &mut Rng) -> Job {
    let mut job = Job::new(rng.pick(&["EchoJob", "ImportJob", "ProcessImportJob"]))
        .queue(rng.pick(&["default", "imports", "critical"]))
        .locale(rng.pick(&LOCALES))
        .timezone(rng.pick(&ZONES));
    for _ in 0..rng.below(5) {
        job = job.arg(value(rng, 4));
    }
    if rng.chance(20) {
        job = job.priority(rng.below(20) as i64);
    }
    if rng.chance(20) {
        job.executions = Some(rng.below(5) as i64);
        let mut counters = Map::new();
        counters.insert("[FlakyError]".into(), json!(rng.below(5)));
        job.exception_executions = Some(counters);
    }
    if rng.chance(10) {
        job = job.scheduled_at(instant(rng));
    }
    if rng.chance(10) {
        job.extra
            .insert("cattr_0".into(), json!({"user_id": rng.below(100)}));
    }
    if rng.chance(5) {
        job = job.continuable();
        job.continuation = Some(Continuation {
            completed: vec!["validate".into()],
            current: None,
        });
    }
    job
}

// ------------------------------------------------------------------------------------------------ every kind

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// Each argument kind once, with the edge values of its kind.
fn every_kind() -> Vec<(&'static str, Job)> {
    let zone = |name: &str| time_zone::lookup(name).unwrap();
    let at = utc(2024, 3, 15, 12, 30, 45) + chrono::Duration::nanoseconds(123_456_789);
    vec![
        (
            "primitives",
            Job::new("EchoJob")
                .arg("hello")
                .arg(42)
                .arg(2.5)
                .arg(Value::Nil)
                .arg(true),
        ),
        (
            "integers",
            Job::new("EchoJob")
                .arg(i64::MIN)
                .arg(1_u64 << 63)
                .arg(Value::Integer(
                    Integer::parse("-1180591620717411303424").unwrap(),
                )),
        ),
        (
            "floats",
            Job::new("EchoJob")
                .arg(-0.0)
                .arg(1.0e20)
                .arg(5.0e-324)
                .arg(f64::MAX)
                .arg(f64::INFINITY),
        ),
        (
            "strings",
            Job::new("EchoJob")
                .arg("</script>&\u{2028}\u{0}\u{7f}")
                .arg("")
                .arg("emoji 🎉"),
        ),
        (
            "symbols",
            Job::new("EchoJob")
                .arg(Value::symbol("fast"))
                .arg(Value::symbol("")),
        ),
        (
            "hashes",
            Job::new("EchoJob")
                .arg(Value::symbol_hash([("a", Value::from(1))]))
                .arg(Value::string_hash([(
                    "b",
                    Value::string_hash(Vec::<(&str, Value)>::new()),
                )]))
                .arg(Value::Hash(Hash {
                    entries: vec![(HashKey::String("x".into()), Value::from(1))],
                    kind: HashKind::Indifferent,
                }))
                .kwargs([
                    ("mode", Value::symbol("fast")),
                    ("dry_run", Value::from(false)),
                ]),
        ),
        (
            "global_ids",
            Job::new("EchoJob")
                .arg(GlobalId::new("shop", "User", "7"))
                .arg(GlobalId::new(
                    "shop",
                    "Billing::Invoice",
                    "3f1b9c1e-5b6d-4d6e-9c55-7f0d2a8b1c11",
                )),
        ),
        (
            "dates_and_times",
            Job::new("EchoJob")
                .arg(Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()))
                .arg(Value::time_utc(at))
                .arg(Value::Time(RubyTime {
                    instant: at.with_timezone(&FixedOffset::east_opt(-(3 * 3600 + 1800)).unwrap()),
                    utc: false,
                }))
                .arg(Value::DateTime(at.with_timezone(
                    &FixedOffset::east_opt(5 * 3600 + 2700).unwrap(),
                ))),
        ),
        (
            // 6.1 carries the instant only: read in the worker's Time.zone, on both sides.
            "time_with_zone",
            Job::new("EchoJob")
                .timezone("Tokyo")
                .arg(Value::time_with_zone(at, zone("UTC")))
                .arg(Value::time_with_zone(
                    at,
                    zone("Eastern Time (US & Canada)"),
                ))
                .arg(Value::time_with_zone(
                    utc(1880, 1, 1, 0, 0, 0),
                    zone("Asia/Kolkata"),
                )),
        ),
        (
            "durations",
            Job::new("EchoJob").arg(Value::Duration(
                Duration::from_wire(
                    Numeric::Float(5400.0),
                    vec![("hours".into(), Numeric::Float(1.5))],
                )
                .unwrap(),
            )),
        ),
        (
            // Before 7.1 a BigDecimal is written as its String, which is what the job receives.
            "bigdecimal",
            Job::new("EchoJob")
                .arg(Value::BigDecimal("123.456".into()))
                .arg(Value::BigDecimal("-0.5".into()))
                .arg(Value::BigDecimal("1e-20".into()))
                .arg(Value::BigDecimal("12345678901234567890.123456789".into())),
        ),
        (
            "modules",
            Job::new("EchoJob")
                .arg(Value::Module("Comparable".into()))
                .arg(Value::Module("Billing::Invoice".into())),
        ),
        (
            "custom_serializer",
            Job::new("EchoJob").arg(money(1999, "EUR")),
        ),
        (
            "scheduled",
            Job::new("EchoJob")
                .arg(1)
                .scheduled_at(utc(2030, 1, 1, 0, 0, 0)),
        ),
        (
            "locale_and_zone",
            Job::new("EchoJob")
                .locale("pt-BR")
                .timezone("Pacific/Chatham")
                .arg(1),
        ),
        (
            "range",
            Job::new("EchoJob").arg(Value::Range(Box::new(Range {
                begin: Value::from(1),
                end: Value::Nil,
                exclude_end: false,
            }))),
        ),
        ("continuation", Job::new("ProcessImportJob").continuable()),
        (
            "composite_global_id",
            Job::new("EchoJob").arg(GlobalId::composite("shop", "User", ["3", "17"])),
        ),
    ]
}

// ------------------------------------------------------------------------------------------------ the test

fn options(target: RailsVersion) -> DecodeOptions {
    DecodeOptions {
        rails_version: target,
        ..DecodeOptions::from_toml_file(crate_root().join("fixtures/app.toml")).unwrap()
    }
}

#[test]
fn ruby_reads_what_rust_writes_for_its_rails_version() {
    if ruby_skipped("ruby_interop_target") {
        return;
    }
    let reader_version = ruby_activejob_version();
    let target: RailsVersion = reader_version
        .parse()
        .unwrap_or_else(|e| panic!("the Ruby reader's ActiveJob: {e}"));
    let mut rng = Rng(SEED);
    let mut jobs = every_kind();
    jobs.extend((0..RANDOM_JOBS).map(|_| ("random", random_job(&mut rng))));
    let enqueued_at = EnvelopeTime::new(
        utc(2026, 11, 24, 21, 27, 56) + chrono::Duration::nanoseconds(987_654_321),
    );

    let mut refused = std::collections::BTreeMap::<String, usize>::new();
    let mut names = Vec::new();
    let mut payloads = Vec::new();
    for (i, (name, mut job)) in jobs.into_iter().enumerate() {
        job.enqueued_at = Some(enqueued_at.clone());
        match job.encode_for(target) {
            Ok(bytes) => {
                names.push(format!("{name}#{i}"));
                payloads.push(bytes);
            }
            Err(e) => {
                assert_eq!(
                    e.kind,
                    EncodeErrorKind::NotReadableBy(target),
                    "{name}#{i}: {e}"
                );
                let what = e.message.split(" (").next().unwrap_or_default().to_owned();
                *refused.entry(what).or_default() += 1;
            }
        }
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("target.jsonl");
    let mut text = Vec::new();
    for payload in &payloads {
        text.extend_from_slice(payload);
        text.push(b'\n');
    }
    std::fs::write(&file, &text).expect("write JSONL");
    let file = file.to_string_lossy().into_owned();
    let inputs: Vec<String> = (1..=payloads.len())
        .map(|i| format!("{file}:{i}"))
        .collect();
    let ruby = run_typed_dump(std::slice::from_ref(&file), &inputs);

    let options = options(target);
    let active = active_rules(&ruby.activejob);
    let mut problems = Vec::new();
    let mut tally = Tally::default();
    for ((name, bytes), ruby_dump) in names.iter().zip(&payloads).zip(&ruby.dumps) {
        if ruby_dump.get("error_class").is_some() {
            problems.push(format!(
                "{name}: {} cannot read it: {ruby_dump}",
                ruby.reader
            ));
            continue;
        }
        let rust = match Job::decode_with(bytes, &options) {
            Ok(job) => typed_dump(&job, &options),
            Err(e) => {
                problems.push(format!("{name}: Rust cannot read its own payload: {e}"));
                continue;
            }
        };
        let payload: Json = serde_json::from_slice(bytes).expect("JSON");
        // The only reading allowed to differ: 6.1/7.0 keep enqueued_at as the String written.
        let sites = active
            .iter()
            .filter(|r| r.label == common::ENQUEUED_AT_STRING.label)
            .map(|r| (*r, "$.enqueued_at"))
            .collect();
        let verdict = compare_documented(name, &payload, ruby_dump, &rust, sites);
        if verdict.problems.is_empty() {
            tally.add(&verdict.fired);
        }
        problems.extend(verdict.problems);
    }
    let refused: Vec<String> = refused
        .iter()
        .map(|(what, n)| format!("{what}: {n}"))
        .collect();
    say(&format!(
        "ruby_interop_target: written for Rails {target}: {} payloads read by {}, {}; refused before writing: {}",
        payloads.len(),
        ruby.reader,
        tally.summary(&active),
        if refused.is_empty() { "none".to_owned() } else { refused.join(", ") }
    ));
    fail_on_problems("ruby_interop_target", &problems, &active, &ruby.reader);
    assert!(
        payloads.len() > RANDOM_JOBS / 2,
        "too few payloads written: {}",
        payloads.len()
    );
}
