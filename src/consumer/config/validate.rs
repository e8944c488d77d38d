//! Start-up checks: everything about a configuration that can be known without a broker.

use super::{BadMessagePolicy, ConfigError, WorkerConfig};
use crate::consumer::failure::BadMessageKind;

impl WorkerConfig {
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
