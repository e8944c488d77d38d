//! Generated argument values for the writer's properties (tests/wire_write_fidelity_props.rs)
//! and for the Rails oracle corpus (examples/write_corpus.rs): every `Value` kind, the edge
//! values Ruby reads specially, values the writer must refuse (GlobalIDs GlobalID cannot parse,
//! Ranges Ruby cannot build, BigDecimal texts `BigDecimal()` refuses, offsets with seconds, names
//! that are no constants), and nesting around Ruby's JSON limit.
//!
//! [`read_back`] states what a value the writer accepted reads back as: the documented
//! normalisations of the wire.

#![allow(dead_code)]

use activejob_karafka::arguments::{
    CustomObject, GlobalId, Hash, HashKey, HashKind, Range, TimeWithZone, TimeWithZoneWire, Value,
};
use activejob_karafka::ruby::bigdecimal::bigdecimal_to_s;
use activejob_karafka::ruby::duration::Duration;
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::ruby::{time_zone, Integer, Numeric};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value as Json;
use std::collections::HashSet;

/// Zones with odd offsets: local mean time with seconds before standard time (Kolkata
/// +05:53:28, London -00:01:15), half hours, 45 minutes, DST of 30 minutes.
pub const ZONES: [&str; 10] = [
    "UTC",
    "Eastern Time (US & Canada)",
    "Berlin",
    "Kolkata",
    "Kathmandu",
    "Chatham Is.",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/St_Johns",
];

/// Envelope time zones: names Rails knows, and some it does not.
pub const TIMEZONES: [&str; 6] = [
    "UTC",
    "Berlin",
    "Asia/Kolkata",
    "Mars/Olympus",
    "Eastern Time (US & Canada)",
    "Not A Zone",
];

/// The fixture app's `available_locales` (fixtures/app.toml), and locales outside it.
pub const AVAILABLE_LOCALES: [&str; 4] = ["en", "de", "pl", "pt-BR"];
pub const LOCALES: [&str; 6] = ["en", "de", "pl", "pt-BR", "pt-br", "xx"];

/// Constant paths: valid, with Ruby's leading `::`, core constants that are not Modules, and
/// text that names no constant.
pub const MODULE_NAMES: [&str; 12] = [
    "String",
    "Billing::Invoice",
    "Comparable",
    "Reporting",
    "::String",
    "::Billing::Invoice",
    "Float::INFINITY",
    "Math::PI",
    "Float::DIG",
    "string",
    "String::",
    "Ärger",
];

const RESERVED_KEYS: [&str; 5] = [
    "_aj_globalid",
    "_aj_symbol_keys",
    "_aj_ruby2_keywords",
    "_aj_serialized",
    "_aj_hash_with_indifferent_access",
];

/// Text of any Unicode, with what JSON, URIs and ActiveSupport escape made likely.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<String>(),
        3 => "[<>&\"\\\\/%+ ?#=\\x00-\\x1f\\x7f\\x{2028}a-zé日🎉]{0,10}",
    ]
    .boxed()
}

pub fn integer() -> BoxedStrategy<Integer> {
    let edges = prop::sample::select(vec![
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-18446744073709551617",
        "9007199254740993",
    ])
    .prop_map(|s| Integer::parse(s).expect("an integer literal"));
    prop_oneof![4 => any::<i64>().prop_map(Integer::Small), 1 => edges].boxed()
}

/// Any double, non-finite ones included (JSON has no Infinity: written `null`).
pub fn float() -> BoxedStrategy<f64> {
    prop_oneof![
        4 => any::<f64>(),
        1 => prop::sample::select(vec![
            0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::MAX, 5e-324, 1e16, 0.1,
        ]),
    ]
    .boxed()
}

pub fn numeric() -> BoxedStrategy<Numeric> {
    prop_oneof![
        integer().prop_map(Numeric::Integer),
        float().prop_map(Numeric::Float),
    ]
    .boxed()
}

fn instant(from_year: i32, to_year: i32) -> BoxedStrategy<DateTime<Utc>> {
    let start = Utc.with_ymd_and_hms(from_year, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(to_year, 12, 31, 23, 59, 59).unwrap();
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000];
    (start.timestamp()..=end.timestamp(), nanos)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
        .boxed()
}

/// UTC offsets: whole minutes, and offsets with seconds (local mean time, `+05:53:28`).
fn offset() -> BoxedStrategy<FixedOffset> {
    prop_oneof![
        2 => (-(23 * 60 + 59)..=(23 * 60 + 59)).prop_map(|m: i32| m * 60),
        1 => -86_399..=86_399i32,
        1 => prop::sample::select(vec![21_208, -75, 4_772, -30, 30, 0]),
    ]
    .prop_map(|seconds| FixedOffset::east_opt(seconds).unwrap())
    .boxed()
}

fn date() -> BoxedStrategy<NaiveDate> {
    use chrono::Datelike;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let (first, last) = (
        day(1, 1, 1).num_days_from_ce(),
        day(9999, 12, 31).num_days_from_ce(),
    );
    prop_oneof![
        4 => (first..=last).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        1 => prop::sample::select(vec![
            day(1582, 10, 4), day(1582, 10, 10), day(1582, 10, 15),
            day(-1, 1, 1), day(12345, 1, 1), day(2024, 2, 29),
        ]),
    ]
    .boxed()
}

fn ruby_time() -> BoxedStrategy<Value> {
    (instant(1000, 9998), any::<bool>(), offset())
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

fn zone() -> BoxedStrategy<time_zone::RailsZone> {
    prop::sample::select(ZONES.to_vec())
        .prop_map(|name| time_zone::lookup(name).expect("a known zone"))
        .boxed()
}

fn duration() -> BoxedStrategy<Value> {
    let unit = prop::sample::select(vec![
        "years", "months", "weeks", "days", "hours", "minutes", "seconds",
    ])
    .prop_map(str::to_owned);
    (numeric(), prop::collection::vec((unit, numeric()), 0..3))
        .prop_map(|(value, parts)| {
            Value::Duration(Duration::from_wire(value, parts).expect("Rails accepts any parts"))
        })
        .boxed()
}

/// BigDecimal texts: literals in every form `BigDecimal()` reads, and texts it refuses or reads
/// as another number.
fn big_decimal() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => "-?[0-9]{1,20}(\\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?",
        1 => prop::sample::select(vec![
            "NaN", "Infinity", "-Infinity", "0", "-0", " 1_000.50 ", "1.", "abc", "", "1e99999999999999999999",
            "-1e-99999999999999999999", "0e99999999999999999999", "#12", "1.2.3",
        ])
        .prop_map(str::to_owned),
    ]
    .prop_map(Value::BigDecimal)
    .boxed()
}

/// GlobalIDs: ids of any text (a `/` included), composite keys of 0 to 21 parts, apps and model
/// names GlobalID reads and some it cannot, params.
fn global_id() -> BoxedStrategy<Value> {
    let app = prop::sample::select(vec!["shop", "shop-1.example", "a%41", "", "my shop", "a:b"]);
    let model = prop::sample::select(vec![
        "User",
        "Billing::Invoice",
        "Billing::Invoice",
        "user",
        "::User",
        "Bad Model",
        "",
    ]);
    let id = prop_oneof![
        3 => "[A-Za-z0-9-]{1,8}(/[0-9]{1,4}){0,2}",
        3 => text(),
        1 => prop::sample::select(vec!["", "/", "2024/05/7", " ", "+", "%", "%2F"]).prop_map(str::to_owned),
    ];
    let params = prop::option::weighted(
        0.2,
        prop::sample::select(vec!["database=x", "a=1&b=2", "a b", "a=1#b"]),
    );
    let composite = prop::collection::vec("[a-z0-9 /]{0,4}", 0..22);
    (
        app,
        model,
        prop::option::weighted(0.2, composite),
        id,
        params,
    )
        .prop_map(|(app, model, composite, id, params)| {
            let mut gid = match composite {
                Some(parts) => GlobalId::composite(app, model, parts),
                None => GlobalId::new(app, model, id),
            };
            gid.params = params.map(str::to_owned);
            Value::GlobalId(gid)
        })
        .boxed()
}

fn raw_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Json::Array),
            prop::collection::vec(("[a-z_]{1,6}", inner), 0..3)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

fn custom_object() -> BoxedStrategy<Value> {
    (any::<i64>(), "[A-Z]{3}")
        .prop_map(|(cents, currency)| {
            Value::Custom(CustomObject {
                serializer: "MoneySerializer".into(),
                ruby_class: Some("Money".into()),
                fields: [
                    ("amount_cents".to_owned(), Json::from(cents)),
                    ("currency".to_owned(), Json::String(currency)),
                ]
                .into_iter()
                .collect(),
            })
        })
        .boxed()
}

/// Everything but Arrays, Hashes and Ranges.
pub fn leaf() -> BoxedStrategy<Value> {
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
        (instant(1000, 9998), offset())
            .prop_map(|(instant, offset)| Value::DateTime(instant.with_timezone(&offset))),
        (instant(1800, 2200), zone()).prop_map(|(i, zone)| Value::time_with_zone(i, zone)),
        duration(),
        big_decimal(),
        prop::sample::select(MODULE_NAMES.to_vec()).prop_map(|n| Value::Module(n.to_owned())),
        custom_object(),
    ]
    .boxed()
}

/// Ranges of any two leaves: many pairs Ruby cannot compare.
fn range() -> BoxedStrategy<Value> {
    (leaf(), leaf(), any::<bool>())
        .prop_map(|(begin, end, exclude_end)| {
            Value::Range(Box::new(Range {
                begin,
                end,
                exclude_end,
            }))
        })
        .boxed()
}

pub fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![6 => leaf(), 1 => range()].boxed()
}

/// A Hash key name, reserved markers included now and then (Rails refuses those).
fn key_name() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[a-z_]{1,6}".boxed(),
        2 => text(),
        1 => prop::sample::select(RESERVED_KEYS.to_vec()).prop_map(str::to_owned).boxed(),
    ]
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

fn hash_with(kind: HashKind, values: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    let key = (key_name(), any::<bool>()).prop_map(move |(name, symbol)| {
        if symbol && kind != HashKind::Indifferent {
            HashKey::Symbol(name)
        } else {
            HashKey::String(name)
        }
    });
    prop::collection::vec((key, values), 0..4)
        .prop_map(move |entries| {
            Value::Hash(Hash {
                entries: unique(entries),
                kind,
            })
        })
        .boxed()
}

/// Argument values a few levels deep. Inside a HashWithIndifferentAccess every nested Hash is
/// one too, as Ruby's `with_indifferent_access` makes them.
pub fn value(indifferent_only: bool, depth: u32) -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(depth, 24, 4, move |inner| {
            let array = prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array);
            let indifferent = hash_with(HashKind::Indifferent, inner.clone());
            if indifferent_only {
                prop_oneof![array, indifferent].boxed()
            } else {
                prop_oneof![
                    array,
                    hash_with(HashKind::Plain, inner.clone()),
                    hash_with(HashKind::Keywords, inner),
                    hash_with(HashKind::Indifferent, value(true, depth.saturating_sub(1))),
                ]
                .boxed()
            }
        })
        .boxed()
}

/// A leaf inside 90 to 104 Arrays or Hashes: both sides of Ruby's 100 levels.
pub fn deep_value() -> BoxedStrategy<Value> {
    (leaf(), prop::collection::vec(any::<bool>(), 90..105))
        .prop_map(|(leaf, levels)| {
            levels.into_iter().fold(leaf, |inner, in_array| {
                if in_array {
                    Value::Array(vec![inner])
                } else {
                    Value::Hash(Hash {
                        entries: vec![(HashKey::String("k".into()), inner)],
                        kind: HashKind::Plain,
                    })
                }
            })
        })
        .boxed()
}

/// What a value the writer accepted reads back as (Rails and Rust alike): a non-finite Float is
/// `nil`; a BigDecimal is its `to_s`; a Module name loses Ruby's leading `::`; a Time or
/// DateTime offset loses its seconds (the instant is kept); a TimeWithZone's zone is its tz
/// identifier.
pub fn read_back(value: &Value) -> Value {
    match value {
        Value::Float(f) if !f.is_finite() => Value::Nil,
        Value::BigDecimal(text) => Value::BigDecimal(bigdecimal_to_s(text).expect("written")),
        Value::Module(name) => Value::Module(name.strip_prefix("::").unwrap_or(name).to_owned()),
        Value::Time(t) if !t.utc => Value::Time(RubyTime {
            instant: whole_minutes(&t.instant),
            utc: false,
        }),
        Value::DateTime(dt) => Value::DateTime(whole_minutes(dt)),
        Value::TimeWithZone(twz) if twz.wire == TimeWithZoneWire::WithTimeZone => {
            Value::TimeWithZone(TimeWithZone {
                zone: time_zone::lookup(twz.zone.tzinfo_name()).expect("a tz identifier"),
                ..twz.clone()
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(read_back).collect()),
        Value::Hash(hash) => Value::Hash(Hash {
            entries: hash
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), read_back(v)))
                .collect(),
            kind: hash.kind,
        }),
        Value::Range(range) => Value::Range(Box::new(Range {
            begin: read_back(&range.begin),
            end: read_back(&range.end),
            exclude_end: range.exclude_end,
        })),
        other => other.clone(),
    }
}

/// The same instant in the offset Ruby prints (`%:z` drops the offset's seconds).
fn whole_minutes(dt: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let seconds = dt.offset().local_minus_utc();
    dt.with_timezone(&FixedOffset::east_opt(seconds / 60 * 60).unwrap())
}
