//! An application serializer's object handed over as a map straight from the payload.
//!
//! [`from_values`](crate::arguments::from_values) hands a `Value::Custom` over as a map of its
//! fields in the order written, each field as `serde_json` hands a `&Value` over (`null` as a
//! unit, an integer as a `u64` when it is not negative, else an `i64`, a string borrowed), the
//! keys as plain strings. When every field is such a value, the object needs no `Value` at all:
//! it is checked here once (keys without escapes, none repeated, values `null`, booleans,
//! integers in `i64` or strings without escapes) and its fields are read a second time, in place,
//! as the handler asks for them. An object with anything else in it, or whose serializer checks
//! its fields (the check takes the fields as a `serde_json` map), is built as its owned
//! [`Value`](crate::arguments::Value) instead ([`super::built::custom`]).

use super::serialized::{next_field_key, next_key};
use super::Refused;
use crate::arguments::lexer::{Lexer, Number};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use std::borrow::Cow;

/// Most fields an object handed over in place has; a larger one is built.
const MAX_FIELDS: usize = 16;

/// The fields of an object checked for handing over in place: where they start in the text
/// (past the serializer's name) and how many there are.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) at: usize,
    pub(super) len: usize,
}

/// The fields of the object whose name was just read (the cursor past it), checked; the cursor
/// past the object. `None` (the cursor anywhere) for an object that is not handed over in place.
pub(super) fn check(lex: &mut Lexer<'_>) -> Option<Fields> {
    let at = lex.at;
    let mut keys = [""; MAX_FIELDS];
    let mut len = 0;
    while let Some(key) = next_field_key(lex)? {
        if len == MAX_FIELDS || keys[..len].contains(&key) {
            return None;
        }
        keys[len] = key;
        len += 1;
        field(lex)?;
    }
    Some(Fields { at, len })
}

/// A field's value, as `serde_json` hands it over from a `&Value`.
#[derive(Debug, Clone, Copy)]
enum Field<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'de str),
}

/// A field's value at the cursor, when it is one handed over in place.
fn field<'de>(lex: &mut Lexer<'de>) -> Option<Field<'de>> {
    Some(match lex.peek()? {
        b'"' => match lex.string()? {
            Cow::Borrowed(text) => Field::Str(text),
            Cow::Owned(_) => return None,
        },
        b'n' => lex.literal("null").map(|()| Field::Null)?,
        b't' => lex.literal("true").map(|()| Field::Bool(true))?,
        b'f' => lex.literal("false").map(|()| Field::Bool(false))?,
        b'-' | b'0'..=b'9' => match lex.number()? {
            Number::Int(i) => Field::Int(i),
            Number::Text(_) => return None,
        },
        _ => return None,
    })
}

/// The fields of a checked object, read again as the handler asks for them.
pub(super) struct FieldsAccess<'de> {
    lex: Lexer<'de>,
    left: usize,
}

impl<'de> FieldsAccess<'de> {
    /// The fields `fields` of an object in the text `lex` reads.
    pub(super) fn new(lex: &Lexer<'de>, fields: Fields) -> FieldsAccess<'de> {
        FieldsAccess {
            lex: Lexer {
                at: fields.at,
                ..*lex
            },
            left: fields.len,
        }
    }
}

impl<'de> MapAccess<'de> for FieldsAccess<'de> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        if self.left == 0 {
            return Ok(None);
        }
        let key = next_key(&mut self.lex).flatten().ok_or(Refused)?;
        self.left -= 1;
        seed.deserialize(de::value::StrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        let field = field(&mut self.lex).ok_or(Refused)?;
        seed.deserialize(field)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::Deserializer<'de> for Field<'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self {
            Field::Null => visitor.visit_unit(),
            Field::Bool(b) => visitor.visit_bool(b),
            Field::Int(i) => match u64::try_from(i) {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => visitor.visit_i64(i),
            },
            Field::Str(text) => visitor.visit_borrowed_str(text),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}
