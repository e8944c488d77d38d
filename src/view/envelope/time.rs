//! Envelope times read in place: the form Rails writes checked by its digits, parsed only when
//! asked for.

use super::Span;
use crate::arguments::lexer::Lexer;
use crate::envelope::EnvelopeTime;
use std::borrow::Cow;
use std::sync::OnceLock;

/// An envelope time: checked when read, parsed when first asked for.
///
/// A worker rarely looks at `enqueued_at`, and the form Rails writes
/// (`2026-11-24T21:27:56.175007000Z`) is checked by its digits alone, without building a time.
/// The parsed time is boxed so that the envelope, moved into the job's context for every job,
/// stays small: it is made only for a handler that asks for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Time {
    /// A UTC time with at most nine fraction digits and every field in range (so
    /// [`EnvelopeTime::from_text`] reads it): where it is, and the time once parsed.
    Plain {
        span: Span,
        parsed: OnceLock<Box<EnvelopeTime>>,
    },
    /// Any other form, parsed when read.
    Parsed(Box<EnvelopeTime>),
}

const _: () = assert!(std::mem::size_of::<Option<Time>>() <= 32);

impl Time {
    /// The time, `bytes` being the job's JSON it was read from.
    pub(crate) fn get(&self, bytes: &[u8]) -> &EnvelopeTime {
        match self {
            Time::Parsed(time) => time,
            Time::Plain { span, parsed } => parsed.get_or_init(|| {
                let text = std::str::from_utf8(span.of_bytes(bytes)).unwrap_or_default();
                match EnvelopeTime::from_text(text, "enqueued_at") {
                    Ok(Some(time)) => Box::new(time),
                    // `plain_time_in_range` only passes texts `from_text` reads.
                    _ => unreachable!("a checked envelope time does not parse"),
                }
            }),
        }
    }
}

/// An envelope time, or `null`, the value of `key`.
pub(super) fn time(lex: &mut Lexer<'_>, key: &str) -> Option<Option<Time>> {
    match lex.peek()? {
        b'n' => lex.literal("null").map(|()| None),
        b'"' => {
            let start = lex.at + 1;
            // The form Rails 7.1+ writes, with nothing to unescape: no need to look for the
            // closing quote.
            let rails = start + RAILS_FORM_LEN;
            if lex.bytes.get(rails) == Some(&b'"') && plain_time_in_range(&lex.bytes[start..rails])
            {
                lex.at = rails + 1;
                return plain(start..rails);
            }
            match lex.string()? {
                Cow::Borrowed(text) if plain_time_in_range(text.as_bytes()) => {
                    plain(start..lex.at - 1)
                }
                Cow::Borrowed(text) => EnvelopeTime::from_text(text, key)
                    .ok()
                    .map(|time| time.map(|time| Time::Parsed(Box::new(time)))),
                Cow::Owned(_) => None,
            }
        }
        _ => None,
    }
}

fn plain(range: std::ops::Range<usize>) -> Option<Option<Time>> {
    Some(Some(Time::Plain {
        span: Span::new(range)?,
        parsed: OnceLock::new(),
    }))
}

/// The length of `2026-11-24T21:27:56.175007000Z`.
const RAILS_FORM_LEN: usize = 30;

/// Eight bytes, the first in the lowest bits.
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// Each of a word's bytes, as many as `bytes` has, set to `byte`.
const fn each(byte: u8, bytes: u64) -> u64 {
    bytes / 0xFF * byte as u64
}

/// The bytes `index` of a word.
const fn bytes_at(index: [u32; 2]) -> u64 {
    (0xFF << (8 * index[0])) | (0xFF << (8 * index[1]))
}

/// Whether every byte of `word` is an ASCII digit.
fn all_digits(word: u64) -> bool {
    let high = each(0xF0, u64::MAX);
    let zeros = each(b'0', u64::MAX);
    // Bytes 0x30..=0x3F, which 6 more keeps below 0x40 for 0x30..=0x39 only.
    word & high == zeros && word.wrapping_add(each(6, u64::MAX)) & high == zeros
}

/// Whether the bytes `separators` of `word` are the same bytes of `expected`, and the others
/// digits.
fn fields(word: u64, separators: u64, expected: u64) -> bool {
    word & separators == expected & separators
        && all_digits((word & !separators) | (each(b'0', u64::MAX) & separators))
}

/// Whether `b` is `YYYY-MM-DDThh:mm:ss[.f…]Z` with one to nine fraction digits (or none), a year
/// from 1583 (after the calendar reform) and every field in range: a text Ruby's `Time.iso8601`
/// reads as written, and [`EnvelopeTime::from_text`] too, without looking further.
pub(crate) fn plain_time_in_range(b: &[u8]) -> bool {
    let len = b.len();
    if !(len == 20 || (22..=30).contains(&len)) || b[len - 1] != b'Z' {
        return false;
    }
    // `YYYY-MM-`, `DDThh:mm` and `hh:mm:ss`: the separators where they belong, digits between.
    let date = fields(
        word(b, 0),
        bytes_at([4, 7]),
        u64::from_le_bytes(*b"0000-00-"),
    );
    let day_time = fields(
        word(b, 8),
        bytes_at([2, 5]),
        u64::from_le_bytes(*b"00T00:00"),
    );
    let time = fields(
        word(b, 11),
        bytes_at([2, 5]),
        u64::from_le_bytes(*b"00:00:00"),
    );
    if !(date && day_time && time) || (len > 20 && b[19] != b'.') {
        return false;
    }
    let fraction = &b[20.min(len - 1)..len - 1];
    let fraction_digits = match fraction.len() {
        // Two words that overlap cover nine digits.
        9 => all_digits(word(fraction, 0)) && all_digits(word(fraction, 1)),
        _ => fraction.iter().all(u8::is_ascii_digit),
    };
    let number = |at: usize, digits: usize| {
        b[at..at + digits]
            .iter()
            .fold(0_u32, |n, &d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (number(0, 4), number(5, 2), number(8, 2));
    let (hour, minute, second) = (number(11, 2), number(14, 2), number(17, 2));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    year >= 1583
        && (1..=12).contains(&month)
        && (1..=month_days).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59
        && fraction_digits
}

#[cfg(test)]
mod tests {
    use super::plain_time_in_range;

    /// The check one byte at a time.
    fn naive(b: &[u8]) -> bool {
        if b.len() < 20 || b.len() > 30 || b.len() == 21 || b[b.len() - 1] != b'Z' {
            return false;
        }
        let layout =
            b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
        if !layout || (b.len() > 20 && b[19] != b'.') {
            return false;
        }
        let digits = |range: std::ops::Range<usize>| {
            b[range].iter().try_fold(0_u32, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let fields = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19].map(digits);
        let [Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)] = fields
        else {
            return false;
        };
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        year >= 1583
            && (1..=12).contains(&month)
            && day >= 1
            && day <= month_days[(month as usize).clamp(1, 12) - 1]
            && hour <= 23
            && minute <= 59
            && second <= 59
            && b[20.min(b.len() - 1)..b.len() - 1]
                .iter()
                .all(u8::is_ascii_digit)
    }

    proptest::proptest! {
        /// The check by words answers as the check one byte at a time, for texts near the form
        /// and with any byte changed.
        #[test]
        fn checks_as_one_byte_at_a_time(
            text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?Z?",
            at in 0..31_usize,
            byte in proptest::prelude::any::<u8>(),
            change in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = text.into_bytes();
            if change && at < bytes.len() {
                bytes[at] = byte;
            }
            proptest::prop_assert_eq!(plain_time_in_range(&bytes), naive(&bytes), "{:?}", bytes);
        }
    }
}
