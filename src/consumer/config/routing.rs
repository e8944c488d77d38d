//! Routing beyond one list of topics: several consumer groups in one process (Karafka's
//! `consumer_group` blocks), topic patterns (Karafka Pro's routing patterns,
//! `active_job_pattern`), and the subscription groups they are consumed through.
//!
//! * **Consumer groups.** The top-level `group_id` with its `topics` and `patterns` is the
//!   default group (Karafka draws topics outside a `consumer_group` block into the group named
//!   by `config.group_id`); every [`ConsumerGroupConfig`] is one more. Each group commits its own
//!   offsets. All groups of a process share its `concurrency` slots, its handler registry and
//!   its shutdown, as Karafka's groups share its worker threads. A topic belongs to one group.
//! * **Subscription groups.** Within a consumer group, topics whose librdkafka properties
//!   differ (a topic's `kafka` table or its `initial_offset`, which is `auto.offset.reset`)
//!   cannot share a librdkafka consumer: each set of equal properties gets a consumer of its
//!   own, a member of the same consumer group, as Karafka's `SubscriptionGroupsBuilder` does.
//!   Karafka also splits on `max_messages` and `max_wait_time`, which are poll settings there;
//!   here `max_messages` is a per-partition turn, so topics that differ only in it (or in
//!   `pause`) share a consumer.
//! * **Patterns.** A pattern subscribes with librdkafka's regex subscription (`^` followed by
//!   the pattern's regex, as Karafka Pro's `regexp_string`): every existing topic that matches
//!   is consumed, and a topic created later is picked up at librdkafka's next metadata refresh
//!   (`topic.metadata.refresh.interval.ms`, 300 000 ms by default: expect up to that long,
//!   plus a rebalance, before its first job runs). Each matched topic runs with the pattern's
//!   settings (dead letter queue, bad-message policies, overrides). The regex is matched from
//!   the start of the name and not anchored at its end (`jobs_` also matches `jobs_dlq`: end it
//!   with `$` to prevent that). A topic that is also named explicitly in the pattern's group
//!   runs with its own settings (explicit wins, as Karafka Pro's `Detector` keeps an existing
//!   topic definition).

use std::collections::BTreeMap;

use regex::Regex;

use super::{membership, TopicConfig, WorkerConfig};

/// One `consumer_group :name do ... end` block: a Kafka consumer group of its own, with its
/// own committed offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupConfig {
    /// The group's `group.id`.
    pub group_id: String,
    /// Its routed topics.
    pub topics: Vec<TopicConfig>,
    /// Its topic patterns.
    pub patterns: Vec<TopicPattern>,
}

impl ConsumerGroupConfig {
    /// A group without topics.
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupConfig {
            group_id: group_id.into(),
            topics: Vec::new(),
            patterns: Vec::new(),
        }
    }

    /// Adds a routed topic.
    pub fn topic(mut self, t: TopicConfig) -> Self {
        self.topics.push(t);
        self
    }

    /// Adds a topic pattern.
    pub fn pattern(mut self, p: TopicPattern) -> Self {
        self.patterns.push(p);
        self
    }
}

/// A topic pattern (Karafka Pro's `active_job_pattern(name, regex)`): every topic whose name
/// matches `regex`, now or created later, is consumed with `settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    /// Regular expression (Rust `regex` syntax: no look-around), matched from the start of a
    /// topic's name.
    pub regex: String,
    /// The settings every matched topic runs with; `settings.name` names the pattern (in
    /// errors and logs), it is not a topic.
    pub settings: TopicConfig,
}

impl TopicPattern {
    /// A pattern named `settings.name`, matching `regex`, whose matches run with `settings`.
    pub fn new(regex: impl Into<String>, settings: TopicConfig) -> Self {
        TopicPattern {
            regex: regex.into(),
            settings,
        }
    }

    /// The pattern's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The librdkafka subscription: `^` and the regex.
    pub fn subscription(&self) -> String {
        format!("^{}", self.regex)
    }

    /// The regex as the worker matches topic names with it (anchored at the start only, as
    /// librdkafka's subscription).
    pub fn compile(&self) -> Result<Regex, regex::Error> {
        Regex::new(&format!("^(?:{})", self.regex))
    }

    /// The settings of a matched topic.
    pub fn topic_for(&self, topic: &str) -> TopicConfig {
        TopicConfig {
            name: topic.to_owned(),
            ..self.settings.clone()
        }
    }
}

/// One consumer group as [`WorkerConfig::routes`] walks it.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerGroupRoutes<'a> {
    /// The group's `group.id`.
    pub group_id: &'a str,
    /// Its routed topics.
    pub topics: &'a [TopicConfig],
    /// Its topic patterns.
    pub patterns: &'a [TopicPattern],
}

/// One librdkafka consumer of the process (Karafka's subscription group): the topics and
/// patterns of one consumer group that share librdkafka properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionGroup {
    /// `<group_id>_<n>`, `n` counting the group's subscription groups from 0.
    pub name: String,
    /// The consumer's configuration: its group's `group_id`, its own `topics` and `patterns`,
    /// `kafka` with the topics' properties applied, no further `consumer_groups`.
    pub config: WorkerConfig,
    /// Every explicit topic of its consumer group: a topic that one of this consumer's patterns
    /// matches but that the group names explicitly runs with its own settings.
    pub group_topics: Vec<TopicConfig>,
}

impl SubscriptionGroup {
    /// What the consumer subscribes to: its topics' names and its patterns' regex
    /// subscriptions.
    pub fn subscriptions(&self) -> Vec<String> {
        let topics = self.config.topics.iter().map(|t| t.name.clone());
        let patterns = self.config.patterns.iter().map(TopicPattern::subscription);
        topics.chain(patterns).collect()
    }
}

impl WorkerConfig {
    /// Every consumer group with its topics and patterns, the default group first (when it
    /// routes anything).
    pub fn routes(&self) -> Vec<ConsumerGroupRoutes<'_>> {
        let default = ConsumerGroupRoutes {
            group_id: &self.group_id,
            topics: &self.topics,
            patterns: &self.patterns,
        };
        let others = self.consumer_groups.iter().map(|g| ConsumerGroupRoutes {
            group_id: &g.group_id,
            topics: &g.topics,
            patterns: &g.patterns,
        });
        std::iter::once(default)
            .filter(|d| !d.topics.is_empty() || !d.patterns.is_empty())
            .chain(others)
            .collect()
    }

    /// The consumers this configuration runs, in order: for each consumer group, one per set
    /// of equal topic properties ([`TopicConfig::consumer_properties`]), in the order the
    /// topics and patterns first use them. With static membership, every consumer after the
    /// first gets `group.instance.id` with `_<n>` appended (its position in the process),
    /// since each member of a group needs its own (Karafka appends the position to every
    /// one).
    pub fn subscription_groups(&self) -> Vec<SubscriptionGroup> {
        let mut out = Vec::new();
        for routes in self.routes() {
            let mut buckets: Vec<(BTreeMap<String, String>, WorkerConfig)> = Vec::new();
            for t in routes.topics {
                let i = self.bucket(&mut buckets, routes.group_id, t.consumer_properties());
                buckets[i].1.topics.push(t.clone());
            }
            for p in routes.patterns {
                let i = self.bucket(
                    &mut buckets,
                    routes.group_id,
                    p.settings.consumer_properties(),
                );
                buckets[i].1.patterns.push(p.clone());
            }
            for (n, (_, mut config)) in buckets.into_iter().enumerate() {
                if let (position @ 1.., Some(id)) =
                    (out.len(), config.kafka.get_mut(membership::INSTANCE_ID))
                {
                    id.push_str(&format!("_{position}"));
                }
                out.push(SubscriptionGroup {
                    name: format!("{}_{n}", routes.group_id),
                    config,
                    group_topics: routes.topics.to_vec(),
                });
            }
        }
        out
    }

    /// The index of the subscription group of `group_id` with properties `props`, added
    /// (without topics) when there is none yet.
    fn bucket(
        &self,
        buckets: &mut Vec<(BTreeMap<String, String>, WorkerConfig)>,
        group_id: &str,
        props: BTreeMap<String, String>,
    ) -> usize {
        if let Some(i) = buckets.iter().position(|(p, _)| *p == props) {
            return i;
        }
        let mut config = self.clone();
        config.group_id = group_id.to_owned();
        config.topics.clear();
        config.patterns.clear();
        config.consumer_groups.clear();
        config.kafka.extend(props.clone());
        buckets.push((props, config));
        buckets.len() - 1
    }
}
