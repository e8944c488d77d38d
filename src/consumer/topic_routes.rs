//! Which settings a partition runs with: those of the topic its consumer group names
//! explicitly, else those of the first of its consumer's patterns that matches the topic
//! (explicit wins, as in Karafka Pro's pattern `Detector`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::config::{SubscriptionGroup, TopicConfig, TopicPattern};

/// The topics one consumer runs: its consumer group's explicit topics, then its own patterns.
pub(crate) struct TopicRoutes {
    /// Every explicit topic of the consumer group (explicit wins over a pattern).
    explicit: HashMap<String, Arc<TopicConfig>>,
    /// The consumer's patterns, compiled, in configuration order.
    patterns: Vec<(regex::Regex, TopicPattern)>,
    /// Topics matched by a pattern so far.
    matched: Mutex<HashMap<String, Arc<TopicConfig>>>,
}

impl TopicRoutes {
    pub(crate) fn new(sg: &SubscriptionGroup) -> Self {
        let explicit = sg
            .group_topics
            .iter()
            .map(|t| (t.name.clone(), Arc::new(t.clone())))
            .collect();
        let patterns = sg
            .config
            .patterns
            .iter()
            // Validation compiled every pattern already.
            .filter_map(|p| p.compile().ok().map(|r| (r, p.clone())))
            .collect();
        TopicRoutes {
            explicit,
            patterns,
            matched: Mutex::default(),
        }
    }

    /// The settings `topic` runs with: its own when the group names it, else those of the
    /// first pattern matching it. A topic librdkafka assigned through a pattern that the
    /// worker's regex does not match (the two engines differ at the edges) runs with the first
    /// pattern's settings, logged: jobs of an assigned partition are never left unread.
    pub(crate) fn get(&self, topic: &str) -> Option<Arc<TopicConfig>> {
        if let Some(t) = self.explicit.get(topic) {
            return Some(t.clone());
        }
        let mut matched = self.matched.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = matched.get(topic) {
            return Some(t.clone());
        }
        let pattern = match self.patterns.iter().find(|(r, _)| r.is_match(topic)) {
            Some((_, p)) => p,
            None => {
                let (_, p) = self.patterns.first()?;
                tracing::warn!(
                    topic,
                    pattern = p.name(),
                    "assigned through a regex subscription that no pattern's regex matches \
                     here; running it with the first pattern's settings"
                );
                p
            }
        };
        tracing::info!(
            topic,
            pattern = pattern.name(),
            "topic matched by a pattern"
        );
        let config = Arc::new(pattern.topic_for(topic));
        matched.insert(topic.to_owned(), config.clone());
        Some(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::config::WorkerConfig;

    /// A topic the group names keeps its own settings even when the consumer's pattern
    /// matches it; another matching topic takes the first matching pattern's settings under
    /// its own name; a topic no regex here matches (librdkafka's engine differs at the edges)
    /// still runs, with the first pattern's settings.
    #[test]
    fn explicit_wins_then_the_first_matching_pattern() {
        let config = WorkerConfig::builder()
            .bootstrap_servers("127.0.0.1:1")
            .topic(TopicConfig::new("jobs_vip").max_messages(1))
            .pattern(TopicPattern::new(
                "jobs_",
                TopicConfig::new("jobs").max_messages(5),
            ))
            .pattern(TopicPattern::new(
                "other_",
                TopicConfig::new("other").max_messages(7),
            ))
            .build()
            .unwrap();
        let routes = TopicRoutes::new(&config.subscription_groups()[0]);
        let get = |t: &str| routes.get(t).map(|c| (c.name.clone(), c.max_messages));
        assert_eq!(get("jobs_vip"), Some(("jobs_vip".into(), Some(1))));
        assert_eq!(get("jobs_new"), Some(("jobs_new".into(), Some(5))));
        assert_eq!(get("other_x"), Some(("other_x".into(), Some(7))));
        assert_eq!(get("unmatched"), Some(("unmatched".into(), Some(5))));
        assert!(Arc::ptr_eq(
            &routes.get("jobs_new").unwrap(),
            &routes.get("jobs_new").unwrap()
        ));
    }
}
