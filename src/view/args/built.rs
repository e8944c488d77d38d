//! The `_aj_serialized` objects handed over as the owned [`Value`] itself, built in place.
//!
//! [`from_values`](crate::arguments::from_values) hands a Range over as a map of `begin`, `end`
//! and `exclude_end`, and an application serializer's object as a map of its fields (raw JSON).
//! Here the same [`Value`] the owned decoding builds is built straight from the payload, without
//! scanning the object onto a tape first:
//! - a Range whose ends are `nil`, booleans, Integers in `i64`, Floats, Strings, or Dates and
//!   Times in the objects Rails writes for them (`_aj_serialized` first, then `value` alone);
//! - an application object whose fields are plain JSON values, when it cannot be handed over
//!   without a `Value` (its serializer checks its fields, or a string has escapes: see
//!   [`super::fields`]).
//!
//! Anything else (other serialized ends, fields holding arrays or objects, big integers, a
//! repeated or escaped key, a Range Ruby refuses, an unknown serializer) gives `None`, and the
//! caller reads the object the owned way.

use super::serialized::{next_field_key, next_key, only_value, string};
use crate::arguments::lexer::{is_float, Lexer, Number};
use crate::arguments::range_order::{range_order, Order};
use crate::arguments::{CustomObject, Range, Value};
use crate::ruby::{time, Integer};
use crate::serializers::{self, CustomSerializer};
use serde_json::{Map, Value as Json};

/// A RangeSerializer object after its name, the cursor past the name: `Value::Range` as
/// `decode_range` builds it (a missing end is `nil`, a missing `exclude_end` false).
pub(super) fn range(lex: &mut Lexer<'_>) -> Option<Value> {
    let mut begin = None;
    let mut end = None;
    let mut exclude_end = None;
    while let Some(key) = next_key(lex)? {
        match key {
            "begin" if begin.is_none() => begin = Some(range_end(lex)?),
            "end" if end.is_none() => end = Some(range_end(lex)?),
            "exclude_end" if exclude_end.is_none() => {
                // Ruby takes any other value by truthiness; left to the owned decoding.
                exclude_end = Some(match lex.peek()? {
                    b't' => lex.literal("true").map(|()| true)?,
                    b'f' => lex.literal("false").map(|()| false)?,
                    b'n' => lex.literal("null").map(|()| false)?,
                    _ => return None,
                });
            }
            _ => return None,
        }
    }
    let begin = begin.unwrap_or(Value::Nil);
    let end = end.unwrap_or(Value::Nil);
    if range_order(&begin, &end) == Order::Incomparable {
        return None;
    }
    Some(Value::Range(Box::new(Range {
        begin,
        end,
        exclude_end: exclude_end.unwrap_or(false),
    })))
}

/// A Range's end: a plain JSON value, or a Date or a Time as Rails writes one.
fn range_end(lex: &mut Lexer<'_>) -> Option<Value> {
    if lex.peek()? != b'{' {
        return plain_value(lex);
    }
    if !lex.exact(b"{\"_aj_serialized\":") {
        return None;
    }
    let name = string(lex)?;
    let value = only_value(lex)?;
    match &*name {
        serializers::DATE => time::parse_date(&value).ok().map(Value::Date),
        serializers::TIME => time::parse_xmlschema(&value).ok().map(Value::Time),
        _ => None,
    }
}

/// A plain JSON value as the owned decoding reads it.
fn plain_value(lex: &mut Lexer<'_>) -> Option<Value> {
    Some(match lex.peek()? {
        b'"' => Value::String(string(lex)?.into_owned()),
        b'n' => lex.literal("null").map(|()| Value::Nil)?,
        b't' => lex.literal("true").map(|()| Value::Bool(true))?,
        b'f' => lex.literal("false").map(|()| Value::Bool(false))?,
        b'-' | b'0'..=b'9' => match lex.number()? {
            Number::Int(i) => Value::Integer(Integer::Small(i)),
            // An out-of-range literal such as 1e400 is Infinity, as in the owned decoding.
            Number::Text(text) if is_float(&text) => Value::Float(text.parse().ok()?),
            Number::Text(_) => return None,
        },
        _ => return None,
    })
}

/// An application serializer's object after its name `name`, the cursor past the name, with
/// its registration `registered` (the registry allows the name): `Value::Custom` as
/// `decode_custom` builds it, its registered check passed.
pub(super) fn custom(
    lex: &mut Lexer<'_>,
    name: &str,
    registered: Option<&CustomSerializer>,
) -> Option<Value> {
    let mut fields = Map::new();
    while let Some(key) = next_field_key(lex)? {
        let value = plain_json(lex)?;
        if fields.insert(key.to_owned(), value).is_some() {
            return None;
        }
    }
    if let Some(check) = registered.and_then(|r| r.check.as_ref()) {
        check(&fields).ok()?;
    }
    Some(Value::Custom(CustomObject {
        serializer: name.to_owned(),
        ruby_class: registered.map(|r| r.ruby_class.clone()),
        fields,
    }))
}

/// A plain JSON value as the owned decoding keeps a field: raw.
fn plain_json(lex: &mut Lexer<'_>) -> Option<Json> {
    Some(match lex.peek()? {
        b'"' => Json::String(string(lex)?.into_owned()),
        b'n' => lex.literal("null").map(|()| Json::Null)?,
        b't' => lex.literal("true").map(|()| Json::Bool(true))?,
        b'f' => lex.literal("false").map(|()| Json::Bool(false))?,
        b'-' | b'0'..=b'9' => match lex.number()? {
            Number::Int(i) => Json::Number(i.into()),
            Number::Text(_) => return None,
        },
        _ => return None,
    })
}
