//! [`RubyTime`] as a handler's argument type: a Time, DateTime or TimeWithZone argument
//! deserialized into an instant and its offset, read by Ruby's `Time.iso8601` rules.

use super::{parse_xmlschema, RubyTime};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// A handler takes a time argument as a `RubyTime` (`at: RubyTime` in its options struct).
///
/// Rails writes a `Time`, a `DateTime` and an `ActiveSupport::TimeWithZone` as ISO 8601 text,
/// and typed handlers are handed that text (the `Value` form of the argument prints it). This
/// reads it as [`parse_xmlschema`] does: Rails' UTC form by its digits, any other offset or
/// fraction by Ruby's rules, with Ruby's error (`invalid xmlschema format: "2024-02-29"`) and
/// the argument's path when it is not a time. A String argument in the same form is read
/// too, as a Ruby job calling `Time.iso8601` on it would.
///
/// The instant and its UTC offset are kept; a TimeWithZone's zone name is not (read it from
/// `ctx.job().arguments` where it matters).
///
/// ```
/// use activejob_karafka::arguments::{from_values, Value};
/// use activejob_karafka::ruby::time::RubyTime;
///
/// let instant = chrono::DateTime::parse_from_rfc3339("2026-11-24T21:27:56.175007Z")?.to_utc();
/// let (at,): (RubyTime,) = from_values(&[Value::time_utc(instant)])?;
/// assert_eq!(at.instant, instant);
/// assert!(at.utc);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'de> Deserialize<'de> for RubyTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimeText)
    }
}

/// Reads a [`RubyTime`] from its ISO 8601 text.
struct TimeText;

impl Visitor<'_> for TimeText {
    type Value = RubyTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Time, DateTime or TimeWithZone")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RubyTime, E> {
        parse_xmlschema(text).map_err(E::custom)
    }
}
