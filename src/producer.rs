//! Enqueueing ActiveJob jobs from Rust the way Karafka's ActiveJob dispatcher (Pro) does.
//!
//! * **Topic**: the job's `queue_name`, exactly as Karafka does, optionally behind a
//!   [`JobProducerBuilder::queue_prefix`]. Karafka itself has no such prefix: a Rails
//!   `queue_name_prefix` is already part of `queue_name`, and Karafka routes that name. Our
//!   prefix only changes the topic, never the payload's `queue_name`, so a Ruby consumer must
//!   route the prefixed topic name.
//! * **Per-job-class options** ([`JobOptions`], Karafka's `karafka_options`): a partitioner over
//!   the job whose result becomes the message `key` (default), a `partition_key` (picks the
//!   partition only, CRC-32 like rdkafka-ruby, no key written) or an explicit `partition`; the
//!   dispatch methods for one job and for many; producer settings (`acks=all`, ...) that get
//!   their own librdkafka producer; the Scheduled Messages topic. Options for a class are
//!   merged over the builder's defaults, as a Ruby subclass merges over `ApplicationJob`.
//! * **Payload**: [`Job::encode`] bytes, unchanged, with `enqueued_at` set to the enqueue time
//!   (Rails' `serialize` recomputes it on every enqueue). No headers, as Karafka.
//! * **Delays** ([`JobProducer::enqueue_at`]): a time that is not in the future dispatches
//!   directly (Karafka ≥ 2.5.1); a future time produces a Karafka Pro Scheduled Messages proxy
//!   message, byte for byte what `Karafka::Pro::ScheduledMessages::Proxy.schedule` writes, which
//!   Karafka Pro or this crate's [`crate::scheduled::ScheduledDispatcher`] delivers when due.
//!   Without a `scheduled_messages_topic` it fails with
//!   [`ProduceError::SchedulingNotConfigured`], like Karafka OSS's `NotImplementedError`.
//!
//! ```no_run
//! use activejob_karafka::producer::{DispatchMethod, JobOptions, JobProducer, PartitionKeyType};
//! use activejob_karafka::{arguments::Value, Job};
//! use std::time::Duration;
//!
//! # async fn example() -> Result<(), activejob_karafka::producer::ProduceError> {
//! let producer = JobProducer::builder()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .defaults(JobOptions::new().scheduled_messages_topic("schedules"))
//!     .job(
//!         "ImportJob",
//!         JobOptions::new()
//!             // karafka_options(partitioner: ->(job) { job.arguments.first })
//!             .partitioner(|job| match job.arguments.first() {
//!                 Some(Value::String(account)) => Some(account.clone()),
//!                 _ => None,
//!             })
//!             .partition_key_type(PartitionKeyType::Key)
//!             .dispatch_method(DispatchMethod::Sync)
//!             .producer_config("acks", "all"),
//!     )
//!     .build()?;
//!
//! let job = Job::new("ImportJob").queue("imports").arg("account-42");
//! let sent = producer.enqueue(&job).await?;
//! println!("job {:?} at {}/{:?}/{:?}", sent.job_id, sent.topic, sent.partition, sent.offset);
//!
//! // ImportJob.set(wait: 5.minutes).perform_later(7)
//! let later = Job::new("ImportJob").queue("imports").arg("account-7");
//! let later = producer.enqueue_in(&later, Duration::from_secs(300)).await?;
//! if let Some(schedule) = &later.schedule {
//!     producer.cancel(schedule).await?;
//! }
//! producer.flush(Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::client::Client;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::ClientContext;
use thiserror::Error;

use crate::consumer::partition_for_key;
use crate::envelope::{EnvelopeTime, Job};
use crate::error::EncodeError;
use crate::kafka::client;
pub(crate) use crate::kafka::log::LogContext;
use crate::payload_format::{PayloadFormat, PayloadFormatError};
use crate::rails_version::RailsVersion;
use crate::scheduled::headers as sh;

/// WaterDrop's default `max_payload_size`: larger payloads are refused before producing.
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 1_000_012;

/// Karafka's Scheduled Messages contract refuses epochs more than 100 years ahead.
const MAX_FUTURE_SECONDS: i64 = 100 * 365 * 24 * 60 * 60;

/// rdkafka-ruby caches a topic's partition count for 30 s.
const PARTITION_COUNT_TTL: Duration = Duration::from_secs(30);

/// How long dropping the producer waits for queued messages.
const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// WaterDrop waits up to 10 s for room in a full librdkafka queue before giving up.
pub(crate) const QUEUE_FULL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before retrying a send refused because librdkafka's queue is full.
pub(crate) const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// Where a partitioner's value goes (Karafka Pro's `partition_key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionKeyType {
    /// The message key: librdkafka's `consistent_random` partitioner (CRC-32) picks the
    /// partition, and the key stays on the message (works with Virtual Partitions).
    #[default]
    Key,
    /// Only picks the partition (CRC-32 of the value modulo the partition count, as
    /// rdkafka-ruby computes it); the message has no key.
    PartitionKey,
    /// An explicit partition number (the partitioner returns its decimal text).
    Partition,
}

/// How one job is produced (Karafka's `dispatch_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispatchMethod {
    /// `produce_async` (Karafka's default): queued in librdkafka, not waited for; delivery
    /// failures are logged. [`JobProducer::flush`] waits for everything queued.
    #[default]
    Async,
    /// `produce_sync`: returns once the broker acknowledged the message.
    Sync,
}

/// How [`JobProducer::enqueue_all`] produces a group of jobs (Karafka's `dispatch_many_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispatchManyMethod {
    /// `produce_many_async` (Karafka's default).
    #[default]
    Async,
    /// `produce_many_sync`: returns once every message of the group is acknowledged.
    Sync,
}

/// A job's partitioner: its value is the key, partition key or partition of the message.
/// `None` means no key (`Key`, `PartitionKey`) and is refused for `Partition`.
pub type Partitioner = Arc<dyn Fn(&Job) -> Option<String> + Send + Sync>;

/// Per-job-class options, Karafka's `karafka_options`. Unset fields fall back to the
/// producer's defaults, then to Karafka's defaults.
#[derive(Clone, Default)]
pub struct JobOptions {
    partitioner: Option<Partitioner>,
    partition_key_type: Option<PartitionKeyType>,
    dispatch_method: Option<DispatchMethod>,
    dispatch_many_method: Option<DispatchManyMethod>,
    scheduled_messages_topic: Option<String>,
    producer_config: BTreeMap<String, String>,
}

impl fmt::Debug for JobOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobOptions")
            .field("partitioner", &self.partitioner.as_ref().map(|_| ".."))
            .field("partition_key_type", &self.partition_key_type)
            .field("dispatch_method", &self.dispatch_method)
            .field("dispatch_many_method", &self.dispatch_many_method)
            .field("scheduled_messages_topic", &self.scheduled_messages_topic)
            .field("producer_config", &self.producer_config)
            .finish()
    }
}

impl JobOptions {
    /// No options set.
    pub fn new() -> Self {
        JobOptions::default()
    }

    /// `partitioner: ->(job) { ... }`.
    pub fn partitioner(
        mut self,
        f: impl Fn(&Job) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.partitioner = Some(Arc::new(f));
        self
    }

    /// `partition_key_type:` (default [`PartitionKeyType::Key`]).
    pub fn partition_key_type(mut self, t: PartitionKeyType) -> Self {
        self.partition_key_type = Some(t);
        self
    }

    /// `dispatch_method:` (default [`DispatchMethod::Async`]).
    pub fn dispatch_method(mut self, m: DispatchMethod) -> Self {
        self.dispatch_method = Some(m);
        self
    }

    /// `dispatch_many_method:` (default [`DispatchManyMethod::Async`]).
    pub fn dispatch_many_method(mut self, m: DispatchManyMethod) -> Self {
        self.dispatch_many_method = Some(m);
        self
    }

    /// `scheduled_messages_topic:`, the Scheduled Messages proxy topic for future times.
    pub fn scheduled_messages_topic(mut self, topic: impl Into<String>) -> Self {
        self.scheduled_messages_topic = Some(topic.into());
        self
    }

    /// A librdkafka producer property for this class (`acks=all`, `compression.type=zstd`),
    /// applied over the builder's `kafka` settings. Classes with the same settings share one
    /// producer, like Karafka Pro's `producer: ->(job) { variant }`.
    pub fn producer_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.producer_config.insert(key.into(), value.into());
        self
    }

    /// `self` merged over `base`: fields set here win; producer settings merge key by key.
    fn merged_over(&self, base: &JobOptions) -> JobOptions {
        let mut producer_config = base.producer_config.clone();
        producer_config.extend(self.producer_config.clone());
        JobOptions {
            partitioner: self
                .partitioner
                .clone()
                .or_else(|| base.partitioner.clone()),
            partition_key_type: self.partition_key_type.or(base.partition_key_type),
            dispatch_method: self.dispatch_method.or(base.dispatch_method),
            dispatch_many_method: self.dispatch_many_method.or(base.dispatch_many_method),
            scheduled_messages_topic: self
                .scheduled_messages_topic
                .clone()
                .or_else(|| base.scheduled_messages_topic.clone()),
            producer_config,
        }
    }
}

/// A produce that did not happen or was not acknowledged.
#[derive(Debug, Error)]
pub enum ProduceError {
    /// No `bootstrap.servers` anywhere.
    #[error("{}", client::NO_BROKERS)]
    NoBrokers,
    /// librdkafka refused a producer configuration.
    #[error("creating the producer failed: {0}")]
    Config(#[source] KafkaError),
    /// The job has no `queue_name`, and the queue is the topic.
    #[error("job {job_class} has no queue_name: Karafka produces to the topic named by it")]
    NoQueue {
        /// The job's class.
        job_class: String,
    },
    /// The topic name is not one WaterDrop accepts (`[A-Za-z0-9_.-]+`).
    #[error("{topic:?} is not a valid topic name")]
    InvalidTopic {
        /// The topic.
        topic: String,
    },
    /// The job could not be serialized.
    #[error("encoding job {job_class}: {source}")]
    Encode {
        /// The job's class.
        job_class: String,
        /// Why.
        source: EncodeError,
    },
    /// The application's [`PayloadFormat`] could not wrap the job.
    #[error("wrapping job {job_class} in the payload format: {source}")]
    PayloadFormat {
        /// The job's class.
        job_class: String,
        /// Why.
        source: PayloadFormatError,
    },
    /// The partitioner returned an empty string for a key or partition key (WaterDrop refuses
    /// empty keys).
    #[error("the partitioner of {job_class} returned an empty {kind}")]
    EmptyKey {
        /// The job's class.
        job_class: String,
        /// `key` or `partition_key`.
        kind: &'static str,
    },
    /// With `partition_key_type: partition` the partitioner must return an integer ≥ -1.
    #[error("the partitioner of {job_class} returned {value:?}, not a partition number ≥ -1")]
    InvalidPartition {
        /// The job's class.
        job_class: String,
        /// What it returned.
        value: Option<String>,
    },
    /// The payload is larger than `max_payload_size` (WaterDrop's `max_payload_size`).
    #[error("payload of {job_class} is {size} bytes, over max_payload_size {max}")]
    PayloadTooLarge {
        /// The job's class.
        job_class: String,
        /// Payload bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A future time without a Scheduled Messages topic: Karafka OSS raises
    /// `NotImplementedError` here.
    #[error(
        "{job_class} is due at {at}, but this queueing backend does not support scheduling future \
         jobs without a Scheduled Messages topic: set JobOptions::scheduled_messages_topic (and run \
         Karafka Pro or activejob_karafka::scheduled::ScheduledDispatcher on it); for ActiveJob \
         Continuation use `self.resume_options = {{ wait: 0 }}`, for retry_on `wait: 0, jitter: 0`"
    )]
    SchedulingNotConfigured {
        /// The job's class.
        job_class: String,
        /// When it was meant to run.
        at: DateTime<Utc>,
    },
    /// Karafka refuses epochs more than 100 years ahead.
    #[error("{job_class} is scheduled for {at}, more than 100 years ahead")]
    ScheduleTooFar {
        /// The job's class.
        job_class: String,
        /// The time asked for.
        at: DateTime<Utc>,
    },
    /// The broker refused the message, it timed out, or librdkafka's queue stayed full.
    #[error("producing to {topic} failed: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// Some messages of a `produce_many_sync` group were not acknowledged.
    #[error(
        "{failed} of {total} messages were not acknowledged; first error on {topic}: {source}"
    )]
    Many {
        /// Messages that failed.
        failed: usize,
        /// Messages in the call.
        total: usize,
        /// Topic of the first failure.
        topic: String,
        /// The first failure.
        source: KafkaError,
    },
    /// Messages were still queued when `flush` gave up.
    #[error("flush did not complete: {0}")]
    Flush(#[source] KafkaError),
}

/// A Scheduled Messages proxy message, enough to cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRef {
    /// The proxy (scheduled messages) topic.
    pub topic: String,
    /// The proxy message key, `"<target topic>-<uuid>"`.
    pub key: String,
    /// The proxy partition the schedule went to, when known. A cancel must land on the same
    /// partition: the daemon keeps each partition's schedules apart.
    pub partition: Option<i32>,
}

impl ScheduleRef {
    /// A schedule known by its key only. Its cancel is routed by the key, as Karafka's
    /// `Proxy.cancel(key:)` is: right for schedules of `PartitionKeyType::Key` jobs, but a
    /// schedule routed by a target partition or partition key lives on the partition of that
    /// value, so give the partition too.
    pub fn new(topic: impl Into<String>, key: impl Into<String>) -> Self {
        ScheduleRef {
            topic: topic.into(),
            key: key.into(),
            partition: None,
        }
    }
}

/// What one enqueue produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id.
    pub job_id: Option<String>,
    /// The topic written to: the job's topic, or the proxy topic for a future time.
    pub topic: String,
    /// The partition, when acknowledged or chosen before producing.
    pub partition: Option<i32>,
    /// The offset, when acknowledged (sync dispatch).
    pub offset: Option<i64>,
    /// Set when the job went through Scheduled Messages.
    pub schedule: Option<ScheduleRef>,
}

/// Builds a [`JobProducer`].
#[derive(Debug, Clone, Default)]
pub struct JobProducerBuilder {
    bootstrap_servers: Option<String>,
    kafka: BTreeMap<String, String>,
    queue_prefix: String,
    defaults: JobOptions,
    classes: HashMap<String, JobOptions>,
    max_payload_size: Option<usize>,
    payload_format: Option<Arc<dyn PayloadFormat>>,
    available_locales: Option<Vec<String>>,
    rails_version: RailsVersion,
}

impl JobProducerBuilder {
    /// The application's `I18n.available_locales` (`DecodeOptions::available_locales`): a
    /// job whose `locale` is not among them is refused, since Rails would raise
    /// `I18n::InvalidLocale` when it runs it. Unset: any locale is written.
    pub fn available_locales<S: Into<String>>(
        mut self,
        locales: impl IntoIterator<Item = S>,
    ) -> Self {
        self.available_locales = Some(locales.into_iter().map(Into::into).collect());
        self
    }

    /// `bootstrap.servers` (else `kafka("bootstrap.servers", ..)`, else the
    /// `KAFKA_BOOTSTRAP_SERVERS` environment variable).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// A librdkafka producer property for every producer.
    pub fn kafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }

    /// Prepended to `queue_name` to form the topic (Karafka has no such setting).
    pub fn queue_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.queue_prefix = prefix.into();
        self
    }

    /// Options for every job class (Karafka's `karafka_options` on `ApplicationJob`).
    pub fn defaults(mut self, options: JobOptions) -> Self {
        self.defaults = options;
        self
    }

    /// Options for one job class, merged over [`Self::defaults`].
    pub fn job(mut self, job_class: impl Into<String>, options: JobOptions) -> Self {
        self.classes.insert(job_class.into(), options);
        self
    }

    /// Largest payload accepted (default [`DEFAULT_MAX_PAYLOAD_SIZE`], WaterDrop's).
    pub fn max_payload_size(mut self, bytes: usize) -> Self {
        self.max_payload_size = Some(bytes);
        self
    }

    /// How messages carry a job, when the Ruby application replaced Karafka's `Deserializer`;
    /// the same format as the worker's [`DecodeOptions::payload_format`](crate::DecodeOptions).
    /// Without one, the payload is the job's JSON, as Karafka writes it by default.
    pub fn payload_format(mut self, format: Arc<dyn PayloadFormat>) -> Self {
        self.payload_format = Some(format);
        self
    }

    /// The Rails version of the Ruby workers that read the jobs (default 8.1; the
    /// application's [`DecodeOptions::rails_version`](crate::DecodeOptions), `rails_version`
    /// in `app.toml`): every payload, enqueued or re-enqueued, is written as that version
    /// writes it, and a job it cannot read fails with [`ProduceError::Encode`].
    pub fn rails_version(mut self, version: RailsVersion) -> Self {
        self.rails_version = version;
        self
    }

    /// Creates the producers: one for the defaults and one per distinct class producer config.
    pub fn build(self) -> Result<JobProducer, ProduceError> {
        let bootstrap = client::bootstrap_servers(self.bootstrap_servers.as_deref(), &self.kafka)
            .ok_or(ProduceError::NoBrokers)?;
        let mut producers: Vec<FutureProducer<LogContext>> = Vec::new();
        let mut by_config: HashMap<BTreeMap<String, String>, usize> = HashMap::new();
        let mut make = |overrides: &BTreeMap<String, String>| -> Result<usize, ProduceError> {
            if let Some(&i) = by_config.get(overrides) {
                return Ok(i);
            }
            let config = producer_config(&bootstrap, &self.kafka, overrides);
            let producer = config
                .create_with_context(LogContext("producer"))
                .map_err(ProduceError::Config)?;
            producers.push(producer);
            by_config.insert(overrides.clone(), producers.len() - 1);
            Ok(producers.len() - 1)
        };
        let default_index = make(&self.defaults.producer_config)?;
        let mut classes = HashMap::new();
        for (class, options) in &self.classes {
            let merged = options.merged_over(&self.defaults);
            let index = make(&merged.producer_config)?;
            classes.insert(class.clone(), Resolved::new(merged, index));
        }
        Ok(JobProducer {
            inner: Arc::new(Inner {
                producers,
                queue_prefix: self.queue_prefix,
                defaults: Resolved::new(self.defaults, default_index),
                classes,
                max_payload_size: self.max_payload_size.unwrap_or(DEFAULT_MAX_PAYLOAD_SIZE),
                payload_format: self.payload_format,
                rails_version: self.rails_version,
                partition_counts: PartitionCounts::default(),
                available_locales: self.available_locales,
            }),
        })
    }
}

/// The librdkafka configuration of a job producer: the connection, `consistent_random` (what
/// rdkafka-ruby uses, spelled out so both sides agree even if a default changes), then the
/// application's settings and the class's.
fn producer_config(
    bootstrap: &str,
    kafka: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut c = client::base_config(bootstrap, None);
    c.set("partitioner", "consistent_random");
    for (k, v) in kafka.iter().chain(overrides) {
        c.set(k, v);
    }
    c
}

/// Options with Karafka's defaults filled in and the producer chosen.
#[derive(Clone)]
struct Resolved {
    partitioner: Option<Partitioner>,
    partition_key_type: PartitionKeyType,
    dispatch_method: DispatchMethod,
    dispatch_many_method: DispatchManyMethod,
    scheduled_messages_topic: Option<String>,
    producer: usize,
}

impl Resolved {
    fn new(o: JobOptions, producer: usize) -> Self {
        Resolved {
            partitioner: o.partitioner,
            partition_key_type: o.partition_key_type.unwrap_or_default(),
            dispatch_method: o.dispatch_method.unwrap_or_default(),
            dispatch_many_method: o.dispatch_many_method.unwrap_or_default(),
            scheduled_messages_topic: o.scheduled_messages_topic,
            producer,
        }
    }
}

/// Enqueues jobs to Kafka as Karafka's (Pro) ActiveJob dispatcher does. Cheap to clone.
///
/// Dropping the last clone waits up to 10 s for messages still queued by async dispatches
/// (rust-rdkafka purges them on drop; WaterDrop's `close` waits for them too); call
/// [`JobProducer::flush`] to wait at a time of your choosing.
#[derive(Clone)]
pub struct JobProducer {
    inner: Arc<Inner>,
}

struct Inner {
    producers: Vec<FutureProducer<LogContext>>,
    queue_prefix: String,
    defaults: Resolved,
    classes: HashMap<String, Resolved>,
    max_payload_size: usize,
    payload_format: Option<Arc<dyn PayloadFormat>>,
    rails_version: RailsVersion,
    partition_counts: PartitionCounts,
    available_locales: Option<Vec<String>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for p in &self.producers {
            if let Err(error) = p.flush(DROP_FLUSH_TIMEOUT) {
                tracing::warn!(%error, "job producer dropped with undelivered messages");
            }
        }
    }
}

impl fmt::Debug for JobProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobProducer")
            .field("producers", &self.inner.producers.len())
            .field("queue_prefix", &self.inner.queue_prefix)
            .field("classes", &self.inner.classes.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where the partitioner's value goes for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Details {
    None,
    Key(String),
    PartitionKey(String),
    Partition(i32),
}

/// One job ready to produce.
struct Prepared {
    job_class: String,
    job_id: Option<String>,
    topic: String,
    details: Details,
    payload: Vec<u8>,
    options: Resolved,
}

impl JobProducer {
    /// A builder.
    pub fn builder() -> JobProducerBuilder {
        JobProducerBuilder::default()
    }

    /// `perform_later`: produces the job to its topic with its class's dispatch method. A job
    /// whose `scheduled_at` is set goes through [`Self::enqueue_at`] at that time, as Rails'
    /// `enqueue` does.
    pub async fn enqueue(&self, job: &Job) -> Result<Enqueued, ProduceError> {
        if let Some(at) = &job.scheduled_at {
            let at = at.time.instant.with_timezone(&Utc);
            return self.enqueue_at(job, at).await;
        }
        let options = self.options(&job.job_class);
        let method = options.dispatch_method;
        let prepared = self.prepare(job, None, options)?;
        self.dispatch(prepared, method).await
    }

    /// `perform_at`: Karafka Pro's `dispatch_at`. `scheduled_at` is set to `at` (Rails'
    /// `set(wait_until:)`). A time not after now dispatches directly; a future time produces
    /// a Scheduled Messages proxy message to the class's `scheduled_messages_topic` (epoch
    /// truncated to seconds, like Ruby's `to_i`).
    pub async fn enqueue_at(&self, job: &Job, at: DateTime<Utc>) -> Result<Enqueued, ProduceError> {
        let method = self.options(&job.job_class).dispatch_method;
        self.enqueue_at_with(job, at, method).await
    }

    /// [`Self::enqueue_at`] with the dispatch method given instead of the class's: a
    /// continuation resume, for one, must know its payload is acknowledged before the original
    /// message is marked consumed.
    pub async fn enqueue_at_with(
        &self,
        job: &Job,
        at: DateTime<Utc>,
        method: DispatchMethod,
    ) -> Result<Enqueued, ProduceError> {
        let options = self.options(&job.job_class);
        let prepared = self.prepare(job, Some(at), options)?;
        // Karafka compares `timestamp.to_f <= Time.now.to_f`.
        if at <= Utc::now() {
            return self.dispatch(prepared, method).await;
        }
        let proxy_topic = prepared.options.scheduled_messages_topic.clone().ok_or(
            ProduceError::SchedulingNotConfigured {
                job_class: prepared.job_class.clone(),
                at,
            },
        )?;
        check_topic(&proxy_topic)?;
        let epoch = at.timestamp();
        if epoch > Utc::now().timestamp() + MAX_FUTURE_SECONDS {
            return Err(ProduceError::ScheduleTooFar {
                job_class: prepared.job_class,
                at,
            });
        }
        let proxy = proxy_message(&prepared.topic, &prepared.details, epoch);
        let producer = &self.inner.producers[prepared.options.producer];
        // rdkafka-ruby hashes a partition_key itself; with only a key librdkafka's
        // consistent_random does the same hash, so the partition is known either way.
        let count = self.partition_count(producer, &proxy_topic).await;
        let route = proxy.partition_key.as_deref().unwrap_or(&proxy.key);
        let partition = count.map(|n| partition_for_key(route.as_bytes(), n));
        let out = Outgoing {
            topic: proxy_topic.clone(),
            partition,
            key: Some(proxy.key.clone().into_bytes()),
            payload: Some(prepared.payload),
            headers: proxy.headers,
        };
        let delivered = produce(producer, &out, method).await?;
        Ok(Enqueued {
            job_id: prepared.job_id,
            topic: proxy_topic.clone(),
            partition: delivered.map(|d| d.0).or(partition),
            offset: delivered.map(|d| d.1),
            schedule: Some(ScheduleRef {
                topic: proxy_topic,
                key: proxy.key,
                partition: delivered.map(|d| d.0).or(partition),
            }),
        })
    }

    /// `set(wait: ..).perform_later`: [`Self::enqueue_at`] at now + `wait`.
    pub async fn enqueue_in(&self, job: &Job, wait: Duration) -> Result<Enqueued, ProduceError> {
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let at = Utc::now()
            .checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.enqueue_at(job, at).await
    }

    /// `perform_all_later`: Karafka's `dispatch_many`. Jobs are grouped by their class's
    /// `dispatch_many_method` and then by producer (first-seen order, jobs in order within a
    /// group), one `produce_many` per group. Like Karafka, `scheduled_at` is not looked at:
    /// every job is dispatched now. Returns one [`Enqueued`] per job, in order.
    pub async fn enqueue_all(&self, jobs: &[Job]) -> Result<Vec<Enqueued>, ProduceError> {
        let mut prepared = Vec::with_capacity(jobs.len());
        for job in jobs {
            let options = self.options(&job.job_class);
            prepared.push(self.prepare(job, None, options)?);
        }
        // Karafka Pro nests the groups: by method first, then by producer, each in first-seen
        // order, so messages of one method go out before those of the next.
        let mut groups: Vec<((DispatchManyMethod, usize), Vec<usize>)> = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            let key = (p.options.dispatch_many_method, p.options.producer);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let method_rank = |m: DispatchManyMethod| {
            prepared
                .iter()
                .position(|p| p.options.dispatch_many_method == m)
                .unwrap_or(usize::MAX)
        };
        // Stable: producers keep their first-seen order within a method.
        groups.sort_by_key(|((m, _), _)| method_rank(*m));
        let mut results: Vec<Option<Enqueued>> = vec![None; prepared.len()];
        let mut slots: Vec<Option<Prepared>> = prepared.into_iter().map(Some).collect();
        for ((method, producer_index), members) in groups {
            let producer = &self.inner.producers[producer_index];
            let mut pending: Vec<(usize, String, Option<i32>, DeliveryFuture)> = Vec::new();
            for i in members {
                let p = slots[i].take().expect("each job is in one group");
                let out = self.direct_message(producer, &p).await;
                let future = send_waiting(producer, &out).await?;
                results[i] = Some(Enqueued {
                    job_id: p.job_id,
                    topic: out.topic.clone(),
                    partition: out.partition,
                    offset: None,
                    schedule: None,
                });
                pending.push((i, out.topic, out.partition, future));
            }
            match method {
                DispatchManyMethod::Async => {
                    for (_, topic, _, future) in pending {
                        log_failure(topic, future);
                    }
                }
                DispatchManyMethod::Sync => {
                    let total = pending.len();
                    let mut failed = Vec::new();
                    let outcomes = futures::future::join_all(
                        pending
                            .into_iter()
                            .map(|(i, topic, _, f)| async move { (i, topic, f.await) }),
                    )
                    .await;
                    for (i, topic, outcome) in outcomes {
                        match outcome {
                            Ok(Ok(d)) => {
                                if let Some(r) = results[i].as_mut() {
                                    r.partition = Some(d.partition);
                                    r.offset = Some(d.offset);
                                }
                            }
                            Ok(Err((e, _))) => failed.push((topic, e)),
                            Err(_) => failed.push((topic, KafkaError::Canceled)),
                        }
                    }
                    if let Some((topic, source)) = failed.first().cloned() {
                        return Err(ProduceError::Many {
                            failed: failed.len(),
                            total,
                            topic,
                            source,
                        });
                    }
                }
            }
        }
        Ok(results.into_iter().map(|r| r.expect("filled")).collect())
    }

    /// Cancels a scheduled job as Karafka's `Proxy.cancel` does: a message with the
    /// schedule's key, no payload and headers `schedule_schema_version` and
    /// `schedule_source_type: "cancel"`, on the schedule's partition when known. Waits for the
    /// broker's ack. A schedule already dispatched is not affected.
    pub async fn cancel(&self, schedule: &ScheduleRef) -> Result<Enqueued, ProduceError> {
        check_topic(&schedule.topic)?;
        let producer = &self.inner.producers[self.inner.defaults.producer];
        let out = Outgoing {
            topic: schedule.topic.clone(),
            partition: schedule.partition,
            key: Some(schedule.key.clone().into_bytes()),
            payload: None,
            headers: vec![
                text_header(sh::SCHEMA_VERSION, sh::CURRENT_SCHEMA_VERSION),
                text_header(sh::SOURCE_TYPE, "cancel"),
            ],
        };
        let delivered = produce(producer, &out, DispatchMethod::Sync).await?;
        Ok(Enqueued {
            job_id: None,
            topic: out.topic,
            partition: delivered.map(|d| d.0),
            offset: delivered.map(|d| d.1),
            schedule: Some(schedule.clone()),
        })
    }

    /// Waits until every queued message of every producer is delivered (or `timeout`).
    pub async fn flush(&self, timeout: Duration) -> Result<(), ProduceError> {
        let producers = self.inner.producers.clone();
        tokio::task::spawn_blocking(move || {
            for p in &producers {
                p.flush(timeout).map_err(ProduceError::Flush)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|_| Err(ProduceError::Flush(KafkaError::Canceled)))
    }

    /// The topic a job goes to: the prefix, then its `queue_name`.
    pub fn topic_for(&self, job: &Job) -> Option<String> {
        job.queue_name
            .as_ref()
            .map(|q| format!("{}{q}", self.inner.queue_prefix))
    }

    fn options(&self, job_class: &str) -> Resolved {
        self.inner
            .classes
            .get(job_class)
            .unwrap_or(&self.inner.defaults)
            .clone()
    }

    /// Serializes the job as Rails does on enqueue and applies the class's partitioner.
    fn prepare(
        &self,
        job: &Job,
        at: Option<DateTime<Utc>>,
        options: Resolved,
    ) -> Result<Prepared, ProduceError> {
        let job_class = job.job_class.clone();
        let topic = self.topic_for(job).ok_or_else(|| ProduceError::NoQueue {
            job_class: job_class.clone(),
        })?;
        check_topic(&topic)?;
        let mut job = job.clone();
        job.enqueued_at = Some(EnvelopeTime::now());
        if let Some(at) = at {
            job.scheduled_at = Some(EnvelopeTime::new(at));
        }
        let job_json = crate::write_rules::check_locale(
            job.locale.as_deref(),
            self.inner.available_locales.as_deref(),
        )
        .and_then(|()| job.encode_for(self.inner.rails_version))
        .map_err(|source| ProduceError::Encode {
            job_class: job_class.clone(),
            source,
        })?;
        let payload = match &self.inner.payload_format {
            None => job_json,
            Some(format) => {
                format
                    .payload(job_json)
                    .map_err(|source| ProduceError::PayloadFormat {
                        job_class: job_class.clone(),
                        source,
                    })?
            }
        };
        if payload.len() > self.inner.max_payload_size {
            return Err(ProduceError::PayloadTooLarge {
                job_class,
                size: payload.len(),
                max: self.inner.max_payload_size,
            });
        }
        let details = details(&job, &options)?;
        Ok(Prepared {
            job_class,
            job_id: job.job_id,
            topic,
            details,
            payload,
            options,
        })
    }

    /// The message Karafka Pro's `dispatch` writes: key, partition key or partition from the
    /// partitioner, the payload, no headers.
    async fn direct_message(
        &self,
        producer: &FutureProducer<LogContext>,
        p: &Prepared,
    ) -> Outgoing {
        let (key, partition) = match &p.details {
            Details::None => (None, None),
            Details::Key(k) => (Some(k.clone().into_bytes()), None),
            Details::Partition(n) => (None, Some(*n)),
            Details::PartitionKey(k) => {
                let count = self.partition_count(producer, &p.topic).await;
                (None, count.map(|n| partition_for_key(k.as_bytes(), n)))
            }
        };
        Outgoing {
            topic: p.topic.clone(),
            partition,
            key,
            payload: Some(p.payload.clone()),
            headers: Vec::new(),
        }
    }

    async fn dispatch(
        &self,
        p: Prepared,
        method: DispatchMethod,
    ) -> Result<Enqueued, ProduceError> {
        let producer = &self.inner.producers[p.options.producer];
        let out = self.direct_message(producer, &p).await;
        let delivered = produce(producer, &out, method).await?;
        Ok(Enqueued {
            job_id: p.job_id,
            topic: out.topic,
            partition: delivered.map(|d| d.0).or(out.partition),
            offset: delivered.map(|d| d.1),
            schedule: None,
        })
    }

    async fn partition_count(
        &self,
        producer: &FutureProducer<LogContext>,
        topic: &str,
    ) -> Option<i32> {
        if let Some(n) = self.inner.partition_counts.cached(topic) {
            return Some(n);
        }
        let producer = producer.clone();
        let topic = topic.to_string();
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            inner
                .partition_counts
                .fetch(producer.client(), &topic, Duration::from_secs(5))
        })
        .await
        .ok()
        .flatten()
    }
}

/// The partitioner's result placed as `partition_key_type` says (Karafka Pro's
/// `dispatch_details`), validated as WaterDrop validates a message.
fn details(job: &Job, options: &Resolved) -> Result<Details, ProduceError> {
    let Some(partitioner) = &options.partitioner else {
        return Ok(Details::None);
    };
    let value = partitioner(job);
    let empty = |kind| ProduceError::EmptyKey {
        job_class: job.job_class.clone(),
        kind,
    };
    match options.partition_key_type {
        PartitionKeyType::Key => match value {
            None => Ok(Details::None),
            Some(v) if v.is_empty() => Err(empty("key")),
            Some(v) => Ok(Details::Key(v)),
        },
        PartitionKeyType::PartitionKey => match value {
            None => Ok(Details::None),
            Some(v) if v.is_empty() => Err(empty("partition_key")),
            Some(v) => Ok(Details::PartitionKey(v)),
        },
        PartitionKeyType::Partition => match value.as_deref().map(str::trim).map(str::parse) {
            Some(Ok(n)) if n >= -1 => Ok(Details::Partition(n)),
            _ => Err(ProduceError::InvalidPartition {
                job_class: job.job_class.clone(),
                value,
            }),
        },
    }
}

/// The proxy message of `Karafka::Pro::ScheduledMessages::Proxy.schedule` for a target message
/// built by the ActiveJob dispatcher (no headers of its own, no envelope key).
struct Proxy {
    key: String,
    partition_key: Option<String>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn proxy_message(target_topic: &str, details: &Details, epoch: i64) -> Proxy {
    let mut headers = vec![
        text_header(sh::SCHEMA_VERSION, sh::CURRENT_SCHEMA_VERSION),
        text_header(sh::TARGET_EPOCH, &epoch.to_string()),
        text_header(sh::SOURCE_TYPE, "schedule"),
        text_header(sh::TARGET_TOPIC, target_topic),
    ];
    // Exported in Karafka's order (topic, partition, key, partition_key); at most one applies.
    let partition_key = match details {
        Details::None => None,
        Details::Partition(n) => {
            headers.push(text_header(sh::TARGET_PARTITION, &n.to_string()));
            Some(n.to_string())
        }
        Details::Key(k) => {
            headers.push(text_header(sh::TARGET_KEY, k));
            // A target key does not route the proxy message (only partition / partition_key).
            None
        }
        Details::PartitionKey(k) => {
            headers.push(text_header(sh::TARGET_PARTITION_KEY, k));
            Some(k.clone())
        }
    };
    Proxy {
        key: format!("{target_topic}-{}", uuid::Uuid::new_v4()),
        partition_key,
        headers,
    }
}

/// WaterDrop's topic contract: `\A(\w|-|\.)+\z`.
fn check_topic(topic: &str) -> Result<(), ProduceError> {
    let ok = !topic.is_empty()
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ProduceError::InvalidTopic {
            topic: topic.to_string(),
        })
    }
}

pub(crate) fn text_header(name: &str, value: &str) -> (String, Option<Vec<u8>>) {
    (name.to_string(), Some(value.as_bytes().to_vec()))
}

/// A message to produce: partition `None` lets librdkafka's partitioner choose by key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Outgoing {
    pub(crate) fn record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic);
        if !self.headers.is_empty() {
            let mut owned = OwnedHeaders::new_with_capacity(self.headers.len());
            for (key, value) in &self.headers {
                owned = owned.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            record = record.headers(owned);
        }
        if let Some(p) = self.partition.filter(|p| *p >= 0) {
            record = record.partition(p);
        }
        if let Some(k) = self.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = self.payload.as_deref() {
            record = record.payload(v);
        }
        record
    }
}

/// Hands the message to librdkafka, waiting for room while its queue is full (WaterDrop's
/// `wait_on_queue_full`).
async fn send_waiting<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
) -> Result<DeliveryFuture, ProduceError> {
    let deadline = Instant::now() + QUEUE_FULL_TIMEOUT;
    loop {
        match try_enqueue(producer, out, deadline) {
            Some(Ok(f)) => return Ok(f),
            Some(Err(source)) => {
                return Err(ProduceError::Kafka {
                    topic: out.topic.clone(),
                    source,
                })
            }
            None => tokio::time::sleep(QUEUE_FULL_PAUSE).await,
        }
    }
}

/// One attempt to hand `out` to librdkafka: `None` while its queue is full and `deadline` has
/// not passed (the caller waits [`QUEUE_FULL_PAUSE`] and tries again, blocking or not).
pub(crate) fn try_enqueue<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
    deadline: Instant,
) -> Option<Result<DeliveryFuture, KafkaError>> {
    match producer.send_result(out.record()) {
        Ok(f) => Some(Ok(f)),
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
            if Instant::now() < deadline =>
        {
            None
        }
        Err((e, _)) => Some(Err(e)),
    }
}

/// Produces one message; with `Sync` waits for the ack and returns (partition, offset).
async fn produce<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
    method: DispatchMethod,
) -> Result<Option<(i32, i64)>, ProduceError> {
    let future = send_waiting(producer, out).await?;
    match method {
        DispatchMethod::Async => {
            log_failure(out.topic.clone(), future);
            Ok(None)
        }
        DispatchMethod::Sync => match future.await {
            Ok(Ok(d)) => Ok(Some((d.partition, d.offset))),
            Ok(Err((source, _))) => Err(ProduceError::Kafka {
                topic: out.topic.clone(),
                source,
            }),
            Err(_) => Err(ProduceError::Kafka {
                topic: out.topic.clone(),
                source: KafkaError::Canceled,
            }),
        },
    }
}

/// Fire and forget, but a failed delivery is still reported (WaterDrop's `error.occurred`).
fn log_failure(topic: String, future: DeliveryFuture) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            if let Ok(Err((error, _))) = future.await {
                tracing::error!(topic, %error, "async job dispatch was not delivered");
            }
        });
    }
}

/// Partition counts with rdkafka-ruby's 30 s cache.
#[derive(Default)]
pub(crate) struct PartitionCounts {
    map: Mutex<HashMap<String, (i32, Instant)>>,
}

impl PartitionCounts {
    pub(crate) fn cached(&self, topic: &str) -> Option<i32> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(topic)
            .filter(|(_, at)| at.elapsed() < PARTITION_COUNT_TTL)
            .map(|(n, _)| *n)
    }

    /// The count from the cache or a metadata request (blocking). `None` when the topic stays
    /// unknown: rdkafka-ruby then leaves the partition to librdkafka too. A metadata request
    /// may auto-create the topic, so an unknown topic is asked about a few times.
    pub(crate) fn fetch<C: ClientContext>(
        &self,
        client: &Client<C>,
        topic: &str,
        timeout: Duration,
    ) -> Option<i32> {
        if let Some(n) = self.cached(topic) {
            return Some(n);
        }
        for attempt in 0..5 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
            let Ok(md) = client.fetch_metadata(Some(topic), timeout) else {
                continue;
            };
            let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
                continue;
            };
            if t.error().is_some() || t.partitions().is_empty() {
                continue;
            }
            let n = i32::try_from(t.partitions().len()).ok()?;
            self.map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.to_string(), (n, Instant::now()));
            return Some(n);
        }
        tracing::warn!(
            topic,
            "partition count unknown: librdkafka chooses the partition"
        );
        None
    }
}

/// Interrupted continuations are re-enqueued the way Karafka's dispatcher re-enqueues them (the job
/// class's partitioner, topic and scheduling), synchronously: the original message is marked
/// consumed only after the broker acknowledged the resumed payload. Configure the job class's
/// `partitioner` as in Ruby to keep the resumed job on its key's partition.
impl crate::registry::Requeue for JobProducer {
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        _key: Option<Vec<u8>>,
    ) -> futures::future::BoxFuture<'static, anyhow::Result<()>> {
        let producer = self.clone();
        Box::pin(async move {
            producer
                .enqueue_at_with(&job, at, DispatchMethod::Sync)
                .await
                .map(|_| ())
                .map_err(anyhow::Error::from)
        })
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.inner.payload_format.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(h: &'a [(String, Option<Vec<u8>>)], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn proxy_headers_follow_karafka_order_and_routing() {
        let p = proxy_message("jobs", &Details::Partition(3), 1_900_000_000);
        let names: Vec<&str> = p.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "schedule_schema_version",
                "schedule_target_epoch",
                "schedule_source_type",
                "schedule_target_topic",
                "schedule_target_partition"
            ]
        );
        assert_eq!(
            header(&p.headers, "schedule_target_epoch"),
            Some("1900000000")
        );
        assert_eq!(p.partition_key.as_deref(), Some("3"));
        assert!(p.key.starts_with("jobs-"));
        assert_eq!(p.key.len(), "jobs-".len() + 36);

        let k = proxy_message("jobs", &Details::Key("user-1".into()), 1);
        assert_eq!(header(&k.headers, "schedule_target_key"), Some("user-1"));
        assert_eq!(k.partition_key, None);

        let pk = proxy_message("jobs", &Details::PartitionKey("acct".into()), 1);
        assert_eq!(
            header(&pk.headers, "schedule_target_partition_key"),
            Some("acct")
        );
        assert_eq!(pk.partition_key.as_deref(), Some("acct"));

        let none = proxy_message("jobs", &Details::None, 1);
        assert_eq!(none.headers.len(), 4);
        assert_eq!(none.partition_key, None);
    }

    #[test]
    fn partitioner_values_are_validated_like_waterdrop() {
        let opts = |t, v: Option<&'static str>| Resolved {
            partitioner: Some(Arc::new(move |_: &Job| v.map(str::to_string))),
            partition_key_type: t,
            dispatch_method: DispatchMethod::Async,
            dispatch_many_method: DispatchManyMethod::Async,
            scheduled_messages_topic: None,
            producer: 0,
        };
        let job = Job::new("A");
        use PartitionKeyType::*;
        assert_eq!(
            details(&job, &opts(Key, Some("k"))).unwrap(),
            Details::Key("k".into())
        );
        assert_eq!(details(&job, &opts(Key, None)).unwrap(), Details::None);
        assert!(details(&job, &opts(Key, Some(""))).is_err());
        assert!(details(&job, &opts(PartitionKey, Some(""))).is_err());
        assert_eq!(
            details(&job, &opts(Partition, Some("2"))).unwrap(),
            Details::Partition(2)
        );
        assert!(details(&job, &opts(Partition, Some("x"))).is_err());
        assert!(details(&job, &opts(Partition, Some("-2"))).is_err());
        assert!(details(&job, &opts(Partition, None)).is_err());
    }

    #[test]
    fn class_options_merge_over_defaults() {
        let base = JobOptions::new()
            .scheduled_messages_topic("s")
            .producer_config("acks", "1")
            .producer_config("linger.ms", "5");
        let merged = JobOptions::new()
            .dispatch_method(DispatchMethod::Sync)
            .producer_config("acks", "all")
            .merged_over(&base);
        assert_eq!(merged.scheduled_messages_topic.as_deref(), Some("s"));
        assert_eq!(merged.dispatch_method, Some(DispatchMethod::Sync));
        assert_eq!(merged.producer_config["acks"], "all");
        assert_eq!(merged.producer_config["linger.ms"], "5");
    }

    #[test]
    fn topics_follow_waterdrop_rules() {
        assert!(check_topic("jobs.default-1_x").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("a b").is_err());
        assert!(check_topic("a/b").is_err());
    }
}
