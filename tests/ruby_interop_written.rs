//! Payloads written by Rust, read by Ruby (SPEC §3 "Rust writes what Ruby reads").
//!
//! The corpus below is built with the library's own API (`Job::new(..)`, `Value` constructors, a decoded payload
//! written back) and covers every kind of value and envelope Rust writes. Checked four ways:
//!
//! * `written_payloads_have_rails81_shape`: each payload has Rails 8.1's top-level key order, a UUID v4 job id and
//!   nine fraction digits in every time; Rust reads it back as the job it wrote (up to what the wire itself
//!   changes, as it does in Rails) and writes that back byte for byte.
//! * `corpus_file_is_what_rust_writes`: `fixtures/rust_written/corpus.jsonl` holds exactly these payloads, one per
//!   line, with job ids and `enqueued_at` made deterministic. `ACTIVEJOB_KARAFKA_WRITE_CORPUS=1` rewrites it.
//! * `rails81_reading_of_corpus_equals_rust_dump`: Rust's typed dump of each corpus line must equal
//!   `fixtures/rust_written/rails81_decoded.jsonl`, the reading of real Rails 8.1 (see that dir's README), with no
//!   exception at all.
//! * `ruby_reads_what_rust_writes`: the Ruby on this machine (`ruby_interop/typed_dump.rb`, real ActiveJob) reads
//!   the same payloads; its dump must equal Rust's, except for the documented differences of an older ActiveJob
//!   (tests/common), which are found from the payload itself, counted and printed. Payloads that reader cannot read
//!   at all are named with the reason.
//!
//! Below them, values Ruby cannot read back: dates lost in the 1582 calendar reform (refused when encoding) and
//! GlobalID ids that need escaping, checked against what Rails 8.1 reads (a `/` in an id included). The corpus also
//! holds such ids and times at offsets with seconds, which Ruby reads through the comparisons above.
//!
//! Ruby is required: without `ruby` + ActiveJob the Ruby test fails, unless ACTIVEJOB_KARAFKA_SKIP_RUBY=1 is set.
//! ACTIVEJOB_KARAFKA_RUBY picks the command (default `ruby`).

mod common;

use activejob_karafka::arguments::{
    CustomObject, GlobalId, Hash, HashKey, HashKind, Range, TimeWithZoneWire, Value,
};
use activejob_karafka::continuation::{Continuation, CurrentStep};
use activejob_karafka::json::JsonStyle;
use activejob_karafka::payload_format::PayloadFormat;
use activejob_karafka::ruby::duration::Duration;
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::ruby::time_zone::{self, RailsZone};
use activejob_karafka::ruby::{Integer, Numeric};
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, EnvelopeTime, Job};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use common::versioned_envelope::VersionedEnvelope;
use common::{
    active_rules, compare_documented, crate_root, fail_on_problems, ruby_skipped, run_typed_dump,
    say, Rule, Tally,
};
use serde_json::{json, Map, Value as Json};
use std::path::Path;
use std::sync::{Arc, OnceLock};

const APP_CONFIG: &str = "fixtures/app.toml";
const CORPUS: &str = "fixtures/rust_written/corpus.jsonl";
const RAILS81_DECODED: &str = "fixtures/rust_written/rails81_decoded.jsonl";
const WRITE_CORPUS_VAR: &str = "ACTIVEJOB_KARAFKA_WRITE_CORPUS";

/// The `enqueued_at` of every corpus line: fixed so the committed file does not change from run to run, with nine
/// significant fraction digits so that nanoseconds are seen to survive.
fn corpus_enqueued_at() -> DateTime<Utc> {
    utc(2026, 11, 24, 21, 27, 56, 123_456_789)
}

fn options() -> &'static DecodeOptions {
    static OPTIONS: OnceLock<DecodeOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        DecodeOptions::from_toml_file(crate_root().join(APP_CONFIG))
            .unwrap_or_else(|e| panic!("{APP_CONFIG}: {e}"))
    })
}

// ------------------------------------------------------------------------------------------------ building values

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid UTC time")
        + chrono::Duration::nanoseconds(i64::from(nanos))
}

/// A time at a fixed offset (`+02:00` is 7200 seconds).
#[allow(clippy::too_many_arguments)]
fn at_offset(
    offset: i32,
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    nanos: u32,
) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset)
        .expect("valid offset")
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid local time")
        + chrono::Duration::nanoseconds(i64::from(nanos))
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).expect("valid date"))
}

fn zone(name: &str) -> RailsZone {
    time_zone::lookup(name).unwrap_or_else(|| panic!("unknown zone {name}"))
}

fn twz(instant: DateTime<Utc>, zone_name: &str) -> Value {
    Value::time_with_zone(instant, zone(zone_name))
}

fn int(literal: &str) -> Value {
    Value::Integer(Integer::parse(literal).expect("integer literal"))
}

fn n(i: i64) -> Numeric {
    Numeric::Integer(Integer::Small(i))
}

fn duration(value: Numeric, parts: &[(&str, Numeric)]) -> Value {
    let parts = parts
        .iter()
        .map(|(u, a)| (u.to_string(), a.clone()))
        .collect();
    Value::Duration(Duration::from_wire(value, parts).expect("duration"))
}

fn hwia(entries: Vec<(&str, Value)>) -> Value {
    Value::Hash(Hash {
        entries: entries
            .into_iter()
            .map(|(k, v)| (HashKey::String(k.to_owned()), v))
            .collect(),
        kind: HashKind::Indifferent,
    })
}

fn mixed_hash(entries: Vec<(HashKey, Value)>) -> Value {
    Value::Hash(Hash {
        entries,
        kind: HashKind::Plain,
    })
}

fn sym_key(name: &str) -> HashKey {
    HashKey::Symbol(name.to_owned())
}

fn str_key(name: &str) -> HashKey {
    HashKey::String(name.to_owned())
}

fn user(id: u32) -> Value {
    Value::GlobalId(GlobalId::new("shop", "User", id.to_string()))
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

fn range(begin: Value, end: Value, exclude_end: bool) -> Value {
    Value::Range(Box::new(Range {
        begin,
        end,
        exclude_end,
    }))
}

fn object(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A continuable job as Rails 8.1 re-enqueues it after an interruption (`resume_options = { wait: 0 }`): one more
/// execution, the interruption counted, enqueued and scheduled now.
fn interrupted(mut job: Job, continuation: Continuation, resumptions: i64, executions: i64) -> Job {
    let reason = match &continuation.current {
        Some(step) => format!(
            "Interrupted at '{}', cursor '{}' (stopping)",
            step.name,
            cursor_text(&step.cursor)
        ),
        None => "Interrupted after the last completed step (stopping)".to_owned(),
    };
    job.executions = Some(executions);
    job.exception_executions = Some(object(&[(&reason, json!(1))]));
    job.continuation = Some(continuation);
    job.resumptions = Some(resumptions);
    let now = utc(2026, 11, 24, 21, 27, 56, 420_118_000);
    job.scheduled_at(now)
}

fn cursor_text(cursor: &Json) -> String {
    match cursor {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn step(name: &str, cursor: Json) -> Option<CurrentStep> {
    Some(CurrentStep {
        name: name.to_owned(),
        cursor,
    })
}

fn read_fixture(rel: &str) -> Job {
    let bytes = std::fs::read(crate_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Job::decode_with(&bytes, options()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ------------------------------------------------------------------------------------------------ the corpus

struct Written {
    name: &'static str,
    job: Job,
    style: JsonStyle,
}

fn written(name: &'static str, job: Job) -> Written {
    Written {
        name,
        job,
        style: JsonStyle::default(),
    }
}

/// Every kind of payload Rust writes, each built as an application would build it.
fn corpus() -> Vec<Written> {
    let mut out = vec![
        written(
            "primitives",
            Job::new("EchoJob")
                .arg("hello")
                .arg(42)
                .arg(-7)
                .arg(2.5)
                .arg(Value::Nil)
                .arg(true)
                .arg(false),
        ),
        written("no_arguments", Job::new("EchoJob")),
        written(
            "integers_edge",
            Job::new("EchoJob")
                .arg(0)
                .arg(9_007_199_254_740_993_i64)
                .arg(int("18446744073709551616")) // 2**64
                .arg(i64::MIN) // -(2**63)
                .arg(1_u64 << 63) // 2**63, past i64
                .arg(int("-18446744073709551617"))
                .arg(int("1180591620717411303424")), // 2**70
        ),
        written(
            "floats_edge",
            Job::new("EchoJob")
                .arg(1.0)
                .arg(-0.0)
                .arg(1.0e20)
                .arg(1.5e-7)
                .arg(123_456_789.123_456_79)
                .arg(0.1 + 0.2)
                .arg(1.0e15)
                .arg(1.0e16)
                .arg(0.0001)
                .arg(0.00001)
                .arg(f64::MAX)
                .arg(5.0e-324),
        ),
        written(
            "floats_nonfinite",
            Job::new("EchoJob")
                .arg(f64::NAN)
                .arg(f64::INFINITY)
                .arg(f64::NEG_INFINITY),
        ),
        written(
            "strings_escaping",
            Job::new("EchoJob")
                .arg("<b>Tom & Jerry</b>")
                .arg("quote \" backslash \\ slash /")
                .arg("line\nbreak\ttab\r")
                .arg("zażółć gęślą jaźń")
                .arg("日本語")
                .arg("emoji 🎉 👩‍👩‍👧")
                .arg("\u{2028}\u{2029}")
                .arg("")
                .arg("\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}")
                .arg("</script><script>alert(1)</script>"),
        ),
        Written {
            name: "strings_html_entities_off",
            job: Job::new("EchoJob")
                .arg("<b>Tom & Jerry</b>")
                .arg("\u{2028}\u{2029}"),
            style: JsonStyle {
                escape_html_entities: false,
                escape_js_separators: true,
            },
        },
        Written {
            // Rails 8.1 with load_defaults 8.1 no longer escapes U+2028/U+2029: they travel raw inside a line.
            name: "strings_js_separators_raw",
            job: Job::new("EchoJob")
                .arg("<b>Tom & Jerry</b>")
                .arg("a\u{2028}b\u{2029}c"),
            style: JsonStyle {
                escape_html_entities: true,
                escape_js_separators: false,
            },
        },
        written(
            "symbols",
            Job::new("EchoJob")
                .arg(Value::symbol("fast"))
                .arg(vec![Value::symbol("a"), Value::symbol("with space")])
                .arg(Value::string_hash([("k", Value::symbol("v"))]))
                .arg(Value::symbol("zażółć")),
        ),
        written(
            "nested_collections",
            Job::new("EchoJob")
                .arg(Value::Array(vec![
                    1.into(),
                    Value::Array(vec![
                        2.into(),
                        Value::Array(vec![3.into(), Value::Array(vec![])]),
                    ]),
                ]))
                .arg(Value::string_hash([(
                    "a",
                    Value::Array(vec![1.into(), Value::string_hash([("b", Value::Nil)])]),
                )]))
                .arg(Value::Array(vec![]))
                .arg(Value::string_hash(Vec::<(&str, Value)>::new())),
        ),
        written(
            "hash_string_keys",
            Job::new("EchoJob").arg(Value::string_hash([
                ("name", "widget".into()),
                ("count", 2.into()),
            ])),
        ),
        written(
            "hash_symbol_keys",
            Job::new("EchoJob").arg(Value::symbol_hash([
                ("name", "widget".into()),
                ("count", 2.into()),
            ])),
        ),
        written(
            "hash_mixed_keys",
            Job::new("EchoJob").arg(mixed_hash(vec![
                (sym_key("sym"), 1.into()),
                (str_key("str"), 2.into()),
                (
                    sym_key("nested"),
                    mixed_hash(vec![
                        (sym_key("deep"), true.into()),
                        (str_key("x"), Value::symbol("y")),
                    ]),
                ),
            ])),
        ),
        written(
            "kwargs",
            Job::new("ImportJob")
                .queue("imports")
                .arg(42)
                .kwargs([("mode", Value::symbol("fast")), ("dry_run", true.into())]),
        ),
        written(
            "kwargs_only",
            Job::new("EchoJob").kwargs([
                ("user_id", 7.into()),
                ("tags", vec!["a", "b"].into()),
                ("options", Value::symbol_hash([("retry", false.into())])),
            ]),
        ),
        written(
            // `perform_later(**{"str_key" => 1})`: keyword arguments with a String key.
            "kwargs_string_key",
            Job::new("EchoJob").arg(Value::Hash(Hash {
                entries: vec![(str_key("str_key"), 1.into())],
                kind: HashKind::Keywords,
            })),
        ),
        written(
            "hash_with_indifferent_access",
            Job::new("EchoJob")
                .arg(hwia(vec![
                    ("a", 1.into()),
                    ("nested", hwia(vec![("b", 2.into())])),
                ]))
                .arg(Value::string_hash([("plain", hwia(vec![("x", 1.into())]))])),
        ),
        written(
            "global_ids",
            Job::new("EchoJob")
                .arg(user(7))
                .arg(vec![user(8)])
                .arg(Value::string_hash([("owner", user(9))]))
                .arg(GlobalId::new(
                    "shop",
                    "Billing::Invoice",
                    "3f1b9c1e-5b6d-4d6e-9c55-7f0d2a8b1c11",
                )),
        ),
        written(
            "dates_and_times",
            Job::new("EchoJob")
                .arg(date(2024, 2, 29))
                .arg(Value::time_utc(utc(2024, 3, 15, 12, 30, 45, 123_456_789)))
                .arg(Value::Time(RubyTime {
                    instant: at_offset(7200, 2024, 3, 15, 14, 30, 45, 500_000_000),
                    utc: false,
                }))
                .arg(Value::Time(RubyTime {
                    instant: at_offset(-(3 * 3600 + 1800), 1999, 12, 31, 23, 59, 59, 999_999_999),
                    utc: false,
                }))
                .arg(Value::DateTime(at_offset(
                    5 * 3600 + 1800,
                    2024,
                    3,
                    15,
                    12,
                    30,
                    45,
                    250_000_000,
                )))
                .arg(Value::DateTime(at_offset(0, 2024, 1, 1, 0, 0, 0, 0))),
        ),
        written(
            "time_with_zone",
            Job::new("EchoJob")
                .arg(twz(utc(2024, 3, 15, 12, 30, 45, 123_456_789), "UTC"))
                .arg(twz(
                    utc(2024, 3, 15, 12, 30, 45, 123_456_789),
                    "Eastern Time (US & Canada)",
                ))
                .arg(twz(
                    utc(2024, 1, 15, 12, 0, 0, 0),
                    "Eastern Time (US & Canada)",
                ))
                .arg(twz(
                    utc(2024, 3, 15, 12, 30, 45, 123_456_789),
                    "Europe/Warsaw",
                ))
                .arg(twz(utc(2024, 1, 1, 0, 0, 0, 0), "Asia/Kolkata")),
        ),
        written(
            "durations",
            Job::new("EchoJob")
                .arg(duration(n(300), &[("minutes", n(5))]))
                .arg(duration(n(93_600), &[("days", n(1)), ("hours", n(2))]))
                .arg(duration(
                    Numeric::Float(5400.0),
                    &[("hours", Numeric::Float(1.5))],
                ))
                .arg(duration(n(-600), &[("minutes", n(-10))]))
                .arg(duration(n(1_209_600), &[("weeks", n(2))]))
                .arg(duration(n(2_629_746), &[("months", n(1))]))
                .arg(duration(n(31_556_952), &[("years", n(1))]))
                .arg(duration(
                    n(3700),
                    &[("hours", n(1)), ("minutes", n(1)), ("seconds", n(40))],
                )),
        ),
        written(
            "bigdecimal",
            Job::new("EchoJob")
                .arg(Value::BigDecimal("123.456".into()))
                .arg(Value::BigDecimal("-0.5".into()))
                .arg(Value::BigDecimal("0.00000000000000000001".into()))
                .arg(Value::BigDecimal("12345678901234567890.123456789".into())),
        ),
        written(
            "modules_and_classes",
            Job::new("EchoJob")
                .arg(Value::Module("String".into()))
                .arg(Value::Module("Comparable".into()))
                .arg(Value::Module("ImportJob".into()))
                .arg(Value::Module("Billing::Invoice".into()))
                .arg(Value::Module("Reporting".into())),
        ),
        written(
            "ranges",
            Job::new("EchoJob")
                .arg(range(1.into(), 10.into(), false))
                .arg(range(1.into(), 10.into(), true))
                .arg(range("a".into(), "z".into(), false))
                .arg(range(date(2024, 1, 1), date(2024, 1, 31), false))
                .arg(range(1.into(), Value::Nil, false))
                .arg(range(Value::Nil, 5.into(), true))
                .arg(range(1.5.into(), 2.5.into(), false))
                .arg(range(
                    Value::time_utc(utc(2024, 1, 1, 0, 0, 0, 0)),
                    Value::time_utc(utc(2025, 1, 1, 0, 0, 0, 0)),
                    false,
                )),
        ),
        written(
            "custom_serializer",
            Job::new("EchoJob")
                .arg(money(1999, "EUR"))
                .arg(vec![money(-5, "PLN")]),
        ),
        written(
            "mixed_nested_serializers",
            Job::new("EchoJob")
                .arg(Value::string_hash([
                    (
                        "window",
                        Value::symbol_hash([("from", date(2024, 1, 1)), ("to", date(2024, 1, 31))]),
                    ),
                    ("ids", vec![1, 2, 3].into()),
                    ("at", twz(utc(2024, 5, 1, 0, 0, 0, 0), "Tokyo")),
                    ("owner", user(1)),
                    ("kind", Value::symbol("monthly")),
                ]))
                .kwargs([(
                    "report",
                    Value::symbol_hash([
                        ("format", Value::symbol("csv")),
                        ("every", duration(n(604_800), &[("weeks", n(1))])),
                        ("price", money(250, "USD")),
                    ]),
                )]),
        ),
        written(
            "set_queue_and_priority",
            Job::new("EchoJob").queue("critical").priority(5).arg(1),
        ),
        written(
            "class_queue_and_priority",
            Job::new("CriticalJob")
                .queue("critical")
                .priority(10)
                .arg("x"),
        ),
        written(
            "queue_name_prefix",
            Job::new("PrefixedMailerJob")
                .queue("production_mailers")
                .arg("welcome")
                .arg(user(1)),
        ),
        written(
            "dynamic_queue",
            Job::new("DynamicQueueJob").queue("high").arg("vip").arg(1),
        ),
        written(
            "locale_and_timezone",
            Job::new("EchoJob")
                .locale("de")
                .timezone("Berlin")
                .arg(twz(utc(2024, 6, 1, 7, 0, 0, 0), "Berlin")),
        ),
        written(
            "timezone_rails_name",
            Job::new("EchoJob")
                .locale("pt-BR")
                .timezone("Eastern Time (US & Canada)")
                .arg(1),
        ),
        written("timezone_nil", {
            let mut job = Job::new("EchoJob").arg(1);
            job.timezone = None;
            job
        }),
        written(
            "scheduled_at",
            Job::new("SchedulingJob")
                .scheduled_at(utc(2030, 1, 1, 12, 0, 0, 0))
                .arg(42),
        ),
        written(
            "scheduled_at_nanoseconds",
            Job::new("SchedulingJob")
                .scheduled_at(utc(2026, 11, 24, 21, 32, 56, 338_290_123))
                .arg(42),
        ),
        written("karafka_current_attributes", {
            let mut job = Job::new("EchoJob").arg(1);
            job.extra.insert(
                "cattr_0".into(),
                json!({"user_id": 7, "request_id": "req-abc"}),
            );
            job
        }),
        written("custom_top_level_key", {
            let mut job = Job::new("AttemptNumberJob").arg("x");
            job.extra.insert("attempt_number".into(), json!(1));
            job
        }),
        written("retry_after_failure", {
            // retry_on FlakyError, OtherError, wait: 0 re-enqueues with enqueue_at(now).
            let mut job = Job::new("RetryingJob")
                .scheduled_at(utc(2026, 11, 24, 21, 27, 56, 349_535_000))
                .arg(1);
            job.executions = Some(1);
            job.exception_executions = Some(object(&[("[FlakyError, OtherError]", json!(1))]));
            job
        }),
        written(
            "continuation_fresh",
            Job::new("ProcessImportJob")
                .queue("imports")
                .continuable()
                .arg(123),
        ),
        written(
            "continuation_interrupted",
            interrupted(
                Job::new("ProcessImportJob")
                    .queue("imports")
                    .continuable()
                    .arg(123),
                Continuation {
                    completed: vec!["validate".into()],
                    current: step("process_records", json!(3)),
                },
                0,
                1,
            ),
        ),
        written(
            "continuation_resumed_and_interrupted",
            interrupted(
                Job::new("ProcessImportJob")
                    .queue("imports")
                    .continuable()
                    .arg(123),
                Continuation {
                    completed: vec!["validate".into()],
                    current: step("process_records", json!(6)),
                },
                1,
                2,
            ),
        ),
        written(
            "continuation_array_cursor",
            interrupted(
                Job::new("NestedCursorJob").continuable(),
                Continuation {
                    completed: vec![],
                    current: step("process_nested", json!([1, 1])),
                },
                0,
                1,
            ),
        ),
        written(
            "continuation_isolated_step",
            interrupted(
                Job::new("IsolatedStepsJob").continuable(),
                Continuation {
                    completed: vec!["quick_step1".into()],
                    current: None,
                },
                0,
                1,
            ),
        ),
        written(
            "continuation_cursor_string",
            interrupted(
                Job::new("CursorTypesJob").continuable().arg("string"),
                Continuation {
                    completed: vec![],
                    current: step("walk", json!("user_0042")),
                },
                0,
                1,
            ),
        ),
        written(
            "continuation_cursor_bignum",
            interrupted(
                Job::new("CursorTypesJob").continuable().arg("bignum"),
                Continuation {
                    completed: vec![],
                    current: step(
                        "walk",
                        serde_json::from_str("1180591620717411303424").expect("number"),
                    ),
                },
                0,
                1,
            ),
        ),
        written(
            "continuation_cursor_hash",
            interrupted(
                Job::new("CursorTypesJob").continuable().arg("hash"),
                Continuation {
                    completed: vec![],
                    current: step("walk", json!({"page": 3, "token": "abc"})),
                },
                0,
                1,
            ),
        ),
        written(
            "global_id_ids_needing_escapes",
            Job::new("EchoJob")
                .arg(GlobalId::new("shop", "Billing::Invoice", "2024/05/7"))
                .arg(GlobalId::new("shop", "Billing::Invoice", "a/b c+d%e"))
                .arg(GlobalId::new("shop", "Billing::Invoice", "zażółć/日本?#&="))
                .arg(GlobalId::new("shop", "Billing::Invoice", " "))
                .arg(GlobalId {
                    params: Some("database=replica".to_owned()),
                    ..GlobalId::new("shop", "User", "8")
                }),
        ),
        written(
            "times_with_offset_seconds",
            Job::new("EchoJob")
                // Local mean time of Kolkata (+05:53:28), London (-00:01:15), New York (-04:56:02).
                .arg(Value::Time(RubyTime {
                    instant: at_offset(21_208, 1800, 1, 1, 0, 0, 0, 0),
                    utc: false,
                }))
                .arg(Value::Time(RubyTime {
                    instant: at_offset(-75, 1840, 6, 1, 12, 30, 15, 500),
                    utc: false,
                }))
                .arg(Value::DateTime(at_offset(
                    21_208,
                    1850,
                    3,
                    1,
                    10,
                    0,
                    0,
                    123_456_789,
                )))
                .arg(Value::DateTime(at_offset(
                    -17_762, 1880, 12, 31, 23, 59, 59, 0,
                ))),
        ),
    ];
    out.extend(rewritten_payloads());
    out
}

/// Payloads Rails wrote, read by Rust and written again (a retry of an old job, a continuation resumed): what was
/// decoded is kept as it came (a Rails 6.1 TimeWithZone without `time_zone`, the job's own keys), while the
/// envelope changes as Rails changes it when it re-enqueues.
fn rewritten_payloads() -> Vec<Written> {
    // A retry as `retry_on ... wait: 0` writes it: one more execution, counted, scheduled now.
    let retried = |rel: &str| {
        let mut job = read_fixture(rel);
        job.executions = Some(1);
        job.exception_executions = Some(object(&[("[FlakyError, OtherError]", json!(1))]));
        job.enqueued_at = Some(EnvelopeTime::now());
        job.scheduled_at(utc(2026, 11, 24, 21, 28, 0, 0))
    };
    let mut resumed = read_fixture("fixtures/8.1/continuation_1_interrupted.json");
    let mut continuation = resumed.continuation.take().expect("a continuation");
    continuation.current = step("process_records", json!(6));
    resumed.enqueued_at = Some(EnvelopeTime::now());
    vec![
        written(
            "rewritten_6_1_retry_in_job_zone",
            retried("fixtures/6.1/locale_and_timezone.json"),
        ),
        written(
            "rewritten_6_1_time_with_zone",
            retried("fixtures/6.1/time_with_zone.json"),
        ),
        written(
            "rewritten_8_1_continuation_resumed",
            interrupted(resumed, continuation, 1, 2),
        ),
    ]
}

/// The corpus line of `entry`: its payload with a job id derived from its name and a fixed `enqueued_at`.
fn pinned_payload(entry: &Written) -> Vec<u8> {
    let mut job = entry.job.clone();
    job.job_id = Some(name_uuid(entry.name));
    job.enqueued_at = Some(EnvelopeTime::new(corpus_enqueued_at()));
    job.encode_with(entry.style)
        .unwrap_or_else(|e| panic!("{}: cannot encode: {e}", entry.name))
}

/// A UUID v4 made from the entry's name (FNV-1a, 128 bits), so a line keeps its id when others are added.
fn name_uuid(name: &str) -> String {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(PRIME);
    }
    uuid::Builder::from_random_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string()
}

fn corpus_lines() -> &'static [(String, Vec<u8>)] {
    static LINES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    LINES.get_or_init(|| {
        corpus()
            .iter()
            .map(|e| (e.name.to_owned(), pinned_payload(e)))
            .collect()
    })
}

// ------------------------------------------------------------------------------------------------ reading back

/// What Rust must read back from a job it wrote: the job itself, except where the wire changes the value in Rails
/// too. Non-finite Floats are written as null and read as nil; a Time or DateTime offset with seconds is read in
/// the whole-minute offset Ruby prints (same instant); a TimeWithZone is written with its zone's IANA name
/// (`time_zone`), and Rails 8.1 reads it in the zone of that name (`Time.find_zone`), so "Eastern Time (US &
/// Canada)" comes back as "America/New_York" and "UTC" as "Etc/UTC".
fn as_read_back(job: &Job) -> Job {
    let mut job = job.clone();
    job.arguments = job.arguments.iter().map(value_read_back).collect();
    job
}

fn value_read_back(value: &Value) -> Value {
    // Ruby prints and reads offsets in whole minutes: the instant is kept in the offset it prints.
    let whole_minutes = |t: &DateTime<FixedOffset>| {
        let seconds = t.offset().local_minus_utc();
        t.with_timezone(&FixedOffset::east_opt(seconds / 60 * 60).expect("an offset"))
    };
    match value {
        Value::Float(f) if !f.is_finite() => Value::Nil,
        Value::Time(t) if !t.utc => Value::Time(RubyTime {
            instant: whole_minutes(&t.instant),
            utc: false,
        }),
        Value::DateTime(t) => Value::DateTime(whole_minutes(t)),
        Value::Array(items) => Value::Array(items.iter().map(value_read_back).collect()),
        Value::Hash(hash) => Value::Hash(Hash {
            entries: hash
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), value_read_back(v)))
                .collect(),
            kind: hash.kind,
        }),
        Value::Range(r) => Value::Range(Box::new(Range {
            begin: value_read_back(&r.begin),
            end: value_read_back(&r.end),
            exclude_end: r.exclude_end,
        })),
        Value::TimeWithZone(t) if t.wire == TimeWithZoneWire::WithTimeZone => {
            let mut t = t.clone();
            t.zone = zone(t.zone.tzinfo_name());
            Value::TimeWithZone(t)
        }
        other => other.clone(),
    }
}

/// Compares every public field of two jobs. `Job`'s own `==` also compares what a decoded job remembers of its
/// payload so that it is written back unchanged (the text of an envelope time, whether the payload had a
/// `scheduled_at` key), which a job built in Rust cannot have: envelope times compare by time and by the text
/// written instead.
fn same_job(name: &str, read: &Job, wrote: &Job) -> Result<(), String> {
    let mut differing = Vec::new();
    macro_rules! field {
        ($field:ident) => {
            if read.$field != wrote.$field {
                differing.push(format!(
                    "{}: read back {:?}, written {:?}",
                    stringify!($field),
                    read.$field,
                    wrote.$field
                ));
            }
        };
    }
    field!(job_class);
    field!(job_id);
    field!(provider_job_id);
    field!(queue_name);
    field!(priority);
    field!(executions);
    field!(exception_executions);
    field!(locale);
    field!(timezone);
    field!(continuation);
    field!(resumptions);
    field!(extra);
    // `==` takes -0.0 for 0.0; the debug text does not.
    let (a, b) = (
        format!("{:?}", read.arguments),
        format!("{:?}", wrote.arguments),
    );
    if a != b {
        differing.push(format!("arguments: read back {a}, written {b}"));
    }
    let time = |t: &Option<EnvelopeTime>| t.as_ref().map(|t| (t.time, t.to_wire()));
    for (field, a, b) in [
        (
            "enqueued_at",
            time(&read.enqueued_at),
            time(&wrote.enqueued_at),
        ),
        (
            "scheduled_at",
            time(&read.scheduled_at),
            time(&wrote.scheduled_at),
        ),
    ] {
        if a != b {
            differing.push(format!("{field}: read back {a:?}, written {b:?}"));
        }
    }
    if differing.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}: {}", differing.join("\n      ")))
    }
}

// ------------------------------------------------------------------------------------------------ shape

/// Rails 8.1's `serialize` keys, in order, from a payload Rails 8.1 wrote.
fn rails81_keys() -> Vec<String> {
    let bytes = std::fs::read(crate_root().join("fixtures/8.1/primitives.json"))
        .expect("fixtures/8.1/primitives.json");
    let payload: Json = serde_json::from_slice(&bytes).expect("JSON");
    payload
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// Ruby's `SecureRandom.uuid`: lowercase, hyphenated, version 4, RFC 4122 variant.
fn check_uuid_v4(text: &str) -> Result<(), String> {
    let id = uuid::Uuid::parse_str(text).map_err(|e| format!("job_id {text:?}: {e}"))?;
    if id.get_version() != Some(uuid::Version::Random)
        || id.get_variant() != uuid::Variant::RFC4122
        || id.hyphenated().to_string() != text
    {
        return Err(format!("job_id {text:?} is not a lowercase UUID v4"));
    }
    Ok(())
}

/// `iso8601(9)`: `...T12:30:45.123456789Z` or `...+02:00`.
fn has_nine_fraction_digits(text: &str) -> bool {
    let Some((_, clock)) = text.split_once('T') else {
        return false;
    };
    let Some((_, frac)) = clock.split_once('.') else {
        return false;
    };
    let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &frac[digits..];
    digits == 9 && (rest == "Z" || (rest.len() == 6 && rest.starts_with(['+', '-'])))
}

/// Every time in a payload: `enqueued_at`, `scheduled_at` and the Time, DateTime and TimeWithZone arguments.
fn payload_times(payload: &Json) -> Vec<String> {
    fn walk(node: &Json, out: &mut Vec<String>) {
        match node {
            Json::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Json::Object(map) => {
                let timed = map
                    .get("_aj_serialized")
                    .and_then(Json::as_str)
                    .is_some_and(|s| {
                        s.ends_with("::TimeSerializer")
                            || s.ends_with("::DateTimeSerializer")
                            || s.ends_with("::TimeWithZoneSerializer")
                    });
                if timed {
                    if let Some(v) = map.get("value").and_then(Json::as_str) {
                        out.push(v.to_owned());
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for key in ["enqueued_at", "scheduled_at"] {
        if let Some(t) = payload[key].as_str() {
            out.push(t.to_owned());
        }
    }
    walk(&payload["arguments"], &mut out);
    out
}

fn shape_problems(entry: &Written, bytes: &[u8], rails_keys: &[String]) -> Vec<String> {
    let name = entry.name;
    let mut problems = Vec::new();
    let payload: Json = match serde_json::from_slice(bytes) {
        Ok(p) => p,
        Err(e) => return vec![format!("{name}: not JSON: {e}")],
    };
    let keys: Vec<&str> = payload
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut want: Vec<&str> = rails_keys.iter().map(String::as_str).collect();
    if entry.job.continuation.is_some() {
        // Continuable#serialize: super.merge("continuation" => ..., "resumptions" => ...)
        want.extend(["continuation", "resumptions"]);
    }
    // Keys a job or Karafka adds after serialize (cattr_0, attempt_number) come last.
    want.extend(entry.job.extra.keys().map(String::as_str));
    if keys != want {
        problems.push(format!(
            "{name}: top-level keys {keys:?}, Rails 8.1 writes {want:?}"
        ));
    }
    match payload["job_id"].as_str() {
        Some(id) => {
            if let Err(e) = check_uuid_v4(id) {
                problems.push(format!("{name}: {e}"));
            }
        }
        None => problems.push(format!("{name}: no job_id")),
    }
    for t in payload_times(&payload) {
        if !has_nine_fraction_digits(&t) {
            problems.push(format!("{name}: time {t:?} has not nine fraction digits"));
        }
    }
    let expected = as_read_back(&entry.job);
    match Job::decode_with(bytes, options()) {
        Err(e) => problems.push(format!("{name}: Rust cannot read its own payload: {e}")),
        Ok(read) => {
            if let Err(e) = same_job(name, &read, &expected) {
                problems.push(e);
            }
            match read.encode_with(entry.style) {
                Ok(again) if again == bytes => {}
                Ok(again) => problems.push(format!(
                    "{name}: written again differently\n      first:  {}\n      second: {}",
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&again)
                )),
                Err(e) => problems.push(format!("{name}: cannot write back what it read: {e}")),
            }
        }
    }
    problems
}

#[test]
fn written_payloads_have_rails81_shape() {
    let rails_keys = rails81_keys();
    let entries = corpus();
    let mut problems = Vec::new();
    for entry in &entries {
        let bytes = entry
            .job
            .encode_with(entry.style)
            .unwrap_or_else(|e| panic!("{}: cannot encode: {e}", entry.name));
        problems.extend(shape_problems(entry, &bytes, &rails_keys));
    }
    say(&format!(
        "rust_written shape: {} payloads checked (key order, UUID v4, nine fraction digits, read back, written back)",
        entries.len()
    ));
    for p in &problems {
        say(&format!("  FAIL {p}"));
    }
    assert!(problems.is_empty(), "{} problem(s)", problems.len());
}

#[test]
fn corpus_names_are_unique() {
    let mut names: Vec<&str> = corpus().iter().map(|e| e.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "two corpus entries share a name");
}

// ------------------------------------------------------------------------------------------------ the committed corpus

fn read_lines(rel: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(crate_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    // \n only: a payload may hold a raw U+2028.
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn corpus_file_is_what_rust_writes() {
    let lines = corpus_lines();
    let mut text = Vec::new();
    for (_, payload) in lines {
        text.extend_from_slice(payload);
        text.push(b'\n');
    }
    let path = crate_root().join(CORPUS);
    if std::env::var(WRITE_CORPUS_VAR).as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("create dir");
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{CORPUS}: {e}"));
        say(&format!(
            "rust_written: wrote {} payloads to {CORPUS}; refresh {RAILS81_DECODED} with Rails 8.1 (see fixtures/rust_written/README.md)",
            lines.len()
        ));
        return;
    }
    let committed = read_lines(CORPUS);
    for (i, (name, payload)) in lines.iter().enumerate() {
        match committed.get(i) {
            Some(line) if line == payload => {}
            Some(line) => panic!(
                "{CORPUS} line {}: ({name}) differs from what Rust writes today\n  file: {}\n  rust: {}\n  \
                 rerun with {WRITE_CORPUS_VAR}=1 if the change is meant, and refresh {RAILS81_DECODED}",
                i + 1,
                String::from_utf8_lossy(line),
                String::from_utf8_lossy(payload)
            ),
            None => panic!(
                "{CORPUS} has {} lines, Rust writes {} ({name} is missing); rerun with {WRITE_CORPUS_VAR}=1",
                committed.len(),
                lines.len()
            ),
        }
    }
    assert_eq!(
        committed.len(),
        lines.len(),
        "{CORPUS} has more lines than Rust writes; rerun with {WRITE_CORPUS_VAR}=1"
    );
}

/// Rust's typed dump of payload bytes, as `decode --typed --app fixtures/app.toml` prints it.
fn rust_dump(bytes: &[u8]) -> Result<Json, String> {
    Job::decode_with(bytes, options())
        .map(|job| typed_dump(&job, options()))
        .map_err(|e| e.to_string())
}

#[test]
fn rails81_reading_of_corpus_equals_rust_dump() {
    let names: Vec<&str> = corpus_lines().iter().map(|(n, _)| n.as_str()).collect();
    let payloads = read_lines(CORPUS);
    let readings = read_lines(RAILS81_DECODED);
    assert_eq!(
        payloads.len(),
        readings.len(),
        "{RAILS81_DECODED} has {} readings for {} payloads in {CORPUS}: refresh it with Rails 8.1 \
         (fixtures/rust_written/README.md)",
        readings.len(),
        payloads.len()
    );
    let mut problems = Vec::new();
    for (i, (payload, reading)) in payloads.iter().zip(&readings).enumerate() {
        let name = names.get(i).copied().unwrap_or("?");
        let rails: Json = serde_json::from_slice(reading)
            .unwrap_or_else(|e| panic!("{RAILS81_DECODED} line {}: {e}", i + 1));
        if rails.get("error_class").is_some() {
            problems.push(format!(
                "line {} ({name}): Rails 8.1 cannot read it: {rails}",
                i + 1
            ));
            continue;
        }
        match rust_dump(payload) {
            Err(e) => problems.push(format!("line {} ({name}): Rust cannot read it: {e}", i + 1)),
            Ok(rust) => {
                if let Err(diff) = compare(&rails, &rust) {
                    problems.push(format!(
                        "line {} ({name}): {diff}  (Rails 8.1 vs Rust)",
                        i + 1
                    ));
                }
            }
        }
    }
    say(&format!(
        "rust_written vs Rails 8.1: {}/{} Rust dumps equal the Rails 8.1 reading",
        payloads.len() - problems.len(),
        payloads.len()
    ));
    for p in &problems {
        say(&format!("  FAIL {p}"));
    }
    assert!(problems.is_empty(), "{} problem(s)", problems.len());
}

// ------------------------------------------------------------------------------------------------ read by Ruby

/// The documented differences an older ActiveJob may show for this payload, from what the payload holds. Only
/// those of `active` rules are kept; each must then happen, in its rule's shape.
fn sites_for(job: &Job, payload: &Json, active: &[&'static Rule]) -> Vec<(&'static Rule, String)> {
    let mut sites: Vec<(&'static Rule, String)> = Vec::new();
    if payload["enqueued_at"].is_string() {
        sites.push((&common::ENQUEUED_AT_STRING, "$.enqueued_at".into()));
    }
    if payload["scheduled_at"].is_string() {
        sites.push((&common::SCHEDULED_AT_IGNORED, "$.scheduled_at".into()));
    }
    if job.continuation.is_some() {
        sites.push((&common::CONTINUATION_IGNORED, "$.resumptions".into()));
        sites.push((&common::CONTINUATION_IGNORED, "$.continuation".into()));
    }
    let job_zone = job.timezone.as_deref().unwrap_or("UTC");
    for (i, value) in job.arguments.iter().enumerate() {
        walk_value(value, &format!("$.arguments[{i}]"), job_zone, &mut sites);
    }
    sites
        .into_iter()
        .filter(|(rule, _)| active.iter().any(|a| a.label == rule.label))
        .collect()
}

/// Paths follow the typed dump: Array `items[i]`, Hash `entries[i][1]`, Range `begin` / `end`.
fn walk_value(value: &Value, path: &str, job_zone: &str, sites: &mut Vec<(&'static Rule, String)>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(item, &format!("{path}.items[{i}]"), job_zone, sites);
            }
        }
        Value::Hash(hash) => {
            for (i, (_, v)) in hash.entries.iter().enumerate() {
                walk_value(v, &format!("{path}.entries[{i}][1]"), job_zone, sites);
            }
        }
        Value::Range(_) => sites.push((&common::RANGE_UNREADABLE, "$".into())),
        Value::BigDecimal(_) => sites.push((&common::BIGDECIMAL_UNREADABLE, "$".into())),
        Value::TimeWithZone(t) => match t.wire {
            TimeWithZoneWire::WithTimeZone => {
                sites.push((&common::TWZ_TIME_ZONE_KEY_IGNORED, path.to_owned()))
            }
            // Read in the job's zone by 8.1 and in the consumer's (UTC) before: the same when the job's is UTC.
            TimeWithZoneWire::ValueOnly(_) if job_zone != "UTC" => {
                sites.push((&common::TWZ_CONSUMER_ZONE, path.to_owned()))
            }
            TimeWithZoneWire::ValueOnly(_) => {}
        },
        _ => {}
    }
}

#[test]
fn ruby_reads_what_rust_writes() {
    if ruby_skipped("ruby_interop_written") {
        return;
    }
    let lines = corpus_lines();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rust_written.jsonl");
    let mut text = Vec::new();
    for (_, payload) in lines {
        text.extend_from_slice(payload);
        text.push(b'\n');
    }
    std::fs::write(&file, &text).expect("write JSONL");
    let file = file.to_string_lossy().into_owned();
    let inputs: Vec<String> = (1..=lines.len()).map(|i| format!("{file}:{i}")).collect();
    let ruby = run_typed_dump(std::slice::from_ref(&file), &inputs);

    let active = active_rules(&ruby.activejob);
    let mut problems = Vec::new();
    let mut tally = Tally::default();
    let mut unreadable = Vec::new();
    for ((name, bytes), ruby_dump) in lines.iter().zip(&ruby.dumps) {
        let (job, rust) = match Job::decode_with(bytes, options()) {
            Ok(job) => {
                let dump = typed_dump(&job, options());
                (job, dump)
            }
            Err(e) => {
                problems.push(format!("{name}: Rust cannot read its own payload: {e}"));
                continue;
            }
        };
        let payload: Json = serde_json::from_slice(bytes).expect("a written payload is JSON");
        let sites = sites_for(&job, &payload, &active);
        let verdict = compare_documented(
            name,
            &payload,
            ruby_dump,
            &rust,
            sites.iter().map(|(r, p)| (*r, p.as_str())).collect(),
        );
        if let Some(error) = ruby_dump.get("error_class") {
            unreadable.push(format!(
                "{name}: {}: {} (documented: {})",
                error.as_str().unwrap_or("?"),
                ruby_dump["message"].as_str().unwrap_or("?"),
                verdict.fired.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        if verdict.problems.is_empty() {
            tally.add(&verdict.fired);
        }
        problems.extend(verdict.problems);
    }
    for line in &unreadable {
        say(&format!(
            "ruby_interop_written: {} cannot read {line}",
            ruby.reader
        ));
    }
    say(&format!(
        "ruby_interop_written: {} payloads written by Rust read by {}, {}",
        lines.len(),
        ruby.reader,
        tally.summary(&active)
    ));
    fail_on_problems("ruby_interop_written", &problems, &active, &ruby.reader);
}

/// Writes `payloads` as a JSONL file in `dir` and has Ruby dump each line (`extra` options first).
fn ruby_dumps(dir: &Path, name: &str, payloads: &[Vec<u8>], extra: &[&str]) -> Vec<Json> {
    let file = dir.join(name);
    let mut text = Vec::new();
    for payload in payloads {
        text.extend_from_slice(payload);
        text.push(b'\n');
    }
    std::fs::write(&file, &text).expect("write JSONL");
    let file = file.to_string_lossy().into_owned();
    let inputs: Vec<String> = (1..=payloads.len())
        .map(|i| format!("{file}:{i}"))
        .collect();
    let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    args.push(file);
    run_typed_dump(&args, &inputs).dumps
}

/// A Ruby application with the envelope deserializer of Karafka's documentation reads the jobs Rust
/// wraps in that envelope exactly as it reads them bare (checked against Rust's reading above),
/// and Rust reads them back through the format as it reads them bare.
#[test]
fn ruby_reads_what_rust_writes_in_an_envelope() {
    if ruby_skipped("ruby_interop_written") {
        return;
    }
    let bare: Vec<Vec<u8>> = corpus_lines().iter().map(|(_, p)| p.clone()).collect();
    let wrapped: Vec<Vec<u8>> = bare
        .iter()
        .map(|p| VersionedEnvelope.payload(p.clone()).expect("wraps"))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let ruby_bare = ruby_dumps(dir.path(), "bare.jsonl", &bare, &[]);
    let ruby_wrapped = ruby_dumps(
        dir.path(),
        "wrapped.jsonl",
        &wrapped,
        &["--envelope", "payload"],
    );
    let with_format = DecodeOptions {
        payload_format: Some(Arc::new(VersionedEnvelope)),
        ..options().clone()
    };
    for (i, (name, payload)) in corpus_lines().iter().enumerate() {
        assert_eq!(
            ruby_wrapped[i], ruby_bare[i],
            "{name}: Ruby reads the envelope differently"
        );
        assert_eq!(
            Job::decode_with(&wrapped[i], &with_format).ok(),
            Job::decode_with(payload, options()).ok(),
            "{name}: Rust reads the envelope differently"
        );
    }
    say(&format!(
        "ruby_interop_written: {} payloads written by Rust in an envelope read as bare, by Ruby and by Rust",
        bare.len()
    ));
}

// ------------------------------------------------------------------------------------------------ values Ruby refuses

#[test]
fn dates_lost_in_the_calendar_reform_are_refused() {
    // Ruby's Date and DateTime raise `invalid date` for 1582-10-05..14: writing one would give a payload that no
    // worker reads, so encoding fails instead.
    let lost = Job::new("EchoJob").arg(date(1582, 10, 10));
    let err = lost.encode().expect_err("a date Ruby cannot build");
    assert!(err.to_string().contains("arguments[0]"), "{err}");
    let lost = Job::new("EchoJob").arg(Value::DateTime(at_offset(0, 1582, 10, 14, 12, 0, 0, 0)));
    assert!(lost.encode().is_err());
    for (y, m, d) in [(1582, 10, 4), (1582, 10, 15), (-1, 1, 1), (12345, 1, 1)] {
        let job = Job::new("EchoJob").arg(date(y, m, d));
        job.encode()
            .unwrap_or_else(|e| panic!("{y}-{m}-{d} is a Ruby date: {e}"));
    }
}

/// GlobalID ids that need escaping. GlobalID writes the model id with `CGI.escape` (a `/` in it as `%2F`, so it
/// is one id, not a composite key); Rails 8.1 reads
/// the URI with `URI.split` (which refuses raw spaces, non-ASCII bytes and stray `%`, and ends the path at `?` or
/// `#`) and `CGI.unescape` (`+` is a space). Written raw, real Rails 8.1.3.1 read these ids as: `INV 2024`,
/// `zażółć`, `50%off` → nil (no record); `a+b` → "a b"; `a?b`, `a#b` → "a". So Rust escapes as GlobalID does,
/// reads `+` as a space, and prints the escaped URI in the typed dump.
const IDS_TO_ESCAPE: [&str; 9] = [
    "INV 2024",
    "zażółć",
    "50%off",
    "a+b",
    "x&y=1",
    "a?b",
    "a#b",
    "2024/05/7",
    "a/b",
];

/// Ruby's `CGI.escape`.
fn cgi_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn global_id_model_ids_are_written_as_globalid_writes_them() {
    let mut problems = Vec::new();
    for id in IDS_TO_ESCAPE {
        let job = Job::new("EchoJob").arg(GlobalId::new("shop", "Billing::Invoice", id));
        let bytes = job.encode().expect("encode");
        let payload: Json = serde_json::from_slice(&bytes).expect("JSON");
        let uri = format!("gid://shop/Billing::Invoice/{}", cgi_escape(id));
        if payload["arguments"][0]["_aj_globalid"] != uri.as_str() {
            problems.push(format!(
                "{id:?}: written {}, GlobalID writes {uri}",
                payload["arguments"][0]["_aj_globalid"]
            ));
        }
        // What Rails 8.1 hands the job for `uri`.
        let rails = json!({
            "type": "GlobalID::Identification",
            "class": "Billing::Invoice",
            "id": id,
            "gid": uri,
        });
        match rust_dump(&bytes) {
            Ok(dump) => {
                if let Err(diff) = compare(&rails, &dump["arguments"][0]) {
                    problems.push(format!("{id:?}: read back {diff} (Rails 8.1 vs Rust)"));
                }
            }
            Err(e) => problems.push(format!("{id:?}: Rust cannot read it back: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
