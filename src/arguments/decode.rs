//! JSON → [`Value`], following Rails 8.1's `ActiveJob::Arguments.deserialize` rule by rule.

use super::value::{CustomObject, GlobalId, Hash, HashKey, HashKind, Range, TimeWithZone};
use super::value::{TimeWithZoneWire, Value};
use crate::error::{is_integer_literal, json_type_name, DecodeError, DecodeErrorKind, JsonPath};
use crate::ruby::duration::Duration;
use crate::ruby::time_zone::{self, RailsZone};
use crate::ruby::{bigdecimal, time, Integer, Numeric};
use crate::serializers::{self, SerializerRegistry};
use serde_json::{Map, Value as Json};

const GLOBALID_KEY: &str = "_aj_globalid";
const SERIALIZED_KEY: &str = "_aj_serialized";
const SYMBOL_KEYS_KEY: &str = "_aj_symbol_keys";
const RUBY2_KEYWORDS_KEY: &str = "_aj_ruby2_keywords";
const INDIFFERENT_KEY: &str = "_aj_hash_with_indifferent_access";

/// The keys Rails refuses in an argument Hash because it uses them as markers.
pub(crate) const RESERVED_KEYS: [&str; 5] = [
    GLOBALID_KEY,
    SYMBOL_KEYS_KEY,
    RUBY2_KEYWORDS_KEY,
    SERIALIZED_KEY,
    INDIFFERENT_KEY,
];

/// What argument decoding needs from the job and the application.
#[derive(Debug, Clone, Copy)]
pub struct DecodeContext<'a> {
    /// The zone a TimeWithZone without `time_zone` is read in: Rails 8.1 reads arguments inside
    /// `Time.use_zone(job.timezone)`, so this is the job's zone (else the worker's default).
    pub zone: &'a RailsZone,
    /// The application's serializers and modules.
    pub serializers: &'a SerializerRegistry,
}

/// Decodes the `arguments` array of a payload.
pub fn decode_arguments(
    raw: Json,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Vec<Value>, DecodeError> {
    match raw {
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| decode_argument(item, ctx, &path.index(i)))
            .collect(),
        other => Err(DecodeError::shape(
            path,
            format!("expected an array, found {}", json_type_name(&other)),
        )),
    }
}

/// Decodes one serialized argument.
pub fn decode_argument(
    raw: Json,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Value, DecodeError> {
    Ok(match raw {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => decode_number(&n, path)?,
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| decode_argument(item, ctx, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => decode_object(map, ctx, path)?,
    })
}

fn decode_number(n: &serde_json::Number, path: &JsonPath) -> Result<Value, DecodeError> {
    if is_integer_literal(n) {
        return Integer::parse(n.as_str())
            .map(Value::Integer)
            .ok_or_else(|| DecodeError::invalid(path, format!("bad integer {}", n.as_str())));
    }
    // Ruby's JSON parser turns an out-of-range literal such as 1e400 into Infinity, as does Rust.
    n.as_str()
        .parse::<f64>()
        .map(Value::Float)
        .map_err(|_| DecodeError::invalid(path, format!("bad float {}", n.as_str())))
}

fn decode_object(
    map: Map<String, Json>,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Value, DecodeError> {
    if map.len() == 1 && map.contains_key(GLOBALID_KEY) {
        return decode_global_id(map, path);
    }
    if map.contains_key(SERIALIZED_KEY) {
        return decode_serialized(map, ctx, path);
    }
    decode_hash(map, ctx, path).map(Value::Hash)
}

fn decode_global_id(mut map: Map<String, Json>, path: &JsonPath) -> Result<Value, DecodeError> {
    let path = path.field(GLOBALID_KEY);
    match map.remove(GLOBALID_KEY) {
        Some(Json::String(uri)) => GlobalId::parse(&uri)
            .map(Value::GlobalId)
            .ok_or_else(|| DecodeError::invalid(&path, format!("{uri:?} is not a GlobalID URI"))),
        Some(other) => Err(DecodeError::shape(
            &path,
            format!(
                "expected a GlobalID string, found {}",
                json_type_name(&other)
            ),
        )),
        None => Err(DecodeError::shape(&path, "missing")),
    }
}

fn decode_hash(
    map: Map<String, Json>,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Hash, DecodeError> {
    // Rails deserializes every value first, marker values included, then looks at the markers.
    let mut entries = Vec::with_capacity(map.len());
    for (key, raw) in map {
        let value = decode_argument(raw, ctx, &path.field(&key))?;
        entries.push((key, value));
    }
    if let Some(marker) = take_entry(&mut entries, INDIFFERENT_KEY) {
        if is_truthy(&marker) {
            return Ok(indifferent(entries));
        }
    }
    if let Some(symbol_keys) = take_entry(&mut entries, SYMBOL_KEYS_KEY) {
        if is_truthy(&symbol_keys) {
            let marker_path = path.field(SYMBOL_KEYS_KEY);
            return with_symbol_keys(entries, &symbol_keys, HashKind::Plain, &marker_path);
        }
    }
    if let Some(symbol_keys) = take_entry(&mut entries, RUBY2_KEYWORDS_KEY) {
        if is_truthy(&symbol_keys) {
            let marker_path = path.field(RUBY2_KEYWORDS_KEY);
            return with_symbol_keys(entries, &symbol_keys, HashKind::Keywords, &marker_path);
        }
    }
    Ok(Hash {
        entries: string_keys(entries),
        kind: HashKind::Plain,
    })
}

fn take_entry(entries: &mut Vec<(String, Value)>, key: &str) -> Option<Value> {
    let index = entries.iter().position(|(k, _)| k == key)?;
    Some(entries.remove(index).1)
}

fn is_truthy(value: &Value) -> bool {
    !matches!(value, Value::Nil | Value::Bool(false))
}

fn string_keys(entries: Vec<(String, Value)>) -> Vec<(HashKey, Value)> {
    entries
        .into_iter()
        .map(|(k, v)| (HashKey::String(k), v))
        .collect()
}

/// `transform_symbol_keys`: the marker's `include?(key)` decides, with Ruby's meaning of
/// `include?` for whatever the marker holds (Array membership, String substring, Hash key).
fn with_symbol_keys(
    entries: Vec<(String, Value)>,
    marker: &Value,
    kind: HashKind,
    marker_path: &JsonPath,
) -> Result<Hash, DecodeError> {
    let includes = |key: &str| -> Result<bool, DecodeError> {
        match marker {
            Value::Array(items) => Ok(items
                .iter()
                .any(|item| matches!(item, Value::String(s) if s == key))),
            Value::String(text) => Ok(text.contains(key)),
            Value::Hash(hash) => Ok(hash
                .entries
                .iter()
                .any(|(k, _)| matches!(k, HashKey::String(s) if s == key))),
            other => Err(DecodeError::shape(
                marker_path,
                format!(
                    "expected a list of key names, found {}",
                    other.ruby_type_name()
                ),
            )),
        }
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key = if includes(&key)? {
            HashKey::Symbol(key)
        } else {
            HashKey::String(key)
        };
        out.push((key, value));
    }
    Ok(Hash { entries: out, kind })
}

/// `Hash#with_indifferent_access`: keys become Strings and nested Hashes (also inside Arrays)
/// become indifferent too.
fn indifferent(entries: Vec<(String, Value)>) -> Hash {
    Hash {
        entries: entries
            .into_iter()
            .map(|(k, v)| (HashKey::String(k), nest_indifferent(v)))
            .collect(),
        kind: HashKind::Indifferent,
    }
}

fn nest_indifferent(value: Value) -> Value {
    match value {
        Value::Hash(hash) if hash.kind == HashKind::Indifferent => Value::Hash(hash),
        Value::Hash(hash) => Value::Hash(indifferent(
            hash.entries
                .into_iter()
                .map(|(k, v)| match k {
                    HashKey::String(s) | HashKey::Symbol(s) => (s, v),
                })
                .collect(),
        )),
        Value::Array(items) => Value::Array(items.into_iter().map(nest_indifferent).collect()),
        other => other,
    }
}

fn decode_serialized(
    mut map: Map<String, Json>,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Value, DecodeError> {
    let name = match map.shift_remove(SERIALIZED_KEY) {
        Some(Json::String(name)) => name,
        Some(other) => {
            return Err(DecodeError::shape(
                &path.field(SERIALIZED_KEY),
                format!(
                    "expected a serializer name, found {}",
                    json_type_name(&other)
                ),
            ))
        }
        None => unreachable_marker(path)?,
    };
    let mut obj = SerializedObject {
        map,
        path,
        short: short_name(&name),
    };
    match name.as_str() {
        serializers::SYMBOL => Ok(Value::Symbol(obj.string("value")?)),
        serializers::DURATION => decode_duration(&mut obj, ctx),
        serializers::DATE_TIME => {
            let text = obj.string("value")?;
            time::parse_datetime(&text)
                .map(Value::DateTime)
                .map_err(|_| obj.invalid("value", &text, "is not a DateTime"))
        }
        serializers::DATE => {
            let text = obj.string("value")?;
            time::parse_date(&text)
                .map(Value::Date)
                .map_err(|_| obj.invalid("value", &text, "is not a date"))
        }
        serializers::TIME_WITH_ZONE => decode_time_with_zone(&mut obj, ctx),
        serializers::TIME => {
            let text = obj.string("value")?;
            time::parse_xmlschema(&text)
                .map(Value::Time)
                .map_err(|_| obj.invalid("value", &text, "is not an ISO 8601 time"))
        }
        serializers::MODULE => Ok(Value::Module(obj.string("value")?)),
        serializers::RANGE => decode_range(&mut obj, ctx),
        serializers::BIG_DECIMAL => {
            let text = obj.string("value")?;
            bigdecimal::bigdecimal_to_s(&text)
                .map(Value::BigDecimal)
                .map_err(|_| obj.invalid("value", &text, "is not a BigDecimal"))
        }
        serializers::ACTION_CONTROLLER_PARAMETERS => Err(DecodeError::invalid(
            path,
            "ActionControllerParametersSerializer objects cannot be deserialized (Rails raises NotImplementedError)",
        )),
        _ => decode_custom(name, obj.map, ctx, path),
    }
}

fn unreachable_marker<T>(path: &JsonPath) -> Result<T, DecodeError> {
    Err(DecodeError::shape(path, "serializer name is not present"))
}

/// `ActiveJob::Serializers::DateSerializer` → `DateSerializer`, for error messages.
fn short_name(name: &str) -> String {
    name.rsplit("::").next().unwrap_or(name).to_owned()
}

/// The keys of one `_aj_serialized` object, with errors that name the serializer.
struct SerializedObject<'p> {
    map: Map<String, Json>,
    path: &'p JsonPath,
    short: String,
}

impl SerializedObject<'_> {
    fn take(&mut self, key: &str) -> Json {
        self.map.shift_remove(key).unwrap_or(Json::Null)
    }

    fn string(&mut self, key: &str) -> Result<String, DecodeError> {
        match self.take(key) {
            Json::String(s) => Ok(s),
            other => Err(DecodeError::shape(
                &self.path.field(key),
                format!(
                    "{} {} must be a string, found {}",
                    self.short,
                    key,
                    json_type_name(&other)
                ),
            )),
        }
    }

    fn invalid(&self, key: &str, text: &str, what: &str) -> DecodeError {
        DecodeError::invalid(
            &self.path.field(key),
            format!("{} {} {:?} {}", self.short, key, text, what),
        )
    }
}

fn decode_time_with_zone(
    obj: &mut SerializedObject<'_>,
    ctx: &DecodeContext<'_>,
) -> Result<Value, DecodeError> {
    let text = obj.string("value")?;
    let parsed = time::parse_xmlschema(&text)
        .map_err(|_| obj.invalid("value", &text, "is not an ISO 8601 time"))?;
    let instant = parsed.instant.to_utc();
    match obj.take("time_zone") {
        Json::Null => Ok(Value::TimeWithZone(TimeWithZone {
            instant,
            zone: ctx.zone.clone(),
            wire: TimeWithZoneWire::ValueOnly(text),
        })),
        Json::String(name) => {
            let zone = time_zone::lookup(&name)
                .ok_or_else(|| obj.invalid("time_zone", &name, "is not a known time zone"))?;
            Ok(Value::TimeWithZone(TimeWithZone {
                instant,
                zone,
                wire: TimeWithZoneWire::WithTimeZone,
            }))
        }
        other => Err(DecodeError::shape(
            &obj.path.field("time_zone"),
            format!(
                "TimeWithZoneSerializer time_zone must be a string, found {}",
                json_type_name(&other)
            ),
        )),
    }
}

fn decode_numeric(raw: Json, path: &JsonPath, what: &str) -> Result<Numeric, DecodeError> {
    match raw {
        Json::Number(n) => match decode_number(&n, path)? {
            Value::Integer(i) => Ok(Numeric::Integer(i)),
            Value::Float(f) => Ok(Numeric::Float(f)),
            _ => Err(DecodeError::shape(path, format!("{what} must be a number"))),
        },
        other => Err(DecodeError::shape(
            path,
            format!("{what} must be a number, found {}", json_type_name(&other)),
        )),
    }
}

fn decode_duration(
    obj: &mut SerializedObject<'_>,
    ctx: &DecodeContext<'_>,
) -> Result<Value, DecodeError> {
    let value_path = obj.path.field("value");
    let value = decode_numeric(obj.take("value"), &value_path, "DurationSerializer value")?;
    let parts_path = obj.path.field("parts");
    let raw_parts = match obj.take("parts") {
        Json::Array(items) => items,
        other => {
            return Err(DecodeError::shape(
                &parts_path,
                format!(
                    "DurationSerializer parts must be an array, found {}",
                    json_type_name(&other)
                ),
            ))
        }
    };
    let mut parts = Vec::with_capacity(raw_parts.len());
    for (i, raw_part) in raw_parts.into_iter().enumerate() {
        let part_path = parts_path.index(i);
        parts.push(decode_duration_part(raw_part, ctx, &part_path)?);
    }
    Duration::from_wire(value, parts)
        .map(Value::Duration)
        .map_err(|reason| DecodeError::invalid(obj.path, format!("DurationSerializer {reason}")))
}

fn decode_duration_part(
    raw: Json,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<(String, Numeric), DecodeError> {
    let pair = match raw {
        Json::Array(pair) if pair.len() == 2 => pair,
        other => {
            return Err(DecodeError::shape(
                path,
                format!(
                    "expected a [unit, amount] pair, found {}",
                    json_type_name(&other)
                ),
            ))
        }
    };
    let mut pair = pair.into_iter();
    let unit_raw = pair.next().unwrap_or(Json::Null);
    let amount_raw = pair.next().unwrap_or(Json::Null);
    let unit = match decode_argument(unit_raw, ctx, &path.index(0))? {
        Value::Symbol(s) | Value::String(s) => s,
        other => {
            return Err(DecodeError::shape(
                &path.index(0),
                format!(
                    "duration unit must be a symbol, found {}",
                    other.ruby_type_name()
                ),
            ))
        }
    };
    let amount = decode_numeric(amount_raw, &path.index(1), "duration amount")?;
    Ok((unit, amount))
}

fn decode_range(
    obj: &mut SerializedObject<'_>,
    ctx: &DecodeContext<'_>,
) -> Result<Value, DecodeError> {
    let begin = decode_argument(obj.take("begin"), ctx, &obj.path.field("begin"))?;
    let end = decode_argument(obj.take("end"), ctx, &obj.path.field("end"))?;
    let exclude_end = match obj.take("exclude_end") {
        Json::Bool(b) => b,
        // Range.new treats any other value by truthiness.
        Json::Null => false,
        _ => true,
    };
    Ok(Value::Range(Box::new(Range {
        begin,
        end,
        exclude_end,
    })))
}

fn decode_custom(
    name: String,
    fields: Map<String, Json>,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Value, DecodeError> {
    match ctx.serializers.custom(&name) {
        Some(registered) => {
            if let Some(check) = &registered.check {
                check(&fields)
                    .map_err(|reason| DecodeError::invalid(path, format!("{name}: {reason}")))?;
            }
            Ok(Value::Custom(CustomObject {
                serializer: name,
                ruby_class: Some(registered.ruby_class.clone()),
                fields,
            }))
        }
        None if ctx.serializers.is_strict() => Err(DecodeError::new(
            path.clone(),
            DecodeErrorKind::UnknownSerializer,
            format!("Serializer {name} is not known"),
        )),
        None => Ok(Value::Custom(CustomObject {
            serializer: name,
            ruby_class: None,
            fields,
        })),
    }
}
