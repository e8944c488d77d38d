//! The argument value model.

use super::global_id::GlobalId;
use crate::ruby::duration::Duration;
use crate::ruby::time::RubyTime;
use crate::ruby::time_zone::RailsZone;
use crate::ruby::Integer;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// One deserialized ActiveJob argument: what a Ruby job's `perform` would receive.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `nil` (also what a non-finite Float becomes on the wire).
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An `Integer` of any size.
    Integer(Integer),
    /// A `Float`.
    Float(f64),
    /// A `String`.
    String(String),
    /// A `Symbol` (`SymbolSerializer`).
    Symbol(String),
    /// An `Array`.
    Array(Vec<Value>),
    /// A `Hash`, keyword arguments or a `HashWithIndifferentAccess`.
    Hash(Hash),
    /// A record located by GlobalID (`_aj_globalid`).
    GlobalId(GlobalId),
    /// A `Date` (`DateSerializer`).
    Date(NaiveDate),
    /// A `Time` (`TimeSerializer`).
    Time(RubyTime),
    /// A `DateTime` (`DateTimeSerializer`).
    DateTime(DateTime<FixedOffset>),
    /// An `ActiveSupport::TimeWithZone` (`TimeWithZoneSerializer`).
    TimeWithZone(TimeWithZone),
    /// An `ActiveSupport::Duration` (`DurationSerializer`).
    Duration(Duration),
    /// A `BigDecimal` (`BigDecimalSerializer`), as Ruby's `to_s` prints it (`"123.456"`).
    BigDecimal(String),
    /// A `Module` or `Class` by constant name (`ModuleSerializer`).
    Module(String),
    /// A `Range` (`RangeSerializer`).
    Range(Box<Range>),
    /// An object of an application's own serializer (`{"_aj_serialized":"MoneySerializer",...}`).
    Custom(CustomObject),
}

/// A Ruby Hash key: Rails keeps String and Symbol keys apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashKey {
    /// A String key (`"name" => ...`).
    String(String),
    /// A Symbol key (`name: ...`).
    Symbol(String),
}

impl HashKey {
    /// The key's name, whatever its kind.
    pub fn name(&self) -> &str {
        match self {
            HashKey::String(s) | HashKey::Symbol(s) => s,
        }
    }
}

/// Which Ruby Hash flavour a [`Hash`](struct@Hash) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// A plain `Hash` (`_aj_symbol_keys` marker).
    Plain,
    /// Keyword arguments: a Hash flagged `ruby2_keywords` (`_aj_ruby2_keywords` marker).
    Keywords,
    /// `ActiveSupport::HashWithIndifferentAccess` (`_aj_hash_with_indifferent_access`); keys are Strings.
    Indifferent,
}

/// A Ruby Hash in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct Hash {
    /// Entries in the order Ruby holds them.
    pub entries: Vec<(HashKey, Value)>,
    /// Plain hash, keyword arguments, or indifferent access.
    pub kind: HashKind,
}

impl Hash {
    /// An empty hash of `kind`.
    pub fn new(kind: HashKind) -> Self {
        Hash {
            entries: Vec::new(),
            kind,
        }
    }

    /// The value under a key named `name`, String or Symbol.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.name() == name)
            .map(|(_, v)| v)
    }
}

/// An `ActiveSupport::TimeWithZone`: an instant seen in a Rails time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWithZone {
    /// The instant.
    pub instant: DateTime<Utc>,
    /// The zone Ruby shows it in (from the payload's `time_zone`, else the job's `timezone`).
    pub zone: RailsZone,
    /// How the payload wrote it, so a decoded job is written back unchanged.
    pub wire: TimeWithZoneWire,
}

/// The form a [`TimeWithZone`] had on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeWithZoneWire {
    /// Rails ≥ 7.1.3 / 7.0.9: `value` in the zone plus a `time_zone` key (what Rust writes).
    WithTimeZone,
    /// Rails 6.1 – 7.1.2: only `value`, with this exact text; readers use their own zone.
    ValueOnly(String),
}

/// A Ruby `Range` (`RangeSerializer`, Rails ≥ 7.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The first value (`Nil` for beginless ranges).
    pub begin: Value,
    /// The last value (`Nil` for endless ranges).
    pub end: Value,
    /// `...` (true) or `..` (false).
    pub exclude_end: bool,
}

/// An object written by an application's own `ActiveJob::Serializers::ObjectSerializer`.
///
/// Rust keeps its fields as raw JSON so it is written back exactly; an application that registers
/// the serializer (see [`crate::serializers::SerializerRegistry`]) names the Ruby class it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomObject {
    /// The `_aj_serialized` name (`MoneySerializer`).
    pub serializer: String,
    /// The Ruby class the serializer makes (`Money`), when the application registered it.
    pub ruby_class: Option<String>,
    /// Every key but `_aj_serialized`, in order, as raw JSON.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Integer(Integer::Small(v as i64))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(small) => Value::Integer(Integer::Small(small)),
            Err(_) => Value::Integer(Integer::Big(v.into())),
        }
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}

impl From<GlobalId> for Value {
    fn from(v: GlobalId) -> Self {
        Value::GlobalId(v)
    }
}

impl From<Duration> for Value {
    fn from(v: Duration) -> Self {
        Value::Duration(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl Value {
    /// A Ruby Symbol (`:fast`).
    pub fn symbol(name: impl Into<String>) -> Value {
        Value::Symbol(name.into())
    }

    /// A Ruby `Time` in UTC (written with a `Z`, as `Time#utc` prints).
    pub fn time_utc(instant: DateTime<Utc>) -> Value {
        Value::Time(RubyTime {
            instant: instant.fixed_offset(),
            utc: true,
        })
    }

    /// An `ActiveSupport::TimeWithZone` in `zone`, written the Rails 8.1 way.
    pub fn time_with_zone(instant: DateTime<Utc>, zone: RailsZone) -> Value {
        Value::TimeWithZone(TimeWithZone {
            instant,
            zone,
            wire: TimeWithZoneWire::WithTimeZone,
        })
    }

    /// Keyword arguments (`perform(mode: :fast)`): a Symbol-keyed Hash flagged as keywords.
    pub fn kwargs<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Hash(Hash {
            entries: entries
                .into_iter()
                .map(|(k, v)| (HashKey::Symbol(k.into()), v))
                .collect(),
            kind: HashKind::Keywords,
        })
    }

    /// A Hash with Symbol keys (`{name: "widget"}`).
    pub fn symbol_hash<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Hash(Hash {
            entries: entries
                .into_iter()
                .map(|(k, v)| (HashKey::Symbol(k.into()), v))
                .collect(),
            kind: HashKind::Plain,
        })
    }

    /// A Hash with String keys (`{"name" => "widget"}`).
    pub fn string_hash<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Hash(Hash {
            entries: entries
                .into_iter()
                .map(|(k, v)| (HashKey::String(k.into()), v))
                .collect(),
            kind: HashKind::Plain,
        })
    }

    /// The text of a String or Symbol: Ruby code often treats both alike.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an `i64`, when it is an Integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => i.as_i64(),
            _ => None,
        }
    }

    /// The name of the Ruby type, for error messages.
    pub fn ruby_type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "a boolean",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Symbol(_) => "a symbol",
            Value::Array(_) => "an array",
            Value::Hash(_) => "a hash",
            Value::GlobalId(_) => "a GlobalID record",
            Value::Date(_) => "a Date",
            Value::Time(_) => "a Time",
            Value::DateTime(_) => "a DateTime",
            Value::TimeWithZone(_) => "a TimeWithZone",
            Value::Duration(_) => "a Duration",
            Value::BigDecimal(_) => "a BigDecimal",
            Value::Module(_) => "a Module",
            Value::Range(_) => "a Range",
            Value::Custom(_) => "a custom serialized object",
        }
    }
}

/// Ruby `inspect`-like text, for logs and the `decode` command: `42`, `:fast`,
/// `{mode: :fast, "x" => 1}`, `Date(2024-02-29)`, `gid://shop/User/7`.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::ruby::{time, time_zone};
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&crate::ruby::float::float_to_s(*x)),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Symbol(s) if is_plain_symbol(s) => write!(f, ":{s}"),
            Value::Symbol(s) => write!(f, ":{s:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Hash(hash) => {
                match hash.kind {
                    HashKind::Plain => {}
                    HashKind::Keywords => f.write_str("**")?,
                    HashKind::Indifferent => f.write_str("HWIA")?,
                }
                f.write_str("{")?;
                for (i, (k, v)) in hash.entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match k {
                        HashKey::Symbol(s) => write!(f, "{s}: {v}")?,
                        HashKey::String(s) => write!(f, "{s:?} => {v}")?,
                    }
                }
                f.write_str("}")
            }
            Value::GlobalId(gid) => f.write_str(&gid.uri()),
            Value::Date(d) => write!(f, "Date({})", time::format_date(*d)),
            Value::Time(t) => write!(f, "Time({})", time::format_iso8601_9(t)),
            Value::DateTime(dt) => write!(f, "DateTime({})", time::format_datetime_iso8601_9(dt)),
            Value::TimeWithZone(twz) => write!(
                f,
                "TimeWithZone({} {})",
                time_zone::format_in_zone(twz.instant, &twz.zone),
                twz.zone.name()
            ),
            Value::Duration(d) => write!(f, "Duration({})", d.inspect()),
            Value::BigDecimal(s) => write!(f, "BigDecimal({s})"),
            Value::Module(name) => f.write_str(name),
            Value::Range(r) => {
                let dots = if r.exclude_end { "..." } else { ".." };
                write!(f, "({}{dots}{})", r.begin, r.end)
            }
            Value::Custom(c) => write!(
                f,
                "{}({})",
                c.ruby_class.as_deref().unwrap_or(&c.serializer),
                serde_json::Value::Object(c.fields.clone())
            ),
        }
    }
}

/// Ruby prints `:name` for identifier-like symbols and `:"with space"` for the rest.
fn is_plain_symbol(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}
