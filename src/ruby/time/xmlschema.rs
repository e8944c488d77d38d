//! `Time.xmlschema` (alias `Time.iso8601`) from Ruby's `time` library, which reads
//! `enqueued_at`, `scheduled_at` and the Time and TimeWithZone serializers' values.
//!
//! The accepted shape is `\s*-?\d+-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?\s*`,
//! case-insensitive. The fields are then adjusted by the zone offset field by field (Ruby's
//! `apply_offset`, which carries into the day only once and so lets some impossible dates
//! through, e.g. `2024-02-30T01:00:00+02:00`) and handed to `Time.utc`, whose range checks and
//! messages are reproduced. A missing zone means the worker's local time in Ruby; it is read as
//! UTC here (offset `+00:00`, not `utc?`), which is what a worker running with `TZ=UTC` gets.

use super::cursor::{nanos, signed, small, Cursor};
use super::digits;
use super::{RubyTime, TimeParseErrorKind as Kind};
use chrono::{Days, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta};

/// Seconds in a day: Ruby refuses UTC offsets of this size or more.
const DAY_SECONDS: i64 = 86_400;

/// Calendar fields as Ruby juggles them before building a `Time`; `day` is `None` where Ruby's
/// `month_days` returned `nil` (then `Time.utc` uses day 1).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Civil {
    year: i64,
    mon: i64,
    day: Option<i64>,
    hour: i64,
    min: i64,
    sec: i64,
}

/// The zone designator: its offset in seconds and whether Ruby makes the time `utc?`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Zone {
    offset: i64,
    utc: bool,
}

/// What the regexp captured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Fields {
    civil: Civil,
    nanos: u32,
    zone: Option<Zone>,
}

/// Parses like `Time.xmlschema`.
pub(super) fn parse(s: &str) -> Result<RubyTime, Kind> {
    if let Some(time) = plain_utc(s.as_bytes()).or_else(|| plain_offset(s.as_bytes())) {
        return Ok(time);
    }
    let fields = scan(s).ok_or(Kind::Format)?;
    build(fields)
}

/// The form every Rails version writes `enqueued_at` in, `2024-03-15T12:30:45[.f{1,9}]Z` with a
/// four-digit year and no leap second, read without the general scanner: it is parsed once per
/// job. Anything else (`None`) goes through [`scan`], which gives the same time for these texts.
pub(super) fn plain_utc(b: &[u8]) -> Option<RubyTime> {
    let (fields, nanos) = digits::utc_form(b)?;
    let date = NaiveDate::from_ymd_opt(fields.year as i32, fields.month, fields.day)?;
    let naive = date.and_hms_nano_opt(fields.hour, fields.minute, fields.second, nanos)?;
    Some(RubyTime {
        instant: naive.and_utc().fixed_offset(),
        utc: true,
    })
}

/// The form Rails writes a Time with an offset in, `2024-03-15T14:30:45.123456789+02:00` (nine
/// fraction digits, a four-digit year from 1583, every field in range, an offset below a day
/// that is not `-00:00`), read without the general scanner. Such a text is a time Ruby shows in
/// that offset, which `Time#iso8601(9)` and `DateTime#iso8601(9)` print back exactly as written.
/// Anything else (`None`) goes through [`scan`], which gives the same time for these texts.
pub(super) fn plain_offset(b: &[u8]) -> Option<RubyTime> {
    if b.len() != 35 {
        return None;
    }
    if b[19] != b'.' || !matches!(b[29], b'+' | b'-') || b[32] != b':' {
        return None;
    }
    let fields = digits::date_time(b)?;
    let nanos = digits::fraction_nanos(&b[20..29])?;
    let two_digits = |at: usize| -> Option<u32> {
        let (tens, ones) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
        (tens <= 9 && ones <= 9).then(|| u32::from(tens) * 10 + u32::from(ones))
    };
    let (offset_hours, offset_minutes) = (two_digits(30)?, two_digits(33)?);
    let (hour, min, sec) = (fields.hour, fields.minute, fields.second);
    if fields.year < 1583
        || hour > 23
        || min > 59
        || sec > 59
        || offset_hours > 23
        || offset_minutes > 59
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(fields.year as i32, fields.month, fields.day)?;
    let magnitude = (offset_hours * 3600 + offset_minutes * 60) as i32;
    if b[29] == b'-' && magnitude == 0 {
        return None;
    }
    let offset = if b[29] == b'-' { -magnitude } else { magnitude };
    let local = date.and_hms_nano_opt(hour, min, sec, nanos)?;
    let instant = (local - TimeDelta::seconds(offset.into()))
        .and_utc()
        .with_timezone(&FixedOffset::east_opt(offset)?);
    Some(RubyTime {
        instant,
        utc: false,
    })
}

pub(super) fn scan(s: &str) -> Option<Fields> {
    let mut c = Cursor::trimmed(s);
    let year = signed(c.signed_digits(1).filter(|t| !t.starts_with('+'))?);
    let mon = dash_field(&mut c)?;
    let day = dash_field(&mut c)?;
    c.eat_ci(b't').then_some(())?;
    let hour = small(c.digits(2)?);
    let min = colon_field(&mut c)?;
    let sec = colon_field(&mut c)?;
    let nanos = fraction(&mut c)?;
    let zone = zone(&mut c)?;
    let civil = Civil {
        year,
        mon,
        day: Some(day),
        hour,
        min,
        sec,
    };
    c.at_end().then_some(Fields { civil, nanos, zone })
}

fn dash_field(c: &mut Cursor) -> Option<i64> {
    c.eat(b'-').then(|| c.digits(2)).flatten().map(small)
}

fn colon_field(c: &mut Cursor) -> Option<i64> {
    c.eat(b':').then(|| c.digits(2)).flatten().map(small)
}

/// `(\.\d+)?`: `Some(0)` when absent, `None` for a dot without digits (no match).
fn fraction(c: &mut Cursor) -> Option<u32> {
    if !c.eat(b'.') {
        return Some(0);
    }
    let digits = c.digit_run();
    (!digits.is_empty()).then(|| nanos(digits))
}

/// `(Z|[+-]\d\d(:?\d\d)?)?`: `Some(None)` when absent, `None` when malformed.
fn zone(c: &mut Cursor) -> Option<Option<Zone>> {
    if c.eat_ci(b'z') {
        return Some(Some(Zone {
            offset: 0,
            utc: true,
        }));
    }
    let Some(sign) = c.eat_any(b"+-") else {
        return Some(None);
    };
    let hours = small(c.digits(2)?);
    let minutes = if c.eat(b':') {
        Some(c.digits(2)?)
    } else {
        c.digits(2)
    };
    let minutes = minutes.map_or(0, small);
    let magnitude = hours * 3600 + minutes * 60;
    // `-00`, `-0000` and `-00:00` mean "UTC, local offset unknown" (RFC 3339), so Ruby makes
    // those times `utc?`; `+00:00` is a local time that happens to have offset zero.
    let utc = sign == b'-' && magnitude == 0;
    let offset = if sign == b'-' { -magnitude } else { magnitude };
    Some(Some(Zone { offset, utc }))
}

pub(super) fn build(fields: Fields) -> Result<RubyTime, Kind> {
    let mut civil = fields.civil;
    if let Some(zone) = fields.zone {
        apply_offset(&mut civil, zone.offset);
    }
    let utc = time_utc(&civil, fields.nanos)?.and_utc();
    match fields.zone {
        None => Ok(RubyTime {
            instant: utc.fixed_offset(),
            utc: false,
        }),
        Some(zone) if zone.utc => Ok(RubyTime {
            instant: utc.fixed_offset(),
            utc: true,
        }),
        Some(zone) => {
            let offset = fixed_offset(zone.offset)?;
            Ok(RubyTime {
                instant: utc.with_timezone(&offset),
                utc: false,
            })
        }
    }
}

fn fixed_offset(seconds: i64) -> Result<FixedOffset, Kind> {
    i32::try_from(seconds)
        .ok()
        .filter(|s| i64::from(*s).abs() < DAY_SECONDS)
        .and_then(FixedOffset::east_opt)
        .ok_or(Kind::OutOfRange("utc_offset out of range"))
}

/// Ruby's floor division and modulo (the divisors here are positive).
fn divmod(n: i64, d: i64) -> (i64, i64) {
    (n.div_euclid(d), n.rem_euclid(d))
}

/// Ruby's `Time.apply_offset`: moves local fields to UTC one unit at a time (seconds, minutes,
/// hours), each carry feeding the next unit's remaining offset, and finally shifts the day once,
/// correcting the month only against that month's length.
fn apply_offset(c: &mut Civil, offset: i64) {
    if offset == 0 {
        return;
    }
    // Fields move against the offset: a `+02:00` local time is two hours ahead of UTC.
    let dir = -offset.signum();
    let mut rest = offset.abs();
    rest = shift_unit(&mut c.sec, rest, 60, dir);
    rest = shift_unit(&mut c.min, rest, 60, dir);
    rest = shift_unit(&mut c.hour, rest, 24, dir);
    if rest != 0 {
        shift_day(c, rest, offset < 0);
    }
}

/// One step of `apply_offset`: takes this unit's share of the remaining offset, wraps the field
/// and returns the remaining offset in the next unit, including the carry. A field whose share
/// is zero is left as it was, out-of-range or not, as Ruby leaves it.
fn shift_unit(field: &mut i64, rest: i64, modulus: i64, dir: i64) -> i64 {
    let (mut rest, share) = divmod(rest, modulus);
    if share != 0 {
        let (carry, wrapped) = divmod(*field + dir * share, modulus);
        *field = wrapped;
        rest += dir * carry;
    }
    rest
}

/// The day step of `apply_offset`: `days` whole days forward for a negative offset, backward
/// for a positive one (a carry can make `days` negative, moving the other way). Only the
/// direction the offset points is corrected against the month's length.
fn shift_day(c: &mut Civil, days: i64, forward: bool) {
    let Some(day) = c.day else { return };
    if forward {
        let day = day + days;
        c.day = Some(day);
        if month_days(c.year, c.mon).is_some_and(|len| len < day) {
            c.mon += 1;
            if c.mon > 12 {
                c.mon = 1;
                c.year = c.year.saturating_add(1);
            }
            c.day = Some(1);
        }
    } else {
        let day = day - days;
        c.day = Some(day);
        if day < 1 {
            c.mon -= 1;
            if c.mon < 1 {
                c.year = c.year.saturating_sub(1);
                c.mon = 12;
            }
            c.day = month_days(c.year, c.mon);
        }
    }
}

/// Ruby's `month_days`: a lookup in a 12-element Array, so month 0 reads December's length
/// (index -1) and months past 12 read `nil`.
fn month_days(year: i64, mon: i64) -> Option<i64> {
    const COMMON: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (year.rem_euclid(4) == 0 && year.rem_euclid(100) != 0) || year.rem_euclid(400) == 0;
    let index = if mon >= 1 { mon - 1 } else { mon - 1 + 12 };
    let days = *COMMON.get(usize::try_from(index).ok()?)?;
    Some(if leap && index == 1 { 29 } else { days })
}

/// `Time.utc(year, mon, day, hour, min, sec, usec)`: Ruby's argument checks in Ruby's order,
/// then day-of-month and leap-second overflow carried forward as Ruby does.
fn time_utc(c: &Civil, nanos: u32) -> Result<NaiveDateTime, Kind> {
    let mday = c.day.unwrap_or(1);
    for (value, bits) in [(c.mon, 4), (mday, 5), (c.hour, 5), (c.min, 6), (c.sec, 6)] {
        if !(0..1 << bits).contains(&value) {
            return Err(Kind::OutOfRange("argument out of range"));
        }
    }
    let last_min = if c.hour == 24 { 0 } else { 59 };
    let last_sec = if c.hour == 24 { 0 } else { 60 };
    in_range(c.mon, 1, 12, "mon out of range")?;
    in_range(mday, 1, 31, "mday out of range")?;
    in_range(c.hour, 0, 24, "hour out of range")?;
    in_range(c.min, 0, last_min, "min out of range")?;
    in_range(c.sec, 0, last_sec, "sec out of range")?;
    assemble(c, mday, nanos).ok_or(Kind::Unsupported(super::YEAR_RANGE))
}

fn in_range(value: i64, low: i64, high: i64, message: &'static str) -> Result<(), Kind> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(Kind::OutOfRange(message))
    }
}

fn assemble(c: &Civil, mday: i64, nanos: u32) -> Option<NaiveDateTime> {
    let year = i32::try_from(c.year).ok()?;
    let first = NaiveDate::from_ymd_opt(year, u32::try_from(c.mon).ok()?, 1)?;
    let date = first.checked_add_days(Days::new(u64::try_from(mday - 1).ok()?))?;
    let seconds = c.hour * 3600 + c.min * 60 + c.sec;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    midnight
        .checked_add_signed(TimeDelta::seconds(seconds))?
        .checked_add_signed(TimeDelta::nanoseconds(i64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i64, mon: i64, day: i64, hour: i64, min: i64, sec: i64) -> Civil {
        Civil {
            year,
            mon,
            day: Some(day),
            hour,
            min,
            sec,
        }
    }

    #[test]
    fn apply_offset_carries_like_ruby() {
        let mut c = civil(2024, 2, 30, 1, 0, 0);
        apply_offset(&mut c, 7200);
        assert_eq!(c, civil(2024, 2, 29, 23, 0, 0));

        let mut c = civil(2024, 2, 30, 23, 0, 0);
        apply_offset(&mut c, -7200);
        assert_eq!(c, civil(2024, 3, 1, 1, 0, 0));

        let mut c = civil(2024, 0, 31, 23, 0, 0);
        apply_offset(&mut c, -7200);
        assert_eq!(c, civil(2024, 1, 1, 1, 0, 0));

        let mut c = civil(2024, 1, 1, 0, 75, 0);
        apply_offset(&mut c, 1800);
        assert_eq!(c, civil(2024, 1, 1, 0, 45, 0));

        let mut c = civil(2024, 1, 1, 0, 30, 0);
        apply_offset(&mut c, 3600);
        assert_eq!(c, civil(2023, 12, 31, 23, 30, 0));

        // A positive offset whose hour carry moves the day forward is not month-corrected.
        let mut c = civil(1912, 1, 32, 30, 52, 0);
        apply_offset(&mut c, 19800);
        assert_eq!(c, civil(1912, 1, 33, 1, 22, 0));
    }

    #[test]
    fn month_days_indexes_like_a_ruby_array() {
        assert_eq!(month_days(2024, 2), Some(29));
        assert_eq!(month_days(1900, 2), Some(28));
        assert_eq!(month_days(2000, 2), Some(29));
        assert_eq!(month_days(2024, 0), Some(31));
        assert_eq!(month_days(2024, 13), None);
    }

    #[test]
    fn zone_forms() {
        let z = |s: &str| zone(&mut Cursor::trimmed(s));
        assert_eq!(
            z("Z"),
            Some(Some(Zone {
                offset: 0,
                utc: true
            }))
        );
        assert_eq!(
            z("-00"),
            Some(Some(Zone {
                offset: 0,
                utc: true
            }))
        );
        assert_eq!(
            z("+00:00"),
            Some(Some(Zone {
                offset: 0,
                utc: false
            }))
        );
        assert_eq!(
            z("+0530"),
            Some(Some(Zone {
                offset: 19800,
                utc: false
            }))
        );
        assert_eq!(
            z("-02"),
            Some(Some(Zone {
                offset: -7200,
                utc: false
            }))
        );
        assert_eq!(z(""), Some(None));
        assert_eq!(z("+2"), None);
    }
}
