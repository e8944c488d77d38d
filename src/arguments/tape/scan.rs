//! A direct scan of the JSON that ActiveJob payloads are made of, onto the same tape that
//! serde_json's parser builds, without going through serde's visitor calls.
//!
//! It only takes documents it can read exactly as serde_json does: strings (escapes included),
//! number literals, literals, arrays and objects no deeper than [`MAX_DEPTH`]. At anything else
//! (a syntax error, a lone surrogate, a deep document, trailing text) it gives up, and the
//! caller parses the payload with serde_json, which then decides what is accepted and words the
//! errors. So this scan never refuses a payload and never accepts one serde_json refuses.

use super::{ObjectKeys, Tape, Tok, NUMBER_TOKEN};
use crate::arguments::lexer::{Lexer, Number};
use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

/// Deeper documents are left to serde_json, whose recursion limit is 128.
const MAX_DEPTH: u32 = 100;

/// Scans `text` onto the empty `tape`; `None` when it must be left to serde_json (the tape
/// then holds a partial scan the caller clears).
pub(super) fn scan<'de>(text: &'de str, tape: &mut Tape<'de>) -> Option<()> {
    scan_whole(text, tape, |scanner| scanner.value(0))
}

/// Scans `text`, a JSON object whose keys are expected in the order of `keys`, onto the empty
/// `tape` without putting the root's keys on it: each expected key's value is found through
/// [`KeyedRoot::slots`], any other key through [`KeyedRoot::others`].
///
/// `None`, as for [`scan`], for what serde_json must decide, and also for a root that a keyed
/// reading could get wrong: not an object, a key written with escapes, a key seen twice, or an
/// expected key after a later one.
pub(super) fn scan_keyed<'de, const N: usize>(
    text: &'de str,
    tape: &mut Tape<'de>,
    keys: &[&str; N],
) -> Option<KeyedRoot<'de, N>> {
    scan_whole(text, tape, |scanner| scanner.keyed_object(keys))
}

/// Runs `read` on a scanner at the start of `text`; `None` unless it reads all of the text
/// (trailing whitespace aside).
#[inline]
fn scan_whole<'de, T>(
    text: &'de str,
    tape: &mut Tape<'de>,
    read: impl FnOnce(&mut Scanner<'de, '_>) -> Option<T>,
) -> Option<T> {
    let mut scanner = Scanner {
        lex: Lexer::new(text),
        tape,
    };
    let read = read(&mut scanner)?;
    scanner.skip_whitespace();
    (scanner.at == scanner.bytes.len()).then_some(read)
}

/// Where the values of a root object scanned by [`scan_keyed`] are on the tape.
pub(crate) struct KeyedRoot<'de, const N: usize> {
    /// The tape index of the value of each expected key present.
    pub(crate) slots: [Option<u32>; N],
    /// The keys not expected, in payload order, with the tape index of their values.
    pub(crate) others: Vec<(&'de str, u32)>,
}

/// The lexer's cursor, and the tape it scans onto.
struct Scanner<'de, 't> {
    lex: Lexer<'de>,
    tape: &'t mut Tape<'de>,
}

impl<'de> Deref for Scanner<'de, '_> {
    type Target = Lexer<'de>;

    fn deref(&self) -> &Lexer<'de> {
        &self.lex
    }
}

impl DerefMut for Scanner<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.lex
    }
}

impl<'de> Scanner<'de, '_> {
    fn value(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let tok = match self.peek()? {
            b'"' => {
                let text = self.string()?;
                self.tape.push_str(text);
                return Some(());
            }
            b'[' => return self.array(depth),
            b'{' => return self.object(depth),
            b't' => self.literal("true", Tok::Bool(true))?,
            b'f' => self.literal("false", Tok::Bool(false))?,
            b'n' => self.literal("null", Tok::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        self.tape.toks.push(tok);
        Some(())
    }

    fn literal(&mut self, word: &str, tok: Tok<'de>) -> Option<Tok<'de>> {
        self.lex.literal(word).map(|()| tok)
    }

    /// A number literal, its text kept on the tape unless it is an `i64`.
    fn number(&mut self) -> Option<Tok<'de>> {
        Some(match self.lex.number()? {
            Number::Int(value) => Tok::Int(value),
            Number::Text(text) => Tok::Number(self.tape.own(text.into_owned())),
        })
    }

    fn array(&mut self, depth: u32) -> Option<()> {
        self.at += 1;
        let at = self.tape.toks.len();
        self.tape.toks.push(Tok::Array { len: 0, end: 0 });
        let mut len = 0_u32;
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                self.value(depth + 1)?;
                len += 1;
                if !self.separator(b']')? {
                    break;
                }
            }
        }
        let end = super::index(self.tape.toks.len());
        self.tape.toks[at] = Tok::Array { len, end };
        Some(())
    }

    fn object(&mut self, depth: u32) -> Option<()> {
        self.at += 1;
        let at = self.tape.toks.len();
        self.tape.toks.push(Tok::Object {
            len: 0,
            end: 0,
            flags: 0,
        });
        let mut keys = ObjectKeys::default();
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                let key = self.string()?;
                // serde_json reads such an object as a number: left to it.
                if key == NUMBER_TOKEN {
                    return None;
                }
                keys.add(self.tape, at, &key);
                self.tape.push_str(key);
                self.eat(b':')?;
                self.value(depth + 1)?;
                if !self.separator(b'}')? {
                    break;
                }
            }
        }
        keys.close(self.tape, at);
        Some(())
    }
}

impl<'de> Scanner<'de, '_> {
    /// The root object of [`scan_keyed`].
    fn keyed_object<const N: usize>(&mut self, keys: &[&str; N]) -> Option<KeyedRoot<'de, N>> {
        let mut root = KeyedRoot {
            slots: [None; N],
            others: Vec::new(),
        };
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(root);
        }
        let mut next_expected = 0;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            match self.expected_key(keys, next_expected) {
                Some(i) => {
                    next_expected = i + 1;
                    root.slots[i] = Some(self.member_value()?);
                }
                None => {
                    let key = self.other_key(keys, &root.others)?;
                    root.others.push((key, self.member_value()?));
                }
            }
            if !self.separator(b'}')? {
                return Some(root);
            }
        }
    }

    /// After a root key: its `:` and value, and the tape index of the value.
    #[inline]
    fn member_value(&mut self) -> Option<u32> {
        self.eat(b':')?;
        let at = super::index(self.tape.toks.len());
        self.value(1)?;
        Some(at)
    }

    /// Consumes the key at the cursor (its opening quote) when it is one of `keys[from..]`,
    /// written as is, and gives its index. Comparing the payload with the few names Rails writes
    /// costs less than scanning each key and matching it afterwards.
    #[inline]
    fn expected_key<const N: usize>(&mut self, keys: &[&str; N], from: usize) -> Option<usize> {
        let rest = &self.bytes[self.at + 1..];
        let found = (from..N).find(|&i| {
            let key = keys[i].as_bytes();
            rest.get(key.len()) == Some(&b'"') && rest.starts_with(key)
        })?;
        self.at += keys[found].len() + 2;
        Some(found)
    }

    /// Consumes a key that is not among the expected ones still to come; `None` when it is
    /// written with escapes, repeats a key, or is an expected key out of order.
    fn other_key<const N: usize>(
        &mut self,
        keys: &[&str; N],
        others: &[(&'de str, u32)],
    ) -> Option<&'de str> {
        let Cow::Borrowed(key) = self.string()? else {
            return None;
        };
        let seen = keys.contains(&key) || others.iter().any(|(other, _)| *other == key);
        (!seen && key != NUMBER_TOKEN).then_some(key)
    }
}
