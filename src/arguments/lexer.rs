//! The lexical pieces of JSON as serde_json reads it (whitespace, strings with their escapes,
//! number literals), over payload text, shared by the tape [scan](super::tape) and the typed
//! [view](crate::view). Each piece gives `None` where serde_json would refuse the text or where
//! its exact reading is left to serde_json (lone surrogates), never a different reading.

use std::borrow::Cow;

/// The key serde_json's `arbitrary_precision` mode uses to hand a number's text to a visitor (a
/// one-entry map). `serde_json::Value` reads an object whose first key is this text the same way.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A number literal: an integer that fits an `i64`, or the text serde_json's
/// `arbitrary_precision` mode hands over for any other (fraction, exponent written `e±`, `-0`,
/// big integers).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Number<'de> {
    Int(i64),
    Text(Cow<'de, str>),
}

/// Whether the text of a number literal ([`Number::Text`]) has a fraction or an exponent: a
/// Float, where the other texts are integers beyond `i64` (or `-0`).
#[inline]
pub(crate) fn is_float(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// A cursor over JSON text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lexer<'de> {
    pub(crate) text: &'de str,
    pub(crate) bytes: &'de [u8],
    pub(crate) at: usize,
}

impl<'de> Lexer<'de> {
    /// A cursor at the start of `text`.
    pub(crate) fn new(text: &'de str) -> Lexer<'de> {
        Lexer {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    #[inline]
    pub(crate) fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        // Rails writes no whitespace between tokens: every byte it puts there is above a space.
        match self.bytes.get(self.at) {
            Some(&byte) if byte > b' ' => Some(byte),
            _ => {
                self.skip_whitespace();
                self.bytes.get(self.at).copied()
            }
        }
    }

    #[inline]
    pub(crate) fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// After an element: `true` past a comma, `false` past `close`, `None` at anything else.
    #[inline]
    pub(crate) fn separator(&mut self, close: u8) -> Option<bool> {
        let byte = self.peek()?;
        if byte != b',' && byte != close {
            return None;
        }
        self.at += 1;
        Some(byte == b',')
    }

    /// Consumes `text` when the payload has exactly these bytes at the cursor: a quick way past
    /// what Rails writes (`,"value":`), with the general reading for anything else.
    ///
    /// The length is a constant, so that the comparison is a few loads, not a call.
    #[inline(always)]
    pub(crate) fn exact<const N: usize>(&mut self, text: &[u8; N]) -> bool {
        let there = self
            .bytes
            .get(self.at..self.at + N)
            .and_then(|rest| <&[u8; N]>::try_from(rest).ok())
            .is_some_and(|rest| rest == text);
        if there {
            self.at += N;
        }
        there
    }

    /// Consumes `word` (`true`, `false`, `null`) at the cursor.
    #[inline]
    pub(crate) fn literal(&mut self, word: &str) -> Option<()> {
        self.bytes[self.at..].starts_with(word.as_bytes()).then(|| {
            self.at += word.len();
        })
    }

    /// A string: borrowed from the payload, or unescaped when it has escapes.
    #[inline]
    pub(crate) fn string(&mut self) -> Option<Cow<'de, str>> {
        let start = self.at + 1;
        if let Some(len) = plain_length(self.bytes, start) {
            let end = start + len;
            self.at = end + 1;
            debug_assert!(self.text.is_char_boundary(start) && self.text.is_char_boundary(end));
            // SAFETY: `start` follows the opening quote and `end` is at the closing one; quotes
            // are ASCII, so both are character boundaries of the (valid UTF-8) text.
            return Some(Cow::Borrowed(unsafe {
                self.text.get_unchecked(start..end)
            }));
        }
        self.string_with_a_look(start)
    }

    /// A string from `start` that [`plain_length`] left: one with an escape, a control
    /// character, or near the end of the text.
    #[cold]
    #[inline(never)]
    fn string_with_a_look(&mut self, start: usize) -> Option<Cow<'de, str>> {
        let end = start + closing_quote(&self.bytes[start..])?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        self.escaped_string(start, end)
    }

    /// The rest of a string from `start` whose first escape is at `end`: kept out of
    /// [`string`](Self::string), which the strings Rails writes (without escapes) take.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, end: usize) -> Option<Cow<'de, str>> {
        // The unescaped string is no longer than its text: one allocation of that size.
        let text_end = self.escaped_text_end(end).unwrap_or(end);
        let mut out = String::with_capacity(text_end - start);
        out.push_str(self.text.get(start..end)?);
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

    /// Where the string whose first escape is at `from` ends (its closing quote), each
    /// backslash taken with the byte after it; `None` when the text ends first or a control
    /// character comes, which the reading then refuses.
    fn escaped_text_end(&self, mut from: usize) -> Option<usize> {
        loop {
            match self.bytes.get(from)? {
                b'"' => return Some(from),
                b'\\' => from += 2,
                _ => from += closing_quote(self.bytes.get(from..)?)?,
            }
        }
    }

    /// One escape after its backslash, as serde_json reads it; `None` for those it refuses
    /// (unknown escapes, surrogates without their pair).
    pub(crate) fn escape(&mut self, out: &mut String) -> Option<()> {
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
    pub(crate) fn unicode(&mut self) -> Option<char> {
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

    pub(crate) fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        digits
            .iter()
            .try_fold(0_u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
    }

    /// A number literal as the JSON grammar has it: an integer that fits an `i64` as such,
    /// anything else (fraction, exponent, `-0`, big integers) as the text serde_json's
    /// `arbitrary_precision` hands over (the literal, with its exponent written `e±`).
    #[inline]
    pub(crate) fn number(&mut self) -> Option<Number<'de>> {
        let start = self.at;
        let negative = self.bytes[self.at] == b'-';
        if negative {
            self.at += 1;
        }
        let digits_start = self.at;
        let mut magnitude = 0_u64;
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(&digit) = self.bytes.get(self.at) {
                    if !digit.is_ascii_digit() {
                        break;
                    }
                    magnitude = magnitude
                        .wrapping_mul(10)
                        .wrapping_add(u64::from(digit - b'0'));
                    self.at += 1;
                }
            }
            _ => return None,
        }
        // Up to 18 digits fit an `i64` whatever they are; `-0` is not an integer to serde_json.
        let plain_integer = self.at - digits_start <= 18
            && !matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E'))
            && !(negative && magnitude == 0);
        if plain_integer {
            // At most 18 digits: below 10^18, no overflow either way.
            let magnitude = magnitude as i64;
            return Some(Number::Int(if negative { -magnitude } else { magnitude }));
        }
        self.fraction_and_exponent(start)
    }

    /// The rest of a number literal whose integer part (from `start`) was just read, when it is
    /// not a plain integer of up to 18 digits.
    #[cold]
    #[inline(never)]
    fn fraction_and_exponent(&mut self, start: usize) -> Option<Number<'de>> {
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
            return Some(Number::Text(Cow::Owned(text)));
        }
        if integer && mantissa != "-0" {
            if let Ok(value) = mantissa.parse::<i64>() {
                return Some(Number::Int(value));
            }
        }
        Some(Number::Text(Cow::Borrowed(mantissa)))
    }

    pub(crate) fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    pub(crate) fn required_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

/// The length of the string whose text starts at `start` in `text`, when its closing quote comes
/// before any backslash or control character; `None` says only that a closer look
/// ([`closing_quote`]) is needed (always, for a text shorter than 16 bytes).
///
/// Sixteen bytes at a time; the last bytes, fewer than sixteen, are looked at in the sixteen that
/// end the text, less those before them: the arguments of a job are a slice of the payload that
/// ends soon after its last string.
#[inline(always)]
fn plain_length(text: &[u8], start: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let first_flagged = |quotes: u32, flagged: u32, at: usize| {
            let first = flagged.trailing_zeros();
            (quotes & (1 << first) != 0).then_some(at + first as usize)
        };
        let mut at = 0;
        while let Some(chunk) = text.get(start + at..start + at + 16) {
            let (quotes, flagged) = sse2::quotes_and_flagged(chunk);
            if flagged != 0 {
                return first_flagged(quotes, flagged, at);
            }
            at += 16;
        }
        let end = text.len();
        let last = text.get(end.checked_sub(16)?..)?;
        // The bytes of `last` before `start + at` were looked at already, or are not the
        // string's: shifted out.
        let seen = (start + at).checked_sub(end - 16)?;
        let (quotes, flagged) = sse2::quotes_and_flagged(last);
        let (quotes, flagged) = (quotes >> seen, flagged >> seen);
        if flagged != 0 {
            return first_flagged(quotes, flagged, at);
        }
        None
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (text, start);
        None
    }
}

/// `None` when a control character or the end of the text comes first.
#[inline(always)]
pub(crate) fn closing_quote(bytes: &[u8]) -> Option<usize> {
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

    /// One bit per byte of `chunk` (16 bytes) that is `"`, then one per byte that is `"`, `\\`
    /// or below 0x20.
    #[inline]
    pub(super) fn quotes_and_flagged(chunk: &[u8]) -> (u32, u32) {
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
            let flagged = _mm_or_si128(_mm_or_si128(quote, backslash), control);
            (
                _mm_movemask_epi8(quote) as u32,
                _mm_movemask_epi8(flagged) as u32,
            )
        }
    }

    /// One bit per byte of `chunk` (16 bytes) that is `"`, `\\` or below 0x20.
    #[inline]
    pub(super) fn needs_a_look(chunk: &[u8]) -> u32 {
        quotes_and_flagged(chunk).1
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
    use super::{closing_quote, plain_length, Lexer, Number};
    use std::borrow::Cow;

    /// What `Lexer::number` must give: the integer part read as text, then parsed whole.
    fn naive_number(text: &str) -> Option<(Number<'_>, usize)> {
        let bytes = text.as_bytes();
        let mut at = usize::from(bytes.first() == Some(&b'-'));
        let digits = |at: &mut usize| {
            let start = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > start
        };
        match bytes.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => drop(digits(&mut at)),
            _ => return None,
        }
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at).then_some(())?;
            integer = false;
        }
        let mantissa = &text[..at];
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            let sign = match bytes.get(at) {
                Some(b'-') => "-",
                Some(b'+') => "+",
                _ => "",
            };
            at += sign.len();
            let from = at;
            digits(&mut at).then_some(())?;
            let sign = if sign.is_empty() { "+" } else { sign };
            let text = format!("{mantissa}e{sign}{}", &text[from..at]);
            return Some((Number::Text(Cow::Owned(text)), at));
        }
        Some(match mantissa.parse::<i64>() {
            Ok(value) if integer && mantissa != "-0" => (Number::Int(value), at),
            _ => (Number::Text(Cow::Borrowed(mantissa)), at),
        })
    }

    #[test]
    fn reads_numbers_as_the_whole_literal_parsed_reads_them() {
        let literals = [
            "0",
            "-0",
            "7",
            "-7",
            "00",
            "-00",
            "01",
            "0.5",
            "-0.0",
            "1e5",
            "1E+5",
            "1e-5",
            "2.5E3",
            "1.",
            "1e",
            "-",
            "-x",
            "12,",
            "12]",
            "123456789012345678",
            "-123456789012345678",
            "999999999999999999",
            "1000000000000000000",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999",
            "18446744073709551616",
            "12345678901234567890.5",
        ];
        for literal in literals {
            let mut lex = Lexer::new(literal);
            let read = lex.number().map(|number| (number, lex.at));
            assert_eq!(read, naive_number(literal), "{literal}");
        }
    }

    /// What `closing_quote` must find, one byte at a time.
    fn naive(bytes: &[u8]) -> Option<usize> {
        let at = bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (bytes[at] >= 0x20).then_some(at)
    }

    /// `plain_length` finds the closing quote only when it is the first byte that needs a look,
    /// and then finds it on x86-64 whenever the text is 16 bytes long or more, whatever comes
    /// before the string (here a prefix of quotes, backslashes and plain bytes).
    fn assert_plain_length(bytes: &[u8]) {
        let quote_first = naive(bytes).filter(|&at| bytes[at] == b'"');
        for prefix in [
            "",
            "\"",
            "a",
            "\"\\",
            "aaaaaaaaaaaaaaa\"",
            "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
        ] {
            let text = [prefix.as_bytes(), bytes].concat();
            match plain_length(&text, prefix.len()) {
                Some(at) => assert_eq!(Some(at), quote_first, "{prefix:?} then {bytes:?}"),
                None if cfg!(target_arch = "x86_64") && text.len() >= 16 => {
                    assert_eq!(quote_first, None, "{prefix:?} then {bytes:?}");
                }
                None => {}
            }
        }
    }

    #[test]
    fn finds_the_first_byte_that_needs_a_look_at_every_position() {
        let specials = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        let near_misses = [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xe9, 0xff];
        for len in 0..40 {
            let plain = vec![b'a'; len];
            assert_eq!(closing_quote(&plain), naive(&plain), "plain of {len}");
            assert_eq!(plain_length(&plain, 0), None, "plain of {len}");
            for at in 0..len {
                for &byte in specials.iter().chain(&near_misses) {
                    let mut bytes = plain.clone();
                    bytes[at] = byte;
                    assert_eq!(
                        closing_quote(&bytes),
                        naive(&bytes),
                        "{byte:#x} at {at} of {len}"
                    );
                    assert_plain_length(&bytes);
                    // A second special later must not hide the first one.
                    if at + 1 < len {
                        bytes[len - 1] = b'"';
                        assert_eq!(
                            closing_quote(&bytes),
                            naive(&bytes),
                            "{byte:#x} at {at}, quote last, of {len}"
                        );
                        assert_plain_length(&bytes);
                    }
                }
            }
        }
    }
}
