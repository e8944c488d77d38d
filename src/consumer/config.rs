//! Worker configuration: built in code ([`WorkerConfig::builder`]) or read from a TOML file
//! laid out like a `karafka.rb` setup and routing block ([`WorkerConfig::from_toml_str`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::Deserialize;
use thiserror::Error;

use super::failure::BadMessageKind;
use super::virtual_partitions::{VirtualPartitioner, VirtualPartitions};

/// Environment variable naming the brokers when the configuration does not.
pub const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// A configuration that cannot run, found at start-up.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML text is not valid or has unknown keys / wrong types.
    #[error("invalid worker configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// No `bootstrap.servers` in the configuration and none in `KAFKA_BOOTSTRAP_SERVERS`.
    #[error(
        "no Kafka brokers: set bootstrap_servers, kafka.\"bootstrap.servers\" or {BOOTSTRAP_ENV}"
    )]
    NoBootstrapServers,
    /// No topic to consume.
    #[error("no topics: add at least one [topics.<name>] (active_job_topic)")]
    NoTopics,
    /// A setting that must be positive is zero.
    #[error("{0} must be greater than 0")]
    Zero(&'static str),
    /// An empty or illegal Kafka topic name.
    #[error("{0:?} is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])")]
    InvalidTopicName(String),
    /// The same topic is routed twice.
    #[error("topic {0:?} is configured twice")]
    DuplicateTopic(String),
    /// `pause.max_timeout_ms` is below `pause.timeout_ms`.
    #[error("pause.max_timeout_ms ({max} ms) is below pause.timeout_ms ({timeout} ms)")]
    PauseMaxBelowTimeout {
        /// `pause.timeout_ms`.
        timeout: u128,
        /// `pause.max_timeout_ms`.
        max: u128,
    },
    /// A bad-message policy is `dead_letter` but the topic has no dead letter queue.
    #[error(
        "topics.{topic}.{kind} = \"dead_letter\" needs topics.{topic}.dead_letter_queue.topic"
    )]
    DeadLetterWithoutQueue {
        /// Source topic.
        topic: String,
        /// Bad-message class.
        kind: BadMessageKind,
    },
    /// `forward` is only meaningful for unknown job classes (another worker may know them).
    #[error("topics.{topic}.{kind}: forward is only allowed for unknown_job_class")]
    ForwardNotAllowed {
        /// Source topic.
        topic: String,
        /// Bad-message class.
        kind: BadMessageKind,
    },
    /// A topic would send messages back to itself (an endless loop).
    #[error("topics.{topic}: {what} must not be the topic itself")]
    LoopsToItself {
        /// Source topic.
        topic: String,
        /// `dead_letter_queue.topic` or `unknown_job_class.forward`.
        what: &'static str,
    },
    /// A librdkafka property that the worker owns was set in the `kafka` table.
    #[error("kafka.\"{key}\" cannot be set here: {why}")]
    ReservedProperty {
        /// The property.
        key: String,
        /// What to do instead.
        why: &'static str,
    },
    /// A `kafka` / `producer` table value that is not a string, integer, float or boolean.
    #[error("kafka.\"{0}\": value must be a string, number or boolean")]
    PropertyValue(String),
    /// Virtual partitions with a dead letter queue that has `max_retries = 0`. Karafka Pro's
    /// contract refuses it too: with virtual partitions a job is dead-lettered only from the
    /// collapsed (one at a time) retry, so it needs at least one retry.
    #[error(
        "topics.{topic}: virtual_partitions with a dead letter queue need \
         dead_letter_queue.max_retries >= 1 (a failed job is retried once, collapsed, before it \
         can be dead-lettered); set max_retries to 1 or more, or remove virtual_partitions"
    )]
    VirtualPartitionsNeedRetries {
        /// Source topic.
        topic: String,
    },
}

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
#[serde(deny_unknown_fields)]
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
        #[serde(untagged)]
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

/// One routed topic (Karafka's `active_job_topic`).
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
        }
    }

    /// Spreads each partition's jobs over up to `max_partitions` groups that run at the same
    /// time; jobs with the same virtual key (from `partitioner`) stay in order in one group.
    /// See the [module docs](super#virtual-partitions).
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

/// Everything a [`Worker`](super::Worker) needs. Fields are public for inspection; build it with
/// [`WorkerConfig::builder`] or [`WorkerConfig::from_toml_str`], which validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Consumer group (`group.id`), `app` by default as in Karafka ≥ 2.4: the same group as the
    /// Ruby workers takes over their committed offsets.
    pub group_id: String,
    /// `client.id`, `karafka` by default.
    pub client_id: String,
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Partitions whose jobs run at the same time (5).
    pub concurrency: usize,
    /// Jobs a partition runs before it yields its concurrency slot to a waiting partition (100).
    pub max_messages: usize,
    /// How long a shutdown may wait for running jobs (60 s).
    pub shutdown_timeout: Duration,
    /// How long a rebalance may wait for the running job of a revoked partition before its
    /// offsets are committed and the partition is given up (10 s; never more than half of
    /// `max.poll.interval.ms`, or the whole group would wait on this member).
    pub revoke_timeout: Duration,
    /// Retry backoff.
    pub pause: PauseConfig,
    /// Routed topics.
    pub topics: Vec<TopicConfig>,
    /// librdkafka consumer properties, applied over the worker's defaults.
    pub kafka: BTreeMap<String, String>,
    /// librdkafka properties for the producer that writes dead letters and forwards, applied over
    /// the connection properties (`bootstrap.servers`, `security.*`, `sasl.*`, `ssl.*`, ...)
    /// copied from `kafka`.
    pub producer_kafka: BTreeMap<String, String>,
}

/// Builds a [`WorkerConfig`] in code.
#[derive(Debug, Clone)]
pub struct WorkerConfigBuilder {
    group_id: String,
    client_id: String,
    bootstrap_servers: Option<String>,
    concurrency: usize,
    max_messages: usize,
    shutdown_timeout: Duration,
    revoke_timeout: Duration,
    pause: PauseConfig,
    topics: Vec<TopicConfig>,
    kafka: BTreeMap<String, String>,
    producer_kafka: BTreeMap<String, String>,
}

impl Default for WorkerConfigBuilder {
    fn default() -> Self {
        WorkerConfigBuilder {
            group_id: "app".into(),
            client_id: "karafka".into(),
            bootstrap_servers: None,
            concurrency: 5,
            max_messages: 100,
            shutdown_timeout: Duration::from_millis(60_000),
            revoke_timeout: Duration::from_millis(10_000),
            pause: PauseConfig::default(),
            topics: Vec::new(),
            kafka: BTreeMap::new(),
            producer_kafka: BTreeMap::new(),
        }
    }
}

impl WorkerConfigBuilder {
    /// Consumer group id.
    pub fn group_id(mut self, v: impl Into<String>) -> Self {
        self.group_id = v.into();
        self
    }
    /// `client.id`.
    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.client_id = v.into();
        self
    }
    /// `bootstrap.servers` (otherwise `kafka."bootstrap.servers"`, then `KAFKA_BOOTSTRAP_SERVERS`).
    pub fn bootstrap_servers(mut self, v: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(v.into());
        self
    }
    /// Partitions running at the same time.
    pub fn concurrency(mut self, v: usize) -> Self {
        self.concurrency = v;
        self
    }
    /// Jobs per turn of a partition.
    pub fn max_messages(mut self, v: usize) -> Self {
        self.max_messages = v;
        self
    }
    /// Shutdown budget.
    pub fn shutdown_timeout(mut self, v: Duration) -> Self {
        self.shutdown_timeout = v;
        self
    }
    /// Wait for a revoked partition's running job during a rebalance.
    pub fn revoke_timeout(mut self, v: Duration) -> Self {
        self.revoke_timeout = v;
        self
    }
    /// Retry backoff.
    pub fn pause(mut self, v: PauseConfig) -> Self {
        self.pause = v;
        self
    }
    /// Adds a routed topic.
    pub fn topic(mut self, t: TopicConfig) -> Self {
        self.topics.push(t);
        self
    }
    /// Sets a librdkafka consumer property.
    pub fn kafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }
    /// Sets a librdkafka property of the dead-letter / forward producer.
    pub fn producer_kafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.producer_kafka.insert(key.into(), value.into());
        self
    }

    /// Resolves the brokers and validates.
    pub fn build(self) -> Result<WorkerConfig, ConfigError> {
        let bootstrap_servers = self
            .bootstrap_servers
            .or_else(|| self.kafka.get("bootstrap.servers").cloned())
            .or_else(|| std::env::var(BOOTSTRAP_ENV).ok())
            .filter(|s| !s.trim().is_empty())
            .ok_or(ConfigError::NoBootstrapServers)?;
        let config = WorkerConfig {
            group_id: self.group_id,
            client_id: self.client_id,
            bootstrap_servers,
            concurrency: self.concurrency,
            max_messages: self.max_messages,
            shutdown_timeout: self.shutdown_timeout,
            revoke_timeout: self.revoke_timeout,
            pause: self.pause,
            topics: self.topics,
            kafka: self.kafka,
            producer_kafka: self.producer_kafka,
        };
        config.validate()?;
        Ok(config)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    group_id: Option<String>,
    client_id: Option<String>,
    bootstrap_servers: Option<String>,
    concurrency: Option<usize>,
    max_messages: Option<usize>,
    shutdown_timeout_ms: Option<u64>,
    revoke_timeout_ms: Option<u64>,
    #[serde(default)]
    pause: FilePause,
    #[serde(default)]
    kafka: BTreeMap<String, toml::Value>,
    #[serde(default)]
    producer: BTreeMap<String, toml::Value>,
    #[serde(default)]
    topics: BTreeMap<String, FileTopic>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilePause {
    timeout_ms: Option<u64>,
    max_timeout_ms: Option<u64>,
    #[serde(alias = "exponential")]
    with_exponential_backoff: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVirtualPartitions {
    #[serde(default)]
    partitioner: VirtualPartitioner,
    /// Karafka's default: the worker's `concurrency`.
    max_partitions: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileTopic {
    dead_letter_queue: Option<DeadLetterQueue>,
    virtual_partitions: Option<FileVirtualPartitions>,
    #[serde(default)]
    hold_until_scheduled: bool,
    #[serde(default)]
    tombstone: BadMessagePolicy,
    #[serde(default)]
    undecodable: BadMessagePolicy,
    #[serde(default)]
    unknown_job_class: BadMessagePolicy,
}

fn property_value(key: &str, v: &toml::Value) -> Result<String, ConfigError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(ConfigError::PropertyValue(key.to_string())),
    }
}

/// librdkafka properties that describe the connection, shared by the consumer and the producer.
fn is_connection_property(key: &str) -> bool {
    key == "bootstrap.servers"
        || key == "client.id"
        || key == "client.rack"
        || key == "broker.address.family"
        || key == "client.dns.lookup"
        || key.starts_with("security.")
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key.starts_with("ssl_")
        || key.starts_with("socket.")
        || key.starts_with("enable.ssl")
}

fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

impl WorkerConfig {
    /// A builder with Karafka's defaults.
    pub fn builder() -> WorkerConfigBuilder {
        WorkerConfigBuilder::default()
    }

    /// Reads a TOML configuration. Every key is optional except at least one topic (and the
    /// brokers, when neither `kafka."bootstrap.servers"` nor `KAFKA_BOOTSTRAP_SERVERS` gives
    /// them); unknown keys are errors.
    ///
    /// ```toml
    /// # config.group_id / config.client_id / config.concurrency ...
    /// group_id = "app"
    /// client_id = "karafka"
    /// concurrency = 5
    /// max_messages = 100
    /// shutdown_timeout_ms = 60000
    /// revoke_timeout_ms = 10000  # no Karafka equivalent: see WorkerConfig::revoke_timeout
    /// # bootstrap_servers = "..." # else kafka."bootstrap.servers", else $KAFKA_BOOTSTRAP_SERVERS
    ///
    /// [pause]                    # config.pause.*
    /// timeout_ms = 1000
    /// max_timeout_ms = 30000
    /// with_exponential_backoff = true
    ///
    /// [kafka]                    # config.kafka = { ... }: any librdkafka consumer property
    /// "bootstrap.servers" = "127.0.0.1:9092"
    ///
    /// [producer]                 # librdkafka properties of the dead-letter / forward producer
    /// "linger.ms" = 5
    ///
    /// [topics.default]           # active_job_topic :default do ... end
    /// dead_letter_queue = { topic = "default_dlq", max_retries = 3 }
    /// tombstone = "dead_letter"                     # retry (default) | dead_letter
    /// undecodable = "retry"
    /// unknown_job_class = { forward = "ruby_jobs" } # or retry | dead_letter
    /// hold_until_scheduled = false                  # true: wait for each job's scheduled_at
    ///
    /// [topics.events.virtual_partitions]  # virtual_partitions(partitioner:, max_partitions:)
    /// partitioner = "key"  # message key (default) | "first_argument" | { header = "tenant_id" }
    /// max_partitions = 8   # default: concurrency
    /// ```
    pub fn from_toml_str(text: &str) -> Result<WorkerConfig, ConfigError> {
        let file: FileConfig = toml::from_str(text)?;
        let mut b = WorkerConfig::builder();
        if let Some(v) = file.group_id {
            b = b.group_id(v);
        }
        if let Some(v) = file.client_id {
            b = b.client_id(v);
        }
        if let Some(v) = file.bootstrap_servers {
            b = b.bootstrap_servers(v);
        }
        if let Some(v) = file.concurrency {
            b = b.concurrency(v);
        }
        if let Some(v) = file.max_messages {
            b = b.max_messages(v);
        }
        if let Some(v) = file.shutdown_timeout_ms {
            b = b.shutdown_timeout(Duration::from_millis(v));
        }
        if let Some(v) = file.revoke_timeout_ms {
            b = b.revoke_timeout(Duration::from_millis(v));
        }
        let mut pause = PauseConfig::default();
        if let Some(v) = file.pause.timeout_ms {
            pause.timeout = Duration::from_millis(v);
        }
        if let Some(v) = file.pause.max_timeout_ms {
            pause.max_timeout = Duration::from_millis(v);
        }
        if let Some(v) = file.pause.with_exponential_backoff {
            pause.with_exponential_backoff = v;
        }
        b = b.pause(pause);
        for (k, v) in &file.kafka {
            b = b.kafka(k.clone(), property_value(k, v)?);
        }
        for (k, v) in &file.producer {
            b = b.producer_kafka(k.clone(), property_value(k, v)?);
        }
        let concurrency = b.concurrency;
        for (name, t) in file.topics {
            b = b.topic(TopicConfig {
                name,
                dead_letter_queue: t.dead_letter_queue,
                bad_messages: BadMessagePolicies {
                    tombstone: t.tombstone,
                    undecodable: t.undecodable,
                    unknown_job_class: t.unknown_job_class,
                },
                virtual_partitions: t.virtual_partitions.map(|v| {
                    VirtualPartitions::new(v.partitioner, v.max_partitions.unwrap_or(concurrency))
                }),
                hold_until_scheduled: t.hold_until_scheduled,
            });
        }
        b.build()
    }

    /// Reads a TOML configuration file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<WorkerConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        WorkerConfig::from_toml_str(&text)
    }

    /// Checks everything that can be checked without a broker.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bootstrap_servers.trim().is_empty() {
            return Err(ConfigError::NoBootstrapServers);
        }
        if self.group_id.is_empty() {
            return Err(ConfigError::Zero("group_id length"));
        }
        if self.concurrency == 0 {
            return Err(ConfigError::Zero("concurrency"));
        }
        if self.max_messages == 0 {
            return Err(ConfigError::Zero("max_messages"));
        }
        if self.pause.timeout.is_zero() {
            return Err(ConfigError::Zero("pause.timeout_ms"));
        }
        if self.pause.max_timeout < self.pause.timeout {
            return Err(ConfigError::PauseMaxBelowTimeout {
                timeout: self.pause.timeout.as_millis(),
                max: self.pause.max_timeout.as_millis(),
            });
        }
        if self.topics.is_empty() {
            return Err(ConfigError::NoTopics);
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.topics {
            if !valid_topic_name(&t.name) {
                return Err(ConfigError::InvalidTopicName(t.name.clone()));
            }
            if !seen.insert(t.name.as_str()) {
                return Err(ConfigError::DuplicateTopic(t.name.clone()));
            }
            if let Some(vp) = &t.virtual_partitions {
                if vp.max_partitions == 0 {
                    return Err(ConfigError::Zero("virtual_partitions.max_partitions"));
                }
                if t.dead_letter_queue
                    .as_ref()
                    .is_some_and(|d| d.max_retries < 1)
                {
                    return Err(ConfigError::VirtualPartitionsNeedRetries {
                        topic: t.name.clone(),
                    });
                }
            }
            if let Some(dlq) = &t.dead_letter_queue {
                if !valid_topic_name(&dlq.topic) {
                    return Err(ConfigError::InvalidTopicName(dlq.topic.clone()));
                }
                if dlq.topic == t.name {
                    return Err(ConfigError::LoopsToItself {
                        topic: t.name.clone(),
                        what: "dead_letter_queue.topic",
                    });
                }
            }
            for kind in [
                BadMessageKind::Tombstone,
                BadMessageKind::Undecodable,
                BadMessageKind::UnknownJobClass,
            ] {
                match t.bad_messages.for_kind(kind) {
                    BadMessagePolicy::Retry => {}
                    BadMessagePolicy::DeadLetter => {
                        if t.dead_letter_queue.is_none() {
                            return Err(ConfigError::DeadLetterWithoutQueue {
                                topic: t.name.clone(),
                                kind,
                            });
                        }
                    }
                    BadMessagePolicy::Forward(to) => {
                        if kind != BadMessageKind::UnknownJobClass {
                            return Err(ConfigError::ForwardNotAllowed {
                                topic: t.name.clone(),
                                kind,
                            });
                        }
                        if !valid_topic_name(to) {
                            return Err(ConfigError::InvalidTopicName(to.clone()));
                        }
                        if *to == t.name {
                            return Err(ConfigError::LoopsToItself {
                                topic: t.name.clone(),
                                what: "unknown_job_class.forward",
                            });
                        }
                    }
                }
            }
        }
        for (k, v) in &self.kafka {
            match k.as_str() {
                "group.id" => {
                    return Err(ConfigError::ReservedProperty {
                        key: k.clone(),
                        why: "set group_id instead",
                    })
                }
                "enable.auto.offset.store" if v != "false" => {
                    return Err(ConfigError::ReservedProperty {
                        key: k.clone(),
                        why:
                            "offsets are stored by the worker after each job (Karafka forces false)",
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Names of the routed topics, in configuration order.
    pub fn topic_names(&self) -> Vec<&str> {
        self.topics.iter().map(|t| t.name.as_str()).collect()
    }

    /// The routed topic called `name`.
    pub fn topic(&self, name: &str) -> Option<&TopicConfig> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// True when some topic needs a producer (a DLQ or a forward policy).
    pub fn needs_producer(&self) -> bool {
        self.topics.iter().any(|t| {
            t.dead_letter_queue.is_some()
                || matches!(
                    t.bad_messages.unknown_job_class,
                    BadMessagePolicy::Forward(_)
                )
        })
    }

    /// The librdkafka consumer configuration: Karafka's settings, then `kafka` on top.
    ///
    /// Karafka forces `enable.auto.offset.store=false` and injects `statistics.interval.ms`,
    /// `max.poll.interval.ms`, `socket.nagle.disable` and (outside production)
    /// `allow.auto.create.topics`; `enable.auto.commit` / `auto.commit.interval.ms` /
    /// `partition.assignment.strategy` are librdkafka's defaults, spelled out here.
    /// `fetch.queue.backoff.ms` is lowered from librdkafka's 1 000 ms: with the default, the
    /// fetcher idles a full second whenever its read-ahead queue is full.
    /// `queued.min.messages` / `queued.max.messages.kbytes` (read-ahead bounds) are lowered to
    /// 10 000 messages / 8 MiB because the worker reads each partition from its own queue, to
    /// which librdkafka applies them per partition rather than once per consumer.
    /// `fetch.wait.max.ms` is lowered from 500 ms to 50 ms: librdkafka keeps one fetch in flight
    /// per broker, and a fetch that only asks for caught-up partitions is held by the broker for
    /// up to this long while the partitions with a backlog drain their read-ahead and wait. With
    /// 500 ms, a handler costing about a microsecond halved the worker's throughput on our bench
    /// (`make bench-e2e`); an idle consumer now sends up to 20 fetches a second per broker.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("group.id", &self.group_id)
            .set("client.id", &self.client_id)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "5000")
            .set("statistics.interval.ms", "5000")
            .set("max.poll.interval.ms", "300000")
            .set("socket.nagle.disable", "true")
            .set("allow.auto.create.topics", "true")
            .set("partition.assignment.strategy", "range,roundrobin")
            .set("fetch.queue.backoff.ms", "10")
            .set("fetch.wait.max.ms", "50")
            .set("queued.min.messages", "10000")
            .set("queued.max.messages.kbytes", "8192")
            .set("client.software.name", "activejob-karafka")
            .set("client.software.version", env!("CARGO_PKG_VERSION"));
        for (k, v) in &self.kafka {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("enable.auto.offset.store", "false");
        c
    }

    /// The librdkafka producer configuration for dead letters and forwards: the connection
    /// properties of `kafka`, acks from all in-sync replicas, then `producer_kafka` on top.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", &self.client_id)
            .set("acks", "all")
            .set("socket.nagle.disable", "true")
            .set("client.software.name", "activejob-karafka")
            .set("client.software.version", env!("CARGO_PKG_VERSION"));
        for (k, v) in &self.kafka {
            if is_connection_property(k) {
                c.set(k, v);
            }
        }
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.producer_kafka {
            c.set(k, v);
        }
        c
    }

    /// The `max.poll.interval.ms` in effect.
    pub fn max_poll_interval(&self) -> Duration {
        let ms = self
            .kafka
            .get("max.poll.interval.ms")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(300_000);
        Duration::from_millis(ms)
    }

    /// How long a revocation really waits: `revoke_timeout`, at most half of
    /// `max.poll.interval.ms`.
    pub fn effective_revoke_timeout(&self) -> Duration {
        self.revoke_timeout.min(self.max_poll_interval() / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> WorkerConfigBuilder {
        WorkerConfig::builder().bootstrap_servers("127.0.0.1:1")
    }

    #[test]
    fn backoff_is_karafkas() {
        let p = PauseConfig::default();
        let ms: Vec<u128> = (1..=6).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(ms, vec![2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert_eq!(p.backoff(200), Duration::from_millis(30_000));
        let flat = PauseConfig {
            with_exponential_backoff: false,
            ..p
        };
        assert_eq!(flat.backoff(5), Duration::from_millis(1_000));
    }

    #[test]
    fn defaults_are_karafkas() {
        let c = base().topic(TopicConfig::new("default")).build().unwrap();
        assert_eq!(c.group_id, "app");
        assert_eq!(c.client_id, "karafka");
        assert_eq!(c.concurrency, 5);
        assert_eq!(c.max_messages, 100);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(60));
        assert_eq!(c.pause, PauseConfig::default());
        let k = c.consumer_config();
        assert_eq!(k.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(k.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(k.get("group.id"), Some("app"));
        assert_eq!(
            k.get("partition.assignment.strategy"),
            Some("range,roundrobin")
        );
        assert!(!c.needs_producer());
    }

    #[test]
    fn toml_reads_like_a_routing_block() {
        let c = WorkerConfig::from_toml_str(
            r#"
            group_id = "billing"
            bootstrap_servers = "127.0.0.1:9092"
            concurrency = 2
            shutdown_timeout_ms = 5000
            [pause]
            timeout_ms = 100
            max_timeout_ms = 800
            exponential = true
            [kafka]
            "fetch.wait.max.ms" = 50
            "enable.partition.eof" = false
            [topics.default]
            dead_letter_queue = { topic = "default_dlq", max_retries = 2 }
            tombstone = "dead_letter"
            unknown_job_class = { forward = "ruby_jobs" }
            [topics.mailers]
            "#,
        )
        .unwrap();
        assert_eq!(c.group_id, "billing");
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.pause.timeout, Duration::from_millis(100));
        assert_eq!(
            c.kafka.get("fetch.wait.max.ms").map(String::as_str),
            Some("50")
        );
        assert_eq!(
            c.kafka.get("enable.partition.eof").map(String::as_str),
            Some("false")
        );
        let d = c.topic("default").unwrap();
        assert_eq!(d.dead_letter_queue.as_ref().unwrap().max_retries, 2);
        assert_eq!(d.bad_messages.tombstone, BadMessagePolicy::DeadLetter);
        assert_eq!(d.bad_messages.undecodable, BadMessagePolicy::Retry);
        assert_eq!(
            d.bad_messages.unknown_job_class,
            BadMessagePolicy::Forward("ruby_jobs".into())
        );
        assert_eq!(c.topic("mailers").unwrap(), &TopicConfig::new("mailers"));
        assert!(c.needs_producer());
    }

    #[test]
    fn start_up_errors_are_clear() {
        let e = base()
            .topic(
                TopicConfig::new("t")
                    .on_bad_message(BadMessageKind::Tombstone, BadMessagePolicy::DeadLetter),
            )
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "topics.t.tombstone = \"dead_letter\" needs topics.t.dead_letter_queue.topic"
        );
        let e = base()
            .topic(TopicConfig::new("t").on_bad_message(
                BadMessageKind::Undecodable,
                BadMessagePolicy::Forward("x".into()),
            ))
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("forward is only allowed for unknown_job_class"),
            "{e}"
        );
        let e = base().build().unwrap_err();
        assert!(matches!(e, ConfigError::NoTopics));
        let e = base()
            .topic(TopicConfig::new("t"))
            .kafka("enable.auto.offset.store", "true")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("enable.auto.offset.store"), "{e}");
        let e =
            WorkerConfig::from_toml_str("bootstrap_servers='x'\n[topics.t]\ntombstone = 'skip'\n")
                .unwrap_err();
        assert!(e.to_string().contains("unknown policy \"skip\""), "{e}");
        let e = WorkerConfig::from_toml_str("bootstrap_servers='x'\nconcurency = 3\n").unwrap_err();
        assert!(e.to_string().contains("concurency"), "{e}");
        let e = base()
            .topic(TopicConfig::new("t").dead_letter_queue("t", 1))
            .build()
            .unwrap_err();
        assert!(matches!(e, ConfigError::LoopsToItself { .. }));
    }

    #[test]
    fn virtual_partitions_from_toml() {
        let c = WorkerConfig::from_toml_str(
            r#"
            bootstrap_servers = "x"
            concurrency = 3
            [topics.a.virtual_partitions]
            [topics.b]
            virtual_partitions = { partitioner = "first_argument", max_partitions = 16 }
            hold_until_scheduled = true
            [topics.c]
            virtual_partitions = { partitioner = { header = "tenant" }, max_partitions = 4 }
            "#,
        )
        .unwrap();
        let vp = |t: &str| c.topic(t).unwrap().virtual_partitions.clone().unwrap();
        assert_eq!(vp("a"), VirtualPartitions::new(VirtualPartitioner::Key, 3));
        assert_eq!(
            vp("b"),
            VirtualPartitions::new(VirtualPartitioner::FirstArgument, 16)
        );
        assert!(c.topic("b").unwrap().hold_until_scheduled);
        assert!(!c.topic("a").unwrap().hold_until_scheduled);
        assert_eq!(
            vp("c"),
            VirtualPartitions::new(VirtualPartitioner::Header("tenant".into()), 4)
        );
        let e = WorkerConfig::from_toml_str(
            "bootstrap_servers='x'\n[topics.t.virtual_partitions]\npartitioner = 'offset'\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown partitioner \"offset\""),
            "{e}"
        );
    }

    #[test]
    fn virtual_partitions_with_a_dlq_need_a_retry() {
        let e = base()
            .topic(
                TopicConfig::new("t")
                    .virtual_partitions(VirtualPartitioner::Key, 4)
                    .dead_letter_queue("t_dlq", 0),
            )
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::VirtualPartitionsNeedRetries { topic } if topic == "t"),
            "{e}"
        );
        assert!(e.to_string().contains("max_retries >= 1"), "{e}");
        let e = WorkerConfig::from_toml_str(
            "bootstrap_servers='x'\n[topics.t]\ndead_letter_queue = { topic = 'd', max_retries = 0 }\n\
             virtual_partitions = { max_partitions = 2 }\n",
        )
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::VirtualPartitionsNeedRetries { .. }
        ));
        base()
            .topic(
                TopicConfig::new("t")
                    .virtual_partitions(VirtualPartitioner::Key, 4)
                    .dead_letter_queue("t_dlq", 1),
            )
            .build()
            .expect("one retry is enough");
        let e = base()
            .topic(TopicConfig::new("t").virtual_partitions(VirtualPartitioner::Key, 0))
            .build()
            .unwrap_err();
        assert!(matches!(e, ConfigError::Zero(_)));
    }

    #[test]
    fn producer_gets_connection_properties_only() {
        let c = base()
            .topic(TopicConfig::new("t"))
            .kafka("security.protocol", "ssl")
            .kafka("fetch.wait.max.ms", "5")
            .producer_kafka("linger.ms", "0")
            .build()
            .unwrap();
        let p = c.producer_config();
        assert_eq!(p.get("security.protocol"), Some("ssl"));
        assert_eq!(p.get("fetch.wait.max.ms"), None);
        assert_eq!(p.get("linger.ms"), Some("0"));
    }

    #[test]
    fn revoke_wait_is_bounded_by_max_poll_interval() {
        let c = base()
            .topic(TopicConfig::new("t"))
            .kafka("max.poll.interval.ms", "10000")
            .build()
            .unwrap();
        assert_eq!(c.effective_revoke_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn the_documented_example_parses() {
        let c = WorkerConfig::from_toml_str(DOC_EXAMPLE).unwrap();
        assert_eq!(c.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(c.revoke_timeout, Duration::from_secs(10));
        assert_eq!(
            c.producer_kafka.get("linger.ms").map(String::as_str),
            Some("5")
        );
        assert_eq!(
            c.topic("default").unwrap().bad_messages.unknown_job_class,
            BadMessagePolicy::Forward("ruby_jobs".into())
        );
        assert_eq!(
            c.topic("events").unwrap().virtual_partitions,
            Some(VirtualPartitions::new(VirtualPartitioner::Key, 8))
        );
    }

    const DOC_EXAMPLE: &str = r#"
# config.group_id / config.client_id / config.concurrency ...
group_id = "app"
client_id = "karafka"
concurrency = 5
max_messages = 100
shutdown_timeout_ms = 60000
revoke_timeout_ms = 10000  # no Karafka equivalent: see WorkerConfig::revoke_timeout
# bootstrap_servers = "..." # else kafka."bootstrap.servers", else $KAFKA_BOOTSTRAP_SERVERS

[pause]                    # config.pause.*
timeout_ms = 1000
max_timeout_ms = 30000
with_exponential_backoff = true

[kafka]                    # config.kafka = { ... }: any librdkafka consumer property
"bootstrap.servers" = "127.0.0.1:9092"

[producer]                 # librdkafka properties of the dead-letter / forward producer
"linger.ms" = 5

[topics.default]           # active_job_topic :default do ... end
dead_letter_queue = { topic = "default_dlq", max_retries = 3 }
tombstone = "dead_letter"                     # retry (default) | dead_letter
undecodable = "retry"
unknown_job_class = { forward = "ruby_jobs" } # or retry | dead_letter
hold_until_scheduled = false                  # true: wait for each job's scheduled_at

[topics.events.virtual_partitions]  # virtual_partitions(partitioner:, max_partitions:)
partitioner = "key"  # message key (default) | "first_argument" | { header = "tenant_id" }
max_partitions = 8   # default: concurrency
"#;
}
