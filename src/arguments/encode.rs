//! [`Value`] → JSON, the way `ActiveJob::Arguments.serialize` of the target Rails version writes
//! it (Rails 8.1 unless told otherwise; see [`crate::rails_version`] for what older versions
//! write and refuse).

use super::decode::RESERVED_KEYS;
use super::range_order::{range_order, Order};
use super::value::{Hash, HashKey, HashKind, Range, TimeWithZone, TimeWithZoneWire, Value};
use crate::error::{EncodeError, EncodeErrorKind, JsonPath};
use crate::json::number;
use crate::rails_version::RailsVersion;
use crate::ruby::bigdecimal::bigdecimal_literal;
use crate::ruby::constant::{constant_path, ConstantPath};
use crate::ruby::duration::Duration;
use crate::ruby::time_zone;
use crate::ruby::{time, Numeric};
use crate::serializers;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value as Json};

/// Serializes job arguments into the JSON array Rails 8.1 writes as `arguments`.
pub fn encode_arguments(values: &[Value], path: &JsonPath) -> Result<Json, EncodeError> {
    encode_arguments_for(values, path, RailsVersion::LATEST)
}

/// Serializes job arguments as Rails `target` writes them, refusing what it cannot read.
pub fn encode_arguments_for(
    values: &[Value],
    path: &JsonPath,
    target: RailsVersion,
) -> Result<Json, EncodeError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| encode_argument_for(v, &path.index(i), target))
        .collect::<Result<Vec<_>, _>>()
        .map(Json::Array)
}

/// Serializes one argument as Rails 8.1 does.
pub fn encode_argument(value: &Value, path: &JsonPath) -> Result<Json, EncodeError> {
    encode_argument_for(value, path, RailsVersion::LATEST)
}

/// Serializes one argument as Rails `target` does, refusing what it cannot read.
pub fn encode_argument_for(
    value: &Value,
    path: &JsonPath,
    target: RailsVersion,
) -> Result<Json, EncodeError> {
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
                .map(|(i, item)| encode_argument_for(item, &path.index(i), target))
                .collect::<Result<_, _>>()?,
        ),
        Value::Hash(hash) => encode_hash(hash, path, target)?,
        Value::GlobalId(gid)
            if gid.model_id.is_composite() && !target.reads_composite_global_ids() =>
        {
            return Err(EncodeError::not_readable_by(
                path,
                target,
                "a composite GlobalID id (GlobalID 1.2, composite primary keys from Rails 7.1)",
            ))
        }
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
        Value::TimeWithZone(twz) => encode_time_with_zone(twz, target),
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
            if target.reads_big_decimal_serializer() {
                serialized(serializers::BIG_DECIMAL, [("value", Json::String(shown))])
            } else {
                Json::String(legacy_big_decimal(shown, path, target)?)
            }
        }
        Value::Module(name) => serialized(
            serializers::MODULE,
            [("value", Json::String(module_name(name, path)?.to_owned()))],
        ),
        Value::Range(_) if !target.reads_ranges() => {
            return Err(EncodeError::not_readable_by(
                path,
                target,
                "a Range (RangeSerializer exists from Rails 7.0)",
            ))
        }
        Value::Range(range) => encode_range(range, path, target)?,
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
fn encode_range(range: &Range, path: &JsonPath, target: RailsVersion) -> Result<Json, EncodeError> {
    let begin = encode_argument_for(&range.begin, &path.field("begin"), target)?;
    let end = encode_argument_for(&range.end, &path.field("end"), target)?;
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

/// Rails before 7.1 writes a BigDecimal as a JSON string (`BigDecimal#as_json`, `to_s` in the
/// "F" format), and the job receives that String. A non-finite one becomes `null` there: refused,
/// as the job would receive `nil`.
fn legacy_big_decimal(
    shown: String,
    path: &JsonPath,
    target: RailsVersion,
) -> Result<String, EncodeError> {
    if matches!(shown.as_str(), "NaN" | "Infinity" | "-Infinity") {
        return Err(EncodeError::not_readable_by(
            path,
            target,
            &format!("BigDecimal {shown} (written as JSON null before Rails 7.1)"),
        ));
    }
    Ok(shown)
}

fn encode_time_with_zone(twz: &TimeWithZone, target: RailsVersion) -> Json {
    match &twz.wire {
        // Rails 6.1 writes no `time_zone`: its reader puts the instant in its own `Time.zone`.
        TimeWithZoneWire::WithTimeZone if !target.reads_time_zone_key() => serialized(
            serializers::TIME_WITH_ZONE,
            [("value", Json::String(time_with_zone_value(twz)))],
        ),
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

fn encode_hash(hash: &Hash, path: &JsonPath, target: RailsVersion) -> Result<Json, EncodeError> {
    let mut map = Map::with_capacity(hash.entries.len() + 1);
    let mut symbol_keys = Vec::new();
    for (key, value) in &hash.entries {
        check_reserved(key, path)?;
        let name = key.name();
        if matches!(key, HashKey::Symbol(_)) && hash.kind != HashKind::Indifferent {
            symbol_keys.push(Json::String(name.to_owned()));
        }
        map.insert(
            name.to_owned(),
            encode_argument_for(value, &path.field(name), target)?,
        );
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
