//! Declared topics: how many partitions, which replication factor and which topic configs the
//! topics the configuration names should have on the broker (Karafka's declaratives,
//! `config(partitions:, replication_factor:, ...)`). Only `topics plan` / `topics migrate`
//! read them (see [`crate::topics`]); the worker never creates or changes a topic.

use std::collections::BTreeMap;

use super::ConfigError;

/// What a topic should look like on the broker (Karafka's `config(partitions: 6,
/// replication_factor: 3, 'retention.ms' => 604_800_000)`).
///
/// A field left `None` is not managed: a topic is created with the broker's default
/// (`num.partitions`, `default.replication.factor`) and an existing topic's value is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDeclaration {
    /// Manage this topic (true). `false` is Karafka's `config(active: false)`: `topics migrate`
    /// neither creates nor changes it.
    pub active: bool,
    /// Partitions. Existing topics are only ever raised to it, never shrunk.
    pub partitions: Option<i32>,
    /// Replication factor, used when the topic is created (changing it later needs a partition
    /// reassignment, which `topics migrate` does not do).
    pub replication_factor: Option<i32>,
    /// Topic configs (`retention.ms`, `cleanup.policy`, ...), created with the topic and
    /// aligned on existing topics.
    pub config: BTreeMap<String, String>,
}

impl Default for TopicDeclaration {
    fn default() -> Self {
        TopicDeclaration {
            active: true,
            partitions: None,
            replication_factor: None,
            config: BTreeMap::new(),
        }
    }
}

impl TopicDeclaration {
    /// A managed topic with the broker's defaults and no topic config.
    pub fn new() -> Self {
        TopicDeclaration::default()
    }

    /// Sets the partition count.
    pub fn partitions(mut self, n: i32) -> Self {
        self.partitions = Some(n);
        self
    }

    /// Sets the replication factor.
    pub fn replication_factor(mut self, n: i32) -> Self {
        self.replication_factor = Some(n);
        self
    }

    /// Sets one topic config, such as `retention.ms`.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// `false`: the topic commands leave this topic alone.
    pub fn active(mut self, yes: bool) -> Self {
        self.active = yes;
        self
    }

    /// `self` with `defaults` filling in what it does not set (its own values win).
    pub fn over(mut self, defaults: &TopicDeclaration) -> Self {
        self.partitions = self.partitions.or(defaults.partitions);
        self.replication_factor = self.replication_factor.or(defaults.replication_factor);
        for (k, v) in &defaults.config {
            self.config.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// The settings Karafka Pro's `scheduled_messages(name)` declares for the proxy topic and
    /// its states topic: 5 partitions, compacted, with segments rolled hourly so that a
    /// dispatched schedule (followed by its tombstone) leaves the log soon.
    pub fn scheduled_messages_default() -> Self {
        TopicDeclaration::new()
            .partitions(5)
            .config("cleanup.policy", "compact")
            .config("min.cleanable.dirty.ratio", "0.1")
            .config("segment.ms", "3600000")
            .config("delete.retention.ms", "3600000")
            .config("segment.bytes", "52428800")
    }

    /// Reads a `config` table: `partitions`, `replication_factor`, `active`, and every other
    /// key a Kafka topic config. `at` names the table in errors.
    pub(super) fn from_table(
        at: &str,
        table: BTreeMap<String, toml::Value>,
    ) -> Result<Self, ConfigError> {
        let mut d = TopicDeclaration::new();
        for (key, value) in table {
            let bad = |why: &str| ConfigError::Declaration {
                at: format!("{at}.{key}"),
                why: why.to_owned(),
            };
            match key.as_str() {
                "partitions" => d.partitions = Some(positive(&value).ok_or_else(|| bad(COUNT))?),
                "replication_factor" => {
                    d.replication_factor = Some(positive(&value).ok_or_else(|| bad(COUNT))?)
                }
                "active" => {
                    d.active = value
                        .as_bool()
                        .ok_or_else(|| bad("expected true or false"))?
                }
                _ if !looks_like_topic_config(&key) => return Err(bad(UNKNOWN_KEY)),
                _ => {
                    let text = scalar(&value).ok_or_else(|| bad(SCALAR))?;
                    d.config.insert(key, text);
                }
            }
        }
        Ok(d)
    }
}

const COUNT: &str = "expected a whole number from 1 to 2147483647";
const SCALAR: &str = "a topic config value must be a string, number or boolean";
const UNKNOWN_KEY: &str = "expected partitions, replication_factor, active or a Kafka topic \
                           config such as \"retention.ms\" or \"cleanup.policy\"";

fn positive(v: &toml::Value) -> Option<i32> {
    v.as_integer()
        .and_then(|n| i32::try_from(n).ok())
        .filter(|n| *n >= 1)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Kafka's topic configs are dotted names (`retention.ms`), except `preallocate`: a bare word
/// is far more likely a misspelt `partitions` than a config the broker knows.
fn looks_like_topic_config(key: &str) -> bool {
    key == "preallocate" || (key.contains('.') && !key.starts_with('.') && !key.ends_with('.'))
}

/// The topics a configuration declares beyond the routed ones, and the Scheduled Messages
/// topics it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Declaratives {
    /// Declarations by topic name: those of routed topics (`[topics.<name>.config]`) and of any
    /// other topic (`[declaratives.<name>]`: dead letter queues, forward targets, ...).
    pub topics: BTreeMap<String, TopicDeclaration>,
    /// Scheduled Messages proxy topics (Karafka Pro's `scheduled_messages(name)`); each comes
    /// with its `<name>_states` topic.
    pub scheduled_messages: Vec<String>,
}

impl Declaratives {
    /// The states topic of the proxy topic `topic` (Karafka's `states_postfix`, `_states`).
    pub fn states_topic(topic: &str) -> String {
        format!("{topic}{}", crate::scheduled::STATES_POSTFIX)
    }

    /// The declarations' topic names and counts must be valid.
    pub(super) fn validate(&self, valid_name: fn(&str) -> bool) -> Result<(), ConfigError> {
        let named = self.topics.keys().chain(&self.scheduled_messages);
        if let Some(bad) = named.into_iter().find(|t| !valid_name(t)) {
            return Err(ConfigError::InvalidTopicName(bad.clone()));
        }
        for (topic, d) in &self.topics {
            let counts = [
                ("partitions", d.partitions),
                ("replication_factor", d.replication_factor),
            ];
            if let Some((what, _)) = counts.iter().find(|(_, n)| n.is_some_and(|n| n < 1)) {
                return Err(ConfigError::Declaration {
                    at: format!("{topic}.{what}"),
                    why: COUNT.to_owned(),
                });
            }
        }
        Ok(())
    }
}
