//! Objects on the tape, read with serde_json's map semantics.

use super::{index, Tape, TapeNode, DUPLICATE_KEYS, MANY_KEYS, SERIALIZED};
use crate::arguments::node::{Node, Object};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

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
    pub(super) fn new(tape: &'t Tape<'de>, first: u32, end: u32, len: u32, flags: u8) -> Self {
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
        if self.flags & SERIALIZED == 0 && key == crate::arguments::SERIALIZED_KEY {
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
