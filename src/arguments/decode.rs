//! JSON → [`Value`], following Rails 8.1's `ActiveJob::Arguments.deserialize` rule by rule.
//!
//! The rules read a [`Node`]: a `serde_json::Value` tree (the public functions here) or the
//! payload's [tape](super::tape) (`Job::decode`), so both paths give the same values and the
//! same errors. Paths are [`PathRef`]s on the stack, turned into text only for an error.

use super::global_id::GlobalId;
use super::node::{Kind, Node, Num, Object};
use super::range_order::{range_order, Order};
use super::value::{CustomObject, Hash, HashKey, HashKind, Range, TimeWithZone};
use super::value::{TimeWithZoneWire, Value};
use crate::error::{DecodeError, DecodeErrorKind, JsonPath, PathRef};
use crate::ruby::constant::{constant_path, ConstantPath};
use crate::ruby::duration::Duration;
use crate::ruby::time_zone::{RailsZone, ZoneDatabase};
use crate::ruby::{bigdecimal, time, Numeric};
use crate::serializers::{self, SerializerRegistry};
use serde_json::Value as Json;

pub(crate) const GLOBALID_KEY: &str = "_aj_globalid";
pub(crate) const SERIALIZED_KEY: &str = "_aj_serialized";
pub(crate) const SYMBOL_KEYS_KEY: &str = "_aj_symbol_keys";
pub(crate) const RUBY2_KEYWORDS_KEY: &str = "_aj_ruby2_keywords";
pub(crate) const INDIFFERENT_KEY: &str = "_aj_hash_with_indifferent_access";

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
    /// The tz database a TimeWithZone's `time_zone` is looked up in
    /// ([`DecodeOptions::time_zones`](crate::DecodeOptions::time_zones)).
    pub zones: &'a ZoneDatabase,
}

/// The zone a TimeWithZone without `time_zone` is read in, as the rules get it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Zone<'a> {
    /// Resolved by the caller.
    Resolved(&'a RailsZone),
    /// A name the caller checked resolves, resolved only when a TimeWithZone needs it (most
    /// payloads have none).
    Named(&'a str),
}

/// [`DecodeContext`] as the rules read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) zone: Zone<'a>,
    pub(crate) serializers: &'a SerializerRegistry,
    pub(crate) zones: &'a ZoneDatabase,
}

impl<'a> From<&DecodeContext<'a>> for Ctx<'a> {
    fn from(ctx: &DecodeContext<'a>) -> Self {
        Ctx {
            zone: Zone::Resolved(ctx.zone),
            serializers: ctx.serializers,
            zones: ctx.zones,
        }
    }
}

impl Ctx<'_> {
    fn zone(&self) -> Result<RailsZone, DecodeError> {
        match self.zone {
            Zone::Resolved(zone) => Ok(zone.clone()),
            Zone::Named(name) => self
                .zones
                .lookup(name)
                .ok_or_else(|| invalid_timezone(name)),
        }
    }
}

/// Rails' error for a job whose `timezone` names no zone (`Time.use_zone` raises).
pub(crate) fn invalid_timezone(name: &str) -> DecodeError {
    DecodeError::invalid(
        &JsonPath::key("timezone"),
        format!("Invalid Timezone: {name}"),
    )
}

/// Decodes the `arguments` array of a payload.
pub fn decode_arguments(
    raw: Json,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Vec<Value>, DecodeError> {
    decode_argument_list(raw, &ctx.into(), PathRef::At(path))
}

/// Decodes one serialized argument.
pub fn decode_argument(
    raw: Json,
    ctx: &DecodeContext<'_>,
    path: &JsonPath,
) -> Result<Value, DecodeError> {
    decode_node(raw.into_kind(), &ctx.into(), PathRef::At(path))
}

/// Decodes the `arguments` array of a payload, from either kind of [`Node`].
pub(crate) fn decode_argument_list<N: Node>(
    raw: N,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Vec<Value>, DecodeError> {
    match raw.into_kind() {
        Kind::Array(items) => decode_items::<N>(items, ctx, path),
        other => Err(DecodeError::shape_at(
            path,
            format!("expected an array, found {}", other.type_name()),
        )),
    }
}

/// Decodes one serialized argument from either kind of [`Node`] (errors name paths from the
/// root).
pub(crate) fn decode_argument_node<N: Node>(raw: N, ctx: &Ctx<'_>) -> Result<Value, DecodeError> {
    let root = JsonPath::root();
    decode_node(raw.into_kind(), ctx, PathRef::At(&root))
}

fn decode_items<N: Node>(
    items: N::Array,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Vec<Value>, DecodeError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        out.push(decode_node(item.into_kind(), ctx, path.index(i))?);
    }
    Ok(out)
}

fn decode_node<N: Node>(
    raw: Kind<N>,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Value, DecodeError> {
    Ok(match raw {
        Kind::Null => Value::Nil,
        Kind::Bool(b) => Value::Bool(b),
        Kind::Number(n) => decode_number(&n, path)?,
        Kind::String(s) => Value::String(s.into()),
        Kind::Array(items) => Value::Array(decode_items::<N>(items, ctx, path)?),
        Kind::Object(map) => decode_object(map, ctx, path)?,
    })
}

fn decode_number(n: &impl Num, path: PathRef<'_>) -> Result<Value, DecodeError> {
    if n.is_integer_literal() {
        return n
            .integer()
            .map(Value::Integer)
            .ok_or_else(|| DecodeError::invalid_at(path, format!("bad integer {}", n.text())));
    }
    // Ruby's JSON parser turns an out-of-range literal such as 1e400 into Infinity, as does Rust.
    n.float()
        .map(Value::Float)
        .ok_or_else(|| DecodeError::invalid_at(path, format!("bad float {}", n.text())))
}

fn decode_object<O: Object>(
    map: O,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Value, DecodeError> {
    if map.len() == 1 && map.contains_key(GLOBALID_KEY) {
        return decode_global_id(map, path);
    }
    if map.contains_key(SERIALIZED_KEY) {
        return decode_serialized(map, ctx, path);
    }
    decode_hash(map, ctx, path).map(Value::Hash)
}

fn decode_global_id<O: Object>(mut map: O, path: PathRef<'_>) -> Result<Value, DecodeError> {
    let path = path.field(GLOBALID_KEY);
    match Kind::of(map.remove(GLOBALID_KEY)) {
        Kind::String(uri) => GlobalId::parse(uri.as_ref())
            .map(Value::GlobalId)
            .ok_or_else(|| {
                DecodeError::invalid_at(path, format!("{:?} is not a GlobalID URI", uri.as_ref()))
            }),
        other => Err(DecodeError::shape_at(
            path,
            format!("expected a GlobalID string, found {}", other.type_name()),
        )),
    }
}

fn decode_hash<O: Object>(map: O, ctx: &Ctx<'_>, path: PathRef<'_>) -> Result<Hash, DecodeError> {
    // Rails deserializes every value first, marker values included, then looks at the markers.
    let mut entries = Vec::with_capacity(map.len());
    for (key, raw) in map.into_entries() {
        let value = decode_node(raw.into_kind(), ctx, path.field(key.as_ref()))?;
        entries.push((HashKey::String(key.into()), value));
    }
    if let Some(marker) = take_entry(&mut entries, INDIFFERENT_KEY) {
        if is_truthy(&marker) {
            return Ok(indifferent(entries));
        }
    }
    if let Some(symbol_keys) = take_entry(&mut entries, SYMBOL_KEYS_KEY) {
        if is_truthy(&symbol_keys) {
            let marker_path = path.field(SYMBOL_KEYS_KEY);
            return with_symbol_keys(entries, &symbol_keys, HashKind::Plain, marker_path);
        }
    }
    if let Some(symbol_keys) = take_entry(&mut entries, RUBY2_KEYWORDS_KEY) {
        if is_truthy(&symbol_keys) {
            let marker_path = path.field(RUBY2_KEYWORDS_KEY);
            return with_symbol_keys(entries, &symbol_keys, HashKind::Keywords, marker_path);
        }
    }
    Ok(Hash {
        entries,
        kind: HashKind::Plain,
    })
}

/// Takes a marker out of a Hash whose keys are all still Strings.
fn take_entry(entries: &mut Vec<(HashKey, Value)>, key: &str) -> Option<Value> {
    let index = entries.iter().position(|(k, _)| k.name() == key)?;
    Some(entries.remove(index).1)
}

fn is_truthy(value: &Value) -> bool {
    !matches!(value, Value::Nil | Value::Bool(false))
}

/// `transform_symbol_keys`: the marker's `include?(key)` decides, with Ruby's meaning of
/// `include?` for whatever the marker holds (Array membership, String substring, Hash key).
fn with_symbol_keys(
    mut entries: Vec<(HashKey, Value)>,
    marker: &Value,
    kind: HashKind,
    marker_path: PathRef<'_>,
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
            other => Err(DecodeError::shape_at(
                marker_path,
                format!(
                    "expected a list of key names, found {}",
                    other.ruby_type_name()
                ),
            )),
        }
    };
    for (key, _) in &mut entries {
        if let HashKey::String(name) = key {
            if includes(name)? {
                *key = HashKey::Symbol(std::mem::take(name));
            }
        }
    }
    Ok(Hash { entries, kind })
}

/// `Hash#with_indifferent_access`: keys become Strings and nested Hashes (also inside Arrays)
/// become indifferent too.
fn indifferent(mut entries: Vec<(HashKey, Value)>) -> Hash {
    for (key, value) in &mut entries {
        if let HashKey::Symbol(name) = key {
            *key = HashKey::String(std::mem::take(name));
        }
        nest_indifferent(value);
    }
    Hash {
        entries,
        kind: HashKind::Indifferent,
    }
}

fn nest_indifferent(value: &mut Value) {
    match value {
        Value::Hash(hash) if hash.kind == HashKind::Indifferent => {}
        Value::Hash(hash) => *hash = indifferent(std::mem::take(&mut hash.entries)),
        Value::Array(items) => items.iter_mut().for_each(nest_indifferent),
        _ => {}
    }
}

fn decode_serialized<O: Object>(
    mut map: O,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Value, DecodeError> {
    let name = match map.remove(SERIALIZED_KEY).map(Node::into_kind) {
        Some(Kind::String(name)) => name,
        Some(other) => {
            return Err(DecodeError::shape_at(
                path.field(SERIALIZED_KEY),
                format!("expected a serializer name, found {}", other.type_name()),
            ))
        }
        None => {
            return Err(DecodeError::shape_at(
                path,
                "serializer name is not present",
            ))
        }
    };
    let mut obj = SerializedObject {
        map,
        path,
        name: name.as_ref(),
    };
    match name.as_ref() {
        serializers::SYMBOL => Ok(Value::Symbol(obj.string("value")?.into())),
        serializers::DURATION => decode_duration(&mut obj, ctx),
        serializers::DATE_TIME => {
            let text = obj.string("value")?;
            time::parse_datetime(text.as_ref())
                .map(Value::DateTime)
                .map_err(|_| obj.invalid("value", text.as_ref(), "is not a DateTime"))
        }
        serializers::DATE => {
            let text = obj.string("value")?;
            time::parse_date(text.as_ref())
                .map(Value::Date)
                .map_err(|_| obj.invalid("value", text.as_ref(), "is not a date"))
        }
        serializers::TIME_WITH_ZONE => decode_time_with_zone(&mut obj, ctx),
        serializers::TIME => {
            let text = obj.string("value")?;
            time::parse_xmlschema(text.as_ref())
                .map(Value::Time)
                .map_err(|_| obj.invalid("value", text.as_ref(), "is not an ISO 8601 time"))
        }
        serializers::MODULE => {
            let text = obj.string("value")?;
            match constant_path(text.as_ref()) {
                ConstantPath::Valid(name) | ConstantPath::Unknown(name) => {
                    Ok(Value::Module(name.to_owned()))
                }
                ConstantPath::Invalid => Err(obj.invalid(
                    "value",
                    text.as_ref(),
                    "is not a constant name (Rails' constantize raises NameError)",
                )),
            }
        }
        serializers::RANGE => decode_range(&mut obj, ctx),
        serializers::BIG_DECIMAL => {
            let text = obj.string("value")?;
            bigdecimal::bigdecimal_to_s(text.as_ref())
                .map(Value::BigDecimal)
                .map_err(|_| obj.invalid("value", text.as_ref(), "is not a BigDecimal"))
        }
        serializers::ACTION_CONTROLLER_PARAMETERS => Err(DecodeError::invalid_at(
            path,
            "ActionControllerParametersSerializer objects cannot be deserialized (Rails raises NotImplementedError)",
        )),
        _ => {
            let fields = obj.map.into_json();
            decode_custom(name.into(), fields, ctx, path)
        }
    }
}

/// The keys of one `_aj_serialized` object, with errors that name the serializer.
struct SerializedObject<'a, O> {
    map: O,
    path: PathRef<'a>,
    /// The `_aj_serialized` name.
    name: &'a str,
}

impl<O: Object> SerializedObject<'_, O> {
    /// `ActiveJob::Serializers::DateSerializer` → `DateSerializer`, for error messages.
    fn short(&self) -> &str {
        self.name.rsplit("::").next().unwrap_or(self.name)
    }

    fn take(&mut self, key: &str) -> Kind<O::Node> {
        Kind::of(self.map.remove(key))
    }

    fn string(&mut self, key: &str) -> Result<<O::Node as Node>::Str, DecodeError> {
        match self.take(key) {
            Kind::String(s) => Ok(s),
            other => Err(DecodeError::shape_at(
                self.path.field(key),
                format!(
                    "{} {} must be a string, found {}",
                    self.short(),
                    key,
                    other.type_name()
                ),
            )),
        }
    }

    fn invalid(&self, key: &str, text: &str, what: &str) -> DecodeError {
        DecodeError::invalid_at(
            self.path.field(key),
            format!("{} {} {:?} {}", self.short(), key, text, what),
        )
    }
}

fn decode_time_with_zone<O: Object>(
    obj: &mut SerializedObject<'_, O>,
    ctx: &Ctx<'_>,
) -> Result<Value, DecodeError> {
    let text = obj.string("value")?;
    let parsed = time::parse_xmlschema(text.as_ref())
        .map_err(|_| obj.invalid("value", text.as_ref(), "is not an ISO 8601 time"))?;
    let instant = parsed.instant.to_utc();
    match obj.take("time_zone") {
        Kind::Null => Ok(Value::TimeWithZone(TimeWithZone {
            instant,
            zone: ctx.zone()?,
            wire: TimeWithZoneWire::ValueOnly(text.into()),
        })),
        Kind::String(name) => {
            let zone = ctx.zones.lookup(name.as_ref()).ok_or_else(|| {
                obj.invalid("time_zone", name.as_ref(), "is not a known time zone")
            })?;
            Ok(Value::TimeWithZone(TimeWithZone {
                instant,
                zone,
                wire: TimeWithZoneWire::WithTimeZone,
            }))
        }
        other => Err(DecodeError::shape_at(
            obj.path.field("time_zone"),
            format!(
                "TimeWithZoneSerializer time_zone must be a string, found {}",
                other.type_name()
            ),
        )),
    }
}

fn decode_numeric<N: Node>(
    raw: Kind<N>,
    path: PathRef<'_>,
    what: &str,
) -> Result<Numeric, DecodeError> {
    match raw {
        Kind::Number(n) => match decode_number(&n, path)? {
            Value::Integer(i) => Ok(Numeric::Integer(i)),
            Value::Float(f) => Ok(Numeric::Float(f)),
            _ => Err(DecodeError::shape_at(
                path,
                format!("{what} must be a number"),
            )),
        },
        other => Err(DecodeError::shape_at(
            path,
            format!("{what} must be a number, found {}", other.type_name()),
        )),
    }
}

fn decode_duration<O: Object>(
    obj: &mut SerializedObject<'_, O>,
    ctx: &Ctx<'_>,
) -> Result<Value, DecodeError> {
    let path = obj.path;
    let value = decode_numeric(
        obj.take("value"),
        path.field("value"),
        "DurationSerializer value",
    )?;
    let parts_path = path.field("parts");
    let raw_parts = match obj.take("parts") {
        Kind::Array(items) => items,
        other => {
            return Err(DecodeError::shape_at(
                parts_path,
                format!(
                    "DurationSerializer parts must be an array, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    let mut parts = Vec::with_capacity(raw_parts.len());
    for (i, raw_part) in raw_parts.enumerate() {
        parts.push(decode_duration_part(
            raw_part.into_kind(),
            ctx,
            parts_path.index(i),
        )?);
    }
    Duration::from_wire(value, parts)
        .map(Value::Duration)
        .map_err(|reason| DecodeError::invalid_at(path, format!("DurationSerializer {reason}")))
}

fn decode_duration_part<N: Node>(
    raw: Kind<N>,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<(String, Numeric), DecodeError> {
    let mut pair = match raw {
        Kind::Array(pair) if pair.len() == 2 => pair,
        other => {
            return Err(DecodeError::shape_at(
                path,
                format!(
                    "expected a [unit, amount] pair, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    let unit_raw = Kind::of(pair.next());
    let amount_raw = Kind::of(pair.next());
    let unit = match decode_node(unit_raw, ctx, path.index(0))? {
        Value::Symbol(s) | Value::String(s) => s,
        other => {
            return Err(DecodeError::shape_at(
                path.index(0),
                format!(
                    "duration unit must be a symbol, found {}",
                    other.ruby_type_name()
                ),
            ))
        }
    };
    let amount = decode_numeric(amount_raw, path.index(1), "duration amount")?;
    Ok((unit, amount))
}

fn decode_range<O: Object>(
    obj: &mut SerializedObject<'_, O>,
    ctx: &Ctx<'_>,
) -> Result<Value, DecodeError> {
    let path = obj.path;
    let begin = decode_node(obj.take("begin"), ctx, path.field("begin"))?;
    let end = decode_node(obj.take("end"), ctx, path.field("end"))?;
    let exclude_end = match obj.take("exclude_end") {
        Kind::Bool(b) => b,
        // Range.new treats any other value by truthiness.
        Kind::Null => false,
        _ => true,
    };
    if range_order(&begin, &end) == Order::Incomparable {
        return Err(DecodeError::invalid_at(
            path,
            format!(
                "RangeSerializer from {} to {}: bad value for range",
                begin.ruby_type_name(),
                end.ruby_type_name()
            ),
        ));
    }
    Ok(Value::Range(Box::new(Range {
        begin,
        end,
        exclude_end,
    })))
}

fn decode_custom(
    name: String,
    fields: serde_json::Map<String, Json>,
    ctx: &Ctx<'_>,
    path: PathRef<'_>,
) -> Result<Value, DecodeError> {
    match ctx.serializers.custom(&name) {
        Some(registered) => {
            if let Some(check) = &registered.check {
                check(&fields)
                    .map_err(|reason| DecodeError::invalid_at(path, format!("{name}: {reason}")))?;
            }
            Ok(Value::Custom(CustomObject {
                serializer: name,
                ruby_class: Some(registered.ruby_class.clone()),
                fields,
            }))
        }
        None if ctx.serializers.is_strict() => Err(DecodeError::new(
            path.to_path(),
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
