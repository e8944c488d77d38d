//! A byte cursor for the hand-written matchers that stand in for Ruby's parsing regexps.
//!
//! Ruby's time and date parsers are regular expressions; the grammars here are small enough to
//! match by hand, which keeps the crate free of a regex engine and makes each backtracking
//! decision explicit where it matters.

/// Ruby's `\s` in a regexp: ASCII space, tab, newline, vertical tab, form feed, carriage return.
const RUBY_SPACE: &[u8] = b" \t\n\x0b\x0c\r";

/// A position in an ASCII-matched string; cheap to copy so a failed branch can restore it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `s` without the leading and trailing whitespace Ruby's `\A\s*`/`\s*\z`
    /// allow.
    pub fn trimmed(s: &'a str) -> Self {
        let text = s.trim_matches(|c: char| c.is_ascii() && RUBY_SPACE.contains(&(c as u8)));
        Cursor { text, pos: 0 }
    }

    /// Whether everything has been consumed.
    pub fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Consumes `b` if it is next.
    pub fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    /// Consumes `b` in either ASCII case if it is next (Ruby's `/i` flag).
    pub fn eat_ci(&mut self, b: u8) -> bool {
        let hit = self.peek().is_some_and(|c| c.eq_ignore_ascii_case(&b));
        self.pos += usize::from(hit);
        hit
    }

    /// Consumes one of `set` if it is next.
    pub fn eat_any(&mut self, set: &[u8]) -> Option<u8> {
        let next = self.peek().filter(|c| set.contains(c))?;
        self.pos += 1;
        Some(next)
    }

    /// Consumes exactly `n` ASCII digits, or nothing.
    pub fn digits(&mut self, n: usize) -> Option<&'a str> {
        let end = self.pos.checked_add(n)?;
        let slice = self.text.get(self.pos..end)?;
        if !slice.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.pos = end;
        Some(slice)
    }

    /// Consumes as many ASCII digits as there are (possibly none).
    pub fn digit_run(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// The text consumed since `start` (a copy of this cursor taken earlier).
    pub fn since(&self, start: &Cursor<'a>) -> &'a str {
        self.text.get(start.pos..self.pos).unwrap_or("")
    }

    /// Consumes `[-+]?\d{min,}` (greedy), or nothing; returns the token with its sign.
    pub fn signed_digits(&mut self, min: usize) -> Option<&'a str> {
        let start = *self;
        self.eat_any(b"+-");
        if self.digit_run().len() >= min {
            return Some(&self.text[start.pos..self.pos]);
        }
        *self = start;
        None
    }
}

/// The value of a short run of ASCII digits (at most a few, so it cannot overflow).
pub(super) fn small(digits: &str) -> i64 {
    digits
        .bytes()
        .fold(0, |n, b| n * 10 + i64::from(b.wrapping_sub(b'0')))
}

/// Nanoseconds from fraction digits: the first nine, padded, the rest truncated (Ruby keeps an
/// exact Rational and `%9N` prints its floor).
pub(super) fn nanos(fraction: &str) -> u32 {
    let mut n: u32 = 0;
    let mut scale = 0;
    for b in fraction.bytes().take(9) {
        n = n * 10 + u32::from(b.wrapping_sub(b'0'));
        scale += 1;
    }
    n * 10u32.pow(9 - scale)
}

/// A signed integer token (`-0012`, `+24`, `2024`) as `i64`, saturating far beyond any year
/// anything here can represent.
pub(super) fn signed(token: &str) -> i64 {
    let negative = token.starts_with('-');
    let digits = token.trim_start_matches(['+', '-']);
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX / 4);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_ruby_whitespace_only() {
        let mut c = Cursor::trimmed(" \t\n\x0b\x0c\r12\r\n");
        assert_eq!(c.digits(2), Some("12"));
        assert!(c.at_end());
        let c = Cursor::trimmed("\u{a0}12");
        assert!(!c.at_end());
    }

    #[test]
    fn digit_helpers() {
        let mut c = Cursor::trimmed("-2024x");
        assert_eq!(c.signed_digits(2), Some("-2024"));
        assert!(c.eat_ci(b'X'));
        let mut c = Cursor::trimmed("-1-");
        assert_eq!(c.signed_digits(2), None);
        assert!(c.eat(b'-'));
        assert_eq!(nanos("123456789999"), 123_456_789);
        assert_eq!(nanos("5"), 500_000_000);
        assert_eq!(signed("-0012"), -12);
        assert_eq!(signed("99999999999999999999999"), i64::MAX / 4);
        assert_eq!(small("07"), 7);
    }
}
