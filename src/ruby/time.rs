//! Ruby's `Time`, `Date` and `DateTime` text forms as ActiveJob reads and writes them.
//!
//! Rails writes times with `iso8601(9)` and reads them back with `Time.iso8601`,
//! `Date.iso8601` and `DateTime.iso8601`. What those accept decides whether a payload decodes
//! at all (Rails 7.1+ raises `ArgumentError: invalid xmlschema format` for a bad `enqueued_at`),
//! and what `iso8601(9)` prints is what the typed dump compares, so both directions follow Ruby
//! rather than RFC 3339:
//! - `Time.iso8601` wants seconds and accepts any fraction length, `Z`, `±hh:mm`, `±hhmm` or
//!   `±hh`; `Z` and `-00:00` make the time `utc?` (printed with `Z`), `+00:00` does not.
//! - `Date.iso8601` and `DateTime.iso8601` accept many ISO 8601 forms (see the parse functions).
//! - Years print with at least four digits and a leading `-` when negative; offsets print as
//!   `±hh:mm`, dropping any seconds.
//!
//! Dates carry Ruby's civil labels: before 1582-10-15 Ruby's `Date` uses the Julian calendar,
//! and `NaiveDate` here holds the same year, month and day numbers Ruby prints (a database date
//! column reaches Ruby the same way), not the same Julian Day.

mod argument;
mod calendar;
mod cursor;
pub(crate) mod digits;
mod iso_date;
mod xmlschema;

use super::string::inspect_str;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use std::fmt;

/// Why a value is refused when Ruby would accept it but the year does not fit chrono's range.
const YEAR_RANGE: &str = "the year is outside the range chrono can represent";

/// A Ruby `Time`: an instant, the offset it is shown in, and Ruby's `Time#utc?`.
///
/// It is also the argument type for a handler that takes a Time, DateTime or TimeWithZone
/// argument: see its `Deserialize` implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RubyTime {
    /// The instant and the UTC offset Ruby shows it in (`Time#utc_offset`).
    pub instant: DateTime<FixedOffset>,
    /// Ruby's `Time#utc?`: true for times parsed with `Z` (or `-00:00`) and for `Time#utc`;
    /// such times print with `Z` instead of `+00:00`.
    pub utc: bool,
}

impl RubyTime {
    /// A UTC time, as `Time#utc` makes it (prints with `Z`).
    pub fn from_utc(instant: DateTime<Utc>) -> RubyTime {
        RubyTime {
            instant: instant.fixed_offset(),
            utc: true,
        }
    }

    /// Ruby's `Time#utc_offset` in seconds.
    pub fn utc_offset(&self) -> i32 {
        if self.utc {
            0
        } else {
            self.instant.offset().local_minus_utc()
        }
    }
}

/// What kind of text was being parsed, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Time,
    Date,
    DateTime,
}

/// Why a time or date text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeParseErrorKind {
    /// `Time.iso8601` does not recognise the shape (`ArgumentError: invalid xmlschema format`).
    Format,
    /// A field is outside what Ruby's `Time.utc` accepts; holds Ruby's message
    /// (`mon out of range`, `argument out of range`, `utc_offset out of range`, ...).
    OutOfRange(&'static str),
    /// `Date.iso8601`/`DateTime.iso8601` refuse it (`Date::Error: invalid date`).
    InvalidDate,
    /// Longer than the 128 bytes Ruby's date parsers accept (`ArgumentError`).
    TooLong(usize),
    /// Ruby accepts it, but the result cannot be represented here; says why.
    Unsupported(&'static str),
}

/// A time or date text that Ruby would refuse (or that cannot be represented here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeParseError {
    kind: TimeParseErrorKind,
    target: Target,
    input: String,
}

impl TimeParseError {
    fn new(target: Target, input: &str, kind: TimeParseErrorKind) -> Self {
        TimeParseError {
            kind,
            target,
            input: input.to_owned(),
        }
    }

    /// Why the text was refused.
    pub fn kind(&self) -> &TimeParseErrorKind {
        &self.kind
    }

    /// The text that was refused.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The class of the exception Ruby raises for this input (`ArgumentError`, `Date::Error`),
    /// or `None` when Ruby accepts it.
    pub fn ruby_class(&self) -> Option<&'static str> {
        match self.kind {
            TimeParseErrorKind::InvalidDate => Some("Date::Error"),
            TimeParseErrorKind::Unsupported(_) => None,
            _ => Some("ArgumentError"),
        }
    }

    /// The message of the exception Ruby raises for this input, or `None` when Ruby accepts it.
    pub fn ruby_message(&self) -> Option<String> {
        match &self.kind {
            TimeParseErrorKind::Format => Some(format!(
                "invalid xmlschema format: {}",
                inspect_str(&self.input)
            )),
            TimeParseErrorKind::OutOfRange(message) => Some((*message).to_owned()),
            TimeParseErrorKind::InvalidDate => Some("invalid date".to_owned()),
            TimeParseErrorKind::TooLong(len) => {
                Some(format!("string length ({len}) exceeds the limit 128"))
            }
            TimeParseErrorKind::Unsupported(_) => None,
        }
    }
}

impl fmt::Display for TimeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = inspect_str(&self.input);
        let what = match self.target {
            Target::Time => "a time",
            Target::Date => "a date",
            Target::DateTime => "a datetime",
        };
        match &self.kind {
            TimeParseErrorKind::Format => write!(f, "invalid xmlschema format: {quoted}"),
            TimeParseErrorKind::OutOfRange(m) => write!(f, "{quoted} is not {what}: {m}"),
            TimeParseErrorKind::InvalidDate => write!(f, "{quoted} is not {what}"),
            TimeParseErrorKind::TooLong(len) => write!(
                f,
                "{quoted} is not {what}: string length ({len}) exceeds the limit 128"
            ),
            TimeParseErrorKind::Unsupported(why) => {
                write!(f, "{quoted} cannot be read as {what}: {why}")
            }
        }
    }
}

impl std::error::Error for TimeParseError {}

/// Ruby's `Time.xmlschema` / `Time.iso8601`: `YYYY-MM-DDThh:mm:ss[.fraction][zone]`.
///
/// The fraction may be any length (nanoseconds are kept, the rest truncated, as `iso8601(9)`
/// prints). The zone is `Z`, `±hh:mm`, `±hhmm` or `±hh`; without one Ruby uses the worker's
/// local zone, and this reads it as UTC (offset `+00:00`, not `utc?`), what a worker with
/// `TZ=UTC` reads. Field overflow follows Ruby (`2024-02-30T00:00:00Z` is March 1, `24:00:00`
/// is the next midnight, second 60 rolls over), and so do its errors:
/// `invalid xmlschema format: "yesterday"`, `mon out of range`, `utc_offset out of range`.
pub fn parse_xmlschema(s: &str) -> Result<RubyTime, TimeParseError> {
    xmlschema::parse(s).map_err(|kind| TimeParseError::new(Target::Time, s, kind))
}

/// Reads `2024-03-15T12:30:45.123456789Z` (and shorter fractions) as [`parse_xmlschema`]
/// does, or `None` for any other form; for texts read once per job.
pub(crate) fn parse_plain_utc(s: &str) -> Option<RubyTime> {
    xmlschema::plain_utc(s.as_bytes())
}

/// The length of `2026-11-24T21:27:56.175007000Z`, a UTC time as Rails 7.1+ writes one (nine
/// fraction digits).
pub(crate) const RAILS_UTC_LEN: usize = 30;

/// Whether [`parse_plain_utc`] reads `b`, checked by its digits without building the time: a
/// time Ruby's `Time.iso8601` reads as written.
pub(crate) fn is_plain_utc(b: &[u8]) -> bool {
    digits::utc_form(b).is_some()
}

/// Reads `2024-03-15T14:30:45.123456789+02:00` as [`parse_xmlschema`] does, or `None` for any
/// other form; a text taken is printed back as written by [`format_iso8601_9`], and by
/// [`format_datetime_iso8601_9`] after [`parse_datetime`].
pub(crate) fn parse_plain_offset(s: &str) -> Option<RubyTime> {
    xmlschema::plain_offset(s.as_bytes())
}

/// Ruby's `Time#iso8601(9)`: `2024-03-15T12:30:45.123456789Z` for a `utc?` time, else the
/// local time and `±hh:mm`.
pub fn format_iso8601_9(t: &RubyTime) -> String {
    if t.utc {
        let mut text = local_9(&t.instant.naive_utc());
        text.push('Z');
        text
    } else {
        format_with_offset(&t.instant)
    }
}

/// Ruby's `Date.iso8601`. Besides the `2024-02-29` Rails writes, Ruby accepts (and so does this)
/// `2024-02` (the 1st), ordinal `2024-060` and week `2024-W09-4` dates, two-digit years
/// (`24-02-29`, completed to 1969–2068), the same without separators (`20240229`, `240229`)
/// and a trailing time, which a Date ignores. Invalid dates such as `2024-02-30` are refused as
/// Ruby refuses them (`Date::Error: invalid date`); so are dates lost in the 1582 calendar
/// reform. Forms without a year (`--02-29`), which Ruby completes from today's date, and Julian
/// leap days that have no proleptic Gregorian date (`1500-02-29`) are
/// [`TimeParseErrorKind::Unsupported`].
pub fn parse_date(s: &str) -> Result<NaiveDate, TimeParseError> {
    iso_date::parse_date(s).map_err(|kind| TimeParseError::new(Target::Date, s, kind))
}

/// Whether `text` is a `YYYY-MM-DD` date (year 1583 or later, after the calendar reform) that
/// [`parse_date`] reads and [`format_date`] prints back exactly as written, told without the
/// general parser. `false` says nothing: the text may still be a date.
pub(crate) fn date_prints_as_written(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0_u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    year >= 1583 && NaiveDate::from_ymd_opt(year as i32, month, day).is_some()
}

/// Ruby's `Date#iso8601`: `2024-02-29`, `-0001-12-31`, `12345-01-01`.
pub fn format_date(d: NaiveDate) -> String {
    let mut text = String::with_capacity(10);
    push_date(&mut text, d.year(), d.month(), d.day());
    text
}

/// Ruby's `DateTime.iso8601`: the date forms of [`parse_date`] with an optional time
/// (`T04:05`, `T04:05:06.123456789`, `,` also separates the fraction, basic `T040506`). No zone
/// means `+00:00`; offsets beyond ±24 hours are dropped (Ruby warns and uses `+00:00`); second
/// 60 becomes 59; `24:00:00` is the next midnight. A bare time (`10:00`), which Ruby puts on
/// today's date, and an offset of exactly ±24 hours are [`TimeParseErrorKind::Unsupported`].
pub fn parse_datetime(s: &str) -> Result<DateTime<FixedOffset>, TimeParseError> {
    iso_date::parse_datetime(s).map_err(|kind| TimeParseError::new(Target::DateTime, s, kind))
}

/// Ruby's `DateTime#iso8601(9)`: always a numeric offset (`+00:00` for UTC, never `Z`).
pub fn format_datetime_iso8601_9(dt: &DateTime<FixedOffset>) -> String {
    format_with_offset(dt)
}

fn format_with_offset(dt: &DateTime<FixedOffset>) -> String {
    let mut text = local_9(&dt.naive_local());
    push_offset(&mut text, dt.offset().local_minus_utc());
    text
}

/// `±hh:mm` as Ruby's `%:z` and ActiveSupport's `seconds_to_utc_offset` print it: seconds of
/// the offset are dropped, `-` only for negative offsets.
pub fn format_offset(seconds: i32) -> String {
    let mut text = String::with_capacity(6);
    push_offset(&mut text, seconds);
    text
}

/// [`format_offset`] pushed onto `text`.
pub(crate) fn push_offset(text: &mut String, seconds: i32) {
    text.push(if seconds < 0 { '-' } else { '+' });
    let magnitude = seconds.unsigned_abs();
    // Hours beyond 99 (never a real offset) print in full, as `{:02}` would.
    let hours = magnitude / 3600;
    if hours < 100 {
        push_digits(text, hours, 2);
    } else {
        text.push_str(&hours.to_string());
    }
    text.push(':');
    push_digits(text, magnitude % 3600 / 60, 2);
}

/// `%Y-%m-%dT%H:%M:%S.%9N` the way Ruby prints it.
pub(crate) fn local_9(t: &NaiveDateTime) -> String {
    // Digits pushed by hand: `format!` was a tenth of decoding a payload with times.
    let mut text = String::with_capacity(36);
    push_date(&mut text, t.year(), t.month(), t.day());
    text.push('T');
    push_digits(&mut text, t.hour(), 2);
    text.push(':');
    push_digits(&mut text, t.minute(), 2);
    text.push(':');
    push_digits(&mut text, t.second(), 2);
    text.push('.');
    push_digits(&mut text, t.nanosecond() % 1_000_000_000, 9);
    text
}

/// `%Y-%m-%d`.
fn push_date(text: &mut String, y: i32, month: u32, day: u32) {
    match u32::try_from(y) {
        Ok(y) if y <= 9999 => push_digits(text, y, 4),
        _ => text.push_str(&year(y)),
    }
    text.push('-');
    push_digits(text, month, 2);
    text.push('-');
    push_digits(text, day, 2);
}

/// `n` in decimal, zero-padded to `width` digits (`n` has no more).
fn push_digits(text: &mut String, n: u32, width: u32) {
    let mut divisor = 10_u32.pow(width - 1);
    while divisor > 0 {
        text.push(char::from(b'0' + (n / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// Ruby's `%Y`: at least four digits, negative years with a leading `-` (year 0 is `0000`,
/// year -1 is `-0001`).
fn year(y: i32) -> String {
    if y < 0 {
        format!("-{:04}", y.unsigned_abs())
    } else {
        format!("{y:04}")
    }
}

#[cfg(test)]
mod tests;
