//! Payload text → a flat tape of JSON tokens, in one pass of serde_json's own parser.
//!
//! A generic `serde_json::Value` costs an ordered hash map per object, an owned `String` per key
//! and string, and a `String` per number; that tree was most of the time a decode took. The tape
//! is one `Vec` of tokens: strings without escapes borrow the payload, containers record where
//! they end so a reader can skip them, and objects record whether a key repeats or a key is
//! `_aj_serialized`. Reading an object may need to look at all of its keys before deciding what
//! it is (a GlobalID only as the single key, `_aj_serialized` anywhere, duplicated keys), which a
//! tape allows without buffering anything per object.
//!
//! What is accepted, the recursion limit (128) and the error texts are serde_json's: the common
//! payload is read by a direct [`scan`] that gives up on anything it cannot read exactly as
//! serde_json does, and such payloads go through `serde_json::Deserializer` as
//! `serde_json::from_str` would.

pub(crate) use super::lexer::NUMBER_TOKEN;
use super::node::{Kind, Node, Num, Object};
use crate::ruby::Integer;
use serde::de::DeserializeSeed;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cell::Cell;

/// An object with a key that occurs more than once.
const DUPLICATE_KEYS: u8 = 1;
/// An object with an `_aj_serialized` key.
const SERIALIZED: u8 = 2;
/// An object with too many keys to look for repeats while parsing; checked when read.
const MANY_KEYS: u8 = 4;
/// Up to this many keys, repeats are found while parsing.
const FEW_KEYS: u32 = 64;

/// One token. Keys are string tokens, each followed by its value.
#[derive(Debug, Clone, Copy)]
enum Tok<'de> {
    Null,
    Bool(bool),
    /// An integer literal serde_json read as `i64`.
    Int(i64),
    /// A non-negative integer literal serde_json read as `u64`.
    UInt(u64),
    /// Any other number (floats, `-0`, big integers): serde_json's arbitrary-precision text, at
    /// this index of [`Tape::owned`].
    Number(u32),
    /// A string without escapes, as it is in the payload.
    Str(&'de str),
    /// A string with escapes, unescaped, at this index of [`Tape::owned`].
    Escaped(u32),
    /// `len` elements follow; the array's tokens end before index `end`.
    Array {
        len: u32,
        end: u32,
    },
    /// `len` key/value pairs follow; the object's tokens end before index `end`.
    Object {
        len: u32,
        end: u32,
        flags: u8,
    },
}

/// A parsed payload.
pub(crate) struct Tape<'de> {
    toks: Vec<Tok<'de>>,
    /// Texts the payload does not hold as such: unescaped strings and number literals.
    owned: Vec<String>,
}

impl<'de> Tape<'de> {
    /// Parses one JSON document, as `serde_json::from_str` would.
    pub(crate) fn parse(text: &'de str) -> Result<Tape<'de>, serde_json::Error> {
        let mut tape = Tape::for_text(text);
        if scan::scan(text, &mut tape).is_some() {
            return Ok(tape);
        }
        tape.toks.clear();
        tape.owned.clear();
        tape.parse_with_serde(text)?;
        Ok(tape)
    }

    /// Parses a JSON object whose keys are expected in the order of `keys` (the envelope Rails
    /// writes), without putting its keys on the tape. `None` when the payload is not so simple
    /// (see [`scan::scan_keyed`]); [`Tape::parse`] then reads it.
    pub(crate) fn parse_keyed<const N: usize>(
        text: &'de str,
        keys: &[&str; N],
    ) -> Option<(Tape<'de>, scan::KeyedRoot<'de, N>)> {
        let mut tape = Tape::for_text(text);
        let root = scan::scan_keyed(text, &mut tape, keys)?;
        Some((tape, root))
    }

    /// An empty tape on the buffers this thread last dropped, with room for `text`.
    fn for_text(text: &str) -> Tape<'de> {
        let (toks, owned) = SPARE.with(Cell::take);
        let mut tape = Tape {
            toks: reuse(toks),
            owned,
        };
        // About one token per 8 bytes in ActiveJob payloads.
        tape.toks.reserve(text.len() / 8 + 8);
        tape
    }

    /// Puts `text` on this empty tape with serde_json's own parser.
    fn parse_with_serde(&mut self, text: &'de str) -> Result<(), serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        Builder { tape: self }.deserialize(&mut de)?;
        de.end()
    }

    /// The document's value.
    pub(crate) fn root(&self) -> TapeNode<'_, 'de> {
        self.node(0)
    }

    /// The value whose tokens start at index `at`.
    pub(crate) fn node(&self, at: u32) -> TapeNode<'_, 'de> {
        TapeNode { tape: self, at }
    }

    /// The text of the string token at `i`.
    fn text(&self, i: usize) -> &str {
        match self.toks[i] {
            Tok::Str(s) => s,
            Tok::Escaped(k) | Tok::Number(k) => &self.owned[k as usize],
            _ => "",
        }
    }

    /// The index after the value at `i`.
    #[inline]
    fn after(&self, i: usize) -> usize {
        match self.toks[i] {
            Tok::Array { end, .. } | Tok::Object { end, .. } => end as usize,
            _ => i + 1,
        }
    }

    /// Keeps a text and gives its index.
    fn own(&mut self, text: String) -> u32 {
        self.owned.push(text);
        index(self.owned.len() - 1)
    }

    #[inline]
    fn push_str(&mut self, text: Cow<'de, str>) {
        let tok = match text {
            Cow::Borrowed(s) => Tok::Str(s),
            Cow::Owned(s) => Tok::Escaped(self.own(s)),
        };
        self.toks.push(tok);
    }
}

thread_local! {
    /// The buffers of the last tape this thread dropped, reused by the next one.
    static SPARE: Cell<(Vec<Tok<'static>>, Vec<String>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// A spare token buffer larger than this (after an unusually large payload) is given back to
/// the allocator.
const SPARE_LIMIT: usize = 1 << 16;

impl Drop for Tape<'_> {
    fn drop(&mut self) {
        let toks = std::mem::take(&mut self.toks);
        let mut owned = std::mem::take(&mut self.owned);
        if toks.capacity() <= SPARE_LIMIT && owned.capacity() <= SPARE_LIMIT {
            owned.clear();
            SPARE.with(|spare| spare.set((reuse(toks), owned)));
        }
    }
}

/// The same allocation, emptied, for tokens borrowing another payload.
fn reuse<'b>(mut toks: Vec<Tok<'_>>) -> Vec<Tok<'b>> {
    toks.clear();
    // Collecting an emptied vector into one of a type with the same layout reuses its
    // allocation; only the lifetime of the (now absent) borrowed strings changes.
    toks.into_iter().map(|_| Tok::Null).collect()
}

/// What an object being parsed has shown so far: its key count and its flags.
#[derive(Default)]
struct ObjectKeys {
    len: u32,
    flags: u8,
    /// One bit per key hash: a key whose bit is free cannot repeat an earlier key.
    seen: u64,
}

impl ObjectKeys {
    /// Notes `key`, before it is pushed, for the object whose token is at `at`.
    fn add(&mut self, tape: &Tape<'_>, at: usize, key: &str) {
        if key == super::decode::SERIALIZED_KEY {
            self.flags |= SERIALIZED;
        }
        if self.len >= FEW_KEYS {
            self.flags |= MANY_KEYS;
        } else if self.flags & DUPLICATE_KEYS == 0 {
            let bit = 1_u64 << key_hash(key);
            if self.seen & bit != 0 && repeats(tape, at, key) {
                self.flags |= DUPLICATE_KEYS;
            }
            self.seen |= bit;
        }
        self.len += 1;
    }

    /// Writes the object's token once its last value is on the tape.
    fn close(self, tape: &mut Tape<'_>, at: usize) {
        let end = index(tape.toks.len());
        tape.toks[at] = Tok::Object {
            len: self.len,
            end,
            flags: self.flags,
        };
    }
}

/// A tape index. Payloads are refused above `max_payload_bytes` long before 4 G tokens.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Six bits from a key's length and its first, middle and last bytes (no two of the keys Rails
/// writes in an envelope share them).
fn key_hash(key: &str) -> u32 {
    let b = key.as_bytes();
    let mut h = b.len() as u64;
    if let (Some(first), Some(last)) = (b.first(), b.last()) {
        h |=
            (u64::from(*first) << 8) | (u64::from(*last) << 16) | (u64::from(b[b.len() / 2]) << 24);
    }
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as u32
}

/// Whether `key` is already a key of the object being built at `at`.
fn repeats(tape: &Tape<'_>, at: usize, key: &str) -> bool {
    let mut i = at + 1;
    while i < tape.toks.len() {
        if tape.text(i) == key {
            return true;
        }
        i = tape.after(i + 1);
    }
    false
}

/// A value on the tape.
#[derive(Clone, Copy)]
pub(crate) struct TapeNode<'t, 'de> {
    tape: &'t Tape<'de>,
    at: u32,
}

impl<'t, 'de> Node for TapeNode<'t, 'de> {
    type Str = &'t str;
    type Num = TapeNum<'t>;
    type Array = TapeArray<'t, 'de>;
    type Object = TapeObject<'t, 'de>;

    fn into_kind(self) -> Kind<Self> {
        let tape = self.tape;
        match tape.toks[self.at as usize] {
            Tok::Null => Kind::Null,
            Tok::Bool(b) => Kind::Bool(b),
            Tok::Int(i) => Kind::Number(TapeNum::Int(i)),
            Tok::UInt(u) => Kind::Number(TapeNum::UInt(u)),
            Tok::Number(k) => Kind::Number(TapeNum::Text(&tape.owned[k as usize])),
            Tok::Str(s) => Kind::String(s),
            Tok::Escaped(k) => Kind::String(tape.owned[k as usize].as_str()),
            Tok::Array { len, .. } => Kind::Array(TapeArray {
                tape,
                next: self.at + 1,
                remaining: len,
            }),
            Tok::Object { len, end, flags } => {
                Kind::Object(TapeObject::new(tape, self.at + 1, end, len, flags))
            }
        }
    }

    fn into_json(self) -> Json {
        match self.into_kind() {
            Kind::Null => Json::Null,
            Kind::Bool(b) => Json::Bool(b),
            Kind::Number(TapeNum::Int(i)) => Json::Number(i.into()),
            Kind::Number(TapeNum::UInt(u)) => Json::Number(u.into()),
            Kind::Number(TapeNum::Text(text)) => Json::Number(crate::json::number(text)),
            Kind::String(s) => Json::String(s.to_owned()),
            Kind::Array(items) => Json::Array(items.map(Node::into_json).collect()),
            Kind::Object(object) => Json::Object(object.into_json()),
        }
    }
}

/// A number on the tape.
#[derive(Clone, Copy)]
pub(crate) enum TapeNum<'t> {
    Int(i64),
    UInt(u64),
    Text(&'t str),
}

impl Num for TapeNum<'_> {
    fn is_integer_literal(&self) -> bool {
        match self {
            TapeNum::Int(_) | TapeNum::UInt(_) => true,
            TapeNum::Text(text) => !text.contains(['.', 'e', 'E']),
        }
    }

    fn integer(&self) -> Option<Integer> {
        match *self {
            TapeNum::Int(i) => Some(Integer::Small(i)),
            TapeNum::UInt(u) => Some(Integer::from(num_bigint::BigInt::from(u))),
            TapeNum::Text(text) => Integer::parse(text),
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match *self {
            TapeNum::Int(i) => Some(i),
            TapeNum::UInt(u) => i64::try_from(u).ok(),
            TapeNum::Text(text) if self.is_integer_literal() => text.parse().ok(),
            TapeNum::Text(_) => None,
        }
    }

    fn float(&self) -> Option<f64> {
        match *self {
            TapeNum::Int(i) => Some(i as f64),
            TapeNum::UInt(u) => Some(u as f64),
            TapeNum::Text(text) => text.parse().ok(),
        }
    }

    fn text(&self) -> Cow<'_, str> {
        match *self {
            TapeNum::Int(i) => i.to_string().into(),
            TapeNum::UInt(u) => u.to_string().into(),
            TapeNum::Text(text) => text.into(),
        }
    }
}

/// The elements of an array on the tape.
pub(crate) struct TapeArray<'t, 'de> {
    tape: &'t Tape<'de>,
    next: u32,
    remaining: u32,
}

impl<'t, 'de> Iterator for TapeArray<'t, 'de> {
    type Item = TapeNode<'t, 'de>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let node = TapeNode {
            tape: self.tape,
            at: self.next,
        };
        self.next = index(self.tape.after(self.next as usize));
        self.remaining -= 1;
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl ExactSizeIterator for TapeArray<'_, '_> {}

mod build;
mod object;
mod scan;

use build::Builder;
pub(crate) use object::TapeObject;

#[cfg(test)]
mod tests;
