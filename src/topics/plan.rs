//! The plan: what `topics migrate` would change, worked out from the declared topics and what
//! the broker has, without touching the broker. Kept apart from the admin calls so the rules
//! (never shrink, never reassign, only align declared configs) are tested on their own.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::declared::{DeclaredTopic, TopicRole};

/// One topic as the broker has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExistingTopic {
    /// Partition count.
    pub(crate) partitions: i32,
    /// Replicas of its first partition.
    pub(crate) replication_factor: i32,
    /// Current values of its configs (only read for topics with declared configs).
    pub(crate) config: BTreeMap<String, String>,
    /// The configs set on the topic itself (not inherited from the broker): Kafka's
    /// AlterConfigs replaces the whole set, so these are sent again beside the changes.
    pub(crate) overrides: BTreeMap<String, String>,
}

/// What `topics migrate` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The changes, in the order they are applied: creations, then new partitions, then
    /// configs.
    pub changes: Vec<TopicChange>,
    /// What differs but is left alone, and what is not managed.
    pub notes: Vec<PlanNote>,
    /// Per topic to alter: the full config set to send (the topic's own configs with the
    /// declared values over them).
    pub(crate) alter_sets: BTreeMap<String, BTreeMap<String, String>>,
}

/// One change to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicChange {
    /// Create a topic.
    Create {
        /// Topic name.
        name: String,
        /// Why the configuration names it.
        role: TopicRole,
        /// Partitions (`None`: the broker's `num.partitions`).
        partitions: Option<i32>,
        /// Replication factor (`None`: the broker's `default.replication.factor`).
        replication_factor: Option<i32>,
        /// Topic configs.
        config: BTreeMap<String, String>,
    },
    /// Add partitions to an existing topic.
    Repartition {
        /// Topic name.
        name: String,
        /// Partitions it has.
        from: i32,
        /// Partitions it will have.
        to: i32,
    },
    /// Set topic configs on an existing topic.
    AlterConfigs {
        /// Topic name.
        name: String,
        /// The configs that change.
        changes: Vec<ConfigChange>,
    },
}

impl TopicChange {
    /// The topic it changes.
    pub fn topic(&self) -> &str {
        match self {
            TopicChange::Create { name, .. }
            | TopicChange::Repartition { name, .. }
            | TopicChange::AlterConfigs { name, .. } => name,
        }
    }

    /// One line saying what was done, for `topics migrate`.
    pub fn done_line(&self) -> String {
        match self {
            TopicChange::Create {
                name,
                partitions,
                replication_factor,
                config,
                ..
            } => format!(
                "Created topic {name} ({}, {}{}).",
                count(*partitions, "partitions"),
                count(*replication_factor, "replication factor"),
                match config.len() {
                    0 => String::new(),
                    n => format!(", {n} topic config{}", plural(n)),
                }
            ),
            TopicChange::Repartition { name, from, to } => {
                format!(
                    "Added {} partitions to topic {name} ({from} => {to}).",
                    to - from
                )
            }
            TopicChange::AlterConfigs { name, changes } => {
                let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
                format!("Updated topic {name} configuration: {}.", keys.join(", "))
            }
        }
    }
}

/// A topic config that changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// The config, e.g. `retention.ms`.
    pub key: String,
    /// Its value now (`None`: the broker did not report it).
    pub from: Option<String>,
    /// The declared value.
    pub to: String,
}

/// Something the plan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanNote {
    /// Fewer partitions are declared than the topic has: partitions are never removed (Kafka
    /// cannot, and keys would move).
    ShrinkRefused {
        /// Topic name.
        name: String,
        /// Partitions it has.
        existing: i32,
        /// Partitions declared.
        declared: i32,
    },
    /// The topic's replication factor is not the declared one: changing it needs a partition
    /// reassignment, which is left to the cluster's operators.
    ReplicationFactorDiffers {
        /// Topic name.
        name: String,
        /// Replicas it has.
        existing: i32,
        /// Replicas declared.
        declared: i32,
    },
    /// Declared with `active = false`.
    Inactive {
        /// Topic name.
        name: String,
    },
    /// A topic pattern: the matching topics are whatever exists, so none is created.
    Pattern {
        /// The pattern.
        pattern: String,
    },
}

impl std::fmt::Display for PlanNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanNote::ShrinkRefused {
                name,
                existing,
                declared,
            } => write!(
                f,
                "{name}: {declared} partitions declared but {existing} exist; partitions are \
                 never removed, the topic keeps {existing}"
            ),
            PlanNote::ReplicationFactorDiffers {
                name,
                existing,
                declared,
            } => write!(
                f,
                "{name}: replication factor {declared} declared but {existing} in place; \
                 changing it needs a partition reassignment (kafka-reassign-partitions), \
                 not done here"
            ),
            PlanNote::Inactive { name } => write!(f, "{name}: active = false, not managed"),
            PlanNote::Pattern { pattern } => write!(
                f,
                "pattern {pattern:?}: topics matching a pattern are not created or changed here"
            ),
        }
    }
}

impl Plan {
    /// True when migrating would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan as `topics plan` prints it (Karafka's `topics plan` layout).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_section(&mut out, "Topics to create:", |c| match c {
            TopicChange::Create {
                name,
                role,
                partitions,
                replication_factor,
                config,
            } => {
                let mut s = format!("  + {name} ({role}):\n");
                let _ = writeln!(s, "    + partitions: {}", or_default(*partitions));
                let _ = writeln!(
                    s,
                    "    + replication_factor: {}",
                    or_default(*replication_factor)
                );
                for (k, v) in config {
                    let _ = writeln!(s, "    + {k}: {v:?}");
                }
                Some(s)
            }
            _ => None,
        });
        self.render_section(&mut out, "Topics to repartition:", |c| match c {
            TopicChange::Repartition { name, from, to } => {
                Some(format!("  ~ {name}:\n    ~ partitions: {from} => {to}\n"))
            }
            _ => None,
        });
        self.render_section(
            &mut out,
            "Topics with configuration changes:",
            |c| match c {
                TopicChange::AlterConfigs { name, changes } => {
                    let mut s = format!("  ~ {name}:\n");
                    for change in changes {
                        let _ = match &change.from {
                            Some(from) => {
                                writeln!(s, "    ~ {}: {from:?} => {:?}", change.key, change.to)
                            }
                            None => writeln!(s, "    + {}: {:?}", change.key, change.to),
                        };
                    }
                    Some(s)
                }
                _ => None,
            },
        );
        if !self.notes.is_empty() {
            out.push_str("Left alone:\n");
            for note in &self.notes {
                let _ = writeln!(out, "  ! {note}");
            }
            out.push('\n');
        }
        if self.is_empty() {
            out.push_str(nothing_to_do(&self.notes));
        } else {
            let n = self.changes.len();
            let _ = writeln!(out, "{n} change{} to apply.", plural(n));
        }
        out
    }

    fn render_section(
        &self,
        out: &mut String,
        title: &str,
        line: impl Fn(&TopicChange) -> Option<String>,
    ) {
        let lines: Vec<String> = self.changes.iter().filter_map(line).collect();
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title}\n");
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
}

/// The plan for `declared` against `existing` (topics by name); `patterns` are noted only.
pub(crate) fn plan(
    declared: &[DeclaredTopic],
    existing: &BTreeMap<String, ExistingTopic>,
    patterns: &[String],
) -> Plan {
    let mut plan = Plan::default();
    let mut repartitions = Vec::new();
    let mut alters = Vec::new();
    for topic in declared {
        let d = &topic.declaration;
        if !d.active {
            plan.notes.push(PlanNote::Inactive {
                name: topic.name.clone(),
            });
            continue;
        }
        let Some(have) = existing.get(&topic.name) else {
            plan.changes.push(TopicChange::Create {
                name: topic.name.clone(),
                role: topic.role,
                partitions: d.partitions,
                replication_factor: d.replication_factor,
                config: d.config.clone(),
            });
            continue;
        };
        match d.partitions {
            Some(to) if to > have.partitions => repartitions.push(TopicChange::Repartition {
                name: topic.name.clone(),
                from: have.partitions,
                to,
            }),
            Some(declared) if declared < have.partitions => {
                plan.notes.push(PlanNote::ShrinkRefused {
                    name: topic.name.clone(),
                    existing: have.partitions,
                    declared,
                })
            }
            _ => {}
        }
        if let Some(declared) = d.replication_factor {
            if declared != have.replication_factor {
                plan.notes.push(PlanNote::ReplicationFactorDiffers {
                    name: topic.name.clone(),
                    existing: have.replication_factor,
                    declared,
                });
            }
        }
        let changes = config_changes(&d.config, &have.config);
        if !changes.is_empty() {
            let mut set = have.overrides.clone();
            set.extend(d.config.clone());
            plan.alter_sets.insert(topic.name.clone(), set);
            alters.push(TopicChange::AlterConfigs {
                name: topic.name.clone(),
                changes,
            });
        }
    }
    plan.changes.extend(repartitions);
    plan.changes.extend(alters);
    plan.notes.extend(
        patterns
            .iter()
            .map(|p| PlanNote::Pattern { pattern: p.clone() }),
    );
    plan
}

/// The declared configs whose value on the broker differs (compared as text, as the broker
/// reports every value as a string).
fn config_changes(
    declared: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Vec<ConfigChange> {
    declared
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| ConfigChange {
            key: k.clone(),
            from: current.get(k).cloned(),
            to: v.clone(),
        })
        .collect()
}

/// The closing line when nothing changes: "in sync" only when no difference was left alone
/// (a pattern or an inactive topic is not one).
pub(super) fn nothing_to_do(notes: &[PlanNote]) -> &'static str {
    let differs = notes.iter().any(|n| {
        matches!(
            n,
            PlanNote::ShrinkRefused { .. } | PlanNote::ReplicationFactorDiffers { .. }
        )
    });
    if !differs {
        "No changes needed: every declared topic is in sync.\n"
    } else {
        "No changes to apply; the differences above are left alone.\n"
    }
}

fn or_default(n: Option<i32>) -> String {
    n.map_or_else(|| "broker default".to_owned(), |n| n.to_string())
}

fn count(n: Option<i32>, what: &str) -> String {
    match n {
        Some(1) if what == "partitions" => "1 partition".to_owned(),
        Some(n) if what == "partitions" => format!("{n} partitions"),
        Some(n) => format!("{what} {n}"),
        None => format!("default {what}"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
