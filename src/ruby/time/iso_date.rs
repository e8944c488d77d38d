//! `Date.iso8601` and `DateTime.iso8601` from Ruby's `date` library, which read the Date and
//! DateTime serializers' values.
//!
//! Rails writes `2001-02-03` and `2001-02-03T04:05:06.123456000+03:00`, but Ruby accepts much
//! more: calendar dates with or without the day (`2024-02` is February 1), ordinal (`2024-060`)
//! and week (`2024-W09-4`) dates, two-digit years (`24-02-29`, completed to 1969–2068), basic
//! forms without separators (`20240229`, `240229`, `2024060`, `2024W094`, the time even without
//! its `T`: `202402291030`) and an optional time with `,` or `.` fractions and `Z`/`±hh[[:]mm]`
//! zones. A `Date` ignores the time part even when it is out of range. All of those are read
//! here as Ruby reads them, including its quirks: `2024-` is 2024-01-01 and `2024--29` is
//! 2024-01-29 (fields captured before the match is rejected stay behind), and seconds of 60
//! become 59.
//!
//! Not read (an error here, a date in Ruby): forms without a year, which Ruby completes from
//! the current date. Ruby limits the input to 128 bytes.

use super::calendar::{self, Civil};
use super::cursor::{nanos, signed, small, Cursor};
use super::TimeParseErrorKind as Kind;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};

/// Longest input Ruby's date parsers accept (`limit: 128`), in bytes.
const LIMIT: usize = 128;
/// Ruby's range for a DateTime offset; beyond it the offset is dropped with a warning.
const DAY_SECONDS: i64 = 86_400;
/// Why forms without a year are refused.
const NEEDS_TODAY: &str = "Ruby completes dates without a year from the current date";

/// The date fields a match produced, with the way Ruby's `*_new_by_frags` will treat them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DateFields {
    /// Year, month and day all given: validated directly; seconds of 60 become 59.
    Civil(Civil),
    /// Completed by `rt_complete_frags` (missing day or month is 1); seconds above 59 become 59.
    Completed(Civil),
    /// Year and day of the year.
    Ordinal(i64, i64),
    /// ISO week date: year, week, day of the week.
    Week(i64, i64, i64),
}

/// The optional time of day.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct TimeFields {
    hour: i64,
    min: i64,
    sec: i64,
    nanos: u32,
    offset: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Fields {
    date: DateFields,
    time: TimeFields,
}

/// What one regexp alternative made of the input.
enum Match {
    Fields(Fields),
    /// The calendar alternative matched but its callback refused it after storing some
    /// fields; Ruby goes on with those if nothing else matches.
    Leftover(Fields),
    NeedsToday,
}

/// Parses like `Date.iso8601`.
pub(super) fn parse_date(s: &str) -> Result<NaiveDate, Kind> {
    let fields = scan(s, false)?;
    date_of(fields.date)
}

/// Parses like `DateTime.iso8601`.
pub(super) fn parse_datetime(s: &str) -> Result<DateTime<FixedOffset>, Kind> {
    let fields = scan(s, true)?;
    let date = date_of(fields.date)?;
    let time = clamp_seconds(fields.date, fields.time);
    datetime_of(date, time)
}

fn scan(s: &str, datetime: bool) -> Result<Fields, Kind> {
    if s.len() > LIMIT {
        return Err(Kind::TooLong(s.len()));
    }
    let c = Cursor::trimmed(s);
    let mut leftover = None;
    for alternative in [extended, basic] {
        match alternative(c) {
            Some(Match::Fields(fields)) => return Ok(fields),
            Some(Match::NeedsToday) => return Err(Kind::Unsupported(NEEDS_TODAY)),
            Some(Match::Leftover(fields)) => leftover = Some(fields),
            None => {}
        }
    }
    if datetime && time_only(c) {
        return Err(Kind::Unsupported(NEEDS_TODAY));
    }
    leftover.ok_or(Kind::InvalidDate)
}

/// `date__iso8601`'s extended regexp: calendar, then ordinal, then week alternatives.
fn extended(c: Cursor) -> Option<Match> {
    ext_calendar(c)
        .or_else(|| ext_ordinal(c))
        .or_else(|| ext_week(c))
        .or_else(|| ext_weekday_only(c))
}

/// `([-+]?\d{2,}|-)-(\d{2})?(?:-(\d{2}))?` + time.
fn ext_calendar(start: Cursor) -> Option<Match> {
    let signed_year = {
        let mut c = start;
        c.signed_digits(2)
            .and_then(|year| ext_calendar_rest(c, Some(year)))
    };
    signed_year.or_else(|| {
        let mut c = start;
        c.eat(b'-').then(|| ext_calendar_rest(c, None)).flatten()
    })
}

fn ext_calendar_rest(mut c: Cursor, year: Option<&str>) -> Option<Match> {
    c.eat(b'-').then_some(())?;
    let mon = c.digits(2).map(small);
    let mut before_day = c;
    let day = if before_day.eat(b'-') {
        before_day.digits(2).map(small)
    } else {
        None
    };
    if day.is_some() {
        c = before_day;
    }
    let time = ext_time_to_end(&mut c)?;
    let Some(year) = year.map(year_value) else {
        return Some(Match::NeedsToday);
    };
    Some(match (mon, day) {
        (Some(mon), Some(day)) => Match::Fields(Fields {
            date: DateFields::Civil((year, mon, day)),
            time,
        }),
        (Some(mon), None) => Match::Fields(Fields {
            date: DateFields::Completed((year, mon, 1)),
            time,
        }),
        // The callback stored year and day, then refused: the time was never stored.
        (None, day) => Match::Leftover(Fields {
            date: DateFields::Completed((year, 1, day.unwrap_or(1))),
            time: TimeFields::default(),
        }),
    })
}

/// `([-+]?\d{2,})?-(\d{3})` + time.
fn ext_ordinal(start: Cursor) -> Option<Match> {
    let with_year = {
        let mut c = start;
        c.signed_digits(2)
            .and_then(|year| ext_ordinal_rest(c, Some(year)))
    };
    with_year.or_else(|| ext_ordinal_rest(start, None))
}

fn ext_ordinal_rest(mut c: Cursor, year: Option<&str>) -> Option<Match> {
    c.eat(b'-').then_some(())?;
    let yday = small(c.digits(3)?);
    let time = ext_time_to_end(&mut c)?;
    Some(match year {
        Some(year) => Match::Fields(Fields {
            date: DateFields::Ordinal(year_value(year), yday),
            time,
        }),
        None => Match::NeedsToday,
    })
}

/// `(\d{4}|\d{2})?-w(\d{2})-(\d)` + time.
fn ext_week(start: Cursor) -> Option<Match> {
    [4, 2]
        .into_iter()
        .find_map(|len| {
            let mut c = start;
            c.digits(len).and_then(|year| ext_week_rest(c, Some(year)))
        })
        .or_else(|| ext_week_rest(start, None))
}

fn ext_week_rest(mut c: Cursor, year: Option<&str>) -> Option<Match> {
    (c.eat(b'-') && c.eat_ci(b'w')).then_some(())?;
    let week = small(c.digits(2)?);
    c.eat(b'-').then_some(())?;
    let wday = small(c.digits(1)?);
    let time = ext_time_to_end(&mut c)?;
    Some(match year {
        Some(year) => Match::Fields(Fields {
            date: DateFields::Week(year_value(year), week, wday),
            time,
        }),
        None => Match::NeedsToday,
    })
}

/// `-w-(\d)` + time: a weekday of the current week.
fn ext_weekday_only(mut c: Cursor) -> Option<Match> {
    (c.eat(b'-') && c.eat_ci(b'w') && c.eat(b'-') && c.digits(1).is_some()).then_some(())?;
    ext_time_to_end(&mut c).map(|_| Match::NeedsToday)
}

/// `(?:t(\d{2}):(\d{2})(?::(\d{2})(?:[,.](\d+))?)?(zone)?)?\s*\z`; `None` when it does not
/// match to the end.
fn ext_time_to_end(c: &mut Cursor) -> Option<TimeFields> {
    let mut time = TimeFields::default();
    if c.eat_ci(b't') {
        time.hour = small(c.digits(2)?);
        c.eat(b':').then_some(())?;
        time.min = small(c.digits(2)?);
        let mut seconds = *c;
        if seconds.eat(b':') {
            if let Some(sec) = seconds.digits(2) {
                time.sec = small(sec);
                time.nanos = fraction(&mut seconds)?;
                *c = seconds;
            }
        }
        time.offset = zone(c, true)?;
    }
    c.at_end().then_some(time)
}

/// `(?:[,.](\d+))?` after seconds: `Some(0)` when absent, `None` when a separator has no digits.
fn fraction(c: &mut Cursor) -> Option<u32> {
    if c.eat_any(b",.").is_none() {
        return Some(0);
    }
    let digits = c.digit_run();
    (!digits.is_empty()).then(|| nanos(digits))
}

/// `(z|[-+]\d{2}(?::?\d{2})?)?` (`colon` false: no `:` allowed): `Some(None)` when absent.
fn zone(c: &mut Cursor, colon: bool) -> Option<Option<i64>> {
    if c.eat_ci(b'z') {
        return Some(Some(0));
    }
    let Some(sign) = c.eat_any(b"+-") else {
        return Some(None);
    };
    let hours = small(c.digits(2)?);
    let minutes = if colon && c.eat(b':') {
        Some(c.digits(2)?)
    } else {
        c.digits(2)
    };
    let magnitude = hours * 3600 + minutes.map_or(0, small) * 60;
    Some(Some(if sign == b'-' { -magnitude } else { magnitude }))
}

/// `date__iso8601`'s basic regexp: calendar, ordinal and week alternatives without
/// separators, in Ruby's order and with its backtracking (a four-digit year is tried before a
/// two-digit one).
fn basic(c: Cursor) -> Option<Match> {
    bas_calendar(c)
        .or_else(|| bas_ordinal(c))
        .or_else(|| bas_yearless(c))
        .or_else(|| bas_week(c))
}

/// Where `[-+]?(?:\d{4}|\d{2})` (or `\d{4}|\d{2}` when not `signed`) can end, with the token
/// it consumed, in the order the regexp tries them.
fn year_tokens(start: Cursor<'_>, signed: bool) -> Vec<(Cursor<'_>, &str)> {
    let mut after_sign = start;
    if signed {
        after_sign.eat_any(b"+-");
    }
    [4, 2]
        .into_iter()
        .filter_map(|len| {
            let mut c = after_sign;
            c.digits(len)?;
            Some((c, c.since(&start)))
        })
        .collect()
}

/// `([-+]?(?:\d{4}|\d{2})|--)(\d{2}|-)(\d{2})` + basic time.
fn bas_calendar(start: Cursor) -> Option<Match> {
    let mut candidates: Vec<(Cursor, Option<&str>)> = year_tokens(start, true)
        .into_iter()
        .map(|(c, token)| (c, Some(token)))
        .collect();
    let mut yearless = start;
    if yearless.eat(b'-') && yearless.eat(b'-') {
        candidates.push((yearless, None));
    }
    candidates.into_iter().find_map(|(after_year, year)| {
        [true, false].into_iter().find_map(|month_digits| {
            let mut c = after_year;
            let mon = if month_digits {
                Some(small(c.digits(2)?))
            } else {
                c.eat(b'-').then_some(None)?
            };
            let day = small(c.digits(2)?);
            let time = bas_time_to_end(&mut c)?;
            Some(bas_calendar_fields(year, mon, day, time))
        })
    })
}

fn bas_calendar_fields(year: Option<&str>, mon: Option<i64>, day: i64, time: TimeFields) -> Match {
    let Some(year) = year.map(year_value) else {
        return Match::NeedsToday;
    };
    match mon {
        Some(mon) => Match::Fields(Fields {
            date: DateFields::Civil((year, mon, day)),
            time,
        }),
        // The callback stored day and year, then refused the `-` month: no time was stored.
        None => Match::Leftover(Fields {
            date: DateFields::Completed((year, 1, day)),
            time: TimeFields::default(),
        }),
    }
}

/// `([-+]?(?:\d{4}|\d{2}))(\d{3})` + basic time.
fn bas_ordinal(start: Cursor) -> Option<Match> {
    year_tokens(start, true)
        .into_iter()
        .find_map(|(mut c, year)| {
            let yday = small(c.digits(3)?);
            let time = bas_time_to_end(&mut c)?;
            let date = DateFields::Ordinal(year_value(year), yday);
            Some(Match::Fields(Fields { date, time }))
        })
}

/// `-(\d{3})`, `-w(\d{2})(\d)` and `-w-(\d)` + basic time: dates in the current year or week.
fn bas_yearless(start: Cursor) -> Option<Match> {
    let mut after_dash = start;
    after_dash.eat(b'-').then_some(())?;
    let shapes: [fn(&mut Cursor) -> bool; 3] = [
        |c| c.digits(3).is_some(),
        |c| c.eat_ci(b'w') && c.digits(2).is_some() && c.digits(1).is_some(),
        |c| c.eat_ci(b'w') && c.eat(b'-') && c.digits(1).is_some(),
    ];
    shapes.iter().find_map(|shape| {
        let mut c = after_dash;
        shape(&mut c).then_some(())?;
        bas_time_to_end(&mut c).map(|_| Match::NeedsToday)
    })
}

/// `(\d{4}|\d{2})w(\d{2})(\d)` + basic time.
fn bas_week(start: Cursor) -> Option<Match> {
    year_tokens(start, false)
        .into_iter()
        .find_map(|(mut c, year)| {
            c.eat_ci(b'w').then_some(())?;
            let week = small(c.digits(2)?);
            let wday = small(c.digits(1)?);
            let time = bas_time_to_end(&mut c)?;
            let date = DateFields::Week(year_value(year), week, wday);
            Some(Match::Fields(Fields { date, time }))
        })
}

/// `(?:t?(\d{2})(\d{2})(?:(\d{2})(?:[,.](\d+))?)?(z|[-+]\d{2}(?:\d{2})?)?)?\s*\z`.
fn bas_time_to_end(c: &mut Cursor) -> Option<TimeFields> {
    let mut time = TimeFields::default();
    let mut t = *c;
    t.eat_ci(b't');
    if let (Some(hour), Some(min)) = (t.digits(2), t.digits(2)) {
        time.hour = small(hour);
        time.min = small(min);
        if let Some(sec) = t.digits(2) {
            time.sec = small(sec);
            time.nanos = fraction(&mut t)?;
        }
        time.offset = zone(&mut t, false)?;
        *c = t;
    }
    c.at_end().then_some(time)
}

/// Whether the input is a bare time, which Ruby dates today: `date__iso8601`'s extended
/// `(\d{2}):(\d{2})(?::(\d{2})(?:[,.](\d+))?(zone)?)?` or basic
/// `(\d{2})(\d{2})(?:(\d{2})(?:[,.](\d+))?(zone)?)?` time regexp, matched to the end.
fn time_only(start: Cursor) -> bool {
    [true, false].into_iter().any(|extended| {
        let mut c = start;
        bare_time(&mut c, extended).is_some() && c.at_end()
    })
}

fn bare_time(c: &mut Cursor, extended: bool) -> Option<()> {
    c.digits(2)?;
    if extended {
        c.eat(b':').then_some(())?;
    }
    c.digits(2)?;
    let mut seconds = *c;
    if extended && !seconds.eat(b':') {
        return Some(());
    }
    if seconds.digits(2).is_some() {
        fraction(&mut seconds)?;
        zone(&mut seconds, extended)?;
        *c = seconds;
    }
    Some(())
}

/// A year token's value; tokens shorter than four characters (sign included) are completed
/// to 1969–2068 as Ruby's `comp_year69` does.
fn year_value(token: &str) -> i64 {
    let year = signed(token);
    match token.len() {
        n if n >= 4 => year,
        _ if year >= 69 => year + 1900,
        _ => year + 2000,
    }
}

/// The date's labels as a `NaiveDate`, if Ruby accepts the date.
fn date_of(date: DateFields) -> Result<NaiveDate, Kind> {
    let supported = i64::from(NaiveDate::MIN.year())..=i64::from(NaiveDate::MAX.year());
    if !supported.contains(&date.year()) {
        return Err(Kind::Unsupported(super::YEAR_RANGE));
    }
    let (year, mon, day) = labels(date).ok_or(Kind::InvalidDate)?;
    let naive = i32::try_from(year).ok().and_then(|y| {
        NaiveDate::from_ymd_opt(y, u32::try_from(mon).ok()?, u32::try_from(day).ok()?)
    });
    naive.ok_or(Kind::Unsupported(if (mon, day) == (2, 29) {
        "a Julian leap day before 1582 has no proleptic Gregorian date"
    } else {
        super::YEAR_RANGE
    }))
}

impl DateFields {
    fn year(&self) -> i64 {
        match *self {
            DateFields::Civil((y, _, _)) | DateFields::Completed((y, _, _)) => y,
            DateFields::Ordinal(y, _) | DateFields::Week(y, _, _) => y,
        }
    }
}

/// Validates like Ruby and returns the civil labels Ruby prints for the date.
fn labels(date: DateFields) -> Option<Civil> {
    match date {
        DateFields::Civil((y, m, d)) | DateFields::Completed((y, m, d)) => {
            calendar::valid_civil(y, m, d).map(|_| (y, m, d))
        }
        DateFields::Ordinal(y, yday) => calendar::valid_ordinal(y, yday).map(calendar::jd_to_civil),
        DateFields::Week(y, w, d) => calendar::valid_commercial(y, w, d).map(calendar::jd_to_civil),
    }
}

/// Ruby's seconds fix-ups before the time is validated: 60 becomes 59 when year, month and day
/// were all given, anything above 59 becomes 59 otherwise.
fn clamp_seconds(date: DateFields, mut time: TimeFields) -> TimeFields {
    let clamp = match date {
        DateFields::Civil(_) => time.sec == 60,
        _ => time.sec > 59,
    };
    if clamp {
        time.sec = 59;
    }
    time
}

fn datetime_of(date: NaiveDate, time: TimeFields) -> Result<DateTime<FixedOffset>, Kind> {
    let TimeFields { hour, min, sec, .. } = time;
    let valid = hour <= 24 && min <= 59 && sec <= 59 && (hour < 24 || (min == 0 && sec == 0));
    if !valid {
        return Err(Kind::InvalidDate);
    }
    let offset = datetime_offset(time.offset)?;
    let local = local_datetime(date, time).ok_or(Kind::Unsupported(super::YEAR_RANGE))?;
    offset
        .from_local_datetime(&local)
        .single()
        .ok_or(Kind::Unsupported(super::YEAR_RANGE))
}

/// The offset Ruby keeps: none is UTC, beyond ±24 hours is dropped (Ruby warns "invalid offset
/// is ignored"), exactly ±24 hours is valid in Ruby but not representable here.
fn datetime_offset(offset: Option<i64>) -> Result<FixedOffset, Kind> {
    let seconds = offset.filter(|o| o.abs() <= DAY_SECONDS).unwrap_or(0);
    i32::try_from(seconds)
        .ok()
        .and_then(FixedOffset::east_opt)
        .ok_or(Kind::Unsupported("a DateTime offset of 24 hours"))
}

fn local_datetime(date: NaiveDate, time: TimeFields) -> Option<NaiveDateTime> {
    let seconds = time.hour * 3600 + time.min * 60 + time.sec;
    date.and_hms_opt(0, 0, 0)?
        .checked_add_signed(TimeDelta::seconds(seconds))?
        .checked_add_signed(TimeDelta::nanoseconds(i64::from(time.nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Result<String, Kind> {
        parse_date(s).map(|d| d.to_string())
    }

    #[test]
    fn year_completion() {
        assert_eq!(year_value("24"), 2024);
        assert_eq!(year_value("69"), 1969);
        assert_eq!(year_value("+24"), 2024);
        assert_eq!(year_value("-24"), 1976);
        assert_eq!(year_value("024"), 2024);
        assert_eq!(year_value("-024"), -24);
        assert_eq!(year_value("2024"), 2024);
    }

    #[test]
    fn leftover_fields() {
        assert_eq!(date("2024-").as_deref(), Ok("2024-01-01"));
        assert_eq!(date("2024--29").as_deref(), Ok("2024-01-29"));
    }

    #[test]
    fn forms_that_need_today() {
        for s in ["--02-29", "-060", "-W09-4", "-w-4"] {
            assert!(matches!(parse_date(s), Err(Kind::Unsupported(_))), "{s}");
        }
        assert!(matches!(parse_datetime("10:00"), Err(Kind::Unsupported(_))));
        assert_eq!(parse_date("10:00"), Err(Kind::InvalidDate));
    }
}
