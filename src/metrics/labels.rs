//! Label values: the job class of a message (read without decoding its arguments) and the
//! reason of a failed run.

use std::borrow::Cow;

use crate::consumer::{InboundMessage, JobFailure};
use crate::payload_format::{job_json_in, PayloadFormat};

/// The label value used as job class when the payload names none.
pub const NO_CLASS_TOMBSTONE: &str = "(tombstone)";
/// The label value used as job class when the payload cannot be read.
pub const NO_CLASS_UNDECODABLE: &str = "(undecodable)";

/// The few envelope fields the metrics need, read without decoding the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHead {
    /// `job_class`.
    pub job_class: String,
    /// `job_id`, when present.
    pub job_id: Option<String>,
}

/// Reads `job_class` and `job_id` from a payload; `None` when it is not a JSON object with a
/// string `job_class`. Much cheaper than [`crate::Job::decode`]: arguments are skipped, not
/// built.
pub fn job_head(payload: &[u8]) -> Option<JobHead> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow, default)]
        job_class: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        job_id: Option<Cow<'a, str>>,
    }
    let head: Head<'_> = serde_json::from_slice(payload).ok()?;
    Some(JobHead {
        job_class: head.job_class?.into_owned(),
        job_id: head.job_id.map(Cow::into_owned),
    })
}

/// [`job_head`] of the job a message payload carries in the application's `format`.
pub(super) fn job_head_in(payload: &[u8], format: Option<&dyn PayloadFormat>) -> Option<JobHead> {
    job_head(&job_json_in(format, payload).ok()?)
}

/// The job class label of a message: its `job_class`, or [`NO_CLASS_TOMBSTONE`] /
/// [`NO_CLASS_UNDECODABLE`].
pub fn class_label(message: &InboundMessage) -> String {
    class_label_in(message, None)
}

/// [`class_label`] for messages in the application's payload `format`.
pub(super) fn class_label_in(
    message: &InboundMessage,
    format: Option<&dyn PayloadFormat>,
) -> String {
    match message.payload.as_deref() {
        None => NO_CLASS_TOMBSTONE.to_owned(),
        Some(p) => {
            job_head_in(p, format).map_or_else(|| NO_CLASS_UNDECODABLE.to_owned(), |h| h.job_class)
        }
    }
}

/// The `reason` label of a failed run.
pub fn failure_reason(failure: &JobFailure) -> &'static str {
    match failure {
        JobFailure::Tombstone => "tombstone",
        JobFailure::Undecodable(_) => "undecodable",
        JobFailure::UnknownJobClass(_) => "unknown_job_class",
        JobFailure::Failed(_) => "error",
        JobFailure::Panicked(_) => "panic",
        JobFailure::DiscardOn(_) => "discard_on",
        JobFailure::DeadLetterOn(_) => "dead_letter_on",
    }
}
