//! A Karafka Pro Scheduled Messages dispatcher in Rust, so delayed jobs run without Karafka
//! Pro: it consumes the proxy topic that [`crate::producer::JobProducer::enqueue_at`] (or
//! Karafka Pro's `ScheduledMessages.schedule`) writes to and produces each message to its
//! target topic when due.
//!
//! # What it does (Karafka's `ScheduledMessages::Consumer`, reference §7.2)
//!
//! * Its own consumer group (default `karafka_scheduled_messages`). On every assignment, and
//!   again when the UTC day it loaded in has ended, a partition is read **from the earliest
//!   offset** and its state rebuilt: committed offsets are informational only.
//! * Each partition keeps today's schedules by message key. A schedule due after today
//!   (23:59:59 UTC) or more than an hour before the latest tombstone's epoch is dropped; a past
//!   one not yet dispatched is kept. A cancel or a tombstone removes its key. A message with a
//!   `schedule_schema_version` above 1.0.0 (or not a version) stops its partition: nothing
//!   more of it is read or dispatched, as Karafka's `IncompatibleSchemaError` does, until the
//!   partition is assigned anew (a deploy that understands it).
//! * The partition counts as loaded at its end (EOF), or once a message written more than 15 s
//!   after the load started is read. Nothing is dispatched before.
//! * On each tick (every [`ScheduledConfigBuilder::interval`], 15 s by default as Karafka,
//!   and after every consumed batch), due messages (`epoch <= now`, seconds) go out in (epoch,
//!   offset) order: the payload unchanged to `schedule_target_topic`, with
//!   `schedule_target_partition` / `_key` / `_partition_key` applied (a partition key is hashed
//!   with librdkafka's `consistent_random`, as rdkafka-ruby does), and headers = the proxy
//!   headers plus `schedule_source_topic`, `_partition`, `_offset`, `_key`. With
//!   [`ScheduledConfigBuilder::wake_at_due`] (on by default) the dispatcher also wakes at the
//!   second the next schedule falls due, so a job arrives within about a second of its time
//!   instead of within a tick; turn it off for Karafka's exact timing.
//! * Only after the target message is acknowledged is the tombstone produced to the proxy
//!   topic (same key and partition, no payload, headers + `schedule_source_type: "tombstone"`
//!   and `schedule_source_offset`), and only after the tombstone is acknowledged is the entry
//!   forgotten. A rebuild after a restart therefore finds every dispatched schedule followed by
//!   its tombstone and dispatches it no more. Delivery is at least once: a crash between the
//!   two acknowledgements dispatches that message again after the restart, as with Karafka.
//! * Optionally ([`ScheduledConfigBuilder::states`]) it writes Karafka's `<topic>_states`
//!   records for the Web UI.
//!
//! # Differences from Karafka, and why
//!
//! * Karafka produces targets and tombstones in one `produce_many_sync` batch, so a target that
//!   fails while its tombstone succeeds is lost. Here a tombstone is only written for an
//!   acknowledged target.
//! * Karafka stops on a message without `schedule_source_type` or a schedule without
//!   `schedule_target_topic` (its partition retries that error for ever); here such messages
//!   are logged and skipped, since nothing could ever dispatch them.
//! * One proxy topic per dispatcher (run one per topic).
//!
//! ```no_run
//! use activejob_karafka::scheduled::{ScheduledConfig, ScheduledDispatcher};
//!
//! # async fn example() -> Result<(), activejob_karafka::scheduled::ScheduledError> {
//! let config = ScheduledConfig::builder("schedules")
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .build();
//! ScheduledDispatcher::new(config)
//!     .run(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod buffer;
mod runner;
mod states;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::KafkaError;
use thiserror::Error;

/// The header names of Karafka's Scheduled Messages.
pub mod headers {
    /// `schedule_schema_version`.
    pub const SCHEMA_VERSION: &str = "schedule_schema_version";
    /// The schema version written and the newest understood (`ScheduledMessages::SCHEMA_VERSION`).
    pub const CURRENT_SCHEMA_VERSION: &str = "1.0.0";
    /// `schedule_target_epoch`: Unix seconds, decimal.
    pub const TARGET_EPOCH: &str = "schedule_target_epoch";
    /// `schedule_source_type`: `schedule`, `cancel` or `tombstone`.
    pub const SOURCE_TYPE: &str = "schedule_source_type";
    /// `schedule_target_topic`.
    pub const TARGET_TOPIC: &str = "schedule_target_topic";
    /// `schedule_target_partition`.
    pub const TARGET_PARTITION: &str = "schedule_target_partition";
    /// `schedule_target_key`.
    pub const TARGET_KEY: &str = "schedule_target_key";
    /// `schedule_target_partition_key`.
    pub const TARGET_PARTITION_KEY: &str = "schedule_target_partition_key";
    /// `schedule_source_topic` (added on dispatch).
    pub const SOURCE_TOPIC: &str = "schedule_source_topic";
    /// `schedule_source_partition` (added on dispatch).
    pub const SOURCE_PARTITION: &str = "schedule_source_partition";
    /// `schedule_source_offset` (added on dispatch and to tombstones).
    pub const SOURCE_OFFSET: &str = "schedule_source_offset";
    /// `schedule_source_key` (added on dispatch).
    pub const SOURCE_KEY: &str = "schedule_source_key";
}

/// Karafka's `scheduled_messages.group_id` default.
pub const DEFAULT_GROUP_ID: &str = "karafka_scheduled_messages";

/// Karafka's `scheduled_messages.states_postfix` default: the states topic of `schedules` is
/// `schedules_states`.
pub const STATES_POSTFIX: &str = "_states";

/// Settings of a [`ScheduledDispatcher`].
#[derive(Debug, Clone)]
pub struct ScheduledConfig {
    /// The proxy (scheduled messages) topic.
    pub topic: String,
    /// `bootstrap.servers`; `None` reads `KAFKA_BOOTSTRAP_SERVERS`.
    pub bootstrap_servers: Option<String>,
    /// Consumer group (`karafka_scheduled_messages`).
    pub group_id: String,
    /// `client.id`.
    pub client_id: String,
    /// Time between ticks (15 s).
    pub interval: Duration,
    /// Also wake when the next schedule falls due (true).
    pub wake_at_due: bool,
    /// Messages per produce batch (1 000, Karafka's `flush_batch_size`).
    pub flush_batch_size: usize,
    /// A partition counts as loaded once a message written this long after its load started
    /// is read (15 s, Karafka's `GRACE_PERIOD`).
    pub loaded_grace: Duration,
    /// Write `<topic><states_postfix>` records (false).
    pub states: bool,
    /// Suffix of the states topic (`_states`).
    pub states_postfix: String,
    /// Least time between two states records of a partition (5 s, Karafka's `tick_interval`).
    pub states_interval: Duration,
    /// librdkafka consumer properties over the defaults.
    pub kafka: BTreeMap<String, String>,
    /// librdkafka producer properties over the defaults (idempotent, `acks=all`).
    pub producer_kafka: BTreeMap<String, String>,
}

impl ScheduledConfig {
    /// A builder for the proxy topic `topic`.
    pub fn builder(topic: impl Into<String>) -> ScheduledConfigBuilder {
        ScheduledConfigBuilder(ScheduledConfig {
            topic: topic.into(),
            bootstrap_servers: None,
            group_id: DEFAULT_GROUP_ID.to_string(),
            client_id: "karafka".to_string(),
            interval: Duration::from_millis(15_000),
            wake_at_due: true,
            flush_batch_size: 1_000,
            loaded_grace: Duration::from_secs(15),
            states: false,
            states_postfix: STATES_POSTFIX.to_string(),
            states_interval: Duration::from_millis(5_000),
            kafka: BTreeMap::new(),
            producer_kafka: BTreeMap::new(),
        })
    }
}

/// Builds a [`ScheduledConfig`].
#[derive(Debug, Clone)]
pub struct ScheduledConfigBuilder(ScheduledConfig);

impl ScheduledConfigBuilder {
    /// `bootstrap.servers`.
    pub fn bootstrap_servers(mut self, v: impl Into<String>) -> Self {
        self.0.bootstrap_servers = Some(v.into());
        self
    }

    /// Consumer group.
    pub fn group_id(mut self, v: impl Into<String>) -> Self {
        self.0.group_id = v.into();
        self
    }

    /// `client.id`.
    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.0.client_id = v.into();
        self
    }

    /// Time between ticks.
    pub fn interval(mut self, v: Duration) -> Self {
        self.0.interval = v;
        self
    }

    /// Whether to wake exactly when the next schedule falls due.
    pub fn wake_at_due(mut self, v: bool) -> Self {
        self.0.wake_at_due = v;
        self
    }

    /// Messages per produce batch.
    pub fn flush_batch_size(mut self, v: usize) -> Self {
        self.0.flush_batch_size = v.max(1);
        self
    }

    /// See [`ScheduledConfig::loaded_grace`].
    pub fn loaded_grace(mut self, v: Duration) -> Self {
        self.0.loaded_grace = v;
        self
    }

    /// Write the `<topic>_states` records (the topic must exist with as many partitions as the
    /// proxy topic, as Karafka's routing declares it).
    pub fn states(mut self, v: bool) -> Self {
        self.0.states = v;
        self
    }

    /// Suffix of the states topic.
    pub fn states_postfix(mut self, v: impl Into<String>) -> Self {
        self.0.states_postfix = v.into();
        self
    }

    /// Least time between two states records of a partition.
    pub fn states_interval(mut self, v: Duration) -> Self {
        self.0.states_interval = v;
        self
    }

    /// A librdkafka consumer property.
    pub fn kafka(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.0.kafka.insert(k.into(), v.into());
        self
    }

    /// A librdkafka producer property.
    pub fn producer_kafka(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.0.producer_kafka.insert(k.into(), v.into());
        self
    }

    /// The configuration.
    pub fn build(self) -> ScheduledConfig {
        self.0
    }
}

/// Why a dispatcher stopped on its own.
#[derive(Debug, Error)]
pub enum ScheduledError {
    /// No `bootstrap.servers` anywhere.
    #[error("{}", crate::kafka::client::NO_BROKERS)]
    NoBrokers,
    /// librdkafka refused the consumer or producer configuration.
    #[error("creating the {client}: {source}")]
    Client {
        /// `consumer` or `producer`.
        client: &'static str,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// Subscribing to the proxy topic failed.
    #[error("subscribing to {topic}: {source}")]
    Subscribe {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// librdkafka reported a fatal error.
    #[error("fatal consumer error: {0}")]
    Fatal(#[source] KafkaError),
    /// The dispatcher thread could not start or panicked.
    #[error("dispatcher thread: {0}")]
    Thread(String),
}

/// Runs the Scheduled Messages dispatcher for one proxy topic.
#[derive(Debug)]
pub struct ScheduledDispatcher {
    config: ScheduledConfig,
}

impl ScheduledDispatcher {
    /// A dispatcher; nothing connects before [`Self::run`].
    pub fn new(config: ScheduledConfig) -> Self {
        ScheduledDispatcher { config }
    }

    /// Consumes and dispatches until `shutdown` completes, then finishes the tick in progress
    /// (a dispatched message always gets its tombstone first), writes the `stopped` state,
    /// commits and leaves the group. Kafka work happens on a thread of its own.
    pub async fn run<F>(self, shutdown: F) -> Result<(), ScheduledError>
    where
        F: Future<Output = ()>,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let thread_stop = stop.clone();
        let config = self.config;
        std::thread::Builder::new()
            .name("scheduled-messages".into())
            .spawn(move || {
                let _ = tx.send(runner::run(config, &thread_stop));
            })
            .map_err(|e| ScheduledError::Thread(e.to_string()))?;
        tokio::pin!(shutdown);
        tokio::select! {
            ended = &mut rx => {
                return ended.unwrap_or_else(|_| Err(ScheduledError::Thread("panicked".into())));
            }
            () = &mut shutdown => {}
        }
        stop.store(true, Ordering::SeqCst);
        rx.await
            .unwrap_or_else(|_| Err(ScheduledError::Thread("panicked".into())))
    }
}
