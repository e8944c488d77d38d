//! [`Value`] → JSON, the way Rails 8.1's `ActiveJob::Arguments.serialize` writes it.

use super::decode::RESERVED_KEYS;
use super::range_order::{range_order, Order};
use super::value::{Hash, HashKey, HashKind, Range, TimeWithZone, TimeWithZoneWire, Value};
use crate::error::{EncodeError, EncodeErrorKind, JsonPath};
use crate::json::number;
use crate::ruby::bigdecimal::bigdecimal_literal;
use crate::ruby::constant::{constant_path, ConstantPath};
use crate::ruby::duration::Duration;
use crate::ruby::time_zone;
use crate::ruby::{time, Numeric};
use crate::serializers;
use chrono::{DateTime, FixedOffset};
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
            gid.check()
                .map_err(|reason| EncodeError::refused(path, EncodeErrorKind::GlobalId, reason))?;
            let mut map = Map::new();
            map.insert("_aj_globalid".into(), Json::String(gid.uri()));
            Json::Object(map)
        }
        Value::Date(d) => {
            let text = time::format_date(*d);
            readable_by_ruby(time::parse_date(&text).map(|_| ()), &text, path)?;
            serialized(serializers::DATE, [("value", Json::String(text))])
        }
        Value::Time(t) => {
            let text = time::format_iso8601_9(&time::RubyTime {
                instant: whole_minute_offset(&t.instant),
                utc: t.utc,
            });
            readable_by_ruby(time::parse_xmlschema(&text).map(|_| ()), &text, path)?;
            serialized(serializers::TIME, [("value", Json::String(text))])
        }
        Value::DateTime(dt) => {
            let text = time::format_datetime_iso8601_9(&whole_minute_offset(dt));
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
        Value::BigDecimal(text) => {
            // Rails writes `to_s`; any literal `BigDecimal()` reads the same is written that way.
            let shown = bigdecimal_literal(text).map_err(|reason| {
                EncodeError::refused(path, EncodeErrorKind::BigDecimal, reason)
            })?;
            serialized(serializers::BIG_DECIMAL, [("value", Json::String(shown))])
        }
        Value::Module(name) => serialized(
            serializers::MODULE,
            [("value", Json::String(module_name(name, path)?.to_owned()))],
        ),
        Value::Range(range) => encode_range(range, path)?,
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

/// Ruby prints a UTC offset without its seconds (`%:z`), and `Time.iso8601` / `DateTime.iso8601`
/// read only hours and minutes back: Rails writes a Time at `+05:53:28` (local mean time, before
/// about 1900) as `+05:53` beside the local time of `+05:53:28`, and reads back an instant 28
/// seconds off. Rust writes the same offset text beside the local time *of that offset*, so the
/// instant reads back exactly; the offset Ruby shows is the one it prints, seconds dropped.
fn whole_minute_offset(dt: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let seconds = dt.offset().local_minus_utc();
    if seconds % 60 == 0 {
        return *dt;
    }
    // `%:z` drops the seconds of the offset's magnitude: -00:01:15 prints as -00:01.
    let shown = FixedOffset::east_opt(seconds / 60 * 60).expect("a smaller offset is valid");
    dt.with_timezone(&shown)
}

/// `ModuleSerializer` writes `constant.name`, which Rails reads with `constantize`: the name
/// must be a constant path (`::String` is written as Ruby names it, `String`).
fn module_name<'a>(name: &'a str, path: &JsonPath) -> Result<&'a str, EncodeError> {
    if name.is_empty() {
        return Err(EncodeError::new(
            path,
            "Serializing an anonymous class is not supported",
        ));
    }
    match constant_path(name) {
        ConstantPath::Valid(name) => Ok(name),
        ConstantPath::Unknown(_) | ConstantPath::Invalid => Err(EncodeError::refused(
            path,
            EncodeErrorKind::Module,
            format!(
                "{} is not a constant path Rails can constantize",
                crate::ruby::string::inspect_str(name)
            ),
        )),
    }
}

/// `RangeSerializer`: refused when Ruby's `Range.new` could not build the range back.
fn encode_range(range: &Range, path: &JsonPath) -> Result<Json, EncodeError> {
    let begin = encode_argument(&range.begin, &path.field("begin"))?;
    let end = encode_argument(&range.end, &path.field("end"))?;
    match range_order(&range.begin, &range.end) {
        Order::Comparable => {}
        order => {
            let why = if order == Order::Incomparable {
                "Ruby raises `bad value for range`"
            } else {
                "whether Ruby can compare them depends on the values"
            };
            return Err(EncodeError::refused(
                path,
                EncodeErrorKind::Range,
                format!(
                    "a Range from {} to {}: {why}",
                    range.begin.ruby_type_name(),
                    range.end.ruby_type_name()
                ),
            ));
        }
    }
    Ok(serialized(
        serializers::RANGE,
        [
            ("begin", begin),
            ("end", end),
            ("exclude_end", Json::Bool(range.exclude_end)),
        ],
    ))
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
        EncodeError::refused(
            path,
            EncodeErrorKind::Time,
            format!("{text} is not a time Ruby can read back: {e}"),
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
    Err(EncodeError::refused(
        path,
        EncodeErrorKind::Time,
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
