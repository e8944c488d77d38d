//! Envelope times read in place: the form Rails writes checked by its digits, parsed only when
//! asked for.

use super::Span;
use crate::arguments::lexer::Lexer;
use crate::envelope::EnvelopeTime;
use crate::ruby::time::digits::{self, DateTimeFields};
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

/// Whether `b` is `YYYY-MM-DDThh:mm:ss[.f…]Z` with one to nine fraction digits (or none), a year
/// from 1583 (after the calendar reform) and every field in range: a text Ruby's `Time.iso8601`
/// reads as written, and [`EnvelopeTime::from_text`] too, without looking further.
pub(crate) fn plain_time_in_range(b: &[u8]) -> bool {
    let len = b.len();
    if !(len == 20 || (22..=30).contains(&len)) || b[len - 1] != b'Z' {
        return false;
    }
    if len > 20 && (b[19] != b'.' || digits::fraction_nanos(&b[20..len - 1]).is_none()) {
        return false;
    }
    let Some(fields) = digits::date_time(b) else {
        return false;
    };
    let DateTimeFields {
        year,
        month,
        day,
        hour,
        minute,
        second,
    } = fields;
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
