//! Typed handler arguments: a serde `Deserializer` over decoded [`Value`]s.
//!
//! Handlers take `(i64, ImportOptions)` or a struct; Symbols and Strings are interchangeable
//! wherever Rust asks for text (Ruby code compares `mode == :fast` and `"fast"` alike after
//! `to_s`/`to_sym`), and errors name the argument path: `arguments[1].mode: expected a symbol or
//! string, found an integer`.

use super::value::{Hash, HashKey, Value};
use crate::error::{JsonPath, PathRef};
use crate::ruby::{time, time_zone, Integer, Numeric};
use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde::Deserialize;
use std::fmt;

/// A job's arguments did not fit the handler's argument type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ArgumentError {
    /// Where in `arguments`.
    pub path: String,
    /// What did not fit.
    pub message: String,
}

impl de::Error for ArgumentError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArgumentError {
            path: String::new(),
            message: msg.to_string(),
        }
    }
}

/// Deserializes a handler's argument type from a job's whole argument list.
///
/// The list is presented as a sequence: a tuple `(i64, Options)` takes the arguments in order, a
/// `Vec<T>` takes them all, and a struct with named fields takes them in declaration order.
pub fn from_values<'a, T: Deserialize<'a>>(values: &'a [Value]) -> Result<T, ArgumentError> {
    let root = JsonPath::root();
    let root = PathRef::At(&root);
    let path = root.field("arguments");
    T::deserialize(SeqDeserializer {
        items: values,
        path,
    })
    .map_err(|e| with_path(e, path))
}

/// Deserializes `T` from one argument.
pub fn from_value<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, ArgumentError> {
    let root = JsonPath::root();
    let path = PathRef::At(&root);
    T::deserialize(ValueDeserializer { value, path }).map_err(|e| with_path(e, path))
}

/// A deserializer over one decoded value, handing it over exactly as [`from_values`] hands over
/// each argument (errors name no path).
pub(crate) fn value_deserializer(
    value: &Value,
) -> impl de::Deserializer<'_, Error = ArgumentError> {
    ValueDeserializer {
        value,
        path: PathRef::At(&crate::error::ROOT_PATH),
    }
}

/// Errors raised by serde itself (missing field, unknown variant) have no path yet: give them the
/// path of the value being deserialized when they surfaced.
fn with_path(mut err: ArgumentError, path: PathRef<'_>) -> ArgumentError {
    if err.path.is_empty() {
        err.path = path.to_path().to_string();
    }
    err
}

fn error_at(path: PathRef<'_>, message: impl Into<String>) -> ArgumentError {
    ArgumentError {
        path: path.to_path().to_string(),
        message: message.into(),
    }
}

struct ValueDeserializer<'a, 'p> {
    value: &'a Value,
    path: PathRef<'p>,
}

impl<'a> ValueDeserializer<'a, '_> {
    fn expected(&self, what: &str) -> ArgumentError {
        error_at(
            self.path,
            format!("expected {what}, found {}", self.value.ruby_type_name()),
        )
    }

    fn integer(&self) -> Result<&'a Integer, ArgumentError> {
        match self.value {
            Value::Integer(i) => Ok(i),
            _ => Err(self.expected("an integer")),
        }
    }

    fn text(&self) -> Result<&'a str, ArgumentError> {
        match self.value {
            Value::String(s) | Value::Symbol(s) | Value::Module(s) | Value::BigDecimal(s) => Ok(s),
            _ => Err(self.expected("a symbol or string")),
        }
    }
}

macro_rules! deserialize_int {
    ($method:ident, $visit:ident, $t:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
            let int = self.integer()?;
            let narrowed = match int {
                Integer::Small(v) => <$t>::try_from(*v).ok(),
                Integer::Big(b) => <$t>::try_from(b).ok(),
            };
            match narrowed {
                Some(v) => visitor.$visit(v),
                None => Err(error_at(
                    self.path,
                    format!("integer {int} does not fit in {}", stringify!($t)),
                )),
            }
        }
    };
}

impl<'de, 'p> de::Deserializer<'de> for ValueDeserializer<'de, 'p> {
    type Error = ArgumentError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Nil => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Integer(Integer::Small(v)) => visitor.visit_i64(*v),
            Value::Integer(Integer::Big(b)) => match i128::try_from(b) {
                Ok(v) => visitor.visit_i128(v),
                Err(_) => visitor.visit_string(b.to_string()),
            },
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) | Value::Symbol(s) | Value::Module(s) | Value::BigDecimal(s) => {
                visitor.visit_borrowed_str(s)
            }
            Value::Array(items) => visitor.visit_seq(SeqAccessor {
                items,
                index: 0,
                path: self.path,
            }),
            Value::Hash(hash) => visitor.visit_map(HashAccess::new(hash, self.path)),
            Value::GlobalId(gid) => visitor.visit_string(gid.uri()),
            Value::Date(d) => visitor.visit_string(time::format_date(*d)),
            Value::Time(t) => visitor.visit_string(time::format_iso8601_9(t)),
            Value::DateTime(dt) => visitor.visit_string(time::format_datetime_iso8601_9(dt)),
            Value::TimeWithZone(twz) => {
                visitor.visit_string(time_zone::format_in_zone(twz.instant, &twz.zone))
            }
            Value::Duration(d) => match &d.value {
                Numeric::Integer(Integer::Small(v)) => visitor.visit_i64(*v),
                Numeric::Integer(big) => visitor.visit_string(big.to_string()),
                Numeric::Float(f) => visitor.visit_f64(*f),
            },
            Value::Range(range) => visitor.visit_map(RangeAccess {
                range,
                step: 0,
                path: self.path,
            }),
            Value::Custom(custom) => visitor.visit_map(de::value::MapDeserializer::new(
                custom
                    .fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), JsonAsValue(v))),
            )),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    deserialize_int!(deserialize_i8, visit_i8, i8);
    deserialize_int!(deserialize_i16, visit_i16, i16);
    deserialize_int!(deserialize_i32, visit_i32, i32);
    deserialize_int!(deserialize_i64, visit_i64, i64);
    deserialize_int!(deserialize_i128, visit_i128, i128);
    deserialize_int!(deserialize_u8, visit_u8, u8);
    deserialize_int!(deserialize_u16, visit_u16, u16);
    deserialize_int!(deserialize_u32, visit_u32, u32);
    deserialize_int!(deserialize_u64, visit_u64, u64);
    deserialize_int!(deserialize_u128, visit_u128, u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Float(f) => visitor.visit_f64(*f),
            // Ruby code treats Integer where a Float is expected without complaint.
            Value::Integer(i) => visitor.visit_f64(i.to_f64()),
            _ => Err(self.expected("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Date(_)
            | Value::Time(_)
            | Value::DateTime(_)
            | Value::TimeWithZone(_)
            | Value::GlobalId(_) => self.deserialize_any(visitor),
            _ => visitor.visit_borrowed_str(self.text()?),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        visitor.visit_borrowed_bytes(self.text()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Nil => visitor.visit_unit(),
            _ => Err(self.expected("nil")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(SeqAccessor {
                items,
                index: 0,
                path: self.path,
            }),
            _ => Err(self.expected("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::Hash(hash) => visitor.visit_map(HashAccess::new(hash, self.path)),
            Value::Custom(_) | Value::Range(_) => self.deserialize_any(visitor),
            _ => Err(self.expected("a hash")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        match self.value {
            Value::String(s) | Value::Symbol(s) => {
                visitor.visit_enum(s.as_str().into_deserializer())
            }
            Value::Hash(hash) if hash.entries.len() == 1 => {
                let (key, value) = &hash.entries[0];
                visitor.visit_enum(VariantDeserializer {
                    name: key.name(),
                    value,
                    path: self.path.field(key.name()),
                })
            }
            _ => Err(self.expected("a symbol or string")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        visitor.visit_unit()
    }
}

struct SeqDeserializer<'a, 'p> {
    items: &'a [Value],
    path: PathRef<'p>,
}

impl<'de> de::Deserializer<'de> for SeqDeserializer<'de, '_> {
    type Error = ArgumentError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        visitor.visit_seq(SeqAccessor {
            items: self.items,
            index: 0,
            path: self.path,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct SeqAccessor<'a, 'p> {
    items: &'a [Value],
    index: usize,
    path: PathRef<'p>,
}

impl<'de> SeqAccess<'de> for SeqAccessor<'de, '_> {
    type Error = ArgumentError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ArgumentError> {
        let Some(item) = self.items.get(self.index) else {
            return Ok(None);
        };
        let parent = self.path;
        let path = parent.index(self.index);
        self.index += 1;
        seed.deserialize(ValueDeserializer { value: item, path })
            .map(Some)
            .map_err(|e| with_path(e, path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.index)
    }
}

struct HashAccess<'a, 'p> {
    entries: std::slice::Iter<'a, (HashKey, Value)>,
    current: Option<&'a (HashKey, Value)>,
    path: PathRef<'p>,
}

impl<'a, 'p> HashAccess<'a, 'p> {
    fn new(hash: &'a Hash, path: PathRef<'p>) -> Self {
        HashAccess {
            entries: hash.entries.iter(),
            current: None,
            path,
        }
    }
}

impl<'de> MapAccess<'de> for HashAccess<'de, '_> {
    type Error = ArgumentError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ArgumentError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key: de::value::BorrowedStrDeserializer<'de, ArgumentError> =
            de::value::BorrowedStrDeserializer::new(entry.0.name());
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ArgumentError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| error_at(self.path, "value requested before key"))?;
        let parent = self.path;
        let path = parent.field(key.name());
        seed.deserialize(ValueDeserializer { value, path })
            .map_err(|e| with_path(e, path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct RangeAccess<'a, 'p> {
    range: &'a super::value::Range,
    step: u8,
    path: PathRef<'p>,
}

impl<'de> MapAccess<'de> for RangeAccess<'de, '_> {
    type Error = ArgumentError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ArgumentError> {
        let key = match self.step {
            0 => "begin",
            1 => "end",
            2 => "exclude_end",
            _ => return Ok(None),
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ArgumentError> {
        let step = self.step;
        self.step += 1;
        match step {
            0 => seed.deserialize(ValueDeserializer {
                value: &self.range.begin,
                path: self.path.field("begin"),
            }),
            1 => seed.deserialize(ValueDeserializer {
                value: &self.range.end,
                path: self.path.field("end"),
            }),
            _ => seed.deserialize(self.range.exclude_end.into_deserializer()),
        }
    }
}

struct VariantDeserializer<'a, 'p> {
    name: &'a str,
    value: &'a Value,
    path: PathRef<'p>,
}

impl<'de> EnumAccess<'de> for VariantDeserializer<'de, '_> {
    type Error = ArgumentError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), ArgumentError> {
        let name: de::value::BorrowedStrDeserializer<'de, ArgumentError> =
            de::value::BorrowedStrDeserializer::new(self.name);
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for VariantDeserializer<'de, '_> {
    type Error = ArgumentError;

    fn unit_variant(self) -> Result<(), ArgumentError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ArgumentError> {
        seed.deserialize(ValueDeserializer {
            value: self.value,
            path: self.path,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        de::Deserializer::deserialize_seq(
            ValueDeserializer {
                value: self.value,
                path: self.path,
            },
            visitor,
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgumentError> {
        de::Deserializer::deserialize_map(
            ValueDeserializer {
                value: self.value,
                path: self.path,
            },
            visitor,
        )
    }
}

/// Raw JSON fields of an application's serializer object, handed to serde.
struct JsonAsValue<'a>(&'a serde_json::Value);

impl<'de> IntoDeserializer<'de, ArgumentError> for JsonAsValue<'de> {
    type Deserializer = JsonDeserializer<'de>;

    fn into_deserializer(self) -> JsonDeserializer<'de> {
        JsonDeserializer(self.0)
    }
}

struct JsonDeserializer<'a>(&'a serde_json::Value);

impl<'de> de::Deserializer<'de> for JsonDeserializer<'de> {
    type Error = ArgumentError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgumentError> {
        de::Deserializer::deserialize_any(self.0, visitor).map_err(de::Error::custom)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}
