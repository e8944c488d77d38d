//! One argument value (or a value inside one), handed to serde as Rails' rules read it.

use super::super::syntax::{skip_raw, MAX_DEPTH};
use super::fields::{Fields, FieldsAccess};
use super::members::{visit_entries, visit_items};
use super::serialized::{self, Seconds, Taken};
use super::{Read, Refused};
use crate::arguments::lexer::{is_float, Number};
use crate::arguments::tape::Tape;
use crate::arguments::{decode_argument_node, prints_as_written, value_deserializer};
use crate::arguments::{GlobalId, Value};
use crate::arguments::{GLOBALID_KEY, SERIALIZED_KEY};
use crate::ruby::Integer;
use num_bigint::BigInt;
use serde::de::{self, IgnoredAny, IntoDeserializer, Visitor};
use std::borrow::Cow;

/// What the next argument value is, as far as serde needs to know.
pub(super) enum Next<'de> {
    Null,
    Bool(bool),
    Int(i64),
    /// An Integer beyond `i64` that fits an `i128` (a Ruby Bignum), kept as [`Wide`].
    Wide(Wide),
    Float(f64),
    /// A String, or a Symbol's name.
    Str(Cow<'de, str>),
    /// An array, its `[` read.
    Array,
    /// A Hash, its `{` read.
    Hash,
    /// A Date, Time, DateTime, TimeWithZone or GlobalID: handed over as the text `from_values`
    /// prints for it, and taken by nothing but a string.
    Printed(Cow<'de, str>),
    /// A Module or a BigDecimal, as the text `from_values` hands over.
    Name(Cow<'de, str>),
    /// A Duration, as the number of seconds `from_values` hands over.
    Duration(Seconds),
    /// An application serializer's object, handed over as a map of its fields read in place.
    Fields(Fields),
    /// A value the owned rules decoded.
    Value(&'de Value),
}

/// An `i128` in two halves: aligned as an `i64`, so that [`Next`] stays as small as without it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wide {
    high: i64,
    low: u64,
}

impl From<i128> for Wide {
    fn from(wide: i128) -> Wide {
        Wide {
            high: (wide >> 64) as i64,
            low: wide as u64,
        }
    }
}

impl From<Wide> for i128 {
    fn from(wide: Wide) -> i128 {
        (i128::from(wide.high) << 64) | i128::from(wide.low)
    }
}

/// One argument value (or a value inside one).
pub(super) struct Arg<'r, 'de> {
    pub(super) read: &'r mut Read<'de>,
    pub(super) depth: u32,
}

impl<'de> Arg<'_, 'de> {
    fn next(&mut self) -> Result<Next<'de>, Refused> {
        if self.depth > MAX_DEPTH {
            return Err(Refused);
        }
        let lex = &mut self.read.lex;
        Ok(match lex.peek().ok_or(Refused)? {
            b'"' => Next::Str(lex.string().ok_or(Refused)?),
            b'-' | b'0'..=b'9' => return self.number(),
            b't' => lex
                .literal("true")
                .map(|()| Next::Bool(true))
                .ok_or(Refused)?,
            b'f' => lex
                .literal("false")
                .map(|()| Next::Bool(false))
                .ok_or(Refused)?,
            b'n' => lex.literal("null").map(|()| Next::Null).ok_or(Refused)?,
            b'[' => {
                lex.at += 1;
                Next::Array
            }
            b'{' => return self.object(),
            _ => return Err(Refused),
        })
    }

    /// The next value, an Integer beyond `i64` as its decoded [`Value`], for a Float
    /// requested: converted as `from_values` converts it.
    fn next_decoded(&mut self) -> Result<Next<'de>, Refused> {
        Ok(match self.next()? {
            Next::Wide(wide) => {
                let integer = Integer::from(BigInt::from(i128::from(wide)));
                Next::Value(self.read.keep(Value::Integer(integer)))
            }
            next => next,
        })
    }

    /// A number as `decode` reads it: an Integer (of any size) for an integer literal, else a
    /// Float.
    fn number(&mut self) -> Result<Next<'de>, Refused> {
        match self.read.lex.number().ok_or(Refused)? {
            Number::Int(i) => Ok(Next::Int(i)),
            Number::Text(text) if is_float(&text) => {
                text.parse().map(Next::Float).map_err(|_| Refused)
            }
            // `-0`, or beyond `i64`: `i128` holds what Rails writes for big ids and amounts.
            Number::Text(text) => match text.parse::<i128>() {
                Ok(wide) => Ok(i64::try_from(wide).map_or(Next::Wide(Wide::from(wide)), Next::Int)),
                Err(_) => {
                    let integer = Integer::parse(&text).ok_or(Refused)?;
                    Ok(Next::Value(self.read.keep(Value::Integer(integer))))
                }
            },
        }
    }

    /// An object: a serialized object, a GlobalID, or a Hash.
    fn object(&mut self) -> Result<Next<'de>, Refused> {
        let start = self.read.lex.at;
        if self.read.lex.exact(b"{\"_aj_serialized\"") {
            return self.serialized(start);
        }
        self.read.lex.at += 1;
        if self.read.lex.peek() == Some(b'"') {
            match self.read.lex.string().as_deref() {
                Some(SERIALIZED_KEY) => return self.serialized(start),
                Some(GLOBALID_KEY) => {
                    if let Some(uri) = self.global_id()? {
                        return Ok(Next::Printed(uri));
                    }
                }
                _ => {}
            }
        }
        self.read.lex.at = start + 1;
        Ok(Next::Hash)
    }

    /// After the key `_aj_globalid`: the GlobalID's URI as `from_values` prints it when the key
    /// is the object's only one, `None` when other keys follow (a plain Hash then).
    fn global_id(&mut self) -> Result<Option<Cow<'de, str>>, Refused> {
        let lex = &mut self.read.lex;
        lex.eat(b':').ok_or(Refused)?;
        if lex.peek() != Some(b'"') {
            return Err(Refused);
        }
        let uri = lex.string().ok_or(Refused)?;
        if lex.separator(b'}').ok_or(Refused)? {
            return Ok(None);
        }
        if prints_as_written(&uri) {
            return Ok(Some(uri));
        }
        let gid = GlobalId::parse(&uri).ok_or(Refused)?;
        Ok(Some(Cow::Owned(gid.uri())))
    }

    /// After the first key `_aj_serialized` of the object at `start`.
    fn serialized(&mut self, start: usize) -> Result<Next<'de>, Refused> {
        if self.depth + serialized::DEPTH <= MAX_DEPTH {
            let mut lex = self.read.lex;
            if let Some(taken) = serialized::read(&mut lex, &self.read.ctx) {
                self.read.lex = lex;
                return Ok(match taken {
                    Taken::Next(next) => next,
                    Taken::Value(value) => Next::Value(self.read.keep(value)),
                });
            }
        }
        let delimited = skip_raw(self.read.lex.bytes, start).ok_or(Refused)?;
        if self.depth + delimited.depth > MAX_DEPTH {
            return Err(Refused);
        }
        let text = self
            .read
            .lex
            .text
            .get(start..delimited.end)
            .ok_or(Refused)?;
        let tape = Tape::parse(text).map_err(|_| Refused)?;
        let value = decode_argument_node(tape.root(), &self.read.ctx).map_err(|_| Refused)?;
        self.read.lex.at = delimited.end;
        Ok(Next::Value(self.read.keep(value)))
    }

    fn visit_array<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visit_items(self.read, self.depth + 1, visitor)
    }

    fn visit_hash<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visit_entries(self.read, self.depth, visitor)
    }

    fn visit_fields<V: Visitor<'de>>(
        self,
        fields: Fields,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        visitor.visit_map(FieldsAccess::new(&self.read.lex, fields))
    }

    /// Consumes `null` when it comes next.
    fn null(&mut self) -> Result<bool, Refused> {
        let lex = &mut self.read.lex;
        if lex.peek().ok_or(Refused)? != b'n' {
            return Ok(false);
        }
        lex.literal("null").ok_or(Refused)?;
        Ok(true)
    }
}

fn visit_text<'de, V: Visitor<'de>>(visitor: V, text: Cow<'de, str>) -> Result<V::Value, Refused> {
    match text {
        Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
        Cow::Owned(text) => visitor.visit_string(text),
    }
}

/// Hands a decoded value over as `from_values` does.
macro_rules! decoded {
    ($value:expr, $method:ident, $visitor:expr) => {
        de::Deserializer::$method(value_deserializer($value), $visitor).map_err(|_| Refused)
    };
}

macro_rules! deserialize_int {
    ($method:ident, $visit:ident, $t:ty) => {
        fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
            match self.next()? {
                Next::Int(i) => visitor.$visit(<$t>::try_from(i).map_err(|_| Refused)?),
                Next::Wide(wide) => {
                    visitor.$visit(<$t>::try_from(i128::from(wide)).map_err(|_| Refused)?)
                }
                Next::Value(value) => decoded!(value, $method, visitor),
                _ => Err(Refused),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Arg<'_, 'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Null => visitor.visit_unit(),
            Next::Bool(b) => visitor.visit_bool(b),
            Next::Int(i) => visitor.visit_i64(i),
            Next::Wide(wide) => visitor.visit_i128(wide.into()),
            Next::Float(f) => visitor.visit_f64(f),
            Next::Str(text) | Next::Printed(text) | Next::Name(text) => visit_text(visitor, text),
            Next::Duration(Seconds::Int(i)) => visitor.visit_i64(i),
            Next::Duration(Seconds::Float(f)) => visitor.visit_f64(f),
            Next::Array => self.visit_array(visitor),
            Next::Hash => self.visit_hash(visitor),
            Next::Fields(fields) => self.visit_fields(fields, visitor),
            Next::Value(value) => decoded!(value, deserialize_any, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Bool(b) => visitor.visit_bool(b),
            _ => Err(Refused),
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

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next_decoded()? {
            Next::Float(f) => visitor.visit_f64(f),
            // As `from_values`: an Integer where a Float is expected.
            Next::Int(i) => visitor.visit_f64(Integer::Small(i).to_f64()),
            Next::Value(value) => decoded!(value, deserialize_f64, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Str(text) | Next::Printed(text) | Next::Name(text) => visit_text(visitor, text),
            Next::Value(value) => decoded!(value, deserialize_str, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Str(Cow::Borrowed(text)) | Next::Name(Cow::Borrowed(text)) => {
                visitor.visit_borrowed_bytes(text.as_bytes())
            }
            Next::Str(Cow::Owned(text)) | Next::Name(Cow::Owned(text)) => {
                visitor.visit_byte_buf(text.into_bytes())
            }
            Next::Value(value) => decoded!(value, deserialize_bytes, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        if self.null()? {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        if self.null()? {
            visitor.visit_unit()
        } else {
            Err(Refused)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Array => self.visit_array(visitor),
            Next::Value(value) => decoded!(value, deserialize_seq, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Hash => self.visit_hash(visitor),
            Next::Fields(fields) => self.visit_fields(fields, visitor),
            Next::Value(value) => decoded!(value, deserialize_map, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Str(text) => visitor.visit_enum(text.as_ref().into_deserializer()),
            Next::Value(value) => de::Deserializer::deserialize_enum(
                value_deserializer(value),
                name,
                variants,
                visitor,
            )
            .map_err(|_| Refused),
            // A one-entry Hash names a variant with data: left to the owned reading.
            _ => Err(Refused),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        // Read all the same: the owned decoding would refuse what the rules refuse in it.
        self.deserialize_any(IgnoredAny)?;
        visitor.visit_unit()
    }
}
