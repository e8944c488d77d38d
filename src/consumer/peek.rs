//! A targeted read of the two envelope fields the runtime itself needs before a job runs:
//! `scheduled_at` (to hold a partition until it is due) and the first argument (to choose a
//! virtual partition). One pass per message that skips everything else; the handler still
//! decodes the whole job its own way.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::payload_format::{job_json_in, PayloadFormat};

/// What was read from one payload.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Peeked {
    /// `scheduled_at` as a point in time; `None` when absent, null or unreadable.
    pub(crate) scheduled_at: Option<SystemTime>,
    /// The first argument as a virtual-partition key (see [`first_argument_key`]).
    pub(crate) first_argument: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    scheduled_at: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "first_of")]
    arguments: Option<serde_json::Value>,
}

/// Reads only the first element of the `arguments` array; the rest is skipped unparsed.
fn first_of<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<serde_json::Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the arguments array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<serde_json::Value>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(First)
}

/// The key of a first argument: a string's own text (what Ruby's `to_s` gives, so a
/// `->(m) { m.payload["arguments"].first }` partitioner sees the same key), anything else its
/// serialized JSON (`42`, `{"_aj_globalid":"gid://app/User/1"}`): the same Ruby value always
/// serializes to the same text, so it always lands in the same group.
fn first_argument_key(v: serde_json::Value) -> Vec<u8> {
    match v {
        serde_json::Value::String(s) => s.into_bytes(),
        other => serde_json::to_vec(&other).unwrap_or_default(),
    }
}

/// Reads `scheduled_at` and/or the first argument of an ActiveJob payload, found in the message
/// payload through the application's `format`. A payload that is not a JSON object (or not in
/// the format) reads as nothing: the job itself reports it when it runs.
pub(crate) fn peek(
    payload: &[u8],
    format: Option<&dyn PayloadFormat>,
    want_first_argument: bool,
) -> Peeked {
    let Ok(job_json) = job_json_in(format, payload) else {
        return Peeked::default();
    };
    let Ok(env) = serde_json::from_slice::<Envelope<'_>>(&job_json) else {
        return Peeked::default();
    };
    let scheduled_at = env.scheduled_at.as_deref().and_then(parse_time);
    let first_argument = if want_first_argument {
        env.arguments.map(first_argument_key)
    } else {
        None
    };
    Peeked {
        scheduled_at,
        first_argument,
    }
}

fn parse_time(text: &str) -> Option<SystemTime> {
    // Ruby's Time.iso8601 rules, as the job's own decode reads the field.
    let t = crate::ruby::time::parse_xmlschema(text).ok()?;
    Some(SystemTime::from(t.instant.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload_format::testing::Prefixed;
    use std::time::{Duration, UNIX_EPOCH};

    /// A payload as Karafka writes it by default.
    fn plain(payload: &[u8], want_first_argument: bool) -> Peeked {
        peek(payload, None, want_first_argument)
    }

    #[test]
    fn reads_through_the_applications_payload_format() {
        let job = br#"{"arguments":["tenant-7"],"scheduled_at":"2026-01-01T00:00:00Z"}"#;
        let format = Prefixed("aj:");
        let wrapped = format.payload(job.to_vec()).unwrap();
        let p = peek(&wrapped, Some(&format), true);
        assert_eq!(p.first_argument.as_deref(), Some(&b"tenant-7"[..]));
        assert_eq!(
            p.scheduled_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        );
        // Read without the format, or not in the format: nothing.
        assert_eq!(plain(&wrapped, true), Peeked::default());
        assert_eq!(peek(job, Some(&format), true), Peeked::default());
    }

    #[test]
    fn reads_scheduled_at_and_the_first_argument_only() {
        let p = plain(
            br#"{"job_class":"A","arguments":[{"_aj_globalid":"gid://app/User/1"},[1,2],"x"],
                "scheduled_at":"2026-01-01T00:00:01.500000000Z"}"#,
            true,
        );
        assert_eq!(
            p.scheduled_at,
            Some(UNIX_EPOCH + Duration::from_millis(1_767_225_601_500))
        );
        assert_eq!(
            p.first_argument.as_deref(),
            Some(&br#"{"_aj_globalid":"gid://app/User/1"}"#[..])
        );
        let p = plain(br#"{"arguments":["tenant-7"],"scheduled_at":null}"#, true);
        assert_eq!(p.scheduled_at, None);
        assert_eq!(p.first_argument.as_deref(), Some(&b"tenant-7"[..]));
        let p = plain(br#"{"arguments":[42]}"#, false);
        assert_eq!(p, Peeked::default());
        assert_eq!(
            plain(br#"{"arguments":[42]}"#, true)
                .first_argument
                .as_deref(),
            Some(&b"42"[..])
        );
        assert_eq!(plain(br#"{"arguments":[]}"#, true).first_argument, None);
        assert_eq!(plain(b"not json", true), Peeked::default());
        assert_eq!(
            plain(br#"{"scheduled_at":"yesterday"}"#, true),
            Peeked::default()
        );
        // Rails 6.1 writes no fraction digits and may use an offset.
        assert_eq!(
            plain(br#"{"scheduled_at":"2026-01-01T01:00:00+01:00"}"#, false).scheduled_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        );
    }
}
