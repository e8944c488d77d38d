//! Start-up checks: everything about a configuration that can be known without a broker.

use std::collections::BTreeMap;

use super::{BadMessagePolicy, ConfigError, TopicConfig, WorkerConfig};
use crate::consumer::failure::BadMessageKind;

impl WorkerConfig {
    /// The `web_ui` section, when reporting is on: a known karafka-web version, valid topics and
    /// a positive interval.
    fn validate_web_ui(&self) -> Result<(), ConfigError> {
        let web = &self.web_ui;
        if !web.enabled {
            return Ok(());
        }
        if web.schema().is_none() {
            return Err(ConfigError::UnknownKarafkaWebVersion {
                version: web.karafka_web_version.clone(),
            });
        }
        for topic in [&web.reports_topic, &web.errors_topic] {
            if !valid_topic_name(topic) {
                return Err(ConfigError::InvalidTopicName(topic.clone()));
            }
        }
        if web.interval.is_zero() {
            return Err(ConfigError::Zero("web_ui.interval_ms"));
        }
        Ok(())
    }

    /// Checks everything that can be checked without a broker.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_web_ui()?;
        self.declaratives.validate(valid_topic_name)?;
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
        if self.max_buffered_bytes < super::MIN_MAX_BUFFERED_BYTES {
            return Err(ConfigError::BufferBudgetTooSmall {
                bytes: self.max_buffered_bytes,
                min: super::MIN_MAX_BUFFERED_BYTES,
            });
        }
        if self.commit_interval.is_zero() {
            return Err(ConfigError::Zero("commit_interval_ms"));
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
        self.validate_routing()?;
        for (k, v) in &self.kafka {
            check_kafka_property(&self.kafka, k, v)?;
        }
        Ok(())
    }
}

/// Checks one topic's settings, or a pattern's (`pattern`: its name is no topic name, and its
/// loops are found by matching its regex, in `validate_routing.rs`).
pub(super) fn validate_topic(
    worker: &WorkerConfig,
    t: &TopicConfig,
    pattern: bool,
) -> Result<(), ConfigError> {
    if !pattern && !valid_topic_name(&t.name) {
        return Err(ConfigError::InvalidTopicName(t.name.clone()));
    }
    validate_overrides(worker, t)?;
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
        if dlq.topic == t.name && !pattern {
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
                if *to == t.name && !pattern {
                    return Err(ConfigError::LoopsToItself {
                        topic: t.name.clone(),
                        what: "unknown_job_class.forward",
                    });
                }
            }
        }
    }
    Ok(())
}

/// Properties a topic's `kafka` table cannot set: they belong to the connection or to the
/// membership, which every consumer of the process shares.
const WORKER_WIDE_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "group.instance.id",
    "group.protocol",
];

/// A topic's `max_messages`, `pause` and `kafka` overrides.
fn validate_overrides(worker: &WorkerConfig, t: &TopicConfig) -> Result<(), ConfigError> {
    let setting = |key: &str, why: String| ConfigError::TopicSetting {
        topic: t.name.clone(),
        key: key.to_owned(),
        why,
    };
    if t.max_messages == Some(0) {
        return Err(setting("max_messages", "must be greater than 0".into()));
    }
    if let Some(pause) = &t.pause {
        if pause.timeout.is_zero() {
            return Err(setting("pause.timeout_ms", "must be greater than 0".into()));
        }
        if pause.max_timeout < pause.timeout {
            return Err(setting(
                "pause.max_timeout_ms",
                format!(
                    "{} ms is below pause.timeout_ms ({} ms)",
                    pause.max_timeout.as_millis(),
                    pause.timeout.as_millis()
                ),
            ));
        }
    }
    let mut merged = worker.kafka.clone();
    merged.extend(t.consumer_properties());
    for (k, v) in &t.kafka {
        let worker_wide = WORKER_WIDE_PROPERTIES.contains(&k.as_str())
            || ["security.", "sasl.", "ssl."]
                .iter()
                .any(|p| k.starts_with(p));
        if worker_wide {
            return Err(setting(
                &format!("kafka.\"{k}\""),
                "connection and group membership properties are set once, in the top-level \
                 [kafka] table"
                    .into(),
            ));
        }
        check_kafka_property(&merged, k, v).map_err(|e| ConfigError::TopicProperty {
            topic: t.name.clone(),
            source: Box::new(e),
        })?;
    }
    Ok(())
}

pub(super) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Refuses a librdkafka consumer property whose value would contradict the worker's offset
/// semantics (a job's offset is committed once the job finished, never before, and every
/// committed job ran) or that librdkafka would refuse with a less helpful message.
fn check_kafka_property(
    kafka: &BTreeMap<String, String>,
    key: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let refuse = |why: &str| {
        Err(ConfigError::RefusedProperty {
            key: key.to_owned(),
            value: value.to_owned(),
            why: why.to_owned(),
        })
    };
    let consumer_protocol = kafka
        .get("group.protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("consumer"));
    match key {
        "group.id" => Err(ConfigError::ReservedProperty {
            key: key.to_owned(),
            why: "set group_id instead",
        }),
        "enable.auto.offset.store" if value != "false" => Err(ConfigError::ReservedProperty {
            key: key.to_owned(),
            why: "offsets are stored by the worker after each job (Karafka forces false)",
        }),
        // Whatever the value: `false` would commit nothing until a rebalance or a shutdown (a
        // crash then runs everything again), and the worker decides when offsets are committed.
        "enable.auto.commit" | "auto.commit.enable" => refuse(
            "the worker commits the offsets of finished jobs itself, every \
                 commit_interval_ms; remove this setting",
        ),
        "isolation.level" => match value {
            "read_committed" | "read_uncommitted" => Ok(()),
            _ => refuse("use read_committed (the default) or read_uncommitted"),
        },
        "auto.offset.reset" => match value {
            "earliest" | "smallest" | "beginning" | "latest" | "largest" | "end" => Ok(()),
            "error" => refuse(
                "a partition without a committed offset would stop with an error instead of \
                 running its jobs; use earliest (the default) or latest",
            ),
            _ => refuse("use earliest (the default) or latest"),
        },
        "group.protocol" => match value {
            "classic" | "consumer" => Ok(()),
            _ => refuse(
                "use classic (the default: eager or cooperative-sticky assignment) or consumer \
                 (KIP-848, Kafka 4 brokers)",
            ),
        },
        "partition.assignment.strategy" if consumer_protocol => refuse(
            "with group.protocol = \"consumer\" the broker assigns the partitions: set \
             group.remote.assignor (uniform or range) instead",
        ),
        "session.timeout.ms" | "heartbeat.interval.ms" if consumer_protocol => refuse(
            "with group.protocol = \"consumer\" the broker sets it \
             (group.consumer.session.timeout.ms / group.consumer.heartbeat.interval.ms)",
        ),
        "partition.assignment.strategy" => {
            let strategies: Vec<&str> = value.split(',').map(str::trim).collect();
            if let Some(unknown) = strategies
                .iter()
                .find(|s| !matches!(**s, "range" | "roundrobin" | "cooperative-sticky"))
            {
                return refuse(&format!(
                    "unknown strategy {unknown:?}: use range, roundrobin or cooperative-sticky"
                ));
            }
            let cooperative = strategies.contains(&"cooperative-sticky");
            if cooperative && strategies.len() > 1 {
                return refuse(
                    "cooperative-sticky cannot be mixed with an eager strategy (range, \
                     roundrobin); set the same single strategy as the Ruby workers of the group",
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl WorkerConfig {
    /// Settings that are honoured but change what the worker does compared with the defaults,
    /// one sentence each; the worker logs them at start-up.
    pub fn semantic_warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(reset @ ("latest" | "largest" | "end")) =
            self.kafka.get("auto.offset.reset").map(String::as_str)
        {
            notes.push(format!(
                "auto.offset.reset = {reset:?}: a partition without a committed offset in group \
                 {:?} starts at its end, so jobs enqueued before this group first committed \
                 (or after its offsets expired) never run",
                self.group_id
            ));
        }
        if self.kafka.get("isolation.level").map(String::as_str) == Some("read_uncommitted") {
            notes.push(
                "isolation.level = \"read_uncommitted\": jobs enqueued in a producer \
                 transaction that was later aborted run too"
                    .to_owned(),
            );
        }
        notes
    }
}
