//! The topics a worker configuration names, each with what it should look like: the job
//! topics, their dead letter queues and forward targets, the Scheduled Messages topics and any
//! other declared topic.

use crate::consumer::{
    BadMessagePolicy, Declaratives, TopicConfig, TopicDeclaration, WorkerConfig,
};

/// Why the configuration names a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicRole {
    /// A routed job topic (`[topics.<name>]` or `[consumer_groups.<id>.topics.<name>]`,
    /// Karafka's `active_job_topic`).
    Jobs,
    /// A dead letter queue (`dead_letter_queue.topic`).
    DeadLetter,
    /// Where unknown job classes are forwarded (`unknown_job_class = { forward = ... }`).
    Forward,
    /// A Scheduled Messages proxy topic (`[scheduled_messages] topics`).
    ScheduledMessages,
    /// The states topic of a Scheduled Messages proxy topic (`<name>_states`).
    ScheduledStates,
    /// Only declared (`[declaratives.<name>]`).
    Declared,
}

impl std::fmt::Display for TopicRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TopicRole::Jobs => "jobs",
            TopicRole::DeadLetter => "dead letter queue",
            TopicRole::Forward => "forward target",
            TopicRole::ScheduledMessages => "scheduled messages",
            TopicRole::ScheduledStates => "scheduled messages states",
            TopicRole::Declared => "declared",
        })
    }
}

/// A topic the configuration names, and what it should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredTopic {
    /// Topic name.
    pub name: String,
    /// Why it is named (the first reason, when there are several).
    pub role: TopicRole,
    /// Its declaration: the configured one, over Karafka Pro's defaults for Scheduled Messages
    /// topics; the broker's defaults for a topic nobody declared.
    pub declaration: TopicDeclaration,
}

/// Every topic `config` names, in configuration order, each once.
pub fn declared_topics(config: &WorkerConfig) -> Vec<DeclaredTopic> {
    let mut named: Vec<(String, TopicRole)> = Vec::new();
    for group in config.routes() {
        for t in group.topics {
            named.push((t.name.clone(), TopicRole::Jobs));
            push_targets(&mut named, t);
        }
        // A pattern's matches are not known before they exist (Karafka's declaratives skip
        // patterns); its dead letter queue and forward target are.
        for p in group.patterns {
            push_targets(&mut named, &p.settings);
        }
    }
    let declaratives = &config.declaratives;
    for proxy in &declaratives.scheduled_messages {
        named.push((proxy.clone(), TopicRole::ScheduledMessages));
        named.push((
            Declaratives::states_topic(proxy),
            TopicRole::ScheduledStates,
        ));
    }
    for name in declaratives.topics.keys() {
        named.push((name.clone(), TopicRole::Declared));
    }

    let mut seen = std::collections::HashSet::new();
    named
        .into_iter()
        .filter(|(name, _)| seen.insert(name.clone()))
        .map(|(name, role)| {
            let declaration = declaration_of(declaratives, &name, role);
            DeclaredTopic {
                name,
                role,
                declaration,
            }
        })
        .collect()
}

/// The dead letter queue and forward targets of a topic or pattern.
fn push_targets(named: &mut Vec<(String, TopicRole)>, t: &TopicConfig) {
    if let Some(dlq) = &t.dead_letter_queue {
        named.push((dlq.topic.clone(), TopicRole::DeadLetter));
    }
    let policies = &t.bad_messages;
    for policy in [
        &policies.tombstone,
        &policies.undecodable,
        &policies.unknown_job_class,
    ] {
        if let BadMessagePolicy::Forward(target) = policy {
            named.push((target.clone(), TopicRole::Forward));
        }
    }
}

/// The configured declaration of `name`; a Scheduled Messages topic gets Karafka Pro's settings
/// under it, so declaring only its partitions keeps it compacted.
fn declaration_of(declaratives: &Declaratives, name: &str, role: TopicRole) -> TopicDeclaration {
    let configured = declaratives.topics.get(name).cloned().unwrap_or_default();
    match role {
        TopicRole::ScheduledMessages | TopicRole::ScheduledStates => {
            configured.over(&TopicDeclaration::scheduled_messages_default())
        }
        _ => configured,
    }
}
