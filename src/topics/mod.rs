//! Declarative topics: `topics plan` and `topics migrate`, Karafka's `karafka topics plan` /
//! `karafka topics migrate` for the worker's configuration.
//!
//! # Which topics
//!
//! Every topic the [`WorkerConfig`] names ([`declared_topics`]): the job topics
//! (`[topics.<name>]`), their dead letter queues and forward targets, each Scheduled Messages
//! proxy topic of `[scheduled_messages] topics` with its `<name>_states` topic, and any topic
//! declared in `[declaratives.<name>]`. Each is created as its declaration says
//! ([`TopicDeclaration`]: `[topics.<name>.config]` or `[declaratives.<name>]`, Karafka's
//! `config(partitions:, replication_factor:, ...)`); what a declaration leaves out is the
//! broker's default (`num.partitions`, `default.replication.factor`). A Scheduled Messages
//! topic gets what Karafka Pro's `scheduled_messages(name)` declares (5 partitions,
//! `cleanup.policy=compact`, hourly segments), under whatever the configuration declares for
//! it. Topic patterns name no topic: they are noted and skipped. The Web UI's topics are
//! karafka-web's (`karafka-web install`) and are not managed here.
//!
//! # What changes (Karafka's `migrate`: create, repartition, align)
//!
//! * A missing topic is created with its partitions, replication factor and topic configs.
//! * An existing topic with fewer partitions than declared gets more. One with **more** is
//!   left alone and the plan says so: partitions are never removed (Kafka cannot, and keys
//!   would move to other partitions).
//! * Declared topic configs that differ from the broker's values are set; configs the
//!   declaration does not name are kept (Kafka's AlterConfigs replaces a topic's whole config
//!   set, so the topic's own settings are sent again with the changes).
//! * A replication factor that differs on an existing topic is only reported: changing it is
//!   a partition reassignment.
//! * Nothing is ever deleted.
//!
//! `plan` reads the cluster and says what `migrate` would do; `migrate` does it and says what it
//! did. Both fail with a [`TopicsError`] when no broker answers or when the broker refuses a
//! change (authorization, a replication factor above the broker count, an unknown config).
//!
//! ```no_run
//! use activejob_karafka::consumer::WorkerConfig;
//! use activejob_karafka::topics::Topics;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = WorkerConfig::from_toml_file("worker.toml")?;
//! let topics = Topics::new(&config);
//! print!("{}", topics.plan().await?.render());
//! print!("{}", topics.migrate().await?.render());
//! # Ok(())
//! # }
//! ```

mod admin;
mod declared;
mod error;
mod plan;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::time::Duration;

pub use crate::consumer::TopicDeclaration;
use crate::consumer::WorkerConfig;
pub use declared::{declared_topics, DeclaredTopic, TopicRole};
pub use error::{Refusal, RefusalReason, TopicsError};
pub use plan::{ConfigChange, Plan, PlanNote, TopicChange};

/// Plans and applies the topics of one worker configuration.
#[derive(Debug, Clone)]
pub struct Topics {
    config: WorkerConfig,
    declared: Vec<DeclaredTopic>,
    patterns: Vec<String>,
    timeout: Duration,
}

impl Topics {
    /// The topics `config` names; a broker request may take up to 10 s.
    pub fn new(config: &WorkerConfig) -> Self {
        Topics {
            config: config.clone(),
            declared: declared_topics(config),
            patterns: config
                .routes()
                .iter()
                .flat_map(|group| group.patterns.iter().map(|p| p.regex.clone()))
                .collect(),
            timeout: Duration::from_secs(10),
        }
    }

    /// How long each broker request (and the wait for created topics) may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The topics it manages, in configuration order.
    pub fn declared(&self) -> &[DeclaredTopic] {
        &self.declared
    }

    /// The regexes of the configuration's topic patterns, which it notes and skips: their
    /// matches are whatever topics exist.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// What [`migrate`](Self::migrate) would change. Reads the cluster only.
    pub async fn plan(&self) -> Result<Plan, TopicsError> {
        let admin = admin::Admin::new(&self.config, self.timeout)?;
        let existing = admin.existing(&self.declared).await?;
        Ok(plan::plan(&self.declared, &existing, &self.patterns))
    }

    /// Creates, repartitions and aligns the declared topics; never deletes or shrinks.
    pub async fn migrate(&self) -> Result<Migration, TopicsError> {
        let admin = admin::Admin::new(&self.config, self.timeout)?;
        let existing = admin.existing(&self.declared).await?;
        let plan = plan::plan(&self.declared, &existing, &self.patterns);
        let applied = admin.apply(&plan).await?;
        Ok(Migration { plan, applied })
    }
}

/// What [`Topics::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The plan it followed (with its notes on what it left alone).
    pub plan: Plan,
    /// The changes made.
    pub applied: Vec<TopicChange>,
}

impl Migration {
    /// True when nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
    }

    /// What was done, a line per change, then what was left alone.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for change in &self.applied {
            let _ = writeln!(out, "{}", change.done_line());
        }
        if !self.plan.notes.is_empty() {
            out.push_str("Left alone:\n");
            for note in &self.plan.notes {
                let _ = writeln!(out, "  ! {note}");
            }
        }
        if self.applied.is_empty() {
            out.push_str(plan::nothing_to_do(&self.plan.notes));
        }
        out
    }
}
