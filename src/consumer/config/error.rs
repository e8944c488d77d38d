//! The error every start-up check of the configuration returns.

use thiserror::Error;

use crate::consumer::failure::BadMessageKind;

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
    #[error("{}", crate::kafka::client::NO_BROKERS)]
    NoBootstrapServers,
    /// No topic to consume.
    #[error(
        "no topics: add at least one [topics.<name>] (active_job_topic), [patterns.<name>] \
         (active_job_pattern) or [consumer_groups.<group>.topics.<name>] (consumer_group)"
    )]
    NoTopics,
    /// A setting that must be positive is zero.
    #[error("{0} must be greater than 0")]
    Zero(&'static str),
    /// An empty or illegal Kafka topic name.
    #[error("{0:?} is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])")]
    InvalidTopicName(String),
    /// A topic declaration (`[topics.<name>.config]`, `[declaratives.<name>]`) with a bad key
    /// or value.
    #[error("{at}: {why}")]
    Declaration {
        /// Where: the topic and key.
        at: String,
        /// What was expected.
        why: String,
    },
    /// A topic is declared twice (in `[topics.<name>.config]` and `[declaratives.<name>]`, or
    /// twice in code).
    #[error("topic {0:?} is declared twice: declare it once, in [topics.<name>.config] or [declaratives.<name>]")]
    DuplicateDeclaration(String),
    /// The same topic is routed twice.
    #[error("topic {0:?} is configured twice")]
    DuplicateTopic(String),
    /// Two consumer groups with the same `group_id`.
    #[error(
        "consumer group {0:?} is configured twice (group_id and [consumer_groups.{0}], or two \
         consumer_group blocks): merge its topics into one group"
    )]
    DuplicateGroup(String),
    /// A topic routed in two consumer groups (each would run its jobs).
    #[error(
        "topic {topic:?} is routed in consumer groups {first:?} and {second:?}: each group \
         would run every job once; keep it in one group"
    )]
    TopicInTwoGroups {
        /// The topic.
        topic: String,
        /// The group it is first routed in.
        first: String,
        /// The other group.
        second: String,
    },
    /// A pattern's regex does not compile.
    #[error("patterns.{pattern}.regex = {regex:?} is not a valid regular expression: {why}")]
    InvalidPattern {
        /// The pattern's name.
        pattern: String,
        /// The regex as configured.
        regex: String,
        /// The regex engine's message.
        why: String,
    },
    /// A pattern's regex is empty.
    #[error("patterns.{0}.regex must not be empty (it would match every topic)")]
    EmptyPattern(String),
    /// A topic routed explicitly in one group matches a pattern of another group.
    #[error(
        "topic {topic:?} of consumer group {group:?} matches pattern {pattern:?} of consumer \
         group {pattern_group:?}: both groups would run its jobs; narrow the regex (end it \
         with $, or exclude the name) or move the topic into {pattern_group:?}, where the \
         explicit topic wins"
    )]
    TopicMatchesOtherGroupsPattern {
        /// The explicit topic.
        topic: String,
        /// Its consumer group.
        group: String,
        /// The pattern's name.
        pattern: String,
        /// The pattern's consumer group.
        pattern_group: String,
    },
    /// A dead letter queue or forward topic would be consumed again by a pattern.
    #[error(
        "{target:?} ({what} of {source_name:?}) matches pattern {pattern:?}: its messages would \
         be consumed again as jobs; end the regex with $ or exclude the name"
    )]
    TargetMatchesPattern {
        /// The dead letter queue or forward topic.
        target: String,
        /// `dead_letter_queue.topic` or `unknown_job_class.forward`.
        what: &'static str,
        /// The topic or pattern that sends there.
        source_name: String,
        /// The matching pattern's name.
        pattern: String,
    },
    /// A per-topic (or per-pattern) setting with a value that cannot work.
    #[error("topics.{topic}.{key}: {why}")]
    TopicSetting {
        /// The topic or pattern.
        topic: String,
        /// The key, e.g. `max_messages` or `kafka."bootstrap.servers"`.
        key: String,
        /// What was expected.
        why: String,
    },
    /// A librdkafka property of a topic's (or pattern's) `kafka` table that is refused.
    #[error("topics.{topic}.{source}")]
    TopicProperty {
        /// The topic or pattern.
        topic: String,
        /// The refusal, as for the worker's `kafka` table.
        source: Box<ConfigError>,
    },
    /// Web UI reporting with more than one consumer.
    #[error(
        "web_ui: reporting covers one consumer, and this configuration runs {0} (consumer \
         groups, or topics with their own kafka settings / initial_offset); turn web_ui off or \
         route through one consumer"
    )]
    WebUiNeedsOneConsumer(usize),
    /// `max_buffered_bytes` (`max_buffered_mib`) leaves no room for one fetch.
    #[error(
        "max_buffered_bytes ({bytes}) is below the minimum of {min} bytes (max_buffered_mib = 4)"
    )]
    BufferBudgetTooSmall {
        /// The setting.
        bytes: usize,
        /// The smallest value allowed.
        min: usize,
    },
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
    /// `kafka."group.instance.id"` cannot be resolved.
    #[error("kafka.\"group.instance.id\" = {template:?}: {why}")]
    InvalidInstanceId {
        /// The template as configured.
        template: String,
        /// What is wrong.
        why: String,
    },
    /// A librdkafka property whose value would contradict the worker's offset semantics.
    #[error("kafka.\"{key}\" = {value:?} is refused: {why}")]
    RefusedProperty {
        /// The property.
        key: String,
        /// Its value.
        value: String,
        /// Why, and what to set instead.
        why: String,
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
    /// `web_ui.enabled` without a karafka-web version, or with one whose report schema the
    /// worker does not know: a report of the wrong schema hides the process or halts the Web
    /// UI's processing for every process.
    #[error(
        "web_ui.karafka_web_version = {version:?}: not a supported karafka-web version \
         (supported: 0.11.0-0.11.3, 0.11.4-0.11.5, 0.11.6, 1.0.x)"
    )]
    UnknownKarafkaWebVersion {
        /// The configured version, if any.
        version: Option<String>,
    },
}
