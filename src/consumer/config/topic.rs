//! Per-topic settings: the retry backoff, the dead letter queue, what to do with messages that
//! cannot be run, the per-topic overrides of the group's settings, and the `active_job_topic`
//! block that holds them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::consumer::failure::BadMessageKind;
use crate::consumer::virtual_partitions::{VirtualPartitioner, VirtualPartitions};

/// Backoff between retries of a failing job (Karafka's `config.pause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseConfig {
    /// Base pause (`pause.timeout`, 1 000 ms).
    pub timeout: Duration,
    /// Upper bound (`pause.max_timeout`, 30 000 ms).
    pub max_timeout: Duration,
    /// Double the pause on every attempt (`pause.with_exponential_backoff`, true).
    pub with_exponential_backoff: bool,
}

impl Default for PauseConfig {
    fn default() -> Self {
        PauseConfig {
            timeout: Duration::from_millis(1_000),
            max_timeout: Duration::from_millis(30_000),
            with_exponential_backoff: true,
        }
    }
}

impl PauseConfig {
    /// Pause after a failed run, Karafka's `timeout * 2**attempt` capped at `max_timeout`.
    ///
    /// `attempt` counts runs of the same message starting at 1 (Karafka increments it before
    /// each run), so the first failure waits 2 × `timeout`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        if !self.with_exponential_backoff {
            return self.timeout;
        }
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.timeout
            .checked_mul(factor)
            .map_or(self.max_timeout, |d| d.min(self.max_timeout))
    }
}

/// Karafka's `dead_letter_queue(topic:, max_retries:)`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { topic = \"default_dlq\", max_retries = 3 }"
)]
pub struct DeadLetterQueue {
    /// Where failed jobs go.
    pub topic: String,
    /// Retries after the first run before the job is dead-lettered (3: four runs in all).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
}

fn default_max_retries() -> u32 {
    3
}

/// What to do with a message of a bad-message class.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BadMessagePolicy {
    /// Treat it like a failing job: pause, back off, retry (dead-letter after `max_retries` when
    /// the topic has a DLQ). Karafka blocks the partition on such messages, and so does this.
    #[default]
    Retry,
    /// Send it to the topic's dead letter queue at once and go on.
    DeadLetter,
    /// Produce it unchanged (payload, key, headers) to another topic and go on: for unknown job
    /// classes, so that a Ruby worker consuming that topic can run them.
    Forward(String),
}

impl<'de> Deserialize<'de> for BadMessagePolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "\"retry\", \"dead_letter\" or { forward = \"topic\" }"
        )]
        enum Raw {
            Name(String),
            Forward { forward: String },
        }
        match Raw::deserialize(d)? {
            Raw::Name(n) => match n.as_str() {
                "retry" => Ok(BadMessagePolicy::Retry),
                "dead_letter" => Ok(BadMessagePolicy::DeadLetter),
                other => Err(serde::de::Error::custom(format!(
                    "unknown policy {other:?}: expected \"retry\", \"dead_letter\" or {{ forward = \"topic\" }}"
                ))),
            },
            Raw::Forward { forward } => Ok(BadMessagePolicy::Forward(forward)),
        }
    }
}

/// Per-class policies for messages that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadMessagePolicies {
    /// Null payload.
    #[serde(default)]
    pub tombstone: BadMessagePolicy,
    /// Payload that is not a readable ActiveJob envelope.
    #[serde(default)]
    pub undecodable: BadMessagePolicy,
    /// `job_class` without a registered handler.
    #[serde(default)]
    pub unknown_job_class: BadMessagePolicy,
}

impl BadMessagePolicies {
    /// The policy for one class.
    pub fn for_kind(&self, kind: BadMessageKind) -> &BadMessagePolicy {
        match kind {
            BadMessageKind::Tombstone => &self.tombstone,
            BadMessageKind::Undecodable => &self.undecodable,
            BadMessageKind::UnknownJobClass => &self.unknown_job_class,
        }
    }
}

/// Where a partition without a committed offset in its consumer group starts (Karafka's
/// `initial_offset`, librdkafka's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "\"earliest\" or \"latest\"")]
pub enum InitialOffset {
    /// From the first message still in the partition (the default, as in Karafka).
    Earliest,
    /// From the end: only messages produced after the group first joined run.
    Latest,
}

impl InitialOffset {
    /// The `auto.offset.reset` value.
    pub fn as_str(self) -> &'static str {
        match self {
            InitialOffset::Earliest => "earliest",
            InitialOffset::Latest => "latest",
        }
    }
}

/// One routed topic (Karafka's `active_job_topic`).
///
/// `max_messages` and `pause` override the group's values for this topic alone, on the same
/// consumer. `initial_offset` and `kafka` are librdkafka consumer properties: a topic whose
/// properties differ from its group's other topics is consumed by a consumer of its own in the
/// same consumer group (Karafka's subscription groups; see
/// [`WorkerConfig::subscription_groups`](super::WorkerConfig::subscription_groups)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// Topic name (= the jobs' `queue_name`).
    pub name: String,
    /// Dead letter queue; off when `None` (Karafka's default).
    pub dead_letter_queue: Option<DeadLetterQueue>,
    /// Policies for tombstones, undecodable payloads and unknown job classes.
    pub bad_messages: BadMessagePolicies,
    /// Virtual partitions (Karafka Pro); off when `None`.
    pub virtual_partitions: Option<VirtualPartitions>,
    /// Hold a partition, paused, while its next job's `scheduled_at` is in the future, and run
    /// it when due (order is kept: nothing behind it runs earlier). Off by default: Karafka runs a
    /// job when it is consumed and ignores `scheduled_at`.
    pub hold_until_scheduled: bool,
    /// Jobs a partition of this topic runs before it yields its concurrency slot (Karafka's
    /// per-topic `max_messages`); `None`: the group's `max_messages`.
    pub max_messages: Option<usize>,
    /// Retry backoff of this topic (Karafka's per-topic `pause(timeout:, max_timeout:,
    /// with_exponential_backoff:)`); `None`: the group's `pause`.
    pub pause: Option<PauseConfig>,
    /// Where a partition without a committed offset starts (Karafka's `initial_offset`);
    /// `None`: `kafka."auto.offset.reset"` of the worker, else earliest.
    pub initial_offset: Option<InitialOffset>,
    /// librdkafka consumer properties for this topic, applied over the worker's `kafka`
    /// (Karafka's per-topic `kafka(..., inherit: true)`).
    pub kafka: BTreeMap<String, String>,
}

impl TopicConfig {
    /// A topic with Karafka's defaults: no DLQ, bad messages block and retry.
    pub fn new(name: impl Into<String>) -> Self {
        TopicConfig {
            name: name.into(),
            dead_letter_queue: None,
            bad_messages: BadMessagePolicies::default(),
            virtual_partitions: None,
            hold_until_scheduled: false,
            max_messages: None,
            pause: None,
            initial_offset: None,
            kafka: BTreeMap::new(),
        }
    }

    /// Jobs per turn of this topic's partitions (see
    /// [`TopicConfig::max_messages`](TopicConfig#structfield.max_messages)).
    pub fn max_messages(mut self, v: usize) -> Self {
        self.max_messages = Some(v);
        self
    }

    /// Retry backoff of this topic.
    pub fn pause(mut self, v: PauseConfig) -> Self {
        self.pause = Some(v);
        self
    }

    /// Where a partition without a committed offset starts.
    pub fn initial_offset(mut self, v: InitialOffset) -> Self {
        self.initial_offset = Some(v);
        self
    }

    /// Sets a librdkafka consumer property for this topic (a consumer of its own when it
    /// differs from the other topics of the group).
    pub fn kafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }

    /// The librdkafka properties this topic adds over the worker's: its `kafka` table and its
    /// `initial_offset` as `auto.offset.reset`. Topics of a group with equal properties share
    /// a consumer.
    pub fn consumer_properties(&self) -> BTreeMap<String, String> {
        let mut props = self.kafka.clone();
        if let Some(offset) = self.initial_offset {
            props.insert("auto.offset.reset".to_owned(), offset.as_str().to_owned());
        }
        props
    }

    /// Spreads each partition's jobs over up to `max_partitions` groups that run at the same
    /// time; jobs with the same virtual key (from `partitioner`) stay in order in one group.
    /// See the [module docs](crate::consumer#virtual-partitions).
    pub fn virtual_partitions(
        mut self,
        partitioner: VirtualPartitioner,
        max_partitions: usize,
    ) -> Self {
        self.virtual_partitions = Some(VirtualPartitions::new(partitioner, max_partitions));
        self
    }

    /// Holds the partition until its next job's `scheduled_at` is due (see
    /// [`TopicConfig::hold_until_scheduled`](TopicConfig#structfield.hold_until_scheduled)).
    pub fn hold_until_scheduled(mut self, yes: bool) -> Self {
        self.hold_until_scheduled = yes;
        self
    }

    /// Adds a dead letter queue.
    pub fn dead_letter_queue(mut self, topic: impl Into<String>, max_retries: u32) -> Self {
        self.dead_letter_queue = Some(DeadLetterQueue {
            topic: topic.into(),
            max_retries,
        });
        self
    }

    /// Sets the policy for one bad-message class.
    pub fn on_bad_message(mut self, kind: BadMessageKind, policy: BadMessagePolicy) -> Self {
        match kind {
            BadMessageKind::Tombstone => self.bad_messages.tombstone = policy,
            BadMessageKind::Undecodable => self.bad_messages.undecodable = policy,
            BadMessageKind::UnknownJobClass => self.bad_messages.unknown_job_class = policy,
        }
        self
    }
}
