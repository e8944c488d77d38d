//! Shadow mode: run the Rust handlers on a topic the Ruby workers still serve, side by side,
//! without touching what the Ruby workers do.
//!
//! A shadow worker reads the topics under a group of its own (by default `<group_id>-shadow`),
//! so the Ruby workers' group keeps its offsets and every job still runs in Ruby. It runs each
//! job through the registry with [`JobContext::is_shadow`](crate::registry::JobContext::is_shadow)
//! true, and it never produces anything:
//!
//! * dead letter queues and forward policies are removed from the topic configurations, so the
//!   worker has no producer at all;
//! * a failing job (error, panic, unknown class, unreadable payload) is recorded and the
//!   partition goes on: no pause, no retry, no dead letter;
//! * an interrupted continuable job is recorded instead of being re-enqueued.
//!
//! What it cannot prevent is a handler producing or writing on its own: check
//! `ctx.is_shadow()` before side effects that must happen once.
//!
//! Per job class it counts succeeded and failed runs and their wall time: a log line every
//! [`Shadow::report_every`] (60 s by default), a summary when it stops (also returned by
//! [`ShadowWorker::run`]), and the metrics of [`crate::metrics`] (labelled `mode="shadow"`) when
//! given [`Shadow::metrics`].
//!
//! ```no_run
//! use activejob_karafka::consumer::WorkerConfig;
//! use activejob_karafka::registry::Registry;
//! use activejob_karafka::shadow::Shadow;
//!
//! # async fn demo(registry: Registry) -> anyhow::Result<()> {
//! let config = WorkerConfig::from_toml_file("config/worker.toml")?; // group_id = "app"
//! let report = Shadow::new(registry).config(config).run().await?;    // group "app-shadow"
//! print!("{}", report.render());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::consumer::{
    BadMessagePolicies, InboundMessage, JobFailure, MessageHandler, PartitionSignals,
    ShutdownHandle, TopicConfig, Worker, WorkerConfig, WorkerError, WorkerStats,
};
use crate::envelope::Job;
use crate::metrics::{render_summary, ClassSummary, Instrumented, Metrics};
use crate::registry::{Registry, Requeue};

/// The group a shadow worker uses by default: `<group_id>-shadow`.
pub fn default_group(config: &WorkerConfig) -> String {
    format!("{}-shadow", config.group_id)
}

/// `config` as a shadow worker runs it: group `group` (default `<group_id>-shadow`; further
/// consumer groups always become `<their group_id>-shadow`), and no dead letter queue or
/// bad-message policy on any topic or pattern, so nothing needs a producer.
pub fn shadow_config(config: &WorkerConfig, group: Option<&str>) -> WorkerConfig {
    let mut shadow = config.clone();
    shadow.group_id = group.map_or_else(|| default_group(config), str::to_owned);
    let without_dispatch = |topic: &mut TopicConfig| {
        topic.dead_letter_queue = None;
        topic.bad_messages = BadMessagePolicies::default();
    };
    shadow.topics.iter_mut().for_each(without_dispatch);
    for p in &mut shadow.patterns {
        without_dispatch(&mut p.settings);
    }
    for g in &mut shadow.consumer_groups {
        g.group_id = format!("{}-shadow", g.group_id);
        g.topics.iter_mut().for_each(without_dispatch);
        for p in &mut g.patterns {
            without_dispatch(&mut p.settings);
        }
    }
    shadow
}

/// Builds a [`ShadowWorker`]: `Shadow::new(registry)`, options, then [`config`](Self::config).
#[derive(Debug)]
pub struct Shadow {
    registry: Registry,
    group: Option<String>,
    metrics: Option<Metrics>,
    report_every: Duration,
}

impl Shadow {
    /// A shadow of the workers that would run `registry`'s handlers.
    pub fn new(registry: Registry) -> Self {
        Shadow {
            registry,
            group: None,
            metrics: None,
            report_every: Duration::from_secs(60),
        }
    }

    /// The consumer group to read under (default: `<group_id>-shadow`). It must not be the
    /// Ruby workers' group: the shadow would take partitions (and jobs) from them.
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Records every run in `metrics` too (create them with
    /// `Metrics::with_labels([("mode".into(), "shadow".into())])` to tell them apart).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// How often the per-class totals are logged (zero: never, only the final summary).
    pub fn report_every(mut self, every: Duration) -> Self {
        self.report_every = every;
        self
    }

    /// The shadow worker for `config` (the Ruby workers' configuration; see [`shadow_config`]
    /// for what changes).
    pub fn config(self, config: WorkerConfig) -> ShadowWorker {
        let config = shadow_config(&config, self.group.as_deref());
        let metrics = self.metrics.unwrap_or_default();
        let suppressed = Arc::new(Mutex::new(BTreeMap::new()));
        let registry = self
            .registry
            .shadowed()
            .with_requeue(SuppressedRequeue(Arc::clone(&suppressed)));
        let handler = ShadowHandler {
            inner: metrics.instrument(registry),
        };
        let worker = metrics.attach(Worker::new(config.clone(), handler));
        ShadowWorker {
            worker,
            metrics,
            suppressed,
            report_every: self.report_every,
            group_id: config.group_id,
        }
    }
}

/// A worker in shadow mode; see the [module docs](self).
pub struct ShadowWorker {
    worker: Worker,
    metrics: Metrics,
    suppressed: Arc<Mutex<BTreeMap<String, u64>>>,
    report_every: Duration,
    group_id: String,
}

impl std::fmt::Debug for ShadowWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowWorker")
            .field("group_id", &self.group_id)
            .finish_non_exhaustive()
    }
}

impl ShadowWorker {
    /// Whether SIGINT / SIGTERM stop it (default true).
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.worker = self.worker.handle_signals(yes);
        self
    }

    /// A handle that stops it from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.worker.shutdown_handle()
    }

    /// The worker's live counters.
    pub fn stats(&self) -> Arc<WorkerStats> {
        self.worker.stats()
    }

    /// The group it reads under.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Its metrics (per-class counts, durations, health).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The totals so far (also while it runs).
    pub fn report(&self) -> ShadowReport {
        report(&self.metrics, &self.suppressed)
    }

    /// Runs until a shutdown, logging the totals every `report_every` and once at the end;
    /// returns the final totals.
    pub async fn run(self) -> Result<ShadowReport, WorkerError> {
        let ShadowWorker {
            worker,
            metrics,
            suppressed,
            report_every,
            group_id,
        } = self;
        tracing::info!(group_id = %group_id, "shadow mode: nothing is produced, re-enqueued or dead-lettered");
        let ticker = (!report_every.is_zero()).then(|| {
            let (metrics, suppressed) = (metrics.clone(), Arc::clone(&suppressed));
            tokio::spawn(async move {
                let mut every = tokio::time::interval(report_every);
                every.tick().await;
                loop {
                    every.tick().await;
                    let r = report(&metrics, &suppressed);
                    tracing::info!(
                        succeeded = r.total().succeeded,
                        failed = r.total().failed + r.total().no_handler + r.total().bad_payload,
                        "shadow totals\n{}",
                        r.render()
                    );
                }
            })
        });
        let result = worker.run().await;
        metrics.worker_finished();
        if let Some(t) = ticker {
            t.abort();
        }
        let r = report(&metrics, &suppressed);
        tracing::info!("shadow summary\n{}", r.render());
        result.map(|()| r)
    }
}

fn report(metrics: &Metrics, suppressed: &Mutex<BTreeMap<String, u64>>) -> ShadowReport {
    ShadowReport {
        classes: metrics.summary(),
        requeues_suppressed: suppressed.lock().expect("suppressed lock").clone(),
    }
}

/// What a shadow worker saw, per job class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowReport {
    /// Runs, outcomes and wall time per job class (`(tombstone)` / `(undecodable)` for messages
    /// without one).
    pub classes: BTreeMap<String, ClassSummary>,
    /// Interrupted continuable jobs per class that a normal worker would have re-enqueued.
    pub requeues_suppressed: BTreeMap<String, u64>,
}

impl ShadowReport {
    /// All classes together.
    pub fn total(&self) -> ClassSummary {
        let mut t = ClassSummary::default();
        for s in self.classes.values() {
            t.succeeded += s.succeeded;
            t.failed += s.failed;
            t.no_handler += s.no_handler;
            t.bad_payload += s.bad_payload;
            t.retried += s.retried;
            t.total_time += s.total_time;
            t.max_time = t.max_time.max(s.max_time);
        }
        t
    }

    /// True when every run succeeded.
    pub fn all_ok(&self) -> bool {
        let t = self.total();
        t.failed + t.no_handler + t.bad_payload == 0
    }

    /// A table: one line per class, then the total and the suppressed re-enqueues.
    pub fn render(&self) -> String {
        let mut out = render_summary(&self.classes);
        for (class, n) in &self.requeues_suppressed {
            out.push_str(&format!(
                "{class}: {n} continuation re-enqueue(s) suppressed\n"
            ));
        }
        out
    }
}

/// Stands in for the producer of continuations: notes what would have been re-enqueued.
struct SuppressedRequeue(Arc<Mutex<BTreeMap<String, u64>>>);

impl Requeue for SuppressedRequeue {
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        tracing::info!(job_class = %job.job_class, job_id = ?job.job_id, %at, "shadow: continuation not re-enqueued");
        *self
            .0
            .lock()
            .expect("suppressed lock")
            .entry(job.job_class)
            .or_insert(0) += 1;
        futures::future::ready(Ok(())).boxed()
    }
}

/// Turns every failure into success once it is recorded, so the worker never pauses, retries,
/// dead-letters or forwards in shadow mode.
struct ShadowHandler {
    inner: Instrumented<Registry>,
}

impl MessageHandler for ShadowHandler {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        // Instrumented already turned a panic into a failure and recorded it.
        self.inner
            .handle(message, signals)
            .map(|outcome| {
                if let Err(e) = outcome {
                    tracing::debug!(error = %e, "shadow: failure recorded, going on");
                }
                Ok(())
            })
            .boxed()
    }

    fn payload_format(&self) -> Option<Arc<dyn crate::payload_format::PayloadFormat>> {
        self.inner.payload_format()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::{BadMessageKind, BadMessagePolicy, TopicConfig};

    #[test]
    fn shadow_config_strips_everything_that_produces() {
        let config = WorkerConfig::builder()
            .bootstrap_servers("127.0.0.1:1")
            .group_id("app")
            .topic(
                TopicConfig::new("default")
                    .dead_letter_queue("default_dlq", 3)
                    .on_bad_message(
                        BadMessageKind::UnknownJobClass,
                        BadMessagePolicy::Forward("ruby".into()),
                    ),
            )
            .build()
            .unwrap();
        assert!(config.needs_producer());
        let shadow = shadow_config(&config, None);
        assert_eq!(shadow.group_id, "app-shadow");
        assert!(!shadow.needs_producer());
        shadow.validate().unwrap();
        assert_eq!(shadow_config(&config, Some("x")).group_id, "x");
    }
}
