//! The TOML file, laid out like a `karafka.rb` setup and routing block.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{
    BadMessagePolicies, BadMessagePolicy, ConfigError, ConsumerGroupConfig, DeadLetterQueue,
    InitialOffset, PauseConfig, TopicConfig, TopicDeclaration, TopicPattern, WorkerConfig,
    WorkerConfigBuilder,
};
use crate::consumer::virtual_partitions::{VirtualPartitioner, VirtualPartitions};
use crate::web_ui::WebUiConfig;

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
    commit_interval_ms: Option<u64>,
    commit_stall_timeout_ms: Option<u64>,
    max_buffered_mib: Option<usize>,
    #[serde(default)]
    pause: FilePause,
    #[serde(default)]
    kafka: BTreeMap<String, toml::Value>,
    #[serde(default)]
    producer: BTreeMap<String, toml::Value>,
    #[serde(default)]
    topics: BTreeMap<String, FileTopic>,
    #[serde(default)]
    patterns: BTreeMap<String, FileTopic>,
    #[serde(default)]
    consumer_groups: BTreeMap<String, FileConsumerGroup>,
    web_ui: Option<FileWebUi>,
    #[serde(default)]
    declaratives: BTreeMap<String, BTreeMap<String, toml::Value>>,
    scheduled_messages: Option<FileScheduledMessages>,
}

/// `[scheduled_messages]`: the proxy topics `topics migrate` creates.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { topics = [\"schedules\"] }"
)]
struct FileScheduledMessages {
    topics: Vec<String>,
}

/// `[consumer_groups.<group_id>]`: Karafka's `consumer_group :name do ... end`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a consumer group's table, such as [consumer_groups.reports] with \
                 [consumer_groups.reports.topics.<name>] and \
                 [consumer_groups.reports.patterns.<name>] tables"
)]
struct FileConsumerGroup {
    #[serde(default)]
    topics: BTreeMap<String, FileTopic>,
    #[serde(default)]
    patterns: BTreeMap<String, FileTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebUi {
    #[serde(default)]
    enabled: bool,
    karafka_web_version: Option<String>,
    reports_topic: Option<String>,
    errors_topic: Option<String>,
    interval_ms: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
}

impl FileWebUi {
    fn into_config(self) -> WebUiConfig {
        let default = WebUiConfig::default();
        WebUiConfig {
            enabled: self.enabled,
            karafka_web_version: self.karafka_web_version,
            reports_topic: self.reports_topic.unwrap_or(default.reports_topic),
            errors_topic: self.errors_topic.unwrap_or(default.errors_topic),
            interval: self
                .interval_ms
                .map_or(default.interval, Duration::from_millis),
            tags: self.tags,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { timeout_ms = 1000, max_timeout_ms = 30000, with_exponential_backoff = true }"
)]
struct FilePause {
    timeout_ms: Option<u64>,
    max_timeout_ms: Option<u64>,
    #[serde(alias = "exponential")]
    with_exponential_backoff: Option<bool>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { partitioner = \"key\", max_partitions = 5 }"
)]
struct FileVirtualPartitions {
    #[serde(default)]
    partitioner: VirtualPartitioner,
    /// Karafka's default: the worker's `concurrency`.
    max_partitions: Option<usize>,
}

/// A `[topics.<name>]` or `[patterns.<name>]` table (a pattern also has `regex`).
#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a topic's table, such as [topics.default] with dead_letter_queue, \
                 virtual_partitions, hold_until_scheduled, tombstone, undecodable, \
                 unknown_job_class, max_messages, initial_offset, pause, kafka or config \
                 (and regex, for a pattern)"
)]
struct FileTopic {
    /// The topic's declaration for `topics migrate` (Karafka's `config(...)`).
    config: Option<BTreeMap<String, toml::Value>>,
    regex: Option<String>,
    max_messages: Option<usize>,
    initial_offset: Option<InitialOffset>,
    pause: Option<FilePause>,
    #[serde(default)]
    kafka: BTreeMap<String, toml::Value>,
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

impl FilePause {
    /// These settings over `base`.
    fn over(&self, base: PauseConfig) -> PauseConfig {
        PauseConfig {
            timeout: self.timeout_ms.map_or(base.timeout, Duration::from_millis),
            max_timeout: self
                .max_timeout_ms
                .map_or(base.max_timeout, Duration::from_millis),
            with_exponential_backoff: self
                .with_exponential_backoff
                .unwrap_or(base.with_exponential_backoff),
        }
    }
}

/// What a topic's table inherits from the file's top level.
struct Defaults {
    concurrency: usize,
    pause: PauseConfig,
}

impl FileTopic {
    fn into_topic(self, name: String, defaults: &Defaults) -> Result<TopicConfig, ConfigError> {
        let mut kafka = BTreeMap::new();
        for (k, v) in &self.kafka {
            let value = property_value(k, v).map_err(|e| ConfigError::TopicProperty {
                topic: name.clone(),
                source: Box::new(e),
            })?;
            kafka.insert(k.clone(), value);
        }
        Ok(TopicConfig {
            dead_letter_queue: self.dead_letter_queue,
            bad_messages: BadMessagePolicies {
                tombstone: self.tombstone,
                undecodable: self.undecodable,
                unknown_job_class: self.unknown_job_class,
            },
            virtual_partitions: self.virtual_partitions.map(|v| {
                VirtualPartitions::new(
                    v.partitioner,
                    v.max_partitions.unwrap_or(defaults.concurrency),
                )
            }),
            hold_until_scheduled: self.hold_until_scheduled,
            max_messages: self.max_messages,
            pause: self.pause.map(|p| p.over(defaults.pause)),
            initial_offset: self.initial_offset,
            kafka,
            name,
        })
    }

    /// An explicit topic: no `regex`.
    fn topic(self, name: String, defaults: &Defaults) -> Result<TopicConfig, ConfigError> {
        if self.regex.is_some() {
            return Err(ConfigError::TopicSetting {
                topic: name,
                key: "regex".into(),
                why: "only a pattern has a regex: move this table to [patterns.<name>]".into(),
            });
        }
        self.into_topic(name, defaults)
    }

    /// A pattern: `regex` is required.
    fn pattern(mut self, name: String, defaults: &Defaults) -> Result<TopicPattern, ConfigError> {
        let Some(regex) = self.regex.take() else {
            return Err(ConfigError::TopicSetting {
                topic: name,
                key: "regex".into(),
                why: "a pattern needs regex = \"...\" (the topic names it matches)".into(),
            });
        };
        if self.config.is_some() {
            return Err(ConfigError::TopicSetting {
                topic: name,
                key: "config".into(),
                why: "a pattern names no topic to declare; declare the topics it matches under \
                      [declaratives.<name>] (Karafka's declaratives skip patterns too)"
                    .into(),
            });
        }
        Ok(TopicPattern::new(regex, self.into_topic(name, defaults)?))
    }
}

/// Declares `name` for `topics migrate` when its table has a `config` table (at `at`, such as
/// `topics`).
fn declare(
    b: WorkerConfigBuilder,
    name: &str,
    t: &mut FileTopic,
    at: &str,
) -> Result<WorkerConfigBuilder, ConfigError> {
    let Some(table) = t.config.take() else {
        return Ok(b);
    };
    let at = format!("{at}.{name}.config");
    Ok(b.declare_topic(name.to_owned(), TopicDeclaration::from_table(&at, table)?))
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

impl WorkerConfig {
    /// Reads a TOML configuration. Every key is optional except at least one topic or pattern
    /// (and the brokers, when neither `kafka."bootstrap.servers"` nor `KAFKA_BOOTSTRAP_SERVERS` gives
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
    /// commit_interval_ms = 100   # Karafka: librdkafka's auto-commit, every 5000 ms
    /// commit_stall_timeout_ms = 1000  # new jobs wait while commits fail this long
    /// max_buffered_mib = 24      # fetched messages held, all partitions (librdkafka's included)
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
    /// [topics.default.config]    # config(partitions:, replication_factor:, ...): `topics migrate`
    /// partitions = 6
    /// replication_factor = 3
    /// "retention.ms" = 604800000 # any other key is a Kafka topic config
    ///
    /// [declaratives.default_dlq] # any other topic: Karafka::App.declaratives.draw { topic ... }
    /// partitions = 1
    ///
    /// [scheduled_messages]       # Karafka Pro's scheduled_messages(:schedules): for `topics migrate`
    /// topics = ["schedules"]     # creates schedules and schedules_states, compacted
    ///
    /// [topics.events.virtual_partitions]  # virtual_partitions(partitioner:, max_partitions:)
    /// partitioner = "key"  # message key (default) | "first_argument" | { header = "tenant_id" }
    /// max_partitions = 8   # default: concurrency
    ///
    /// [topics.reports]           # per-topic overrides
    /// max_messages = 10          # default: the top-level max_messages
    /// pause = { timeout_ms = 500 }                  # keys left out come from [pause]
    /// initial_offset = "latest"  # earliest (default) | latest: auto.offset.reset
    /// kafka = { "fetch.max.bytes" = 1048576 }       # own properties: a consumer of its own
    ///
    /// [patterns.tenants]         # active_job_pattern :tenants, /tenant_.*_jobs$/
    /// regex = "tenant_.*_jobs$"  # subscribed as "^tenant_.*_jobs$"; any topic key besides
    /// dead_letter_queue = { topic = "tenant_jobs_dlq", max_retries = 2 }
    ///
    /// [consumer_groups.reporting.topics.exports]    # consumer_group :reporting do ... end
    /// [consumer_groups.reporting.patterns.archives]
    /// regex = "archive_[0-9]+$"
    ///
    /// [web_ui]                   # report to the Karafka Web UI (off by default)
    /// enabled = true
    /// karafka_web_version = "0.11.2"  # the karafka-web of the Ruby app: 0.11.0 - 1.0.x
    /// reports_topic = "karafka_consumers_reports"
    /// errors_topic = "karafka_errors"
    /// interval_ms = 5000
    /// tags = ["rust"]
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
        if let Some(v) = file.commit_interval_ms {
            b = b.commit_interval(Duration::from_millis(v));
        }
        if let Some(v) = file.commit_stall_timeout_ms {
            b = b.commit_stall_timeout(Duration::from_millis(v));
        }
        if let Some(v) = file.max_buffered_mib {
            b = b.max_buffered_bytes(v.saturating_mul(1024 * 1024));
        }
        let pause = file.pause.over(PauseConfig::default());
        b = b.pause(pause);
        for (k, v) in &file.kafka {
            b = b.kafka(k.clone(), property_value(k, v)?);
        }
        for (k, v) in &file.producer {
            b = b.producer_kafka(k.clone(), property_value(k, v)?);
        }
        if let Some(web_ui) = file.web_ui {
            b = b.web_ui(web_ui.into_config());
        }
        for (name, table) in file.declaratives {
            let declaration = TopicDeclaration::from_table(&format!("declaratives.{name}"), table)?;
            b = b.declare_topic(name, declaration);
        }
        for name in file.scheduled_messages.into_iter().flat_map(|s| s.topics) {
            b = b.scheduled_messages_topic(name);
        }
        let defaults = Defaults {
            concurrency: b.concurrency,
            pause,
        };
        for (name, mut t) in file.topics {
            b = declare(b, &name, &mut t, "topics")?;
            b = b.topic(t.topic(name, &defaults)?);
        }
        for (name, p) in file.patterns {
            b = b.pattern(p.pattern(name, &defaults)?);
        }
        for (group_id, g) in file.consumer_groups {
            let mut group = ConsumerGroupConfig::new(&group_id);
            for (name, mut t) in g.topics {
                let at = format!("consumer_groups.{group_id}.topics");
                b = declare(b, &name, &mut t, &at)?;
                group = group.topic(t.topic(name, &defaults)?);
            }
            for (name, p) in g.patterns {
                group = group.pattern(p.pattern(name, &defaults)?);
            }
            b = b.consumer_group(group);
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
}
