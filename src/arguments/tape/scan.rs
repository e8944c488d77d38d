//! A direct scan of the JSON that ActiveJob payloads are made of, onto the same tape that
//! serde_json's parser builds, without going through serde's visitor calls.
//!
//! It only takes documents it can read exactly as serde_json does: strings (escapes included),
//! number literals, literals, arrays and objects no deeper than [`MAX_DEPTH`]. At anything else
//! (a syntax error, a lone surrogate, a deep document, trailing text) it gives up, and the
//! caller parses the payload with serde_json, which then decides what is accepted and words the
//! errors. So this scan never refuses a payload and never accepts one serde_json refuses.

use super::{ObjectKeys, Tape, Tok, NUMBER_TOKEN};
use std::borrow::Cow;

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
        text,
        bytes: text.as_bytes(),
        at: 0,
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

struct Scanner<'de, 't> {
    text: &'de str,
    bytes: &'de [u8],
    at: usize,
    tape: &'t mut Tape<'de>,
}

impl<'de> Scanner<'de, '_> {
    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// After an element: `true` past a comma, `false` past `close`, `None` at anything else.
    #[inline]
    fn separator(&mut self, close: u8) -> Option<bool> {
        let byte = self.peek()?;
        if byte != b',' && byte != close {
            return None;
        }
        self.at += 1;
        Some(byte == b',')
    }

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
        self.bytes[self.at..].starts_with(word.as_bytes()).then(|| {
            self.at += word.len();
            tok
        })
    }

    /// A string: borrowed from the payload, or unescaped when it has escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'de, str>> {
        let start = self.at + 1;
        let end = start + closing_quote(&self.bytes[start..])?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            // Quotes are ASCII, so both ends are character boundaries of the (valid UTF-8) text.
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        let mut out = String::from(self.text.get(start..end)?);
        self.at = end;
        loop {
            match self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                _ => {
                    let from = self.at;
                    self.at += closing_quote(&self.bytes[from..])?;
                    out.push_str(self.text.get(from..self.at)?);
                }
            }
        }
        self.at += 1;
        Some(Cow::Owned(out))
    }

    /// One escape after its backslash, as serde_json reads it; `None` for those it refuses
    /// (unknown escapes, surrogates without their pair).
    fn escape(&mut self, out: &mut String) -> Option<()> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        let plain = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode()?,
            _ => return None,
        };
        out.push(plain);
        Some(())
    }

    /// The character of a `\uXXXX` escape (and of the low surrogate that must follow a high
    /// one).
    fn unicode(&mut self) -> Option<char> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.at..].starts_with(b"\\u") {
                    return None;
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            }
            0xDC00..=0xDFFF => None,
            _ => char::from_u32(first),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        digits
            .iter()
            .try_fold(0_u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
    }

    /// A number literal as the JSON grammar has it: an integer that fits an `i64` as such,
    /// anything else (fraction, exponent, `-0`, big integers) as the text serde_json's
    /// `arbitrary_precision` hands over (the literal, with its exponent written `e±`).
    fn number(&mut self) -> Option<Tok<'de>> {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.required_digits()?;
            integer = false;
        }
        let mantissa = &self.text[start..self.at];
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            // serde_json writes the exponent as `e`, always signed: `1E2` is `1e+2`.
            let sign = match self.bytes.get(self.at) {
                Some(b'-') => "-",
                Some(b'+') => "+",
                _ => "",
            };
            self.at += sign.len();
            let digits_start = self.at;
            self.required_digits()?;
            let digits = &self.text[digits_start..self.at];
            let sign = if sign.is_empty() { "+" } else { sign };
            let text = format!("{mantissa}e{sign}{digits}");
            return Some(Tok::Number(self.tape.own(text)));
        }
        match mantissa.parse::<i64>() {
            Ok(value) if integer && mantissa != "-0" => Some(Tok::Int(value)),
            _ => Some(Tok::Number(self.tape.own(mantissa.to_owned()))),
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
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

/// The index of the first `"` or `\\` in `bytes` (the end of a string, or an escape in it), or
/// `None` when a control character or the end of the text comes first.
#[inline(always)]
fn closing_quote(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(at..at + 16) {
        let flagged = sse2::needs_a_look(chunk);
        if flagged != 0 {
            at += flagged.trailing_zeros() as usize;
            return (bytes[at] >= 0x20).then_some(at);
        }
        at += 16;
    }
    // Eight bytes at a time: the lowest flagged byte is the first that needs a look.
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let flagged = needs_a_look(word);
        if flagged != 0 {
            at += (flagged.trailing_zeros() / 8) as usize;
            return (bytes[at] >= 0x20).then_some(at);
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' {
            return Some(at);
        }
        if b < 0x20 {
            return None;
        }
        at += 1;
    }
    None
}

/// Sixteen bytes at a time with SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// One bit per byte of `chunk` (16 bytes) that is `"`, `\\` or below 0x20.
    #[inline]
    pub(super) fn needs_a_look(chunk: &[u8]) -> u32 {
        assert_eq!(chunk.len(), 16);
        // SAFETY: SSE2 is part of the x86-64 baseline, and the unaligned load reads the 16
        // bytes of `chunk`, checked above.
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // Unsigned `v < 0x20` is `max(v, 0x1f) == 0x1f`.
            let limit = _mm_set1_epi8(0x1f);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is `"`, `\\` or below 0x20 (bits above the lowest
/// one may be spurious, the lowest is exact).
#[inline]
fn needs_a_look(word: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::closing_quote;

    /// What `closing_quote` must find, one byte at a time.
    fn naive(bytes: &[u8]) -> Option<usize> {
        let at = bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (bytes[at] >= 0x20).then_some(at)
    }

    #[test]
    fn finds_the_first_byte_that_needs_a_look_at_every_position() {
        let specials = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        let near_misses = [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xe9, 0xff];
        for len in 0..40 {
            let plain = vec![b'a'; len];
            assert_eq!(closing_quote(&plain), naive(&plain), "plain of {len}");
            for at in 0..len {
                for &byte in specials.iter().chain(&near_misses) {
                    let mut bytes = plain.clone();
                    bytes[at] = byte;
                    assert_eq!(
                        closing_quote(&bytes),
                        naive(&bytes),
                        "{byte:#x} at {at} of {len}"
                    );
                    // A second special later must not hide the first one.
                    if at + 1 < len {
                        bytes[len - 1] = b'"';
                        assert_eq!(
                            closing_quote(&bytes),
                            naive(&bytes),
                            "{byte:#x} at {at}, quote last, of {len}"
                        );
                    }
                }
            }
        }
    }
}
