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
use crate::ruby::time_zone::ZoneDatabase;
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
mod builder;
mod error;
mod options;
mod outgoing;

pub use builder::JobProducerBuilder;
pub use error::ProduceError;
use options::Resolved;
pub use options::{DispatchManyMethod, DispatchMethod, JobOptions, PartitionKeyType, Partitioner};
use outgoing::{check_topic, details, log_failure, produce, proxy_message, send_waiting};
pub(crate) use outgoing::{text_header, try_enqueue, Outgoing, PartitionCounts};

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
    time_zones: ZoneDatabase,
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
        .and_then(|()| job.encode_in(self.inner.rails_version, &self.inner.time_zones))
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
mod tests;
