//! Why a produce did not happen.

use super::*;

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
