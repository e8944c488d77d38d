//! [`JobContext`]: what a handler knows about its job besides the arguments.

use crate::consumer::{InboundMessage, PartitionSignals};
use crate::envelope::{EnvelopeTime, Job};
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// What a handler returns: any error fails the job (it is retried, then dead-lettered).
pub type HandlerResult = anyhow::Result<()>;

/// Everything about the running job besides its arguments.
#[derive(Debug, Clone)]
pub struct JobContext {
    job: Arc<Job>,
    message: Arc<InboundMessage>,
    signals: PartitionSignals,
    shadow: bool,
}

impl JobContext {
    /// A context for `job` read from `message`.
    pub fn new(job: Arc<Job>, message: Arc<InboundMessage>, signals: PartitionSignals) -> Self {
        JobContext {
            job,
            message,
            signals,
            shadow: false,
        }
    }

    /// The same context with [`is_shadow`](Self::is_shadow) set to `shadow`: for testing how a
    /// handler behaves under [`crate::shadow::Shadow`].
    pub fn with_shadow(mut self, shadow: bool) -> Self {
        self.shadow = shadow;
        self
    }

    /// True when the job runs in shadow mode ([`crate::shadow::Shadow`], `consume --shadow`):
    /// the Ruby workers are still serving the topic, so a handler should skip side effects that
    /// must happen once (emails, payments, writes to shared stores, enqueueing other jobs) and
    /// only exercise what is safe to run twice.
    pub fn is_shadow(&self) -> bool {
        self.shadow
    }

    /// The whole decoded job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job's UUID (constant across retries).
    pub fn job_id(&self) -> Option<&str> {
        self.job.job_id.as_deref()
    }

    /// How many times Ruby ran the job before this payload was written.
    pub fn executions(&self) -> i64 {
        self.job.executions.unwrap_or(0)
    }

    /// When the payload was written.
    pub fn enqueued_at(&self) -> Option<&EnvelopeTime> {
        self.job.enqueued_at.as_ref()
    }

    /// When the job was meant to run (Karafka runs it when consumed).
    pub fn scheduled_at(&self) -> Option<&EnvelopeTime> {
        self.job.scheduled_at.as_ref()
    }

    /// The job's locale (`I18n.locale` at enqueue).
    pub fn locale(&self) -> Option<&str> {
        self.job.locale.as_deref()
    }

    /// The job's time zone name (`Time.zone.name` at enqueue).
    pub fn timezone(&self) -> Option<&str> {
        self.job.timezone.as_deref()
    }

    /// Karafka's persisted CurrentAttributes: the `cattr_0`, `cattr_1`, ... objects in order.
    pub fn current_attributes(&self) -> Vec<&Map<String, Json>> {
        (0..)
            .map_while(|i| self.job.extra.get(&format!("cattr_{i}")))
            .filter_map(Json::as_object)
            .collect()
    }

    /// The Kafka topic.
    pub fn topic(&self) -> &str {
        &self.message.topic
    }

    /// The Kafka partition.
    pub fn partition(&self) -> i32 {
        self.message.partition
    }

    /// The message offset.
    pub fn offset(&self) -> i64 {
        self.message.offset
    }

    /// The message key.
    pub fn key(&self) -> Option<&[u8]> {
        self.message.key.as_deref()
    }

    /// The message headers.
    pub fn headers(&self) -> &[(String, Option<Vec<u8>>)] {
        &self.message.headers
    }

    /// True once the partition was taken from this worker: a long job should stop early.
    pub fn is_revoked(&self) -> bool {
        self.signals.is_revoked()
    }

    /// True once the worker is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.signals.is_stopping()
    }

    /// The partition's signals, e.g. to `select!` on [`PartitionSignals::cancelled`].
    pub fn signals(&self) -> &PartitionSignals {
        &self.signals
    }
}
