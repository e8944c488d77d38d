//! A job read in place: the envelope's fields where they are in the payload, and a typed
//! handler's arguments deserialized straight from it.
//!
//! [`Job::decode_with`] builds an owned [`Job`], every argument an owned [`Value`] tree, before a
//! handler sees any of it. A handler with typed arguments needs neither: [`JobView`] checks the
//! envelope as Rails 8.1's `deserialize` does and keeps where each field is, and
//! [`JobView::arguments`] reads the `arguments` array into the handler's serde type, applying
//! Rails' argument rules on the way:
//!
//! - Symbols are handed over by name, like Strings (`mode: :fast` fits a `String` or a unit
//!   enum variant `Fast`);
//! - Hashes lose their markers: `_aj_symbol_keys`, `_aj_ruby2_keywords` (keyword arguments,
//!   which arrive as the last argument, a Hash) and `_aj_hash_with_indifferent_access`;
//! - `_aj_serialized` objects (Time, TimeWithZone, DateTime, Date, Duration, BigDecimal,
//!   Module, Range, the application's own serializers of [`DecodeOptions::serializers`]) and
//!   GlobalIDs are decoded by the same rules as the owned [`Value`]s and handed over as
//!   [`from_values`] hands them over (a Time as its ISO 8601
//!   text, a GlobalID as its URI, a Duration as its number of seconds...);
//! - integers beyond `i64` stay exact (an `i128`, or their decimal text).
//!
//! # The same answer as the owned path
//!
//! For every payload, `view.arguments::<T>()` gives what `from_values::<T>(&job.arguments)`
//! gives for the owned job, and the same error with the same path. The reading in place takes
//! the forms Rails writes; whatever it does not take exactly as the owned decoding does (any
//! error, a repeated key, a key written with escapes, two Hash markers together, a payload format
//! that rewrites the payload) is handed to
//! [`Job::decode_with`], which then decides. Errors are therefore worded by the owned path
//! alone; the price of an error is one owned decode.
//!
//! What the handler's type does not read (an ignored field, arguments past a tuple's length) is
//! still read by the rules: a payload the owned decoding refuses is never run.

mod args;
mod continuation;
mod envelope;
mod syntax;
#[cfg(test)]
mod tests;

pub(crate) use envelope::{Envelope, Text};

#[cfg(doc)]
use crate::arguments::Value;
use crate::arguments::{from_values, ArgumentError, Ctx, Zone};
use crate::envelope::{EnvelopeTime, Job};
use crate::error::DecodeError;
use crate::options::DecodeOptions;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::sync::Arc;

/// One job read from its payload bytes, its fields read in place where it can be.
///
/// ```
/// use activejob_karafka::{view::JobView, DecodeOptions};
///
/// let payload = br#"{"job_class":"ImportJob","job_id":"j-1","arguments":[42,{"mode":{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"fast"},"_aj_ruby2_keywords":["mode"]}],"locale":"en","timezone":"UTC"}"#;
/// let options = DecodeOptions::default();
/// let view = JobView::decode_with(payload, &options)?;
/// assert_eq!(view.job_class(), "ImportJob");
///
/// #[derive(serde::Deserialize)]
/// struct Options { mode: String }
/// let (id, options): (i64, Options) = view.arguments()?;
/// assert_eq!((id, options.mode.as_str()), (42, "fast"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JobView<'a> {
    payload: &'a [u8],
    options: &'a DecodeOptions,
    read: Read<'a>,
}

#[derive(Debug)]
// Boxing the envelope would cost an allocation per job; a view lives on the stack.
#[allow(clippy::large_enum_variant)]
enum Read<'a> {
    /// Read in place from `text`, the job's JSON, which starts at byte `at` of the payload.
    InPlace {
        text: &'a str,
        at: usize,
        envelope: Envelope,
    },
    /// Decoded the owned way.
    Owned(Arc<Job>),
}

/// A job's arguments could not be handed to the handler's type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgumentsError {
    /// An argument breaks Rails' rules (the error [`Job::decode_with`] gives).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The arguments are valid but do not fit the type (the error
    /// [`from_values`] gives).
    #[error(transparent)]
    Fit(#[from] ArgumentError),
}

impl<'a> JobView<'a> {
    /// Reads a message payload with the application's options, as [`Job::decode_with`] reads
    /// it, with the same errors; the arguments are read (and their errors found) by
    /// [`arguments`](Self::arguments) or [`to_job`](Self::to_job).
    pub fn decode_with(payload: &'a [u8], options: &'a DecodeOptions) -> Result<Self, DecodeError> {
        // Made first and read into, so that the envelope is written where the view keeps it.
        let mut view = JobView {
            payload,
            options,
            read: Read::InPlace {
                text: "",
                at: 0,
                envelope: Envelope::EMPTY,
            },
        };
        if read_in_place(&mut view.read, payload, options).is_none() {
            view.read = Read::Owned(Arc::new(Job::decode_with(payload, options)?));
        }
        Ok(view)
    }

    /// Whether the envelope was read in place (else the owned [`Job`] was decoded).
    pub fn is_in_place(&self) -> bool {
        matches!(self.read, Read::InPlace { .. })
    }

    /// The Ruby job class.
    pub fn job_class(&self) -> &str {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope.job_class.of(text),
            Read::Owned(job) => &job.job_class,
        }
    }

    /// The job's UUID.
    pub fn job_id(&self) -> Option<&str> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope.job_id.as_ref().map(|s| s.of(text)),
            Read::Owned(job) => job.job_id.as_deref(),
        }
    }

    /// The queue the job was enqueued to.
    pub fn queue_name(&self) -> Option<&str> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => {
                envelope.queue_name.as_ref().map(|s| s.of(text))
            }
            Read::Owned(job) => job.queue_name.as_deref(),
        }
    }

    /// How many times Ruby ran the job before this payload was written.
    pub fn executions(&self) -> Option<i64> {
        match &self.read {
            Read::InPlace { envelope, .. } => envelope.executions,
            Read::Owned(job) => job.executions,
        }
    }

    /// The job's locale.
    pub fn locale(&self) -> Option<&str> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope.locale.as_ref().map(|s| s.of(text)),
            Read::Owned(job) => job.locale.as_deref(),
        }
    }

    /// The job's time zone name.
    pub fn timezone(&self) -> Option<&str> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope.timezone.as_ref().map(|s| s.of(text)),
            Read::Owned(job) => job.timezone.as_deref(),
        }
    }

    /// When the payload was written.
    pub fn enqueued_at(&self) -> Option<&EnvelopeTime> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope
                .enqueued_at
                .as_ref()
                .map(|time| time.get(text.as_bytes())),
            Read::Owned(job) => job.enqueued_at.as_ref(),
        }
    }

    /// When the job was meant to run.
    pub fn scheduled_at(&self) -> Option<&EnvelopeTime> {
        match &self.read {
            Read::InPlace { text, envelope, .. } => envelope
                .scheduled_at
                .as_ref()
                .map(|time| time.get(text.as_bytes())),
            Read::Owned(job) => job.scheduled_at.as_ref(),
        }
    }

    /// The arguments as the handler's type `T`, exactly as
    /// [`from_values`] gives them from the owned job: a tuple
    /// takes the positional arguments in order (keyword arguments arrive last, as a Hash).
    pub fn arguments<T: DeserializeOwned>(&self) -> Result<T, ArgumentsError> {
        let job = match &self.read {
            Read::InPlace { text, envelope, .. } => {
                if let Ok(arguments) = self.arguments_in_place(text, envelope) {
                    return Ok(arguments);
                }
                // Not taken in place: the owned decoding decides, errors included.
                Cow::Owned(Job::decode_with(self.payload, self.options)?)
            }
            Read::Owned(job) => Cow::Borrowed(&**job),
        };
        Ok(from_values(&job.arguments)?)
    }

    fn arguments_in_place<T: DeserializeOwned>(
        &self,
        text: &str,
        envelope: &Envelope,
    ) -> Result<T, args::Refused> {
        let timezone = envelope.timezone.as_ref().map(|s| s.of(text));
        let ctx = Ctx {
            // A name `envelope::read` checked.
            zone: Zone::Named(envelope::arguments_zone(timezone, self.options)),
            serializers: &self.options.serializers,
            zones: &self.options.time_zones,
        };
        args::read(envelope.arguments.map_or("[]", |s| s.of(text)), ctx)
    }

    /// The owned job, with every argument a [`Value`].
    pub fn to_job(&self) -> Result<Job, DecodeError> {
        match &self.read {
            Read::InPlace { .. } => Job::decode_with(self.payload, self.options),
            Read::Owned(job) => Ok((**job).clone()),
        }
    }

    /// What a [`JobContext`](crate::registry::JobContext) keeps of the job, once the handler's
    /// arguments are read: the envelope read in place and where the job's JSON starts in the
    /// payload, or the owned job.
    pub(crate) fn into_kept(self) -> Kept {
        match self.read {
            Read::InPlace { at, envelope, .. } => Kept::InPlace { at, envelope },
            Read::Owned(job) => Kept::Owned(job),
        }
    }
}

/// A [`JobView`] without its borrow of the payload.
// Boxing the envelope would cost an allocation per job; it is moved once, into a context.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Kept {
    InPlace { at: usize, envelope: Envelope },
    Owned(Arc<Job>),
}

/// Reads into `read`, an empty [`Read::InPlace`], the job's JSON, where it starts in the
/// payload, and its envelope: `None` when not all of it is read in place.
fn read_in_place<'a>(
    read: &mut Read<'a>,
    payload: &'a [u8],
    options: &DecodeOptions,
) -> Option<()> {
    let Read::InPlace { text, at, envelope } = read else {
        return None;
    };
    if payload.len() > options.max_payload_bytes {
        return None;
    }
    let job_json = match &options.payload_format {
        None => payload,
        Some(format) => match format.job_json(payload).ok()? {
            Cow::Borrowed(job_json) => job_json,
            Cow::Owned(_) => return None,
        },
    };
    *at = (job_json.as_ptr() as usize).checked_sub(payload.as_ptr() as usize)?;
    if job_json.len() > options.max_payload_bytes || *at + job_json.len() > payload.len() {
        return None;
    }
    *text = simdutf8::basic::from_utf8(job_json).ok()?;
    envelope::read_into(text, options, envelope)
}
