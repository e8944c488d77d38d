//! [`JobContext`]: what a handler knows about its job besides the arguments.

use crate::consumer::{InboundMessage, PartitionSignals};
use crate::envelope::{EnvelopeTime, Job};
use crate::error::DecodeError;
use crate::options::DecodeOptions;
use crate::view::{Envelope, Kept};
use serde_json::{Map, Value as Json};
use std::sync::{Arc, OnceLock};

/// What a handler returns: any error fails the job (it is retried, then dead-lettered).
pub type HandlerResult = anyhow::Result<()>;

/// Everything about the running job besides its arguments.
///
/// The envelope's fields are read where they are in the payload; the owned [`Job`] is decoded
/// only when asked for ([`job`](Self::job)). A clone shares the job with the original (one
/// reference count), including the owned job once either decoded it.
#[derive(Debug, Clone)]
pub struct JobContext {
    run: Arc<JobRun>,
    shadow: bool,
}

/// What the clones of one job's context share: one allocation per job.
#[derive(Debug)]
struct JobRun {
    job: JobSource,
    message: Arc<InboundMessage>,
    signals: PartitionSignals,
}

/// What a [`JobContext`] is made of besides the job: what the registry has before the handler's
/// arguments are read, after which the job's envelope is moved into the context.
pub(super) struct ContextParts<'r> {
    pub(super) message: Arc<InboundMessage>,
    /// For decoding the owned job, when the envelope was read in place.
    pub(super) options: &'r Arc<DecodeOptions>,
    pub(super) signals: PartitionSignals,
    pub(super) shadow: bool,
}

impl ContextParts<'_> {
    /// The key of the message the job came from.
    pub(super) fn key(&self) -> Option<&[u8]> {
        self.message.key.as_deref()
    }

    /// The context for the job of the message as a [`JobView`](crate::view::JobView) kept it.
    pub(super) fn with_job(self, kept: Kept) -> JobContext {
        JobContext {
            run: Arc::new(JobRun {
                job: match kept {
                    Kept::Owned(job) => JobSource::Decoded(job),
                    Kept::InPlace { at, envelope } => JobSource::InPlace(InPlace {
                        at,
                        envelope,
                        options: Arc::clone(self.options),
                        decoded: OnceLock::new(),
                    }),
                },
                message: self.message,
                signals: self.signals,
            }),
            shadow: self.shadow,
        }
    }
}

/// The job of a context: decoded, or read in place and decoded on first use.
#[derive(Debug)]
// It lives in the one `Arc` of a job: boxing the envelope would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum JobSource {
    Decoded(Arc<Job>),
    InPlace(InPlace),
}

/// A job whose envelope was read in place from the message payload.
#[derive(Debug)]
struct InPlace {
    /// Where the job's JSON starts in the payload.
    at: usize,
    envelope: Envelope,
    options: Arc<DecodeOptions>,
    decoded: OnceLock<Arc<Job>>,
}

impl JobContext {
    /// A context for `job` read from `message`.
    pub fn new(job: Arc<Job>, message: Arc<InboundMessage>, signals: PartitionSignals) -> Self {
        JobContext {
            run: Arc::new(JobRun {
                job: JobSource::Decoded(job),
                message,
                signals,
            }),
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

    /// The whole decoded job, with every argument a [`Value`](crate::arguments::Value):
    /// decoded from the payload on first use when the handler got its arguments read in place.
    ///
    /// # Panics
    ///
    /// If the payload cannot be decoded the owned way although its arguments were read in
    /// place. The two readings agree on every payload (a tested property), so this is a bug;
    /// the worker turns a handler's panic into a failed job.
    pub fn job(&self) -> &Job {
        match self.decoded_job() {
            Ok(job) => job,
            Err(e) => panic!("the job was read in place but its owned decoding failed: {e}"),
        }
    }

    /// The owned job, decoded on first use.
    fn decoded_job(&self) -> Result<&Arc<Job>, DecodeError> {
        let in_place = match &self.run.job {
            JobSource::Decoded(job) => return Ok(job),
            JobSource::InPlace(in_place) => in_place,
        };
        if let Some(job) = in_place.decoded.get() {
            return Ok(job);
        }
        let payload = self.run.message.payload.as_deref().unwrap_or_default();
        let job = Job::decode_with(payload, &in_place.options)?;
        Ok(in_place.decoded.get_or_init(|| Arc::new(job)))
    }

    /// The owned job, shared, decoded on first use.
    pub(super) fn shared_job(&self) -> Result<Arc<Job>, DecodeError> {
        self.decoded_job().map(Arc::clone)
    }

    /// The text of an envelope field read in place.
    fn field<'a>(&'a self, in_place: &'a InPlace, text: &'a crate::view::Text) -> &'a str {
        let payload = self.run.message.payload.as_deref().unwrap_or_default();
        text.of_bytes(payload.get(in_place.at..).unwrap_or_default())
    }

    /// The job's JSON, from which the envelope was read in place.
    fn job_bytes(&self, in_place: &InPlace) -> &[u8] {
        let payload = self.run.message.payload.as_deref().unwrap_or_default();
        payload.get(in_place.at..).unwrap_or_default()
    }

    /// The job's UUID (constant across retries).
    pub fn job_id(&self) -> Option<&str> {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place
                .envelope
                .job_id
                .as_ref()
                .map(|s| self.field(in_place, s)),
            JobSource::Decoded(job) => job.job_id.as_deref(),
        }
    }

    /// How many times Ruby ran the job before this payload was written.
    pub fn executions(&self) -> i64 {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place.envelope.executions,
            JobSource::Decoded(job) => job.executions,
        }
        .unwrap_or(0)
    }

    /// When the payload was written.
    pub fn enqueued_at(&self) -> Option<&EnvelopeTime> {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place
                .envelope
                .enqueued_at
                .as_ref()
                .map(|time| time.get(self.job_bytes(in_place))),
            JobSource::Decoded(job) => job.enqueued_at.as_ref(),
        }
    }

    /// When the job was meant to run (Karafka runs it when consumed).
    pub fn scheduled_at(&self) -> Option<&EnvelopeTime> {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place
                .envelope
                .scheduled_at
                .as_ref()
                .map(|time| time.get(self.job_bytes(in_place))),
            JobSource::Decoded(job) => job.scheduled_at.as_ref(),
        }
    }

    /// The job's locale (`I18n.locale` at enqueue).
    pub fn locale(&self) -> Option<&str> {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place
                .envelope
                .locale
                .as_ref()
                .map(|s| self.field(in_place, s)),
            JobSource::Decoded(job) => job.locale.as_deref(),
        }
    }

    /// The job's time zone name (`Time.zone.name` at enqueue).
    pub fn timezone(&self) -> Option<&str> {
        match &self.run.job {
            JobSource::InPlace(in_place) => in_place
                .envelope
                .timezone
                .as_ref()
                .map(|s| self.field(in_place, s)),
            JobSource::Decoded(job) => job.timezone.as_deref(),
        }
    }

    /// Karafka's persisted CurrentAttributes: the `cattr_0`, `cattr_1`, ... objects in order.
    pub fn current_attributes(&self) -> Vec<&Map<String, Json>> {
        (0..)
            .map_while(|i| self.job().extra.get(&format!("cattr_{i}")))
            .filter_map(Json::as_object)
            .collect()
    }

    /// The Kafka topic.
    pub fn topic(&self) -> &str {
        &self.run.message.topic
    }

    /// The Kafka partition.
    pub fn partition(&self) -> i32 {
        self.run.message.partition
    }

    /// The message offset.
    pub fn offset(&self) -> i64 {
        self.run.message.offset
    }

    /// The message key.
    pub fn key(&self) -> Option<&[u8]> {
        self.run.message.key.as_deref()
    }

    /// The message headers.
    pub fn headers(&self) -> &[(String, Option<Vec<u8>>)] {
        &self.run.message.headers
    }

    /// True once the partition was taken from this worker: a long job should stop early.
    pub fn is_revoked(&self) -> bool {
        self.run.signals.is_revoked()
    }

    /// True once the worker is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.run.signals.is_stopping()
    }

    /// The partition's signals, e.g. to `select!` on [`PartitionSignals::cancelled`].
    pub fn signals(&self) -> &PartitionSignals {
        &self.run.signals
    }
}
