use std::collections::BTreeMap;

use super::plan::{plan, ExistingTopic};
use super::*;
use crate::consumer::{ConfigError, WorkerConfig};

const FILE: &str = r#"
bootstrap_servers = "127.0.0.1:1"

[topics.default]
dead_letter_queue = { topic = "default_dlq", max_retries = 3 }
unknown_job_class = { forward = "ruby_jobs" }

[topics.default.config]
partitions = 6
replication_factor = 1
"retention.ms" = 604800000

[topics.events]

[declaratives.default_dlq]
partitions = 2
"cleanup.policy" = "delete"

[scheduled_messages]
topics = ["schedules"]

[declaratives.schedules]
partitions = 10
"#;

fn config() -> WorkerConfig {
    WorkerConfig::from_toml_str(FILE).expect("valid")
}

fn existing(partitions: i32, config: &[(&str, &str)]) -> ExistingTopic {
    ExistingTopic {
        partitions,
        replication_factor: 1,
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        overrides: BTreeMap::new(),
    }
}

// The configuration names job topics, DLQs, forward targets and both Scheduled Messages topics,
// each once, in order, and a proxy topic declared with only partitions stays compacted.
#[test]
fn declared_topics_cover_every_named_topic() {
    let declared = declared_topics(&config());
    let names: Vec<(&str, TopicRole)> =
        declared.iter().map(|d| (d.name.as_str(), d.role)).collect();
    assert_eq!(
        names,
        [
            ("default", TopicRole::Jobs),
            ("default_dlq", TopicRole::DeadLetter),
            ("ruby_jobs", TopicRole::Forward),
            ("events", TopicRole::Jobs),
            ("schedules", TopicRole::ScheduledMessages),
            ("schedules_states", TopicRole::ScheduledStates),
        ]
    );
    let default = &declared[0].declaration;
    assert_eq!(default.partitions, Some(6));
    assert_eq!(default.config["retention.ms"], "604800000");
    assert_eq!(declared[1].declaration.partitions, Some(2));
    assert_eq!(declared[3].declaration, TopicDeclaration::new());
    let schedules = &declared[4].declaration;
    assert_eq!(schedules.partitions, Some(10));
    assert_eq!(schedules.config["cleanup.policy"], "compact");
    let states = &declared[5].declaration;
    assert_eq!(states.partitions, Some(5));
    assert_eq!(states.config["segment.ms"], "3600000");
}

// A misspelt key in a declaration is an error that names it, not a topic config sent to Kafka.
#[test]
fn declaration_typo_is_a_config_error() {
    let text = FILE.replace("partitions = 6", "partition = 6");
    let err = WorkerConfig::from_toml_str(&text).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Declaration { at, .. } if at == "topics.default.config.partition"),
        "{err}"
    );
    let text = FILE.replace("partitions = 6", "partitions = 0");
    assert!(matches!(
        WorkerConfig::from_toml_str(&text).unwrap_err(),
        ConfigError::Declaration { .. }
    ));
}

// One topic declared in two places is refused.
#[test]
fn double_declaration_is_refused() {
    let text = format!("{FILE}\n[declaratives.default]\npartitions = 1\n");
    assert!(matches!(
        WorkerConfig::from_toml_str(&text).unwrap_err(),
        ConfigError::DuplicateDeclaration(t) if t == "default"
    ));
}

// On an empty cluster every named topic is created as declared; undeclared counts stay the
// broker's.
#[test]
fn fresh_cluster_creates_everything() {
    let p = plan(&declared_topics(&config()), &BTreeMap::new(), &[]);
    assert_eq!(p.changes.len(), 6);
    assert!(p
        .changes
        .iter()
        .all(|c| matches!(c, TopicChange::Create { .. })));
    let text = p.render();
    assert!(
        text.contains("  + default (jobs):\n    + partitions: 6\n"),
        "{text}"
    );
    assert!(text.contains("+ retention.ms: \"604800000\""), "{text}");
    assert!(text.contains("  + events (jobs):\n    + partitions: broker default\n"));
    assert!(text.contains("6 changes to apply."), "{text}");
}

// In sync: no change, and the plan says so plainly.
#[test]
fn in_sync_cluster_plans_nothing() {
    let declared = declared_topics(&config());
    let mut have = BTreeMap::new();
    for d in &declared {
        let config: Vec<(&str, &str)> = d
            .declaration
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        have.insert(
            d.name.clone(),
            existing(d.declaration.partitions.unwrap_or(3), &config),
        );
    }
    let p = plan(&declared, &have, &[]);
    assert!(p.is_empty(), "{p:?}");
    assert!(p
        .render()
        .ends_with("No changes needed: every declared topic is in sync.\n"));
}

// More partitions declared: repartition upward. Fewer: a note, no change. A differing config
// is changed and the topic's own other settings are sent along, since AlterConfigs replaces
// the whole set.
#[test]
fn grows_never_shrinks_and_aligns_configs() {
    let declared: Vec<DeclaredTopic> = declared_topics(&config())
        .into_iter()
        .filter(|d| d.name == "default" || d.name == "default_dlq")
        .collect();
    let mut have = BTreeMap::new();
    let mut default = existing(
        3,
        &[("retention.ms", "86400000"), ("max.message.bytes", "2000")],
    );
    default
        .overrides
        .insert("max.message.bytes".into(), "2000".into());
    have.insert("default".to_owned(), default);
    have.insert(
        "default_dlq".to_owned(),
        existing(4, &[("cleanup.policy", "delete")]),
    );
    let p = plan(&declared, &have, &["jobs_.*".to_owned()]);
    assert_eq!(
        p.changes,
        [
            TopicChange::Repartition {
                name: "default".into(),
                from: 3,
                to: 6
            },
            TopicChange::AlterConfigs {
                name: "default".into(),
                changes: vec![ConfigChange {
                    key: "retention.ms".into(),
                    from: Some("86400000".into()),
                    to: "604800000".into()
                }]
            }
        ]
    );
    assert_eq!(
        p.notes,
        [
            PlanNote::ShrinkRefused {
                name: "default_dlq".into(),
                existing: 4,
                declared: 2
            },
            PlanNote::Pattern {
                pattern: "jobs_.*".into()
            }
        ]
    );
    let set = &p.alter_sets["default"];
    assert_eq!(set["max.message.bytes"], "2000");
    assert_eq!(set["retention.ms"], "604800000");
    let text = p.render();
    assert!(text.contains("~ partitions: 3 => 6"), "{text}");
    assert!(text.contains("~ retention.ms: \"86400000\" => \"604800000\""));
    assert!(text.contains("default_dlq: 2 partitions declared but 4 exist"));
}

// `active = false` leaves a topic alone even when it is missing.
#[test]
fn inactive_declaration_is_not_managed() {
    let text = FILE.replace("[topics.events]", "[topics.events.config]\nactive = false");
    let p = plan(
        &declared_topics(&WorkerConfig::from_toml_str(&text).unwrap()),
        &BTreeMap::new(),
        &[],
    );
    assert!(p.changes.iter().all(|c| c.topic() != "events"));
    assert_eq!(
        p.notes,
        [PlanNote::Inactive {
            name: "events".into()
        }]
    );
}

// Every consumer group's topics are declared, with their `config` tables, and a pattern's dead
// letter queue too; the pattern's matches are not (they do not exist yet), and a pattern has
// no `config` of its own.
#[test]
fn declared_topics_walk_every_consumer_group_and_patterns_targets() {
    let c = WorkerConfig::from_toml_str(
        r#"
        bootstrap_servers = "127.0.0.1:1"
        [topics.default]
        [consumer_groups.reporting.topics.exports]
        dead_letter_queue = { topic = "exports_dlq" }
        [consumer_groups.reporting.topics.exports.config]
        partitions = 3
        [patterns.tenants]
        regex = "tenant_.*_jobs$"
        dead_letter_queue = { topic = "tenant_dlq" }
        "#,
    )
    .unwrap();
    let declared = declared_topics(&c);
    let names: Vec<(&str, TopicRole)> =
        declared.iter().map(|d| (d.name.as_str(), d.role)).collect();
    assert_eq!(
        names,
        [
            ("default", TopicRole::Jobs),
            ("tenant_dlq", TopicRole::DeadLetter),
            ("exports", TopicRole::Jobs),
            ("exports_dlq", TopicRole::DeadLetter),
        ]
    );
    assert_eq!(declared[2].declaration.partitions, Some(3));
    // The pattern itself is only noted by the plan.
    let topics = Topics::new(&c);
    assert_eq!(topics.patterns(), ["tenant_.*_jobs$"]);
    let p = plan(topics.declared(), &BTreeMap::new(), topics.patterns());
    assert!(p.notes.contains(&PlanNote::Pattern {
        pattern: "tenant_.*_jobs$".into()
    }));
    assert!(p.render().contains(
        "  ! pattern \"tenant_.*_jobs$\": topics matching a pattern are not created or changed here\n"
    ));
    let e = WorkerConfig::from_toml_str(
        "bootstrap_servers = 'x'\n[patterns.p]\nregex = 'a'\n[patterns.p.config]\npartitions = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("topics.p.config: a pattern names no topic to declare"),
        "{e}"
    );
}
