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
//! - the `_aj_serialized` objects of Rails' core types (times, dates, durations, BigDecimal,
//!   modules) are checked by the owned rules and handed over as the text or number
//!   `from_values` hands over, made only when it differs from what is written
//!   ([`serialized`]); a GlobalID is handed over as its URI, as written when GlobalID would
//!   print it back unchanged;
//! - an application serializer's object holding plain JSON values, which its serializer does
//!   not check, is handed over as the map of its fields read in place ([`fields`]);
//! - a Range and any other application object holding plain JSON values are built as the owned
//!   [`Value`] straight from the payload ([`built`]); every other `_aj_serialized` object and an
//!   integer beyond `i64` are decoded by the owned rules into one [`Value`]; either is handed
//!   over as `from_values` would;
//! - whatever the handler's type skips (an ignored field, arguments past a tuple's length) is
//!   still read by the same rules, so that a payload the owned decoding refuses is never taken.
//!
//! Anything else — an error, and forms Rails never writes but reads (a repeated key, two
//! markers in one Hash, `_aj_serialized` after other keys, a Hash as an enum) — is [`Refused`],
//! and the caller decodes the owned way, which then decides and words the error.

use crate::arguments::lexer::Lexer;
use crate::arguments::{Ctx, Value};
use serde::de::{self, DeserializeOwned, Visitor};
use std::cell::OnceCell;
use std::fmt;
use typed_arena::Arena;

mod arg;
mod built;
mod fields;
mod members;
mod serialized;

use members::visit_items;

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
    // Made on the first decoded value: most argument lists have none, and an arena allocates.
    let arena = OnceCell::new();
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

/// The reading of one argument list.
struct Read<'de> {
    lex: Lexer<'de>,
    ctx: Ctx<'de>,
    /// The [`Value`]s decoded while reading, alive as long as the reading: serde may borrow
    /// from them as it borrows from the payload.
    arena: &'de OnceCell<Arena<Value>>,
}

impl<'de> Read<'de> {
    /// Keeps `value` for as long as the reading, for serde to borrow from.
    fn keep(&self, value: Value) -> &'de Value {
        self.arena.get_or_init(Arena::new).alloc(value)
    }
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
