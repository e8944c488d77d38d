//! [`Value`] → JSON, the way Rails 8.1's `ActiveJob::Arguments.serialize` writes it.

use super::decode::RESERVED_KEYS;
use super::value::{Hash, HashKey, HashKind, TimeWithZone, TimeWithZoneWire, Value};
use crate::error::{EncodeError, JsonPath};
use crate::json::number;
use crate::ruby::duration::Duration;
use crate::ruby::time_zone;
use crate::ruby::{time, Numeric};
use crate::serializers;
use serde_json::{Map, Value as Json};

/// Serializes job arguments into the JSON array Rails writes as `arguments`.
pub fn encode_arguments(values: &[Value], path: &JsonPath) -> Result<Json, EncodeError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| encode_argument(v, &path.index(i)))
        .collect::<Result<Vec<_>, _>>()
        .map(Json::Array)
}

/// Serializes one argument.
pub fn encode_argument(value: &Value, path: &JsonPath) -> Result<Json, EncodeError> {
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number(number(&i.to_string())),
        Value::Float(f) => float(*f),
        Value::String(s) => Json::String(s.clone()),
        Value::Symbol(name) => {
            serialized(serializers::SYMBOL, [("value", Json::String(name.clone()))])
        }
        Value::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| encode_argument(item, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Hash(hash) => encode_hash(hash, path)?,
        Value::GlobalId(gid) => {
            let mut map = Map::new();
            map.insert("_aj_globalid".into(), Json::String(gid.uri()));
            Json::Object(map)
        }
        Value::Date(d) => {
            let text = time::format_date(*d);
            readable_by_ruby(time::parse_date(&text).map(|_| ()), &text, path)?;
            serialized(serializers::DATE, [("value", Json::String(text))])
        }
        Value::Time(t) => serialized(
            serializers::TIME,
            [("value", Json::String(time::format_iso8601_9(t)))],
        ),
        Value::DateTime(dt) => {
            let text = time::format_datetime_iso8601_9(dt);
            readable_by_ruby(time::parse_datetime(&text).map(|_| ()), &text, path)?;
            serialized(serializers::DATE_TIME, [("value", Json::String(text))])
        }
        Value::TimeWithZone(twz) => encode_time_with_zone(twz),
        Value::Duration(d) => {
            finite_duration(d, path)?;
            let parts = d
                .parts
                .iter()
                .map(|(unit, amount)| {
                    Json::Array(vec![
                        serialized(serializers::SYMBOL, [("value", Json::String(unit.clone()))]),
                        numeric(amount),
                    ])
                })
                .collect();
            serialized(
                serializers::DURATION,
                [("value", numeric(&d.value)), ("parts", Json::Array(parts))],
            )
        }
        Value::BigDecimal(text) => serialized(
            serializers::BIG_DECIMAL,
            [("value", Json::String(text.clone()))],
        ),
        Value::Module(name) => {
            if name.is_empty() {
                return Err(EncodeError::new(
                    path,
                    "Serializing an anonymous class is not supported",
                ));
            }
            serialized(serializers::MODULE, [("value", Json::String(name.clone()))])
        }
        Value::Range(range) => serialized(
            serializers::RANGE,
            [
                (
                    "begin",
                    encode_argument(&range.begin, &path.field("begin"))?,
                ),
                ("end", encode_argument(&range.end, &path.field("end"))?),
                ("exclude_end", Json::Bool(range.exclude_end)),
            ],
        ),
        Value::Custom(custom) => {
            let mut map = Map::with_capacity(custom.fields.len() + 1);
            map.insert(
                "_aj_serialized".into(),
                Json::String(custom.serializer.clone()),
            );
            for (k, v) in &custom.fields {
                map.insert(k.clone(), v.clone());
            }
            Json::Object(map)
        }
    })
}

/// Ruby's `Date` and `DateTime` have no days between 1582-10-04 and 1582-10-15 (the Gregorian reform): Ruby
/// raises `invalid date` for them, so such a value is refused here instead of written into a payload that no
/// worker can read.
fn readable_by_ruby(
    read_back: Result<(), time::TimeParseError>,
    text: &str,
    path: &JsonPath,
) -> Result<(), EncodeError> {
    read_back.map_err(|e| {
        EncodeError::new(
            path,
            format!("{text} is not a date Ruby can read back: {e}"),
        )
    })
}

/// JSON has no Infinity or NaN: ActiveSupport writes them as `null`, which Rails reads back as a
/// Duration without a total, or cannot read at all in a part (`nil.zero?`). Such a Duration is
/// refused here instead of written into a payload that no worker reads as it was meant.
fn finite_duration(d: &Duration, path: &JsonPath) -> Result<(), EncodeError> {
    let finite = |n: &Numeric| !matches!(n, Numeric::Float(f) if !f.is_finite());
    if finite(&d.value) && d.parts.iter().all(|(_, amount)| finite(amount)) {
        return Ok(());
    }
    Err(EncodeError::new(
        path,
        format!(
            "Duration ({}) is not finite: JSON cannot carry it",
            d.inspect()
        ),
    ))
}

/// ActiveSupport writes non-finite floats as `null`; finite ones as Ruby's `Float#to_s`.
fn float(f: f64) -> Json {
    if f.is_finite() {
        Json::Number(number(&crate::ruby::float::float_to_s(f)))
    } else {
        Json::Null
    }
}

fn numeric(n: &Numeric) -> Json {
    match n {
        Numeric::Integer(i) => Json::Number(number(&i.to_string())),
        Numeric::Float(f) => float(*f),
    }
}

/// An `_aj_serialized` object: the serializer name first, then its own keys (as Rails merges them).
fn serialized<const N: usize>(name: &str, fields: [(&str, Json); N]) -> Json {
    let mut map = Map::with_capacity(N + 1);
    map.insert("_aj_serialized".into(), Json::String(name.into()));
    for (k, v) in fields {
        map.insert(k.into(), v);
    }
    Json::Object(map)
}

fn encode_time_with_zone(twz: &TimeWithZone) -> Json {
    match &twz.wire {
        TimeWithZoneWire::WithTimeZone => serialized(
            serializers::TIME_WITH_ZONE,
            [
                ("value", Json::String(time_with_zone_value(twz))),
                ("time_zone", Json::String(twz.zone.tzinfo_name().to_owned())),
            ],
        ),
        TimeWithZoneWire::ValueOnly(text) => serialized(
            serializers::TIME_WITH_ZONE,
            [("value", Json::String(text.clone()))],
        ),
    }
}

/// The local time in the zone, as Rails writes it. Rails prints the offset without its seconds,
/// and the reader takes `value` as the instant, so where the zone's offset has seconds (local mean
/// time, such as Asia/Kolkata's +05:53:28 in 1800) that text would read back seconds off; the
/// same instant in UTC reads back exactly, and Ruby still shows it in `time_zone`.
fn time_with_zone_value(twz: &TimeWithZone) -> String {
    if time_zone::utc_offset_seconds(twz.instant, &twz.zone) % 60 != 0 {
        return time::format_iso8601_9(&time::RubyTime::from_utc(twz.instant));
    }
    time_zone::format_in_zone(twz.instant, &twz.zone)
}

fn encode_hash(hash: &Hash, path: &JsonPath) -> Result<Json, EncodeError> {
    let mut map = Map::with_capacity(hash.entries.len() + 1);
    let mut symbol_keys = Vec::new();
    for (key, value) in &hash.entries {
        check_reserved(key, path)?;
        let name = key.name();
        if matches!(key, HashKey::Symbol(_)) && hash.kind != HashKind::Indifferent {
            symbol_keys.push(Json::String(name.to_owned()));
        }
        map.insert(name.to_owned(), encode_argument(value, &path.field(name))?);
    }
    let (marker, marker_value) = match hash.kind {
        HashKind::Indifferent => ("_aj_hash_with_indifferent_access", Json::Bool(true)),
        HashKind::Keywords => ("_aj_ruby2_keywords", Json::Array(symbol_keys)),
        HashKind::Plain => ("_aj_symbol_keys", Json::Array(symbol_keys)),
    };
    map.insert(marker.into(), marker_value);
    Ok(Json::Object(map))
}

fn check_reserved(key: &HashKey, path: &JsonPath) -> Result<(), EncodeError> {
    if !RESERVED_KEYS.contains(&key.name()) {
        return Ok(());
    }
    let shown = match key {
        HashKey::String(s) => format!("{s:?}"),
        HashKey::Symbol(s) => format!(":{s}"),
    };
    Err(EncodeError::new(
        path,
        format!("Can't serialize a Hash with reserved key {shown}"),
    ))
}
