//! The digits of the time forms Rails writes (`2026-11-24T21:27:56.175007000Z`), checked and
//! read eight bytes at a time rather than one by one: a worker reads such a time in every
//! envelope and in every Time argument.

/// Eight bytes of `b` from `at`, the first in the lowest bits; `None` past its end.
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// A word whose every byte is `byte`.
const fn each(byte: u8) -> u64 {
    u64::MAX / 0xFF * byte as u64
}

/// The bytes `index` of a word.
const fn bytes_at(index: [u32; 2]) -> u64 {
    (0xFF << (8 * index[0])) | (0xFF << (8 * index[1]))
}

/// Whether every byte of `word` is an ASCII digit.
#[inline]
fn all_digits(word: u64) -> bool {
    let high = each(0xF0);
    // Bytes 0x30..=0x3F, which 6 more keeps below 0x40 for 0x30..=0x39 only.
    word & high == each(b'0') && word.wrapping_add(each(6)) & high == each(b'0')
}

/// Whether the bytes `separators` of `word` are those of `expected`, and the others digits.
#[inline]
fn digits_between(word: u64, separators: u64, expected: &[u8; 8]) -> bool {
    word & separators == u64::from_le_bytes(*expected) & separators
        && all_digits((word & !separators) | (each(b'0') & separators))
}

/// The two-digit number at bytes `at` and `at + 1` of `word`, both digits.
#[inline]
fn two_digits(word: u64, at: u32) -> u32 {
    let tens = (word >> (8 * at)) & 0x0F;
    let ones = (word >> (8 * at + 8)) & 0x0F;
    (tens * 10 + ones) as u32
}

/// The number the eight digits of `word` write, its first byte the most significant digit.
#[inline]
fn eight_digits(word: u64) -> u32 {
    // Pairs, then fours, then the eight, each step one multiplication.
    let pairs = (word & each(0x0F)).wrapping_mul(10 << 8 | 1) >> 8;
    let fours = (pairs & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    ((fours & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32) as u32
}

/// The fields of `YYYY-MM-DDThh:mm:ss`, not checked against the calendar or the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTimeFields {
    pub(crate) year: u32,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

/// The fields of the `YYYY-MM-DDThh:mm:ss` that starts `b`, when its separators are where they
/// belong and the rest are digits.
#[inline]
pub(crate) fn date_time(b: &[u8]) -> Option<DateTimeFields> {
    // `YYYY-MM-`, `DDThh:mm` and `hh:mm:ss`.
    let (date, day_time, time) = (word(b, 0)?, word(b, 8)?, word(b, 11)?);
    let laid_out = digits_between(date, bytes_at([4, 7]), b"0000-00-")
        && digits_between(day_time, bytes_at([2, 5]), b"00T00:00")
        && digits_between(time, bytes_at([2, 5]), b"00:00:00");
    laid_out.then(|| DateTimeFields {
        year: two_digits(date, 0) * 100 + two_digits(date, 2),
        month: two_digits(date, 5),
        day: two_digits(day_time, 0),
        hour: two_digits(day_time, 3),
        minute: two_digits(day_time, 6),
        second: two_digits(time, 6),
    })
}

/// The nanoseconds a fraction of up to nine digits writes (`5` is half a second); `None` when
/// a byte is not a digit or there are more than nine.
#[inline]
pub(crate) fn fraction_nanos(digits: &[u8]) -> Option<u32> {
    if digits.len() == 9 {
        let first_eight = word(digits, 0)?;
        let last = digits[8].wrapping_sub(b'0');
        return (all_digits(first_eight) && last <= 9)
            .then(|| eight_digits(first_eight) * 10 + u32::from(last));
    }
    if digits.len() > 9 {
        return None;
    }
    let value = digits.iter().try_fold(0_u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })?;
    Some(value * 10_u32.pow(9 - digits.len() as u32))
}

/// `YYYY-MM-DDThh:mm:ss[.f…]Z` with one to nine fraction digits (or none), a year from 1583 and
/// every field in range: the form every Rails version writes `enqueued_at` in, and Rails 7.1+
/// its UTC times, which Ruby's `Time.iso8601` reads as written. Its fields and nanoseconds.
/// Years before the Gregorian reform are left to the general path's calendar rules.
// Inlined into its two callers: one only asks whether, the other reads the time.
#[inline(always)]
pub(crate) fn utc_form(b: &[u8]) -> Option<(DateTimeFields, u32)> {
    let len = b.len();
    if !(len == 20 || (22..=30).contains(&len)) || b[len - 1] != b'Z' {
        return None;
    }
    let nanos = match len {
        20 => 0,
        _ if b[19] == b'.' => fraction_nanos(&b[20..len - 1])?,
        _ => return None,
    };
    let fields = date_time(b)?;
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
    let in_range = year >= 1583
        && (1..=12).contains(&month)
        && (1..=month_days).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    in_range.then_some((fields, nanos))
}

#[cfg(test)]
mod tests {
    use super::{date_time, eight_digits, fraction_nanos, utc_form, DateTimeFields};

    /// [`utc_form`]'s check one byte at a time.
    fn naive_utc_form(b: &[u8]) -> bool {
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

    #[test]
    fn eight_digits_read_as_a_number() {
        for n in [
            0, 1, 9, 10, 12_345_678, 99_999_999, 10_000_000, 17_500_700, 1,
        ] {
            let text = format!("{n:08}");
            let word = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert_eq!(eight_digits(word), n, "{text}");
        }
    }

    #[test]
    fn fields_of_a_date_and_time() {
        assert_eq!(
            date_time(b"2026-11-24T21:27:56.175007000Z"),
            Some(DateTimeFields {
                year: 2026,
                month: 11,
                day: 24,
                hour: 21,
                minute: 27,
                second: 56
            })
        );
        for text in [
            &b"2026-11-24t21:27:56Z"[..],
            b"2026-11-2aT21:27:56Z",
            b"2026/11-24T21:27:56Z",
            b"2026-11-24T21:27:5",
            b"+026-11-24T21:27:56Z",
        ] {
            assert_eq!(date_time(text), None, "{}", String::from_utf8_lossy(text));
        }
    }

    proptest::proptest! {
        /// Every fraction of up to ten characters reads as the same nanoseconds one digit at a
        /// time, or is refused as it is.
        #[test]
        fn fractions_read_as_one_digit_at_a_time(text in "[0-9a/:]{0,10}") {
            let naive = (text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit())).then(|| {
                text.bytes().fold(0_u32, |n, d| n * 10 + u32::from(d - b'0'))
                    * 10_u32.pow(9 - text.len() as u32)
            });
            proptest::prop_assert_eq!(fraction_nanos(text.as_bytes()), naive, "{}", text);
        }

        /// The UTC form checked by words answers as the check one byte at a time, for texts near
        /// the form and with any byte changed.
        #[test]
        fn utc_form_checks_as_one_byte_at_a_time(
            text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?Z?",
            at in 0..31_usize,
            byte in proptest::prelude::any::<u8>(),
            change in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = text.into_bytes();
            if change && at < bytes.len() {
                bytes[at] = byte;
            }
            proptest::prop_assert_eq!(utc_form(&bytes).is_some(), naive_utc_form(&bytes), "{:?}", bytes);
        }
    }
}
