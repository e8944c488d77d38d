//! A handler's arguments deserialized straight from the payload's `arguments` array.
//!
//! The reading applies Rails 8.1's argument rules as it goes, the way
//! [`decode`](crate::arguments) does, and presents serde the same calls
//! [`from_values`](crate::arguments::from_values) makes over the decoded [`Value`]s:
//!
//! - plain JSON values (`null`, booleans, integers in `i64`, floats, strings, arrays) are handed
//!   over as they are read, without building anything;
//! - a Hash is handed over entry by entry, less its marker (`_aj_symbol_keys`,
//!   `_aj_ruby2_keywords`, `_aj_hash_with_indifferent_access`): which keys are Symbols, and
//!   whether it is keyword arguments or indifferent, changes nothing a serde type sees;
//! - a Symbol written as Rails writes it is handed over as its name, as a String would be;
//! - every other `_aj_serialized` object (times, dates, durations, BigDecimal, modules, ranges,
//!   the application's serializers), a GlobalID and an integer beyond `i64` are decoded by the
//!   owned rules into one [`Value`], which is handed over as `from_values` would;
//! - whatever the handler's type skips (an ignored field, arguments past a tuple's length) is
//!   still read by the same rules, so that a payload the owned decoding refuses is never taken.
//!
//! Anything else — an error, and forms Rails never writes but reads (a repeated key, two
//! markers in one Hash, `_aj_serialized` after other keys, a Hash as an enum) — is [`Refused`],
//! and the caller decodes the owned way, which then decides and words the error.

use super::syntax::{skip_raw, MAX_DEPTH};
use crate::arguments::lexer::{Lexer, Number, NUMBER_TOKEN};
use crate::arguments::tape::Tape;
use crate::arguments::{decode_argument_node, value_deserializer, Ctx, GlobalId, Value};
use crate::arguments::{GLOBALID_KEY, INDIFFERENT_KEY, RUBY2_KEYWORDS_KEY};
use crate::arguments::{SERIALIZED_KEY, SYMBOL_KEYS_KEY};
use crate::ruby::Integer;
use crate::serializers;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ptr::NonNull;

/// Not read in place: the owned decoding must decide.
#[derive(Debug)]
pub(crate) struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read in place")
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Refused
    }
}

/// `T` from `text`, the job's `arguments` array, read by the rules of `ctx`.
pub(crate) fn read<T: DeserializeOwned>(text: &str, ctx: Ctx<'_>) -> Result<T, Refused> {
    let arena = Arena::default();
    let mut read = Read {
        lex: Lexer::new(text),
        ctx,
        arena: &arena,
    };
    let value = T::deserialize(List { read: &mut read })?;
    read.lex.skip_whitespace();
    if read.lex.at != text.len() {
        return Err(Refused);
    }
    Ok(value)
}

/// The [`Value`]s decoded while reading, alive as long as the reading: serde may borrow from
/// them as it borrows from the payload.
#[derive(Default)]
struct Arena {
    values: RefCell<Vec<NonNull<Value>>>,
}

impl Arena {
    fn alloc(&self, value: Value) -> &Value {
        let value = NonNull::from(Box::leak(Box::new(value)));
        self.values.borrow_mut().push(value);
        // SAFETY: the value was leaked from a box above and is freed only when the arena is
        // dropped, which the returned borrow of the arena prevents while it lives; nothing
        // mutates it meanwhile.
        unsafe { value.as_ref() }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for value in self.values.get_mut().drain(..) {
            // SAFETY: each pointer came from `Box::leak` in `alloc` and is freed once, here, when
            // no borrow handed out by `alloc` can be alive any more.
            drop(unsafe { Box::from_raw(value.as_ptr()) });
        }
    }
}

/// The reading of one argument list.
struct Read<'de> {
    lex: Lexer<'de>,
    ctx: Ctx<'de>,
    arena: &'de Arena,
}

/// The argument list, as `from_values` presents it: a sequence, whatever the type asks.
struct List<'r, 'de> {
    read: &'r mut Read<'de>,
}

impl<'de> de::Deserializer<'de> for List<'_, 'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.read.lex.eat(b'[').ok_or(Refused)?;
        visit_items(self.read, 1, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Hands the array whose `[` was just read to `visitor`, then reads what it left.
fn visit_items<'de, V: Visitor<'de>>(
    read: &mut Read<'de>,
    depth: u32,
    visitor: V,
) -> Result<V::Value, Refused> {
    let mut items = Items {
        read,
        depth,
        started: false,
        done: false,
    };
    let value = visitor.visit_seq(&mut items)?;
    while items.next_element::<IgnoredAny>()?.is_some() {}
    Ok(value)
}

/// Hands the Hash whose `{` was just read to `visitor`, then reads what it left.
fn visit_entries<'de, V: Visitor<'de>>(
    read: &mut Read<'de>,
    depth: u32,
    visitor: V,
) -> Result<V::Value, Refused> {
    let mut entries = Entries {
        read,
        depth,
        started: false,
        done: false,
        value_pending: false,
        marker_seen: false,
        keys: SeenKeys::default(),
    };
    let value = visitor.visit_map(&mut entries)?;
    while entries.next_key::<IgnoredAny>()?.is_some() {}
    Ok(value)
}

/// The elements of an array being read.
struct Items<'r, 'de> {
    read: &'r mut Read<'de>,
    depth: u32,
    started: bool,
    done: bool,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        if !next_member(&mut self.read.lex, &mut self.started, &mut self.done, b']')? {
            return Ok(None);
        }
        seed.deserialize(Arg {
            read: self.read,
            depth: self.depth,
        })
        .map(Some)
    }
}

/// Moves past the separator before the next member of an array or object: `false` once its
/// closing bracket is read.
fn next_member(
    lex: &mut Lexer<'_>,
    started: &mut bool,
    done: &mut bool,
    close: u8,
) -> Result<bool, Refused> {
    if *done {
        return Ok(false);
    }
    let more = if *started {
        lex.separator(close).ok_or(Refused)?
    } else {
        *started = true;
        let empty = lex.peek().ok_or(Refused)? == close;
        if empty {
            lex.at += 1;
        }
        !empty
    };
    *done = !more;
    Ok(more)
}

/// The entries of a Hash being read, its marker left out.
struct Entries<'r, 'de> {
    read: &'r mut Read<'de>,
    depth: u32,
    started: bool,
    done: bool,
    /// A key was handed over and its value not yet read.
    value_pending: bool,
    marker_seen: bool,
    keys: SeenKeys<'de>,
}

impl<'de> Entries<'_, 'de> {
    /// Reads a marker's value, which Rails decodes like any other before looking at it.
    fn marker(&mut self, key: &str) -> Result<(), Refused> {
        if std::mem::replace(&mut self.marker_seen, true) {
            return Err(Refused);
        }
        // Rails asks the symbol-key markers `include?`, which a truthy value other than an
        // Array, a String or a Hash does not answer; a Hash could be a serialized object.
        let first = self.read.lex.peek().ok_or(Refused)?;
        if key != INDIFFERENT_KEY && !matches!(first, b'[' | b'"' | b'n' | b'f') {
            return Err(Refused);
        }
        de::Deserializer::deserialize_ignored_any(self.value(), IgnoredAny).map(drop)
    }

    fn value(&mut self) -> Arg<'_, 'de> {
        Arg {
            read: self.read,
            depth: self.depth + 1,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        if self.value_pending {
            self.next_value::<IgnoredAny>()?;
        }
        loop {
            let lex = &mut self.read.lex;
            if !next_member(lex, &mut self.started, &mut self.done, b'}')? {
                return Ok(None);
            }
            if lex.peek().ok_or(Refused)? != b'"' {
                return Err(Refused);
            }
            let key = lex.string().ok_or(Refused)?;
            lex.eat(b':').ok_or(Refused)?;
            match key.as_ref() {
                // Read as a number by serde_json, as a serialized object by Rails.
                NUMBER_TOKEN | SERIALIZED_KEY => return Err(Refused),
                SYMBOL_KEYS_KEY | RUBY2_KEYWORDS_KEY | INDIFFERENT_KEY => {
                    self.marker(&key)?;
                    continue;
                }
                _ => {}
            }
            let borrowed = match &key {
                Cow::Borrowed(key) => Some(*key),
                Cow::Owned(_) => None,
            };
            if !self.keys.insert(&key, borrowed) {
                return Err(Refused);
            }
            self.value_pending = true;
            return match key {
                Cow::Borrowed(key) => {
                    seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
                }
                Cow::Owned(key) => seed.deserialize(de::value::StringDeserializer::new(key)),
            }
            .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        if !std::mem::replace(&mut self.value_pending, false) {
            return Err(Refused);
        }
        seed.deserialize(self.value())
    }
}

/// The keys of one Hash so far, to refuse a repeated one (serde_json keeps its first position
/// and last value, which a reading in order cannot give).
#[derive(Default)]
struct SeenKeys<'de> {
    /// The first keys written without escapes: no allocation for the Hashes Rails writes.
    few: [&'de str; FEW_KEYS],
    few_len: usize,
    /// The others.
    more: Vec<Cow<'de, str>>,
}

const FEW_KEYS: usize = 12;

impl<'de> SeenKeys<'de> {
    /// Notes `key` (`borrowed` when it is written without escapes); `false` when it was
    /// already there.
    fn insert(&mut self, key: &str, borrowed: Option<&'de str>) -> bool {
        if self.few[..self.few_len].contains(&key) || self.more.iter().any(|k| k == key) {
            return false;
        }
        match borrowed {
            Some(key) if self.few_len < FEW_KEYS => {
                self.few[self.few_len] = key;
                self.few_len += 1;
            }
            Some(key) => self.more.push(Cow::Borrowed(key)),
            None => self.more.push(Cow::Owned(key.to_owned())),
        }
        true
    }
}

/// What the next argument value is, as far as serde needs to know.
enum Next<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A String, or a Symbol's name.
    Str(Cow<'de, str>),
    /// An array, its `[` read.
    Array,
    /// A Hash, its `{` read.
    Hash,
    /// A value the owned rules decoded.
    Value(&'de Value),
}

/// One argument value (or a value inside one).
struct Arg<'r, 'de> {
    read: &'r mut Read<'de>,
    depth: u32,
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

    /// A number as `decode` reads it: an Integer (of any size) for an integer literal, else a
    /// Float.
    fn number(&mut self) -> Result<Next<'de>, Refused> {
        match self.read.lex.number().ok_or(Refused)? {
            Number::Int(i) => Ok(Next::Int(i)),
            Number::Text(text) if text.contains(['.', 'e', 'E']) => {
                text.parse().map(Next::Float).map_err(|_| Refused)
            }
            Number::Text(text) => {
                let integer = Integer::parse(&text).ok_or(Refused)?;
                Ok(Next::Value(self.read.arena.alloc(Value::Integer(integer))))
            }
        }
    }

    /// An object: a serialized object, a GlobalID, or a Hash.
    fn object(&mut self) -> Result<Next<'de>, Refused> {
        let start = self.read.lex.at;
        self.read.lex.at += 1;
        if self.read.lex.peek() == Some(b'"') {
            match self.read.lex.string().as_deref() {
                Some(SERIALIZED_KEY) => return self.serialized(start),
                Some(GLOBALID_KEY) => {
                    if let Some(gid) = self.global_id()? {
                        return Ok(Next::Value(gid));
                    }
                }
                _ => {}
            }
        }
        self.read.lex.at = start + 1;
        Ok(Next::Hash)
    }

    /// After the key `_aj_globalid`: the GlobalID when the key is the object's only one, `None`
    /// when other keys follow (a plain Hash then).
    fn global_id(&mut self) -> Result<Option<&'de Value>, Refused> {
        let lex = &mut self.read.lex;
        lex.eat(b':').ok_or(Refused)?;
        if lex.peek() != Some(b'"') {
            return Err(Refused);
        }
        let uri = lex.string().ok_or(Refused)?;
        if lex.separator(b'}').ok_or(Refused)? {
            return Ok(None);
        }
        let gid = GlobalId::parse(&uri).ok_or(Refused)?;
        Ok(Some(self.read.arena.alloc(Value::GlobalId(gid))))
    }

    /// After the first key `_aj_serialized` of the object at `start`.
    fn serialized(&mut self, start: usize) -> Result<Next<'de>, Refused> {
        if let Some(name) = self.symbol() {
            return Ok(Next::Str(name));
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
        Ok(Next::Value(self.read.arena.alloc(value)))
    }

    /// A Symbol as Rails writes it, `{"_aj_serialized":"…SymbolSerializer","value":"name"}`,
    /// read past its first key; `None` (nothing consumed) for anything else.
    fn symbol(&mut self) -> Option<Cow<'de, str>> {
        let mut lex = self.read.lex;
        lex.eat(b':')?;
        let is_string = |lex: &mut Lexer<'_>| lex.peek() == Some(b'"');
        if !is_string(&mut lex) || lex.string()? != serializers::SYMBOL || !lex.separator(b'}')? {
            return None;
        }
        if !is_string(&mut lex) || lex.string()? != "value" {
            return None;
        }
        lex.eat(b':')?;
        if !is_string(&mut lex) {
            return None;
        }
        let name = lex.string()?;
        if lex.separator(b'}')? {
            return None;
        }
        self.read.lex = lex;
        Some(name)
    }

    fn visit_array<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visit_items(self.read, self.depth + 1, visitor)
    }

    fn visit_hash<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visit_entries(self.read, self.depth, visitor)
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
            Next::Float(f) => visitor.visit_f64(f),
            Next::Str(text) => visit_text(visitor, text),
            Next::Array => self.visit_array(visitor),
            Next::Hash => self.visit_hash(visitor),
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
        match self.next()? {
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
            Next::Str(text) => visit_text(visitor, text),
            Next::Value(value) => decoded!(value, deserialize_str, visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Next::Str(Cow::Borrowed(text)) => visitor.visit_borrowed_bytes(text.as_bytes()),
            Next::Str(Cow::Owned(text)) => visitor.visit_byte_buf(text.into_bytes()),
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
