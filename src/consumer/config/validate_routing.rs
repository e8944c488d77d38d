//! Start-up checks of the routing: consumer group ids, where each topic is routed, the
//! patterns' regexes and what they would match.

use std::collections::{HashMap, HashSet};

use regex::Regex;

use super::validate::validate_topic;
use super::{BadMessagePolicy, ConfigError, TopicConfig, TopicPattern, WorkerConfig};

/// A compiled pattern with the group it belongs to.
struct Compiled<'a> {
    group: &'a str,
    pattern: &'a TopicPattern,
    regex: Regex,
}

impl WorkerConfig {
    /// Group ids, topics in one group each, patterns that compile and whose matches cannot
    /// loop or be run by two groups, and every topic's and pattern's own settings.
    pub(super) fn validate_routing(&self) -> Result<(), ConfigError> {
        let routes = self.routes();
        if routes
            .iter()
            .all(|g| g.topics.is_empty() && g.patterns.is_empty())
        {
            return Err(ConfigError::NoTopics);
        }
        let mut groups = HashSet::new();
        let mut topic_group: HashMap<&str, &str> = HashMap::new();
        let mut compiled = Vec::new();
        for g in &routes {
            if g.group_id.is_empty() {
                return Err(ConfigError::Zero("group_id length"));
            }
            if !groups.insert(g.group_id) {
                return Err(ConfigError::DuplicateGroup(g.group_id.to_owned()));
            }
            for t in g.topics {
                validate_topic(self, t, false)?;
                match topic_group.insert(&t.name, g.group_id) {
                    None => {}
                    Some(first) if first == g.group_id => {
                        return Err(ConfigError::DuplicateTopic(t.name.clone()))
                    }
                    Some(first) => {
                        return Err(ConfigError::TopicInTwoGroups {
                            topic: t.name.clone(),
                            first: first.to_owned(),
                            second: g.group_id.to_owned(),
                        })
                    }
                }
            }
            for p in g.patterns {
                validate_topic(self, &p.settings, true)?;
                compiled.push(Compiled {
                    group: g.group_id,
                    pattern: p,
                    regex: compile(p)?,
                });
            }
        }
        for c in &compiled {
            for (topic, group) in &topic_group {
                if *group != c.group && c.regex.is_match(topic) {
                    return Err(ConfigError::TopicMatchesOtherGroupsPattern {
                        topic: (*topic).to_owned(),
                        group: (*group).to_owned(),
                        pattern: c.pattern.name().to_owned(),
                        pattern_group: c.group.to_owned(),
                    });
                }
            }
        }
        for t in self.all_topic_settings() {
            no_target_matches(t, &compiled)?;
        }
        let consumers = self.subscription_groups().len();
        if self.web_ui.enabled && consumers > 1 {
            return Err(ConfigError::WebUiNeedsOneConsumer(consumers));
        }
        Ok(())
    }
}

fn compile(p: &TopicPattern) -> Result<Regex, ConfigError> {
    if p.regex.is_empty() {
        return Err(ConfigError::EmptyPattern(p.name().to_owned()));
    }
    if let Some(why) = unread_by_librdkafka(&p.regex) {
        return Err(ConfigError::InvalidPattern {
            pattern: p.name().to_owned(),
            regex: p.regex.clone(),
            why: why.to_owned(),
        });
    }
    p.compile().map_err(|e| ConfigError::InvalidPattern {
        pattern: p.name().to_owned(),
        regex: p.regex.clone(),
        why: e.to_string(),
    })
}

/// Syntax Rust's `regex` reads but librdkafka's engine (which matches the subscription) does
/// not: group flags and names (`(?i)`, `(?P<name>...)`; it reads `(?:`) and Unicode classes.
fn unread_by_librdkafka(regex: &str) -> Option<&'static str> {
    let flags = regex.match_indices("(?").any(|(i, _)| {
        let after = &regex[i + 2..];
        let escaped = regex[..i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 1;
        // `(?=` and `(?!` are look-around, which Rust's engine refuses with its own message.
        !escaped && !after.starts_with([':', '=', '!'])
    });
    if flags {
        return Some(
            "librdkafka's regex engine, which matches the subscription, reads no group flags or \
             names: use (?:...) for a group, and spell out both cases ([Tt]enant)",
        );
    }
    if regex.contains("\\p") || regex.contains("\\P") {
        return Some("librdkafka's regex engine reads no Unicode classes (\\p{...})");
    }
    None
}

/// Refuses a dead letter queue or forward topic that a pattern would consume again.
fn no_target_matches(t: &TopicConfig, patterns: &[Compiled<'_>]) -> Result<(), ConfigError> {
    let dlq = t
        .dead_letter_queue
        .as_ref()
        .map(|d| (d.topic.as_str(), "dead_letter_queue.topic"));
    let forward = match &t.bad_messages.unknown_job_class {
        BadMessagePolicy::Forward(to) => Some((to.as_str(), "unknown_job_class.forward")),
        _ => None,
    };
    for (target, what) in dlq.into_iter().chain(forward) {
        if let Some(c) = patterns.iter().find(|c| c.regex.is_match(target)) {
            return Err(ConfigError::TargetMatchesPattern {
                target: target.to_owned(),
                what,
                source_name: t.name.clone(),
                pattern: c.pattern.name().to_owned(),
            });
        }
    }
    Ok(())
}
