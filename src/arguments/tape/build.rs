//! Putting a document on the tape with serde_json's own parser, for what the direct
//! [scan](super::scan) leaves to it: serde_json then decides what is accepted and words the
//! errors.

use super::{index, ObjectKeys, Tape, Tok, NUMBER_TOKEN};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Appends one value to the tape.
pub(super) struct Builder<'a, 'de> {
    pub(super) tape: &'a mut Tape<'de>,
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
