//! The envelope read in place: where each top-level value is in the job's JSON, with the checks
//! Rails 8.1's `deserialize` makes on it, and nothing owned but the two times.
//!
//! [`read_into`] gives `None` for anything it does not take exactly as [`Job::decode_with`] does
//! (an error, a key written with escapes, a repeated key, a number that is not a plain `i64`);
//! the caller then decodes the owned way, which decides and words the error. A continuable job's
//! progress is checked in the pass that checks its syntax ([`continuation`]); the `arguments`
//! array is only delimited here (by its brackets and quotes, 64 bytes at a time), its syntax and
//! rules checked when it is read.
//!
//! The array is delimited by counting its brackets, not by looking for the `],"executions":`
//! Rails writes after it: a payload may hold that text after the array too (a repeated
//! `arguments` key, another key whose array is followed by `executions`), and the array would
//! then swallow the keys in between without the envelope read failing.
//!
//! [`Job::decode_with`]: crate::Job::decode_with

mod time;

use super::continuation;
use super::syntax::{delimit, skip_json};
use crate::arguments::lexer::{Lexer, Number};
use crate::envelope::{check_zone, FIELD_KEYS};
use crate::options::DecodeOptions;
use crate::write_rules;
use std::borrow::Cow;
use std::ops::Range;
use time::time;
pub(crate) use time::Time;

/// Where a value is in the job's JSON: the text between its quotes for a string, the whole
/// value for an array or object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(range: Range<usize>) -> Option<Span> {
        Some(Span {
            start: u32::try_from(range.start).ok()?,
            end: u32::try_from(range.end).ok()?,
        })
    }

    /// The spanned text of `text`, the job's JSON this span was read from.
    pub(crate) fn of<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// The spanned bytes of `bytes`, the job's JSON this span was read from.
    pub(crate) fn of_bytes<'t>(&self, bytes: &'t [u8]) -> &'t [u8] {
        bytes
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// An envelope string: where it is in the job's JSON, or unescaped when it has escapes
/// (ActiveSupport writes `&` as `\u0026`: `"Eastern Time (US \u0026 Canada)"`).
///
/// The unescaped text is boxed once more so that a `Text`, and an `Option<Text>`, take two
/// words: the envelope is moved into the job's context for every job, and most strings have no
/// escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    At(Span),
    Unescaped(Box<Box<str>>),
}

const _: () = assert!(std::mem::size_of::<Option<Text>>() == 16);

impl Text {
    /// The string, `text` being the job's JSON it was read from.
    pub(crate) fn of<'t>(&'t self, text: &'t str) -> &'t str {
        match self {
            Text::At(span) => span.of(text),
            Text::Unescaped(unescaped) => unescaped,
        }
    }

    /// The string, `bytes` being the job's JSON it was read from.
    pub(crate) fn of_bytes<'t>(&'t self, bytes: &'t [u8]) -> &'t str {
        match self {
            Text::At(span) => std::str::from_utf8(span.of_bytes(bytes)).unwrap_or_default(),
            Text::Unescaped(unescaped) => unescaped,
        }
    }
}

/// The envelope of one job, as spans into its JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) job_class: Text,
    pub(crate) job_id: Option<Text>,
    pub(crate) queue_name: Option<Text>,
    pub(crate) priority: Option<i64>,
    /// The `arguments` array, `[` to `]`; `None` when the payload has no such key (no
    /// arguments, as Rails reads it).
    pub(crate) arguments: Option<Span>,
    pub(crate) executions: Option<i64>,
    pub(crate) locale: Option<Text>,
    pub(crate) timezone: Option<Text>,
    pub(crate) enqueued_at: Option<Time>,
    pub(crate) scheduled_at: Option<Time>,
}

impl Envelope {
    /// An envelope with nothing read: what [`read_into`] reads into.
    pub(crate) const EMPTY: Envelope = Envelope {
        job_class: Text::At(Span { start: 0, end: 0 }),
        job_id: None,
        queue_name: None,
        priority: None,
        arguments: None,
        executions: None,
        locale: None,
        timezone: None,
        enqueued_at: None,
        scheduled_at: None,
    };
}

/// Indices into [`FIELD_KEYS`].
const JOB_CLASS: usize = 0;
const JOB_ID: usize = 1;
const PROVIDER_JOB_ID: usize = 2;
const QUEUE_NAME: usize = 3;
const PRIORITY: usize = 4;
const ARGUMENTS: usize = 5;
const EXECUTIONS: usize = 6;
const EXCEPTION_EXECUTIONS: usize = 7;
const LOCALE: usize = 8;
const TIMEZONE: usize = 9;
const ENQUEUED_AT: usize = 10;
const SCHEDULED_AT: usize = 11;

/// A key of [`FIELD_KEYS`] with its quotes and the colon after it (`"job_id":`, as Rails writes
/// it), as three words of eight bytes that overlap where it is shorter than 24 bytes: compared
/// with three integer comparisons.
struct QuotedKey {
    len: usize,
    words: [(usize, u64); 3],
}

/// [`FIELD_KEYS`] quoted, each with its colon.
const QUOTED_KEYS: [QuotedKey; 12] = quoted_keys(false);

/// [`FIELD_KEYS`] quoted, each with its colon and the comma before it (`,"job_id":`): a member
/// that follows another as Rails writes it, taken with its separator in one comparison.
const QUOTED_KEYS_AFTER_COMMA: [QuotedKey; 12] = quoted_keys(true);

const fn quoted_keys(after_comma: bool) -> [QuotedKey; 12] {
    let mut keys = [const {
        QuotedKey {
            len: 0,
            words: [(0, 0); 3],
        }
    }; 12];
    let mut index = 0;
    while index < FIELD_KEYS.len() {
        keys[index] = QuotedKey::new(FIELD_KEYS[index], after_comma);
        index += 1;
    }
    keys
}

impl QuotedKey {
    const fn new(key: &str, after_comma: bool) -> QuotedKey {
        let key = key.as_bytes();
        let comma = after_comma as usize;
        let len = key.len() + 3 + comma;
        assert!(len >= 8 && len <= 24, "a key of 5 to 20 bytes");
        let mut quoted = [b'"'; 24];
        quoted[0] = if after_comma { b',' } else { b'"' };
        let mut at = 0;
        while at < key.len() {
            quoted[comma + at + 1] = key[at];
            at += 1;
        }
        quoted[len - 1] = b':';
        let offsets = [0, if len >= 16 { 8 } else { len - 8 }, len - 8];
        let mut words = [(0, 0); 3];
        let mut word = 0;
        while word < 3 {
            let offset = offsets[word];
            let mut value = 0_u64;
            let mut byte = 0;
            while byte < 8 {
                value |= (quoted[offset + byte] as u64) << (8 * byte);
                byte += 1;
            }
            words[word] = (offset, value);
            word += 1;
        }
        QuotedKey { len, words }
    }

    /// Whether the quoted key and its colon are at `bytes[at..]`.
    #[inline]
    fn is_at(&self, bytes: &[u8], at: usize) -> bool {
        let Some(quoted) = bytes.get(at..at + self.len) else {
            return false;
        };
        self.words.iter().all(|&(offset, word)| {
            let eight = quoted
                .get(offset..offset + 8)
                .and_then(|b| b.try_into().ok());
            eight.map(u64::from_le_bytes) == Some(word)
        })
    }
}

/// Up to this many keys besides [`FIELD_KEYS`] (Karafka's `cattr_N`, a job's own additions) are
/// read in place; more go the owned way.
const MAX_OTHER_KEYS: usize = 8;

/// Reads the envelope of `text`, the job's JSON, into `envelope`, which must be
/// [`Envelope::EMPTY`]: `Some` when it is read in place exactly as the owned decoding reads it
/// and passes all of Rails' checks (arguments aside: they are checked when read). On `None`,
/// `envelope` holds whatever was read before the refusal.
///
/// The envelope is written where the caller keeps it rather than returned: each move of its
/// 192 bytes is a `memcpy` call.
pub(crate) fn read_into(
    text: &str,
    options: &DecodeOptions,
    envelope: &mut Envelope,
) -> Option<()> {
    let mut reader = Reader::new(envelope);
    reader.read(text, options)
}

/// The envelope being read.
struct Reader<'e> {
    envelope: &'e mut Envelope,
    /// One bit per [`FIELD_KEYS`] entry found.
    seen: u16,
    /// The other keys found, to refuse a repeat.
    others: [Span; MAX_OTHER_KEYS],
    other_count: usize,
    /// Whether a `continuation` and a `resumptions` key were found, and whether a continuable
    /// job's owned decoding takes their values.
    continuation: Option<bool>,
    resumptions: Option<bool>,
}

impl<'e> Reader<'e> {
    /// A reader that has read nothing yet into `envelope`.
    fn new(envelope: &'e mut Envelope) -> Reader<'e> {
        Reader {
            envelope,
            seen: 0,
            others: [Span { start: 0, end: 0 }; MAX_OTHER_KEYS],
            other_count: 0,
            continuation: None,
            resumptions: None,
        }
    }

    /// Reads the envelope of `text` into `self.envelope`.
    // Inlined, with `field`, where the reader is made: the loop over the keys then keeps the
    // reader's state in registers.
    #[inline(always)]
    fn read(&mut self, text: &str, options: &DecodeOptions) -> Option<()> {
        let mut lex = Lexer::new(text);
        lex.eat(b'{')?;
        self.member(&mut lex)?;
        loop {
            // The next member as Rails writes it, separator and key compared at once.
            if let Some(field) = self.expected_key(&mut lex, &QUOTED_KEYS_AFTER_COMMA) {
                self.field(&mut lex, field)?;
                continue;
            }
            if !lex.separator(b'}')? {
                break;
            }
            self.member(&mut lex)?;
        }
        lex.skip_whitespace();
        if lex.at != text.len() {
            return None;
        }
        self.check(text, options)
    }

    /// A member, the cursor at its key.
    #[inline(always)]
    fn member(&mut self, lex: &mut Lexer<'_>) -> Option<()> {
        match self.expected_key(lex, &QUOTED_KEYS) {
            Some(field) => self.field(lex, field),
            None => self.any_key(lex),
        }
    }

    /// The key Rails writes after the last one found, when it is at the cursor as `keys` quote
    /// it: its index in [`FIELD_KEYS`], the cursor past the colon.
    #[inline]
    fn expected_key(&self, lex: &mut Lexer<'_>, keys: &[QuotedKey; 12]) -> Option<usize> {
        let next = (16 - self.seen.leading_zeros()) as usize;
        let key = keys.get(next)?;
        if !key.is_at(lex.bytes, lex.at) {
            return None;
        }
        lex.at += key.len;
        Some(next)
    }

    /// A member whose key is not the one Rails writes next (another order, whitespace,
    /// escapes, a key Rails does not write): the key read as a string, then its value.
    #[inline(never)]
    fn any_key(&mut self, lex: &mut Lexer<'_>) -> Option<()> {
        if lex.peek()? != b'"' {
            return None;
        }
        let key_start = lex.at + 1;
        let Cow::Borrowed(key) = lex.string()? else {
            return None;
        };
        let key_span = Span::new(key_start..lex.at - 1)?;
        lex.eat(b':')?;
        match FIELD_KEYS.iter().position(|k| *k == key) {
            Some(field) => self.field(lex, field),
            None => self.other(lex, key, key_span),
        }
    }

    /// Reads the value of the `field`th key of [`FIELD_KEYS`], the cursor past its `:`.
    #[inline(always)]
    fn field(&mut self, lex: &mut Lexer<'_>, field: usize) -> Option<()> {
        let key = FIELD_KEYS[field];
        if self.seen & (1 << field) != 0 {
            return None;
        }
        self.seen |= 1 << field;
        let envelope = &mut *self.envelope;
        match field {
            JOB_CLASS => envelope.job_class = string(lex)??,
            JOB_ID => envelope.job_id = string(lex)?,
            PROVIDER_JOB_ID => {
                string(lex)?;
            }
            QUEUE_NAME => envelope.queue_name = string(lex)?,
            PRIORITY => envelope.priority = integer(lex)?,
            ARGUMENTS => {
                // Read by the handler's type, or checked when the owned job is built.
                if lex.peek()? != b'[' {
                    return None;
                }
                let start = lex.at;
                lex.at = delimit(lex.bytes, start)?;
                envelope.arguments = Some(Span::new(start..lex.at)?);
            }
            EXECUTIONS => envelope.executions = integer(lex)?,
            EXCEPTION_EXECUTIONS => match lex.peek()? {
                b'n' => lex.literal("null")?,
                // What Rails writes for a job that never failed.
                b'{' if lex.bytes.get(lex.at + 1) == Some(&b'}') => lex.at += 2,
                b'{' => skip_json(lex, 1)?,
                _ => return None,
            },
            LOCALE => envelope.locale = string(lex)?,
            TIMEZONE => envelope.timezone = string(lex)?,
            ENQUEUED_AT => envelope.enqueued_at = time(lex, key)?,
            SCHEDULED_AT => envelope.scheduled_at = time(lex, key)?,
            _ => return None,
        }
        Some(())
    }

    /// A key Rails does not write in every envelope: kept by the owned job, checked here only
    /// for what the owned decoding would read differently.
    fn other(&mut self, lex: &mut Lexer<'_>, key: &str, key_span: Span) -> Option<()> {
        if key == crate::arguments::lexer::NUMBER_TOKEN
            || self.other_count == MAX_OTHER_KEYS
            || self.others[..self.other_count]
                .iter()
                .any(|seen| seen.of_bytes(lex.bytes) == key.as_bytes())
        {
            return None;
        }
        self.others[self.other_count] = key_span;
        self.other_count += 1;
        match key {
            "continuation" => self.continuation = Some(continuation::progress(lex)?),
            "resumptions" => {
                let mut value = *lex;
                skip_json(lex, 1)?;
                self.resumptions = Some(integer(&mut value).is_some());
            }
            _ => skip_json(lex, 1)?,
        }
        Some(())
    }

    /// Rails' checks on the envelope as a whole.
    fn check(&self, text: &str, options: &DecodeOptions) -> Option<()> {
        let envelope = &*self.envelope;
        if self.seen & (1 << JOB_CLASS) == 0 {
            return None;
        }
        let job_class = envelope.job_class.of(text);
        if !options.knows_job_class(job_class) {
            return None;
        }
        let continuation_keys = self.continuation.is_some() || self.resumptions.is_some();
        let progress_taken = self.continuation != Some(false) && self.resumptions != Some(false);
        if !progress_taken && options.is_continuable_with(job_class, continuation_keys) {
            return None;
        }
        let locale = envelope.locale.as_ref().map(|s| s.of(text));
        if let Some(locale) = locale {
            if !write_rules::locale_available(locale, options.available_locales.as_deref()) {
                return None;
            }
        }
        let timezone = envelope.timezone.as_ref().map(|s| s.of(text));
        let job_zone = timezone.unwrap_or(&options.default_timezone);
        check_zone(job_zone, &options.time_zones).ok()?;
        let arguments_zone = arguments_zone(timezone, options);
        if arguments_zone != job_zone {
            check_zone(arguments_zone, &options.time_zones).ok()?;
        }
        Some(())
    }
}

/// The zone a TimeWithZone argument without `time_zone` is read in, as
/// [`Job::argument_zone`](crate::Job::argument_zone) has it.
pub(crate) fn arguments_zone<'a>(timezone: Option<&'a str>, options: &'a DecodeOptions) -> &'a str {
    match timezone {
        Some(zone) if options.rails_version.reads_arguments_in_job_zone() => zone,
        _ => &options.default_timezone,
    }
}

/// A string, or `null`: `Some(None)` for `null`.
fn string(lex: &mut Lexer<'_>) -> Option<Option<Text>> {
    match lex.peek()? {
        b'n' => lex.literal("null").map(|()| None),
        b'"' => {
            let start = lex.at + 1;
            Some(Some(match lex.string()? {
                Cow::Borrowed(_) => Text::At(Span::new(start..lex.at - 1)?),
                Cow::Owned(unescaped) => Text::Unescaped(Box::new(unescaped.into_boxed_str())),
            }))
        }
        _ => None,
    }
}

/// An integer that fits an `i64`, or `null`.
fn integer(lex: &mut Lexer<'_>) -> Option<Option<i64>> {
    match lex.peek()? {
        b'n' => lex.literal("null").map(|()| None),
        b'-' | b'0'..=b'9' => match lex.number()? {
            Number::Int(value) => Some(Some(value)),
            Number::Text(_) => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{FIELD_KEYS, QUOTED_KEYS, QUOTED_KEYS_AFTER_COMMA};

    #[test]
    fn a_quoted_key_is_found_where_it_is_and_only_there() {
        let tables = [("", &QUOTED_KEYS), (",", &QUOTED_KEYS_AFTER_COMMA)];
        for (before, table) in tables {
            for (key, quoted) in FIELD_KEYS.iter().zip(table) {
                let text = format!(r#"{{{before}"{key}":1}}"#);
                let len = before.len() + key.len() + 3;
                assert!(quoted.is_at(text.as_bytes(), 1), "{text}");
                assert!(!quoted.is_at(text.as_bytes(), 0), "{text}");
                assert!(!quoted.is_at(&text.as_bytes()[..len], 1), "{text}");
                for at in 1..len + 1 {
                    let mut changed = text.clone().into_bytes();
                    changed[at] ^= 0x20;
                    assert!(!quoted.is_at(&changed, 1), "{text} changed at {at}");
                }
            }
        }
    }
}
