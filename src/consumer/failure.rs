//! Why a job did not complete.

use thiserror::Error;

/// The outcome of a message whose job did not complete.
///
/// The worker decides what happens next from the variant: the bad-message classes
/// ([`Tombstone`](JobFailure::Tombstone), [`Undecodable`](JobFailure::Undecodable),
/// [`UnknownJobClass`](JobFailure::UnknownJobClass)) follow the topic's bad-message policy;
/// [`Failed`](JobFailure::Failed) and [`Panicked`](JobFailure::Panicked) always go through
/// Karafka's pause / retry / dead-letter path; the job class's policies
/// ([`crate::registry::JobPolicies`]) turn a handler's error into
/// [`DiscardOn`](JobFailure::DiscardOn) (marked consumed) or
/// [`DeadLetterOn`](JobFailure::DeadLetterOn) (straight to the dead letter queue).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobFailure {
    /// The message has no payload (a Kafka tombstone); Ruby's `JSON.parse(nil)` raises here too.
    #[error("tombstone: the message has no payload")]
    Tombstone,
    /// The payload is not an ActiveJob envelope this worker can read; the text says where and why.
    #[error("undecodable payload: {0}")]
    Undecodable(String),
    /// No handler is registered for the payload's `job_class`.
    #[error("unknown job class {0:?}: no handler is registered for it")]
    UnknownJobClass(String),
    /// The handler ran and returned an error.
    #[error("job failed: {0}")]
    Failed(String),
    /// The handler panicked; the text is the panic message.
    #[error("job panicked: {0}")]
    Panicked(String),
    /// The handler returned an error its class discards (`discard_on`): the message is marked
    /// consumed and counted, never retried nor dead-lettered. The text names the error kind.
    #[error("job discarded (discard_on): {0}")]
    DiscardOn(String),
    /// The handler returned an error its class dead-letters at once (`dead_letter_on`): the
    /// message goes to the topic's dead letter queue without retries in place (on a topic
    /// without one, it is a failure like [`Failed`](JobFailure::Failed)).
    #[error("job failed (dead_letter_on): {0}")]
    DeadLetterOn(String),
}

impl JobFailure {
    /// The bad-message class of this failure, if it is one.
    pub fn bad_message_kind(&self) -> Option<BadMessageKind> {
        match self {
            JobFailure::Tombstone => Some(BadMessageKind::Tombstone),
            JobFailure::Undecodable(_) => Some(BadMessageKind::Undecodable),
            JobFailure::UnknownJobClass(_) => Some(BadMessageKind::UnknownJobClass),
            JobFailure::Failed(_)
            | JobFailure::Panicked(_)
            | JobFailure::DiscardOn(_)
            | JobFailure::DeadLetterOn(_) => None,
        }
    }

    /// Builds a [`JobFailure::Panicked`] from a panic payload (`&str` or `String` panics keep
    /// their text).
    pub fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let text = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic with a non-string payload".to_string()
        };
        JobFailure::Panicked(text)
    }
}

/// The three classes of messages that cannot be run at all, each with its own per-topic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadMessageKind {
    /// See [`JobFailure::Tombstone`].
    Tombstone,
    /// See [`JobFailure::Undecodable`].
    Undecodable,
    /// See [`JobFailure::UnknownJobClass`].
    UnknownJobClass,
}

impl std::fmt::Display for BadMessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadMessageKind::Tombstone => "tombstone",
            BadMessageKind::Undecodable => "undecodable",
            BadMessageKind::UnknownJobClass => "unknown_job_class",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_and_why() {
        assert_eq!(
            JobFailure::UnknownJobClass("Billing::InvoiceJob".into()).to_string(),
            "unknown job class \"Billing::InvoiceJob\": no handler is registered for it"
        );
        assert_eq!(
            JobFailure::Tombstone.to_string(),
            "tombstone: the message has no payload"
        );
    }

    #[test]
    fn panic_payloads_keep_their_text() {
        let p = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(
            JobFailure::from_panic(p),
            JobFailure::Panicked("boom 7".into())
        );
        let p = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(
            JobFailure::from_panic(p),
            JobFailure::Panicked("static".into())
        );
    }
}
