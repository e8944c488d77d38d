//! The members of an array or a Hash being read: elements, entries less the Hash's marker,
//! and the keys seen so far.

use super::arg::Arg;
use super::{Read, Refused};
use crate::arguments::lexer::{Lexer, NUMBER_TOKEN};
use crate::arguments::{INDIFFERENT_KEY, RUBY2_KEYWORDS_KEY};
use crate::arguments::{SERIALIZED_KEY, SYMBOL_KEYS_KEY};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

/// Hands the array whose `[` was just read to `visitor`, then reads what it left.
pub(super) fn visit_items<'de, V: Visitor<'de>>(
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
pub(super) fn visit_entries<'de, V: Visitor<'de>>(
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
pub(super) struct Items<'r, 'de> {
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
#[inline]
pub(super) fn next_member(
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
pub(super) struct Entries<'r, 'de> {
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
        if first == b'[' && skip_strings(&mut self.read.lex) {
            return Ok(());
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

/// Moves past an array of strings, which is how Rails writes a marker (`["priority","at"]`):
/// plain strings, which no rule changes. `false`, the cursor unmoved, for any other value.
fn skip_strings(lex: &mut Lexer<'_>) -> bool {
    let mut ahead = *lex;
    let skipped = (|| {
        ahead.eat(b'[')?;
        if ahead.peek()? == b']' {
            ahead.at += 1;
            return Some(());
        }
        loop {
            if ahead.peek()? != b'"' {
                return None;
            }
            ahead.string()?;
            if !ahead.separator(b']')? {
                return Some(());
            }
        }
    })();
    if skipped.is_some() {
        *lex = ahead;
    }
    skipped.is_some()
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
