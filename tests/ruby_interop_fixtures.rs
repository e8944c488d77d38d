//! The typed dump (SPEC §2) of every golden payload, checked two ways:
//!
//! * `fixture_contract_rails81_decoded`: `activejob-karafka decode --typed` must print exactly the entry of the dir's
//!   `rails81_decoded.json` (what a Rails 8.1 worker reads) for every payload.
//! * `ruby_interop_matches_rust_dump`: the same payloads read by the Ruby on this machine
//!   (`ruby_interop/typed_dump.rb`, real ActiveJob) must give the same dump as Rust, except where that ActiveJob
//!   version reads a payload differently from Rails 8.1. Each such difference is a rule of tests/common (with the
//!   reason, reference/activejob-wire-format.md §4 and §9), listed below in `SITES` per fixture and JSON path. An
//!   unlisted difference, a listed one that did not happen, or one that is not of the documented shape fails the
//!   test.
//!
//! Ruby is required: without `ruby` + ActiveJob the test fails, unless ACTIVEJOB_KARAFKA_SKIP_RUBY=1 is set.
//! ACTIVEJOB_KARAFKA_RUBY picks the command (default `ruby`; e.g. `bundle exec ruby` for a newer Rails, see
//! ruby_interop/README.md).

mod common;

use common::{
    active_rules, clip, compare_documented, crate_root, fail_on_problems, first_diff, instant,
    iso8601_9, json_equal, parse_path, ruby_skipped, run_typed_dump, say, Rule, Seg, Tally,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;

const FIXTURE_DIRS: [&str; 3] = ["6.1", "7.1", "8.1"];
const NOT_PAYLOADS: [&str; 2] = ["manifest.json", "rails81_decoded.json"];
const APP_CONFIG: &str = "fixtures/app.toml";

// ------------------------------------------------------------------------------------------------ fixtures

struct Fixture {
    /// "6.1/kwargs.json": the name rules and reports use.
    name: String,
    /// Path relative to the crate root (what both programs are given).
    rel_path: String,
    /// The payload itself, for rules that check a difference against what was sent.
    payload: Value,
}

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut out = Vec::new();
        for dir in FIXTURE_DIRS {
            let abs = crate_root().join("fixtures").join(dir);
            let mut names: Vec<String> = std::fs::read_dir(&abs)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", abs.display()))
                .map(|entry| {
                    entry
                        .expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .filter(|n| n.ends_with(".json") && !NOT_PAYLOADS.contains(&n.as_str()))
                .collect();
            names.sort();
            for file in names {
                let rel_path = format!("fixtures/{dir}/{file}");
                let bytes = std::fs::read(crate_root().join(&rel_path))
                    .unwrap_or_else(|e| panic!("cannot read {rel_path}: {e}"));
                let payload = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{rel_path} is not JSON: {e}"));
                out.push(Fixture {
                    name: format!("{dir}/{file}"),
                    rel_path,
                    payload,
                });
            }
        }
        assert!(
            !out.is_empty(),
            "no fixtures under fixtures/{{6.1,7.1,8.1}}"
        );
        out
    })
}

// ------------------------------------------------------------------------------------------------ Rust side

#[derive(Clone, Debug)]
enum RustDump {
    /// exit 0, one JSON object on stdout
    Decoded(Value),
    /// exit 2: the payload cannot be decoded (message from stderr)
    Undecodable(String),
    /// anything else: the CLI itself misbehaved
    Broken(String),
}

fn rust_dump(fixture: &Fixture) -> RustDump {
    let output = Command::new(env!("CARGO_BIN_EXE_activejob-karafka"))
        .args(["decode", "--typed", "--app", APP_CONFIG, &fixture.rel_path])
        .current_dir(crate_root())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => return RustDump::Broken(format!("cannot start activejob-karafka: {e}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    match output.status.code() {
        Some(0) => match serde_json::from_str::<Value>(stdout.trim()) {
            Ok(v @ Value::Object(_)) => RustDump::Decoded(v),
            Ok(other) => RustDump::Broken(format!("stdout is JSON but not an object: {other}")),
            Err(e) => RustDump::Broken(format!(
                "stdout is not one JSON object ({e}): {:?}; stderr: {stderr}",
                clip(&stdout)
            )),
        },
        Some(2) if !stderr.is_empty() => RustDump::Undecodable(stderr),
        code => RustDump::Broken(format!(
            "exit status {code:?}; stderr: {stderr}; stdout: {:?}",
            clip(&stdout)
        )),
    }
}

/// Every fixture's Rust dump, computed once for both tests (they run in parallel threads).
fn rust_dumps() -> &'static BTreeMap<String, RustDump> {
    static DUMPS: OnceLock<BTreeMap<String, RustDump>> = OnceLock::new();
    DUMPS.get_or_init(|| {
        fixtures()
            .iter()
            .map(|f| (f.name.clone(), rust_dump(f)))
            .collect()
    })
}

// ------------------------------------------------------------------------------------------------ documented differences

const SCHEDULED_SITES: &[(&str, &str)] = &[
    ("7.1/retry_1_after_first_failure.json", "$.scheduled_at"),
    ("7.1/retry_2_after_second_failure.json", "$.scheduled_at"),
    ("7.1/scheduled_in_past.json", "$.scheduled_at"),
    ("7.1/scheduled_wait.json", "$.scheduled_at"),
    ("7.1/scheduled_wait_until.json", "$.scheduled_at"),
    ("8.1/retry_1_after_first_failure.json", "$.scheduled_at"),
    ("8.1/retry_2_after_second_failure.json", "$.scheduled_at"),
    ("8.1/scheduled_in_past.json", "$.scheduled_at"),
    ("8.1/scheduled_wait.json", "$.scheduled_at"),
    ("8.1/scheduled_wait_until.json", "$.scheduled_at"),
    ("8.1/continuation_1_interrupted.json", "$.scheduled_at"),
    (
        "8.1/continuation_2_resumed_and_interrupted.json",
        "$.scheduled_at",
    ),
    ("8.1/continuation_array_cursor.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_bigdecimal.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_bignum.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_date.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_float.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_hash.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_string.json", "$.scheduled_at"),
    ("8.1/continuation_cursor_symbol.json", "$.scheduled_at"),
    (
        "8.1/continuation_default_resume_wait.json",
        "$.scheduled_at",
    ),
    ("8.1/continuation_isolated_1.json", "$.scheduled_at"),
    ("8.1/continuation_limited_1.json", "$.scheduled_at"),
];

const CONTINUATION_SITES: &[(&str, &str)] = &[
    ("8.1/continuation_0_fresh.json", "$.resumptions"),
    ("8.1/continuation_0_fresh.json", "$.continuation"),
    ("8.1/continuation_1_interrupted.json", "$.resumptions"),
    ("8.1/continuation_1_interrupted.json", "$.continuation"),
    (
        "8.1/continuation_2_resumed_and_interrupted.json",
        "$.resumptions",
    ),
    (
        "8.1/continuation_2_resumed_and_interrupted.json",
        "$.continuation",
    ),
    ("8.1/continuation_array_cursor.json", "$.resumptions"),
    ("8.1/continuation_array_cursor.json", "$.continuation"),
    ("8.1/continuation_cursor_bigdecimal.json", "$.resumptions"),
    ("8.1/continuation_cursor_bigdecimal.json", "$.continuation"),
    ("8.1/continuation_cursor_bignum.json", "$.resumptions"),
    ("8.1/continuation_cursor_bignum.json", "$.continuation"),
    ("8.1/continuation_cursor_date.json", "$.resumptions"),
    ("8.1/continuation_cursor_date.json", "$.continuation"),
    ("8.1/continuation_cursor_float.json", "$.resumptions"),
    ("8.1/continuation_cursor_float.json", "$.continuation"),
    ("8.1/continuation_cursor_hash.json", "$.resumptions"),
    ("8.1/continuation_cursor_hash.json", "$.continuation"),
    ("8.1/continuation_cursor_string.json", "$.resumptions"),
    ("8.1/continuation_cursor_string.json", "$.continuation"),
    ("8.1/continuation_cursor_symbol.json", "$.resumptions"),
    ("8.1/continuation_cursor_symbol.json", "$.continuation"),
    ("8.1/continuation_default_resume_wait.json", "$.resumptions"),
    (
        "8.1/continuation_default_resume_wait.json",
        "$.continuation",
    ),
    ("8.1/continuation_isolated_1.json", "$.resumptions"),
    ("8.1/continuation_isolated_1.json", "$.continuation"),
    ("8.1/continuation_limited_1.json", "$.resumptions"),
    ("8.1/continuation_limited_1.json", "$.continuation"),
];

/// Where each documented difference (tests/common) happens among the fixtures: (fixture, JSON path in the typed
/// dump); the fixture may be "DIR/*" for every payload of a dir. Path "$" is the whole dump: it takes in every
/// other site of that fixture.
static SITES: [(&Rule, &[(&str, &str)]); 7] = [
    (
        &common::ENQUEUED_AT_STRING,
        &[
            ("6.1/*", "$.enqueued_at"),
            ("7.1/*", "$.enqueued_at"),
            ("8.1/*", "$.enqueued_at"),
        ],
    ),
    (&common::SCHEDULED_AT_IGNORED, SCHEDULED_SITES),
    (
        &common::TWZ_TIME_ZONE_KEY_IGNORED,
        &[
            ("7.1/time_with_zone.json", "$.arguments[0]"),
            ("7.1/time_with_zone.json", "$.arguments[1]"),
            ("7.1/time_with_zone.json", "$.arguments[2]"),
            ("7.1/time_with_zone.json", "$.arguments[3]"),
            ("7.1/locale_and_timezone.json", "$.arguments[0]"),
            (
                "7.1/mixed_nested_serializers.json",
                "$.arguments[0].entries[2][1]",
            ),
            ("8.1/locale_and_timezone.json", "$.arguments[0]"),
        ],
    ),
    (
        &common::TWZ_CONSUMER_ZONE,
        &[("6.1/locale_and_timezone.json", "$.arguments[0]")],
    ),
    (&common::RANGE_UNREADABLE, &[("7.1/ranges.json", "$")]),
    (
        &common::BIGDECIMAL_UNREADABLE,
        &[
            ("7.1/bigdecimal_serializer_enabled.json", "$"),
            ("8.1/bigdecimal.json", "$"),
        ],
    ),
    (&common::CONTINUATION_IGNORED, CONTINUATION_SITES),
];

fn site_matches(site_fixture: &str, fixture: &str) -> bool {
    match site_fixture.strip_suffix("/*") {
        Some(dir) => fixture
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/')),
        None => site_fixture == fixture,
    }
}

// ------------------------------------------------------------------------------------------------ test (a)

#[test]
fn ruby_interop_matches_rust_dump() {
    if ruby_skipped("ruby_interop") {
        return;
    }
    let fixtures = fixtures();
    let paths: Vec<String> = fixtures.iter().map(|f| f.rel_path.clone()).collect();
    let ruby = run_typed_dump(&paths, &paths);
    let rust = rust_dumps();

    let active = active_rules(&ruby.activejob);
    let mut problems: Vec<String> = Vec::new();
    let mut tally = Tally::default();

    for (fixture, ruby_dump) in fixtures.iter().zip(&ruby.dumps) {
        let rust_dump = match &rust[&fixture.name] {
            RustDump::Decoded(v) => v.clone(),
            // both refuse the payload: the same answer (the messages are each side's own words)
            RustDump::Undecodable(_) if ruby_dump.get("error_class").is_some() => {
                tally.identical += 1;
                continue;
            }
            RustDump::Undecodable(msg) => serde_json::json!({ "rust_undecodable": msg }),
            RustDump::Broken(msg) => {
                problems.push(format!(
                    "{}: activejob-karafka decode failed: {msg}",
                    fixture.name
                ));
                continue;
            }
        };
        // The documented differences of this fixture.
        let sites: Vec<(&'static Rule, &str)> = SITES
            .iter()
            .filter(|(rule, _)| active.iter().any(|a| a.label == rule.label))
            .flat_map(|(rule, sites)| {
                sites
                    .iter()
                    .filter(|(f, _)| site_matches(f, &fixture.name))
                    .map(move |(_, p)| (*rule, *p))
            })
            .collect();
        let verdict = compare_documented(
            &fixture.name,
            &fixture.payload,
            ruby_dump,
            &rust_dump,
            sites,
        );
        if verdict.problems.is_empty() {
            tally.add(&verdict.fired);
        }
        problems.extend(verdict.problems);
    }

    // A site naming a fixture that does not exist is a typo: it would hide nothing and check nothing.
    for (rule, sites) in &SITES {
        for (site, _) in *sites {
            if !fixtures.iter().any(|f| site_matches(site, &f.name)) {
                problems.push(format!(
                    "rule '{}' names {site}, which is not a fixture",
                    rule.label
                ));
            }
        }
    }

    say(&format!(
        "ruby_interop: {} fixtures read by {}, {}",
        fixtures.len(),
        ruby.reader,
        tally.summary(&active),
    ));
    fail_on_problems("ruby_interop", &problems, &active, &ruby.reader);
}

// ------------------------------------------------------------------------------------------------ test (c)

#[test]
fn fixture_contract_rails81_decoded() {
    let rust = rust_dumps();
    let mut failures = 0usize;
    for dir in FIXTURE_DIRS {
        let path = crate_root()
            .join("fixtures")
            .join(dir)
            .join("rails81_decoded.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let expected: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a JSON object: {e}", path.display()));
        let in_dir: Vec<&Fixture> = fixtures()
            .iter()
            .filter(|f| site_matches(&format!("{dir}/*"), &f.name))
            .collect();

        let mut equal = 0usize;
        let mut first: Option<String> = None;
        let mut note = |msg: String| {
            if first.is_none() {
                first = Some(msg);
            }
        };
        for fixture in &in_dir {
            let file = &fixture.name[dir.len() + 1..];
            let Some(want) = expected.get(file) else {
                note(format!(
                    "{}: no entry in rails81_decoded.json",
                    fixture.name
                ));
                continue;
            };
            match &rust[&fixture.name] {
                RustDump::Decoded(got) => match first_diff(want, got, "$") {
                    None => equal += 1,
                    Some((p, a, b)) => note(format!(
                        "{}: first difference at {p}\n      rails 8.1: {a}\n      rust:      {b}",
                        fixture.name
                    )),
                },
                RustDump::Undecodable(_) if want.get("error_class").is_some() => equal += 1,
                RustDump::Undecodable(msg) => note(format!(
                    "{}: Rust refused a payload Rails 8.1 decodes: {msg}",
                    fixture.name
                )),
                RustDump::Broken(msg) => note(format!(
                    "{}: activejob-karafka decode failed: {msg}",
                    fixture.name
                )),
            }
        }
        for file in expected.keys() {
            if !in_dir.iter().any(|f| f.name[dir.len() + 1..] == *file) {
                note(format!(
                    "{dir}/{file}: listed in rails81_decoded.json but there is no such payload"
                ));
            }
        }
        let total = in_dir.len().max(expected.len());
        say(&format!(
            "fixture contract {dir}: {equal}/{total} Rust dumps equal rails81_decoded.json"
        ));
        if let Some(msg) = first {
            say(&format!("  FAIL {msg}"));
            failures += total - equal;
        }
    }
    assert_eq!(failures, 0, "Rust's typed dumps differ from rails81_decoded.json (see the first difference per dir above)");
}

// ------------------------------------------------------------------------------------------------ the comparator itself

#[test]
fn number_comparison_keeps_integers_and_floats_apart() {
    let eq = |a: &str, b: &str| {
        let (x, y): (Value, Value) = (
            serde_json::from_str(a).unwrap(),
            serde_json::from_str(b).unwrap(),
        );
        json_equal(&x, &y)
    };
    assert!(eq("1e20", "1.0e+20"));
    assert!(eq("1e+20", "100000000000000000000.0"));
    assert!(eq("1.5e-07", "0.00000015"));
    assert!(eq("18446744073709551616", "18446744073709551616"));
    assert!(eq("-0", "0"));
    assert!(!eq("1", "1.0"));
    assert!(!eq("1e2", "100"));
    assert!(!eq("-0.0", "0.0"));
    assert!(!eq("0.30000000000000004", "0.3"));
    assert!(!eq("9007199254740993", "9007199254740992"));
    assert!(!eq("123456789.12345679", "123456789.12345678"));
    assert!(eq(r#"{"a":[1,2.0],"b":null}"#, r#"{"b":null,"a":[1,2e0]}"#));
    assert!(!eq(r#"{"a":1}"#, r#"{"a":1,"b":null}"#));
    assert!(!eq("true", "1"));
    assert_eq!(
        instant("2024-03-15T08:30:45.123456789-04:00"),
        instant("2024-03-15T12:30:45.123456789Z")
    );
    assert_eq!(instant("1970-01-01T05:30:00.000000000+05:30"), Some((0, 0)));
    assert_eq!(
        iso8601_9("2026-11-24T21:27:49Z").as_deref(),
        Some("2026-11-24T21:27:49.000000000Z")
    );
    assert_eq!(
        parse_path("$.arguments[0].entries[2][1]"),
        vec![
            Seg::Key("arguments".into()),
            Seg::Index(0),
            Seg::Key("entries".into()),
            Seg::Index(2),
            Seg::Index(1)
        ]
    );
}
