//! Worker configuration: built in code ([`WorkerConfig::builder`]) or read from a TOML file
//! laid out like a `karafka.rb` setup and routing block ([`WorkerConfig::from_toml_str`]).
//!
//! `topic.rs` holds the per-topic settings, `routing.rs` consumer groups, patterns and
//! subscription groups, `declaration.rs` the declared topics (partitions, replication, topic
//! configs for `topics migrate`), `file.rs` the TOML reading, `validate.rs` and
//! `validate_routing.rs` the start-up checks and `error.rs` their error type.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::kafka::client;
use crate::web_ui::WebUiConfig;

mod declaration;
mod error;
mod file;
mod membership;
mod routing;
mod topic;
mod validate;
mod validate_routing;

pub use declaration::{Declaratives, TopicDeclaration};
pub use error::ConfigError;
pub use routing::{ConsumerGroupConfig, ConsumerGroupRoutes, SubscriptionGroup, TopicPattern};
pub use topic::{
    BadMessagePolicies, BadMessagePolicy, DeadLetterQueue, InitialOffset, PauseConfig, TopicConfig,
};

/// Default of [`WorkerConfig::max_buffered_bytes`]: 24 MiB. Its quarter, librdkafka's read-ahead,
/// holds about ten thousand jobs of 600 bytes; on `make bench-e2e` at 32 partitions, 32 MiB
/// gained no throughput over 24 and kept 5–8 MiB more resident.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 24 * 1024 * 1024;

/// The smallest [`WorkerConfig::max_buffered_bytes`]: librdkafka needs room for one fetch of
/// a maximum-size message (`message.max.bytes`, 1 MB by default).
pub const MIN_MAX_BUFFERED_BYTES: usize = 4 * 1024 * 1024;

/// Environment variable naming the brokers when the configuration does not.
pub const BOOTSTRAP_ENV: &str = client::BOOTSTRAP_ENV;

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
    /// How often stored offsets are committed (100 ms), asynchronously; a partition that runs
    /// dry commits sooner. A `kill -9` re-runs at most the jobs each partition finished within
    /// about this long. Karafka leaves this to librdkafka's auto-commit (every 5 s).
    pub commit_interval: Duration,
    /// How long stored offsets may wait for a successful commit before no new job starts
    /// (1 s; never more than half of `session.timeout.ms`). Jobs resume once a commit succeeds;
    /// see [`CommitState`](super::CommitState).
    pub commit_stall_timeout: Duration,
    /// The most bytes of fetched messages the worker buffers, all partitions together (24 MiB):
    /// librdkafka's read-ahead and the messages the worker has taken from it and not yet run.
    /// Half goes to librdkafka (`queued.max.messages.kbytes` is a quarter, and a fetch response
    /// of up to as much may land on top), half to the worker, split evenly between the assigned
    /// partitions: a partition that holds more than its share is paused until its jobs catch
    /// up, so memory stays flat however many partitions are assigned and however long the
    /// backlog, and a slow partition cannot take the others' room. Karafka has no such
    /// setting: librdkafka's defaults (64 MiB of read-ahead plus a 50 MiB fetch) bound it.
    /// See "Memory" in the README.
    pub max_buffered_bytes: usize,
    /// Retry backoff.
    pub pause: PauseConfig,
    /// Routed topics of the default consumer group (`group_id`).
    pub topics: Vec<TopicConfig>,
    /// Topic patterns of the default consumer group (Karafka Pro's `active_job_pattern`).
    pub patterns: Vec<TopicPattern>,
    /// Further consumer groups (Karafka's `consumer_group` blocks), each with its own topics
    /// and patterns; see [`WorkerConfig::routes`] to walk all of them.
    pub consumer_groups: Vec<ConsumerGroupConfig>,
    /// librdkafka consumer properties, applied over the worker's defaults.
    pub kafka: BTreeMap<String, String>,
    /// librdkafka properties for the producer that writes dead letters and forwards, applied over
    /// the connection properties (`bootstrap.servers`, `security.*`, `sasl.*`, `ssl.*`, ...)
    /// copied from `kafka`.
    pub producer_kafka: BTreeMap<String, String>,
    /// Reporting to the Karafka Web UI (off by default); see [`crate::web_ui`].
    pub web_ui: WebUiConfig,
    /// Declared topics and Scheduled Messages topics, for `topics plan` / `topics migrate`
    /// (see [`crate::topics`]).
    pub declaratives: Declaratives,
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
    commit_interval: Duration,
    commit_stall_timeout: Duration,
    max_buffered_bytes: usize,
    pause: PauseConfig,
    topics: Vec<TopicConfig>,
    patterns: Vec<TopicPattern>,
    consumer_groups: Vec<ConsumerGroupConfig>,
    kafka: BTreeMap<String, String>,
    producer_kafka: BTreeMap<String, String>,
    web_ui: WebUiConfig,
    declaratives: Declaratives,
    /// The first topic declared twice, reported by `build`.
    duplicate_declaration: Option<String>,
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
            commit_interval: Duration::from_millis(100),
            commit_stall_timeout: Duration::from_millis(1_000),
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            pause: PauseConfig::default(),
            topics: Vec::new(),
            patterns: Vec::new(),
            consumer_groups: Vec::new(),
            kafka: BTreeMap::new(),
            producer_kafka: BTreeMap::new(),
            web_ui: WebUiConfig::default(),
            declaratives: Declaratives::default(),
            duplicate_declaration: None,
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
    /// How often stored offsets are committed.
    pub fn commit_interval(mut self, v: Duration) -> Self {
        self.commit_interval = v;
        self
    }
    /// How long stored offsets may go uncommitted before new jobs wait for a commit.
    pub fn commit_stall_timeout(mut self, v: Duration) -> Self {
        self.commit_stall_timeout = v;
        self
    }
    /// Bytes of fetched messages the worker may buffer, all partitions together (see
    /// [`WorkerConfig::max_buffered_bytes`]).
    pub fn max_buffered_bytes(mut self, v: usize) -> Self {
        self.max_buffered_bytes = v;
        self
    }
    /// Retry backoff.
    pub fn pause(mut self, v: PauseConfig) -> Self {
        self.pause = v;
        self
    }
    /// Adds a routed topic to the default consumer group.
    pub fn topic(mut self, t: TopicConfig) -> Self {
        self.topics.push(t);
        self
    }
    /// Adds a topic pattern to the default consumer group.
    pub fn pattern(mut self, p: TopicPattern) -> Self {
        self.patterns.push(p);
        self
    }
    /// Adds a consumer group (Karafka's `consumer_group` block).
    pub fn consumer_group(mut self, g: ConsumerGroupConfig) -> Self {
        self.consumer_groups.push(g);
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

    /// Reporting to the Karafka Web UI (see [`crate::web_ui`]).
    pub fn web_ui(mut self, v: WebUiConfig) -> Self {
        self.web_ui = v;
        self
    }

    /// Declares how topic `name` should look on the broker (Karafka's `config(partitions:,
    /// replication_factor:, ...)`), for `topics migrate`. Declaring one topic twice is an error
    /// at [`build`](Self::build).
    pub fn declare_topic(mut self, name: impl Into<String>, declaration: TopicDeclaration) -> Self {
        match self.declaratives.topics.entry(name.into()) {
            std::collections::btree_map::Entry::Occupied(taken) => {
                self.duplicate_declaration
                    .get_or_insert(taken.key().clone());
            }
            std::collections::btree_map::Entry::Vacant(free) => {
                free.insert(declaration);
            }
        }
        self
    }

    /// Names a Scheduled Messages proxy topic (Karafka Pro's `scheduled_messages(name)`), so
    /// that `topics migrate` creates it and its `<name>_states` topic.
    pub fn scheduled_messages_topic(mut self, name: impl Into<String>) -> Self {
        self.declaratives.scheduled_messages.push(name.into());
        self
    }

    /// Resolves the brokers and validates.
    pub fn build(self) -> Result<WorkerConfig, ConfigError> {
        if let Some(name) = self.duplicate_declaration {
            return Err(ConfigError::DuplicateDeclaration(name));
        }
        let bootstrap_servers =
            client::bootstrap_servers(self.bootstrap_servers.as_deref(), &self.kafka)
                .ok_or(ConfigError::NoBootstrapServers)?;
        let config = WorkerConfig {
            group_id: self.group_id,
            client_id: self.client_id,
            bootstrap_servers,
            concurrency: self.concurrency,
            max_messages: self.max_messages,
            shutdown_timeout: self.shutdown_timeout,
            revoke_timeout: self.revoke_timeout,
            commit_interval: self.commit_interval,
            commit_stall_timeout: self.commit_stall_timeout,
            max_buffered_bytes: self.max_buffered_bytes,
            pause: self.pause,
            topics: self.topics,
            patterns: self.patterns,
            consumer_groups: self.consumer_groups,
            kafka: membership::resolve_instance_id(self.kafka)?,
            producer_kafka: self.producer_kafka,
            web_ui: self.web_ui,
            declaratives: self.declaratives,
        };
        config.validate()?;
        Ok(config)
    }
}

impl WorkerConfig {
    /// A builder with Karafka's defaults.
    pub fn builder() -> WorkerConfigBuilder {
        WorkerConfigBuilder::default()
    }

    /// Names of the routed topics of the default consumer group, in configuration order.
    pub fn topic_names(&self) -> Vec<&str> {
        self.topics.iter().map(|t| t.name.as_str()).collect()
    }

    /// The routed topic called `name`, in whichever consumer group.
    pub fn topic(&self, name: &str) -> Option<&TopicConfig> {
        self.routes()
            .into_iter()
            .flat_map(|g| g.topics)
            .find(|t| t.name == name)
    }

    /// Every explicit topic's and every pattern's settings, in all consumer groups.
    pub(crate) fn all_topic_settings(&self) -> impl Iterator<Item = &TopicConfig> {
        self.routes().into_iter().flat_map(|g| {
            g.topics
                .iter()
                .chain(g.patterns.iter().map(|p| &p.settings))
        })
    }

    /// True when some topic or pattern needs a producer (a DLQ or a forward policy), or the
    /// worker reports to the Web UI.
    pub fn needs_producer(&self) -> bool {
        self.web_ui.enabled
            || self.all_topic_settings().any(|t| {
                t.dead_letter_queue.is_some()
                    || matches!(
                        t.bad_messages.unknown_job_class,
                        BadMessagePolicy::Forward(_)
                    )
            })
    }

    /// Jobs per turn for `topic`: its own `max_messages`, else the group's.
    pub fn max_messages_for(&self, topic: &TopicConfig) -> usize {
        topic.max_messages.unwrap_or(self.max_messages)
    }

    /// Retry backoff for `topic`: its own `pause`, else the group's.
    pub fn pause_for<'a>(&'a self, topic: &'a TopicConfig) -> &'a PauseConfig {
        topic.pause.as_ref().unwrap_or(&self.pause)
    }

    /// The librdkafka consumer configuration: Karafka's settings, then `kafka` on top.
    ///
    /// Karafka forces `enable.auto.offset.store=false` and injects `statistics.interval.ms`,
    /// `max.poll.interval.ms`, `socket.nagle.disable` and (outside production)
    /// `allow.auto.create.topics`; `partition.assignment.strategy` is librdkafka's default,
    /// spelled out here. `enable.auto.commit` is off: the worker commits the stored offsets
    /// itself every `commit_interval` (Karafka keeps librdkafka's 5 s auto-commit).
    /// `fetch.queue.backoff.ms` is lowered from librdkafka's 1 000 ms to 2 ms: it is how long
    /// librdkafka waits before it looks again at a full read-ahead queue, and with a backlog the
    /// queue is full whenever the worker's budget is (see `buffer.rs`). The worker drains a
    /// full read-ahead in a few milliseconds; with the default the fetcher idled a full second
    /// after each time, and at 10 ms the worker still ran dry before the next fetch (2 ms: +14 %
    /// jobs/s through the Registry on `make bench-e2e`, +38 % with a no-op handler). While slow
    /// jobs keep the budget full, the looks cost under 1 % of a core more than at 10 ms.
    /// `queued.max.messages.kbytes` (librdkafka's read-ahead bound, which applies once to the
    /// worker's one message queue) is a quarter of [`max_buffered_bytes`](Self::max_buffered_bytes)
    /// (6 MiB by default; librdkafka sizes `fetch.max.bytes` to it), and `queued.min.messages`
    /// is 10 000: the worker copies messages out of librdkafka as they arrive and keeps its own
    /// bounded buffer, so librdkafka's read-ahead only needs to cover one fetch round trip.
    /// `fetch.wait.max.ms` is lowered from 500 ms to 50 ms: librdkafka keeps one fetch in flight
    /// per broker, and a fetch that only asks for caught-up partitions is held by the broker for
    /// up to this long while the partitions with a backlog drain their read-ahead and wait. With
    /// 500 ms, a handler costing about a microsecond halved the worker's throughput on our bench
    /// (`make bench-e2e`); an idle consumer now sends up to 20 fetches a second per broker.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut c = client::base_config(&self.bootstrap_servers, Some(&self.client_id));
        c.set("group.id", &self.group_id)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("statistics.interval.ms", "5000")
            .set("max.poll.interval.ms", "300000")
            .set("allow.auto.create.topics", "true")
            .set("partition.assignment.strategy", "range,roundrobin")
            .set("fetch.queue.backoff.ms", "2")
            .set("fetch.wait.max.ms", "50")
            .set("queued.min.messages", "10000")
            .set(
                "queued.max.messages.kbytes",
                (self.max_buffered_bytes / 4 / 1024).to_string(),
            );
        for (k, v) in &self.kafka {
            c.set(k, v);
        }
        if self.uses_consumer_protocol() {
            // KIP-848: the broker assigns, and librdkafka refuses a client-side strategy.
            c.remove("partition.assignment.strategy");
        }
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("enable.auto.offset.store", "false");
        c
    }

    /// The librdkafka producer configuration for dead letters and forwards: the connection
    /// properties of `kafka`, acks from all in-sync replicas, then `producer_kafka` on top.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = client::base_config(&self.bootstrap_servers, Some(&self.client_id));
        c.set("acks", "all");
        client::copy_connection(&mut c, &self.kafka, &self.bootstrap_servers);
        for (k, v) in &self.producer_kafka {
            c.set(k, v);
        }
        c
    }

    /// True with `group.protocol = "consumer"` (KIP-848: the broker assigns partitions and
    /// rebalances are incremental).
    pub fn uses_consumer_protocol(&self) -> bool {
        self.kafka
            .get("group.protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("consumer"))
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

    /// The `session.timeout.ms` in effect (librdkafka's default, 45 s, unless set).
    pub fn session_timeout(&self) -> Duration {
        let ms = self
            .kafka
            .get("session.timeout.ms")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(45_000);
        Duration::from_millis(ms)
    }

    /// How long stored offsets really may wait for a commit before new jobs wait:
    /// `commit_stall_timeout`, at most half of `session.timeout.ms` (past it the assignment is
    /// at risk, and with it everything finished since the last commit).
    pub fn effective_commit_stall_timeout(&self) -> Duration {
        self.commit_stall_timeout.min(self.session_timeout() / 2)
    }

    /// How long a revocation really waits: `revoke_timeout`, at most half of
    /// `max.poll.interval.ms`.
    pub fn effective_revoke_timeout(&self) -> Duration {
        self.revoke_timeout.min(self.max_poll_interval() / 2)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_routing;
