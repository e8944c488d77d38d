//! Envelope times read in place: the form Rails writes checked by its digits, parsed only when
//! asked for.

use super::Span;
use crate::arguments::lexer::Lexer;
use crate::envelope::EnvelopeTime;
use crate::ruby::time::{is_plain_utc, RAILS_UTC_LEN};
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
                    // `is_plain_utc` only passes texts `from_text` reads.
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
            let rails = start + RAILS_UTC_LEN;
            if lex.bytes.get(rails) == Some(&b'"') && is_plain_utc(&lex.bytes[start..rails]) {
                lex.at = rails + 1;
                return plain(start..rails);
            }
            match lex.string()? {
                Cow::Borrowed(text) if is_plain_utc(text.as_bytes()) => plain(start..lex.at - 1),
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
