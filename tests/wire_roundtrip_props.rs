//! Property tests of the wire format over generated jobs: anything Rails can write survives
//! encode → decode unchanged, encoding is deterministic, the typed dump (what a Ruby worker
//! would hold) is unchanged by the trip, and corrupted payloads are refused without panicking.
//!
//! 256 cases per property by default; `PROPTEST_CASES=10000 cargo test --test
//! wire_roundtrip_props` searches harder.

mod common;

use activejob_karafka::arguments::{
    from_values, CustomObject, GlobalId, Hash, HashKey, HashKind, Range, TimeWithZone,
    TimeWithZoneWire, Value,
};
use activejob_karafka::continuation::{Continuation, CurrentStep};
use activejob_karafka::ruby::duration::Duration;
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::ruby::{bigdecimal, time_zone, Integer, Numeric};
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, EnvelopeTime, Job};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use num_bigint::{BigInt, Sign};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value as Json};
use std::collections::HashSet;

/// `PROPTEST_CASES` when set, else `default`.
fn config(default: u32) -> Config {
    let mut config = Config {
        // A failure is kept as a named test in wire_fuzz_regressions.rs, not as a seed file.
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

/// The markers Rails refuses as Hash keys.
const RESERVED_KEYS: [&str; 5] = [
    "_aj_globalid",
    "_aj_symbol_keys",
    "_aj_ruby2_keywords",
    "_aj_serialized",
    "_aj_hash_with_indifferent_access",
];

/// Rails zone names, IANA names, and zones with odd offsets (half hours, 45 minutes, local mean
/// time with seconds before standard time, DST of 30 minutes).
const ZONES: [&str; 14] = [
    "UTC",
    "Eastern Time (US & Canada)",
    "Berlin",
    "Kolkata",
    "Kathmandu",
    "Chatham Is.",
    "Newfoundland",
    "Kyiv",
    "International Date Line West",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Etc/GMT-14",
];

// ---------------------------------------------------------------------------------------------
// Scalars

/// Text of any Unicode, with what JSON and ActiveSupport escape (`<>&`, U+2028/9, controls)
/// made likely.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[<>&\"\\\\/\\x00-\\x1f\\x7f\\x{2028}\\x{2029}a-zé日🎉 ]{0,12}",
    ]
    .boxed()
}

fn integer() -> BoxedStrategy<Integer> {
    let big =
        (any::<bool>(), prop::collection::vec(any::<u8>(), 8..40)).prop_map(|(neg, bytes)| {
            let sign = if neg { Sign::Minus } else { Sign::Plus };
            Integer::from(BigInt::from_bytes_be(sign, &bytes))
        });
    let edges = prop::sample::select(vec![
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "9007199254740993",
    ])
    .prop_map(|s| Integer::parse(s).expect("an integer literal"));
    prop_oneof![4 => any::<i64>().prop_map(Integer::Small), 2 => big, 1 => edges].boxed()
}

/// Finite doubles: every class of bit pattern, plus the values Ruby prints specially.
fn float() -> BoxedStrategy<f64> {
    use prop::num::f64 as f;
    prop_oneof![
        4 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1e16,
            1e20,
            1.5e-7,
            0.1 + 0.2,
            123_456_789.123_456_79,
        ]),
    ]
    .boxed()
}

fn numeric() -> BoxedStrategy<Numeric> {
    prop_oneof![
        integer().prop_map(Numeric::Integer),
        float().prop_map(Numeric::Float),
    ]
    .boxed()
}

fn utc_instant(from_year: i32, to_year: i32) -> BoxedStrategy<DateTime<Utc>> {
    let start = Utc
        .with_ymd_and_hms(from_year, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let end = Utc
        .with_ymd_and_hms(to_year, 12, 31, 23, 59, 59)
        .unwrap()
        .timestamp();
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000, Just(999_999_999)];
    (start..=end, nanos)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
        .boxed()
}

/// A UTC offset Ruby prints and reads back: whole minutes, less than a day.
fn offset() -> BoxedStrategy<FixedOffset> {
    prop_oneof![
        Just(0),
        -(23 * 60 + 59)..=(23 * 60 + 59),
        prop::sample::select(vec![330, 345, -210, 765, 840, -720]),
    ]
    .prop_map(|minutes: i32| FixedOffset::east_opt(minutes * 60).unwrap())
    .boxed()
}

fn zone() -> BoxedStrategy<time_zone::RailsZone> {
    prop::sample::select(ZONES.to_vec())
        .prop_map(|name| time_zone::lookup(name).expect("a known zone"))
        .boxed()
}

/// Gregorian dates after the 1582 reform, where Ruby's Date and chrono agree.
fn date() -> BoxedStrategy<NaiveDate> {
    use chrono::Datelike;
    let first = NaiveDate::from_ymd_opt(1583, 1, 1)
        .unwrap()
        .num_days_from_ce();
    let last = NaiveDate::from_ymd_opt(9999, 12, 31)
        .unwrap()
        .num_days_from_ce();
    (first..=last)
        .prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap())
        .boxed()
}

fn ruby_time() -> BoxedStrategy<Value> {
    (utc_instant(1001, 9998), any::<bool>(), offset())
        .prop_map(|(instant, utc, offset)| {
            Value::Time(if utc {
                RubyTime::from_utc(instant)
            } else {
                RubyTime {
                    instant: instant.with_timezone(&offset),
                    utc: false,
                }
            })
        })
        .boxed()
}

fn date_time() -> BoxedStrategy<Value> {
    (utc_instant(1584, 9998), offset())
        .prop_map(|(instant, offset)| Value::DateTime(instant.with_timezone(&offset)))
        .boxed()
}

fn time_with_zone() -> BoxedStrategy<Value> {
    // From before standard time (local mean time offsets with seconds) to beyond the tz tables.
    (utc_instant(1800, 2200), zone())
        .prop_map(|(instant, zone)| Value::time_with_zone(instant, zone))
        .boxed()
}

fn duration() -> BoxedStrategy<Value> {
    let unit = prop_oneof![
        9 => prop::sample::select(vec![
            "years", "months", "weeks", "days", "hours", "minutes", "seconds",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z]{1,10}",
    ];
    (numeric(), prop::collection::vec((unit, numeric()), 0..4))
        .prop_map(|(value, parts)| {
            Value::Duration(Duration::from_wire(value, parts).expect("Rails accepts any parts"))
        })
        .boxed()
}

fn big_decimal() -> BoxedStrategy<Value> {
    prop_oneof![
        "-?[0-9]{1,25}(\\.[0-9]{1,25})?([eE]-?[0-9]{1,3})?",
        prop::sample::select(vec!["NaN", "Infinity", "-Infinity", "0", "-0", "0.1e-20"])
            .prop_map(str::to_owned),
    ]
    .prop_map(|literal| {
        Value::BigDecimal(bigdecimal::bigdecimal_to_s(&literal).expect("a BigDecimal literal"))
    })
    .boxed()
}

fn constant_name() -> BoxedStrategy<String> {
    "[A-Z][A-Za-z0-9_]{0,8}(::[A-Z][A-Za-z0-9_]{0,8}){0,2}".boxed()
}

fn global_id() -> BoxedStrategy<Value> {
    // Ids are any text (GlobalID escapes each `/`-separated part); composite ids join parts
    // with `/`.
    let id = prop_oneof![
        "[A-Za-z0-9-]{1,12}(/[0-9]{1,4})?",
        text().prop_filter("an id", |id| !id.is_empty()),
    ];
    ("[a-z][a-z0-9-]{0,10}", constant_name(), id)
        .prop_map(|(app, model, id)| Value::GlobalId(GlobalId::new(app, model, id)))
        .boxed()
}

/// Plain JSON, as an app serializer or a continuation cursor holds it.
fn raw_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

fn custom_object() -> BoxedStrategy<Value> {
    (
        "[A-Z][A-Za-z]{0,8}Serializer",
        prop::collection::vec(("[a-z_]{1,8}", raw_json()), 0..4),
    )
        .prop_map(|(serializer, fields)| {
            Value::Custom(CustomObject {
                serializer,
                ruby_class: None,
                fields: fields
                    .into_iter()
                    .filter(|(k, _)| k != "_aj_serialized")
                    .collect(),
            })
        })
        .boxed()
}

/// What a Range holds in practice: ends Ruby compares (numbers, Strings, dates and times), or
/// nil for an open end. Ends Ruby cannot compare are refused by the writer
/// (wire_write_fidelity_props.rs).
fn range() -> BoxedStrategy<Value> {
    let number = || {
        prop_oneof![
            integer().prop_map(Value::Integer),
            float().prop_map(Value::Float),
        ]
    };
    let time = || prop_oneof![date().prop_map(Value::Date), ruby_time()];
    let open = || {
        prop_oneof![
            Just(Value::Nil),
            number(),
            text().prop_map(Value::String),
            time()
        ]
    };
    let ends = prop_oneof![
        (number(), number()),
        (
            text().prop_map(Value::String),
            text().prop_map(Value::String)
        ),
        (time(), time()),
        (Just(Value::Nil), open()),
        (open(), Just(Value::Nil)),
    ];
    (ends, any::<bool>())
        .prop_map(|((begin, end), exclude_end)| {
            Value::Range(Box::new(Range {
                begin,
                end,
                exclude_end,
            }))
        })
        .boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        integer().prop_map(Value::Integer),
        float().prop_map(Value::Float),
        text().prop_map(Value::String),
        text().prop_map(Value::Symbol),
        global_id(),
        date().prop_map(Value::Date),
        ruby_time(),
        date_time(),
        time_with_zone(),
        duration(),
        big_decimal(),
        constant_name().prop_map(Value::Module),
        range(),
        custom_object(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Collections

/// A Hash key name Rails accepts.
fn key_name() -> BoxedStrategy<String> {
    prop_oneof![3 => "[a-z_]{1,8}", 1 => text()]
        .prop_filter("reserved key", |k| !RESERVED_KEYS.contains(&k.as_str()))
        .boxed()
}

/// Drops entries whose name repeats an earlier one: `"a"` and `:a` are one JSON key.
fn unique(entries: Vec<(HashKey, Value)>) -> Vec<(HashKey, Value)> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.name().to_owned()))
        .collect()
}

fn hash_with(
    kind: HashKind,
    symbol_keys: bool,
    values: BoxedStrategy<Value>,
) -> BoxedStrategy<Value> {
    let key = (key_name(), any::<bool>()).prop_map(move |(name, symbol)| {
        if symbol_keys && symbol {
            HashKey::Symbol(name)
        } else {
            HashKey::String(name)
        }
    });
    prop::collection::vec((key, values), 0..5)
        .prop_map(move |entries| {
            Value::Hash(Hash {
                entries: unique(entries),
                kind,
            })
        })
        .boxed()
}

/// Argument values up to a few levels deep. Inside a HashWithIndifferentAccess every nested
/// Hash is one too (`with_indifferent_access` converts them, in Ruby and in the decoder), so
/// `indifferent_only` generates no other kind.
fn value(indifferent_only: bool, depth: u32) -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(depth, 32, 5, move |inner| {
            let array = prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array);
            let indifferent = hash_with(HashKind::Indifferent, false, inner.clone());
            if indifferent_only {
                prop_oneof![array, indifferent].boxed()
            } else {
                prop_oneof![
                    array,
                    hash_with(HashKind::Plain, true, inner.clone()),
                    hash_with(HashKind::Keywords, true, inner),
                    hash_with(
                        HashKind::Indifferent,
                        false,
                        value(true, depth.saturating_sub(1))
                    ),
                ]
                .boxed()
            }
        })
        .boxed()
}

fn argument() -> BoxedStrategy<Value> {
    value(false, 3)
}

// ---------------------------------------------------------------------------------------------
// Jobs

fn envelope_time() -> BoxedStrategy<Option<EnvelopeTime>> {
    prop::option::of(utc_instant(1970, 2200).prop_map(EnvelopeTime::new)).boxed()
}

fn continuation() -> BoxedStrategy<Option<(Continuation, i64)>> {
    let current = prop::option::of(("[a-z_]{1,12}", raw_json()))
        .prop_map(|c| c.map(|(name, cursor)| CurrentStep { name, cursor }));
    prop::option::of((
        prop::collection::vec("[a-z_]{1,12}", 0..4),
        current,
        0i64..1000,
    ))
    .prop_map(|c| c.map(|(completed, current, n)| (Continuation { completed, current }, n)))
    .boxed()
}

/// Top-level keys Rails does not write itself (Karafka's `cattr_N`, a job's own additions).
fn extra_keys() -> BoxedStrategy<Map<String, Json>> {
    const ENVELOPE: [&str; 14] = [
        "job_class",
        "job_id",
        "provider_job_id",
        "queue_name",
        "priority",
        "arguments",
        "executions",
        "exception_executions",
        "locale",
        "timezone",
        "enqueued_at",
        "scheduled_at",
        "continuation",
        "resumptions",
    ];
    prop::collection::vec(("[a-z_]{1,10}[0-9]?", raw_json()), 0..3)
        .prop_map(|entries| {
            entries
                .into_iter()
                .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
                .collect()
        })
        .boxed()
}

prop_compose! {
    fn envelope()(
        job_class in "[A-Z][A-Za-z0-9]{0,12}(::[A-Z][A-Za-z0-9]{0,8})?Job",
        job_id in prop::option::of("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
        provider_job_id in prop::option::of(text()),
        queue_name in prop::option::of(text()),
        priority in prop::option::of(any::<i64>()),
        executions in prop::option::of(0i64..100),
        exception_executions in prop::option::of(
            prop::collection::vec(("\\[[A-Za-z:]{1,20}\\]", 0i64..10), 0..3)
        ),
        locale in prop::option::of(prop::sample::select(vec!["en", "pl", "pt-BR", "zh-CN"])),
        timezone in prop::option::of(prop::sample::select(ZONES.to_vec())),
        enqueued_at in envelope_time(),
        scheduled_at in envelope_time(),
        continuation in continuation(),
        extra in extra_keys(),
    ) -> Job {
        let mut job = Job::new(job_class);
        job.job_id = job_id;
        job.provider_job_id = provider_job_id;
        job.queue_name = queue_name;
        job.priority = priority;
        job.executions = executions;
        job.exception_executions = exception_executions
            .map(|counts| counts.into_iter().map(|(k, n)| (k, Json::from(n))).collect());
        job.locale = locale.map(str::to_owned);
        job.timezone = timezone.map(str::to_owned);
        job.enqueued_at = enqueued_at;
        job.scheduled_at = scheduled_at;
        if let Some((continuation, resumptions)) = continuation {
            job.continuation = Some(continuation);
            job.resumptions = Some(resumptions);
        }
        job.extra = extra;
        job
    }
}

fn job() -> impl Strategy<Value = Job> {
    (envelope(), prop::collection::vec(argument(), 0..5)).prop_map(|(mut job, arguments)| {
        job.arguments = arguments;
        job
    })
}

// ---------------------------------------------------------------------------------------------
// What decoding normalises

/// The job as decoding gives it back. Two things differ from what was built, in Ruby too:
/// a TimeWithZone is written with its zone's IANA name (`time_zone.tzinfo.name`), so one made
/// in "Eastern Time (US & Canada)" comes back in "America/New_York"; and an envelope time
/// remembers the text it was read from, which a time built in Rust has not yet.
fn as_decoded(job: &Job) -> Job {
    let mut job = job.clone();
    job.arguments = job.arguments.iter().map(value_as_decoded).collect();
    job
}

fn value_as_decoded(value: &Value) -> Value {
    match value {
        Value::TimeWithZone(twz) if twz.wire == TimeWithZoneWire::WithTimeZone => {
            Value::TimeWithZone(TimeWithZone {
                zone: time_zone::lookup(twz.zone.tzinfo_name()).expect("an IANA zone"),
                ..twz.clone()
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(value_as_decoded).collect()),
        Value::Hash(hash) => Value::Hash(Hash {
            entries: hash
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), value_as_decoded(v)))
                .collect(),
            kind: hash.kind,
        }),
        Value::Range(range) => Value::Range(Box::new(Range {
            begin: value_as_decoded(&range.begin),
            end: value_as_decoded(&range.end),
            exclude_end: range.exclude_end,
        })),
        other => other.clone(),
    }
}

/// Forgets the text an envelope time was read from, after checking it read back as the UTC
/// time (`utc?`) that was written.
fn forget_envelope_text(time: &mut Option<EnvelopeTime>) {
    if let Some(t) = time {
        assert!(t.time.utc, "an envelope time reads back as UTC: {t:?}");
        *t = EnvelopeTime::new(t.time.instant.to_utc());
    }
}

fn encode(job: &Job) -> Vec<u8> {
    job.encode()
        .unwrap_or_else(|e| panic!("a job Rails can write encodes: {e}\n{job:?}"))
}

fn decode(bytes: &[u8], options: &DecodeOptions) -> Job {
    Job::decode_with(bytes, options).unwrap_or_else(|e| {
        panic!(
            "an encoded job decodes: {e}\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_str(include_str!("../fixtures/app.toml")).expect("fixtures/app.toml")
}

/// The golden payloads, as mutation starting points besides generated ones.
fn fixture_payloads() -> &'static [Vec<u8>] {
    static PAYLOADS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    PAYLOADS.get_or_init(read_fixture_payloads)
}

fn read_fixture_payloads() -> Vec<Vec<u8>> {
    ["6.1", "7.1", "8.1"]
        .into_iter()
        .flat_map(common::golden_payloads)
        .map(|f| std::fs::read(f).expect("fixture"))
        .collect()
}

/// One corruption of a payload.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to JSON and to the wire format's text forms.
    let interesting = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"{}[]\":,\\-+.0123456789eEtfnTZ:_ \x00\xff\xc3".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), interesting.clone()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(interesting, 1..4),
                prop::sample::select(vec![
                    b"{}".to_vec(),
                    b"[]".to_vec(),
                    b"null".to_vec(),
                    b"1e400".to_vec(),
                    b"\"_aj_serialized\":".to_vec(),
                    b"{\"_aj_globalid\":\"gid://a/B/1\"}".to_vec(),
                    b"\\u0000".to_vec(),
                    b"\\ud800".to_vec(),
                ]),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(payload: &mut Vec<u8>, mutation: &Mutation) {
    let len = payload.len();
    let pos = |at: usize| if len == 0 { 0 } else { at % len };
    match mutation {
        Mutation::Flip { at, bit } if len > 0 => payload[pos(*at)] ^= 1 << bit,
        Mutation::Set { at, byte } if len > 0 => payload[pos(*at)] = *byte,
        Mutation::Insert { at, bytes } => {
            let at = if len == 0 { 0 } else { at % (len + 1) };
            payload.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len: n } if len > 0 => {
            let from = pos(*at);
            payload.drain(from..(from + n).min(len));
        }
        Mutation::Truncate { at } => payload.truncate(pos(*at)),
        _ => {}
    }
}

/// What a worker does with a payload: decode it, read the typed arguments, dump it, write it
/// back. Any of it may refuse the payload; none of it may panic.
fn consume(payload: &[u8], options: &DecodeOptions) {
    if let Ok(job) = Job::decode_with(payload, options) {
        let _ = from_values::<Vec<serde_json::Value>>(&job.arguments);
        let _ = typed_dump(&job, options);
        if let Ok(bytes) = job.encode() {
            let _ = Job::decode_with(&bytes, options);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(256))]

    /// decode(encode(job)) == job, up to what decoding normalises (see `as_decoded`).
    #[test]
    fn decode_of_encode_gives_the_job_back(job in job()) {
        let bytes = encode(&job);
        let mut decoded = decode(&bytes, &DecodeOptions::default());
        forget_envelope_text(&mut decoded.enqueued_at);
        forget_envelope_text(&mut decoded.scheduled_at);
        prop_assert_eq!(decoded, as_decoded(&job), "{}", String::from_utf8_lossy(&bytes));
    }

    /// A decoded job is a fixed point: encoding it writes the same bytes again, and decoding
    /// those gives exactly the same job.
    #[test]
    fn decoded_jobs_are_a_fixed_point(job in job()) {
        let bytes = encode(&job);
        let decoded = decode(&bytes, &DecodeOptions::default());
        let again = encode(&decoded);
        prop_assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&again)
        );
        prop_assert_eq!(decode(&again, &DecodeOptions::default()), decoded);
    }

    /// The same job always encodes to the same bytes.
    #[test]
    fn encoding_is_deterministic(job in job()) {
        let first = encode(&job);
        prop_assert_eq!(&first, &encode(&job));
        prop_assert_eq!(&first, &encode(&job.clone()));
    }

    /// A Ruby worker would hold the same values after the trip: typed dumps are equal, with the
    /// default options and with the fixture application's (where unknown serializers are
    /// refused, so only jobs without app objects are compared).
    #[test]
    fn typed_dump_survives_the_trip(job in job()) {
        let options = DecodeOptions::default();
        let decoded = decode(&encode(&job), &options);
        let want = typed_dump(&as_decoded(&job), &options);
        if let Err(diff) = compare(&typed_dump(&decoded, &options), &want) {
            return Err(TestCaseError::fail(diff));
        }
        let app = app_options();
        if let Ok(decoded) = Job::decode_with(&encode(&job), &app) {
            let again = decode(&encode(&decoded), &app);
            if let Err(diff) = compare(&typed_dump(&again, &app), &typed_dump(&decoded, &app)) {
                return Err(TestCaseError::fail(diff));
            }
        }
    }

    /// Handlers read any decoded argument list through serde without panicking.
    #[test]
    fn typed_arguments_never_panic(job in job()) {
        let decoded = decode(&encode(&job), &DecodeOptions::default());
        let _ = from_values::<Vec<serde_json::Value>>(&decoded.arguments);
        let _ = decoded.args::<(i64, String, Vec<f64>)>();
        let _ = decoded.args::<Vec<std::collections::BTreeMap<String, String>>>();
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Random corruption of a valid payload (generated or a golden fixture) is refused or read,
    /// never a panic, with default and with the application's options.
    #[test]
    fn mutated_payloads_never_panic(
        job in job(),
        fixture in any::<prop::sample::Index>(),
        from_fixture in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut payload = if from_fixture {
            fixture.get(fixture_payloads()).clone()
        } else {
            encode(&job)
        };
        for mutation in &mutations {
            mutate(&mut payload, mutation);
        }
        consume(&payload, &DecodeOptions::default());
        consume(&payload, &app_options());
    }
}

/// Values at the edges the strategies reach only by chance.
#[test]
fn edge_values_round_trip() {
    let zone = |name| time_zone::lookup(name).unwrap();
    let instant = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let values = vec![
        Value::Float(-0.0),
        Value::Float(5e-324),
        Value::Float(f64::MAX),
        Value::Float(1e300),
        Value::String("<>&\u{2028}\u{2029}\u{0}\u{1f}\u{7f}".into()),
        Value::Symbol("".into()),
        Value::Integer(Integer::parse("-18446744073709551617").unwrap()),
        Value::time_with_zone(instant("1850-06-01T00:00:00Z"), zone("Kolkata")),
        Value::time_with_zone(
            instant("2024-10-06T01:59:59.999999999Z"),
            zone("Australia/Lord_Howe"),
        ),
        Value::time_with_zone(
            instant("2024-03-10T07:00:00Z"),
            zone("Eastern Time (US & Canada)"),
        ),
        Value::Date(NaiveDate::from_ymd_opt(1583, 1, 1).unwrap()),
        Value::Hash(Hash {
            entries: vec![
                (HashKey::String("a".into()), Value::Nil),
                (
                    HashKey::String("nested".into()),
                    Value::Array(vec![Value::Hash(Hash::new(HashKind::Indifferent))]),
                ),
            ],
            kind: HashKind::Indifferent,
        }),
    ];
    let mut job = Job::new("EdgeJob");
    job.arguments = values;
    let bytes = encode(&job);
    let mut decoded = decode(&bytes, &DecodeOptions::default());
    forget_envelope_text(&mut decoded.enqueued_at);
    assert_eq!(
        decoded,
        as_decoded(&job),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}
