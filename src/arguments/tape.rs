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
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

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

/// Appends one value to the tape.
struct Builder<'a, 'de> {
    tape: &'a mut Tape<'de>,
}

impl<'de> DeserializeSeed<'de> for Builder<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.tape.toks.push(Tok::Null);
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.tape.toks.push(Tok::Null);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.tape.toks.push(Tok::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.tape.toks.push(Tok::Int(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.tape.toks.push(Tok::UInt(v));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // Not produced with `arbitrary_precision`; kept as `serde_json::Value` keeps it.
        let tok = match serde_json::Number::from_f64(v) {
            Some(n) => Tok::Number(self.tape.own(n.as_str().to_owned())),
            None => Tok::Null,
        };
        self.tape.toks.push(tok);
        Ok(())
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.tape.toks.push(Tok::Str(v));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.tape.push_str(Cow::Owned(v.to_owned()));
        Ok(())
    }

    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.tape.push_str(Cow::Owned(v));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let tape = self.tape;
        let at = tape.toks.len();
        tape.toks.push(Tok::Array { len: 0, end: 0 });
        let mut len = 0_u32;
        while seq
            .next_element_seed(Builder { tape: &mut *tape })?
            .is_some()
        {
            len += 1;
        }
        let end = index(tape.toks.len());
        tape.toks[at] = Tok::Array { len, end };
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let tape = self.tape;
        let Some(mut key) = map.next_key_seed(KeySeed)? else {
            let end = index(tape.toks.len() + 1);
            tape.toks.push(Tok::Object {
                len: 0,
                end,
                flags: 0,
            });
            return Ok(());
        };
        if key == NUMBER_TOKEN {
            let text = map.next_value_seed(NumberText)?;
            let tok = Tok::Number(tape.own(text));
            tape.toks.push(tok);
            return Ok(());
        }
        let at = tape.toks.len();
        tape.toks.push(Tok::Object {
            len: 0,
            end: 0,
            flags: 0,
        });
        let mut keys = ObjectKeys::default();
        loop {
            keys.add(tape, at, &key);
            tape.push_str(key);
            map.next_value_seed(Builder { tape: &mut *tape })?;
            match map.next_key_seed(KeySeed)? {
                Some(next) => key = next,
                None => break,
            }
        }
        keys.close(tape, at);
        Ok(())
    }
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

/// An object key, borrowed from the payload unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The text of a number handed over under [`NUMBER_TOKEN`], checked as serde_json checks it.
struct NumberText;

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for NumberText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("string containing a number")
    }

    /// A JSON string under the number key (`{"$serde_json::private::Number":"1.5"}`): read as
    /// `serde_json::Value` reads it.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        let number: serde_json::Number = v.parse().map_err(E::custom)?;
        Ok(number.as_str().to_owned())
    }

    /// The parser's own scan of a number literal: already the exact text, taken as is.
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
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

/// An object on the tape, read with serde_json's map semantics: a repeated key keeps its first
/// position and its last value.
pub(crate) struct TapeObject<'t, 'de> {
    tape: &'t Tape<'de>,
    first: u32,
    end: u32,
    /// Keys left (all keys, less repeats and removed ones).
    len: u32,
    flags: u8,
    /// Removed entries among the first 64, one bit each.
    removed: u64,
    /// What objects with repeated keys or removals past the 64th entry need.
    rare: Option<Box<Rare>>,
}

#[derive(Default)]
struct Rare {
    /// `(key, value)` token indices of each distinct key, when some key repeats.
    distinct: Option<Vec<(u32, u32)>>,
    /// Removed entries from the 65th on.
    removed: Vec<usize>,
}

impl<'t, 'de> TapeObject<'t, 'de> {
    fn new(tape: &'t Tape<'de>, first: u32, end: u32, len: u32, flags: u8) -> Self {
        let mut object = TapeObject {
            tape,
            first,
            end,
            len,
            flags,
            removed: 0,
            rare: None,
        };
        if flags & (DUPLICATE_KEYS | MANY_KEYS) != 0 {
            let distinct = object.distinct_entries();
            if distinct.len() != len as usize {
                object.len = index(distinct.len());
                object.rare = Some(Box::new(Rare {
                    distinct: Some(distinct),
                    removed: Vec::new(),
                }));
            }
        }
        object
    }

    /// Each key once, at its first position, with its last value.
    fn distinct_entries(&self) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut positions: HashMap<&str, usize> = HashMap::new();
        let mut i = self.first as usize;
        while i < self.end as usize {
            let key = self.tape.text(i);
            let value = index(i + 1);
            match positions.get(key) {
                Some(&slot) => out[slot].1 = value,
                None => {
                    positions.insert(key, out.len());
                    out.push((index(i), value));
                }
            }
            i = self.tape.after(i + 1);
        }
        out
    }

    /// Nothing removed and no repeated key: entries are the object's tokens as they are.
    #[inline]
    fn is_plain(&self) -> bool {
        self.removed == 0 && self.rare.is_none()
    }

    fn cursor(&self) -> Cursor<'_, 't, 'de> {
        Cursor {
            object: self,
            at: Position::start(self),
        }
    }

    /// The next live entry from `at`: `(ordinal, key index, value index)`.
    fn step(&self, at: &mut Position) -> Option<(usize, u32, u32)> {
        loop {
            let ordinal = at.ordinal;
            let (key, value) = match self.rare.as_deref() {
                Some(Rare {
                    distinct: Some(distinct),
                    ..
                }) => *distinct.get(ordinal)?,
                _ => {
                    if at.next >= self.end {
                        return None;
                    }
                    let key = at.next;
                    at.next = index(self.tape.after(key as usize + 1));
                    (key, key + 1)
                }
            };
            at.ordinal += 1;
            if !self.is_removed(ordinal) {
                return Some((ordinal, key, value));
            }
        }
    }

    fn is_removed(&self, ordinal: usize) -> bool {
        if ordinal < 64 {
            self.removed & (1 << ordinal) != 0
        } else {
            self.rare
                .as_deref()
                .is_some_and(|rare| rare.removed.contains(&ordinal))
        }
    }

    fn set_removed(&mut self, ordinal: usize) {
        if ordinal < 64 {
            self.removed |= 1 << ordinal;
        } else {
            self.rare
                .get_or_insert_with(Box::default)
                .removed
                .push(ordinal);
        }
    }

    fn node(&self, at: u32) -> TapeNode<'t, 'de> {
        TapeNode {
            tape: self.tape,
            at,
        }
    }

    fn key(&self, at: u32) -> &'t str {
        self.tape.text(at as usize)
    }
}

/// Where a walk over an object's entries is.
struct Position {
    next: u32,
    ordinal: usize,
}

impl Position {
    fn start(object: &TapeObject<'_, '_>) -> Position {
        Position {
            next: object.first,
            ordinal: 0,
        }
    }
}

/// Walks the live entries of an object: `(ordinal, key index, value index)`.
struct Cursor<'o, 't, 'de> {
    object: &'o TapeObject<'t, 'de>,
    at: Position,
}

impl Iterator for Cursor<'_, '_, '_> {
    type Item = (usize, u32, u32);

    fn next(&mut self) -> Option<Self::Item> {
        self.object.step(&mut self.at)
    }
}

/// The live entries of an object, in order.
pub(crate) struct TapeEntries<'t, 'de> {
    object: TapeObject<'t, 'de>,
    at: Position,
    plain: bool,
}

impl<'t, 'de> Iterator for TapeEntries<'t, 'de> {
    type Item = (&'t str, TapeNode<'t, 'de>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.plain {
            let key = self.at.next;
            if key >= self.object.end {
                return None;
            }
            let tape = self.object.tape;
            self.at.next = index(tape.after(key as usize + 1));
            return Some((tape.text(key as usize), self.object.node(key + 1)));
        }
        let (_, key, value) = self.object.step(&mut self.at)?;
        Some((self.object.key(key), self.object.node(value)))
    }
}

impl<'t, 'de> Object for TapeObject<'t, 'de> {
    type Node = TapeNode<'t, 'de>;
    type Entries = TapeEntries<'t, 'de>;

    fn len(&self) -> usize {
        self.len as usize
    }

    fn contains_key(&self, key: &str) -> bool {
        if self.flags & SERIALIZED == 0 && key == super::decode::SERIALIZED_KEY {
            return false;
        }
        self.cursor().any(|(_, k, _)| self.key(k) == key)
    }

    fn remove(&mut self, key: &str) -> Option<Self::Node> {
        let (ordinal, _, value) = self.cursor().find(|&(_, k, _)| self.key(k) == key)?;
        self.set_removed(ordinal);
        self.len -= 1;
        Some(self.node(value))
    }

    fn into_entries(self) -> Self::Entries {
        let at = Position::start(&self);
        let plain = self.is_plain();
        TapeEntries {
            object: self,
            at,
            plain,
        }
    }

    fn into_json(self) -> Map<String, Json> {
        let mut map = Map::with_capacity(self.len as usize);
        for (_, key, value) in self.cursor() {
            map.insert(self.key(key).to_owned(), self.node(value).into_json());
        }
        map
    }
}

mod scan;

#[cfg(test)]
mod tests;
