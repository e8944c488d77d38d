//! Observability: a tracing span per job, Prometheus metrics and a health endpoint.
//!
//! ```no_run
//! use activejob_karafka::consumer::{Worker, WorkerConfig};
//! use activejob_karafka::metrics::Metrics;
//! use activejob_karafka::registry::Registry;
//!
//! # async fn demo(registry: Registry, config: WorkerConfig) -> anyhow::Result<()> {
//! let metrics = Metrics::new();
//! let worker = metrics.attach(Worker::new(config, metrics.instrument(registry)));
//! let server = metrics.serve("127.0.0.1:9464".parse()?).await?; // GET /metrics, GET /health
//! worker.run().await?;
//! server.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! * [`Metrics::instrument`] wraps any [`MessageHandler`] (usually the
//!   [`Registry`](crate::registry::Registry)): each run gets a `job` span with `job_class`,
//!   `job_id`, `topic`, `partition`, `offset` and `attempt`, and is counted per job class and
//!   topic with its duration.
//! * [`Metrics::attach`] hands the worker's counters and shutdown handle to the metrics (for
//!   `/health` and the `activejob_karafka_worker_*` counters) and sets an
//!   [observer](crate::consumer::WorkerObserver) for what only the runtime sees: dead letters,
//!   forwards, paused partitions and the consumer lag from librdkafka's statistics.
//!
//! The metric names are listed in `docs/metrics.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    TextEncoder,
};

use crate::consumer::{InboundMessage, JobFailure, MessageHandler, StatsSnapshot, Worker};

mod health;
mod instrument;
mod labels;
mod observer;
mod server;
mod summary;

use health::Health;
pub use instrument::Instrumented;
pub use labels::{
    class_label, failure_reason, job_head, JobHead, NO_CLASS_TOMBSTONE, NO_CLASS_UNDECODABLE,
};
use observer::MetricsObserver;
pub use server::MetricsServer;
pub use summary::{render_summary, ClassSummary};

/// Prometheus metrics, the per-class summary and the health state of one worker. Cheap to
/// clone (all clones share the same registry).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A message's topic, partition and offset.
type MessageId = (Arc<str>, i32, i64);

struct Inner {
    registry: prometheus::Registry,
    processed: IntCounterVec,
    failed: IntCounterVec,
    retried: IntCounterVec,
    dead_lettered: IntCounterVec,
    forwarded: IntCounterVec,
    duration: HistogramVec,
    lag: IntGaugeVec,
    partition_paused: IntGaugeVec,
    paused: IntGauge,
    up: IntGauge,
    consumer_ready: IntGaugeVec,
    buffered_bytes: IntGauge,
    worker: WorkerCounters,
    summary: Mutex<BTreeMap<String, ClassSummary>>,
    /// Failed runs per (topic, partition, offset), to number the next run of the same message
    /// (the worker retries a failed message in place).
    attempts: Mutex<HashMap<MessageId, u32>>,
    paused_set: Mutex<HashMap<(String, i32), ()>>,
    health: Health,
}

/// The worker's own counters ([`StatsSnapshot`]), copied into Prometheus counters at scrape.
struct WorkerCounters {
    last: Mutex<StatsSnapshot>,
    jobs_succeeded: IntCounter,
    job_failures: IntCounter,
    dead_lettered: IntCounter,
    forwarded: IntCounter,
    discarded: IntCounter,
    partitions_assigned: IntCounter,
    partitions_revoked: IntCounter,
    assignments_lost: IntCounter,
    max_poll_exceeded: IntCounter,
    commit_failures: IntCounter,
}

/// Histogram buckets of job duration, in seconds: from 1 ms (a job that only touches memory)
/// to 5 min (Karafka's `max.poll.interval.ms`).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

fn counter_vec(
    registry: &prometheus::Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

fn counter(registry: &prometheus::Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric of `docs/metrics.md`.
    pub fn new() -> Self {
        Metrics::build(HashMap::new())
    }

    /// Like [`new`](Self::new), with `labels` (e.g. `mode="shadow"`) on every metric.
    pub fn with_labels(labels: impl IntoIterator<Item = (String, String)>) -> Self {
        Metrics::build(labels.into_iter().collect())
    }

    fn build(labels: HashMap<String, String>) -> Self {
        let registry = prometheus::Registry::new_custom(None, Some(labels)).expect("valid labels");
        let r = &registry;
        let class_topic = &["job_class", "topic"];
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "activejob_karafka_job_duration_seconds",
                "Wall time of job runs (each retry is a run).",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            class_topic,
        )
        .expect("valid metric");
        r.register(Box::new(duration.clone()))
            .expect("unique metric");
        let lag = IntGaugeVec::new(
            Opts::new(
                "activejob_karafka_consumer_lag",
                "Messages between the committed offset and the high watermark, per assigned \
                 partition (librdkafka statistics).",
            ),
            &["topic", "partition"],
        )
        .expect("valid metric");
        r.register(Box::new(lag.clone())).expect("unique metric");
        let partition_paused = IntGaugeVec::new(
            Opts::new(
                "activejob_karafka_partition_paused",
                "1 while the partition is paused (failed job backing off, dead-letter pause, \
                 scheduled job waiting).",
            ),
            &["topic", "partition"],
        )
        .expect("valid metric");
        r.register(Box::new(partition_paused.clone()))
            .expect("unique metric");
        let paused = IntGauge::new(
            "activejob_karafka_paused_partitions",
            "Partitions currently paused.",
        )
        .expect("valid metric");
        r.register(Box::new(paused.clone())).expect("unique metric");
        let up = IntGauge::new(
            "activejob_karafka_worker_up",
            "1 while the worker is ready (the same condition as GET /health answering 200).",
        )
        .expect("valid metric");
        r.register(Box::new(up.clone())).expect("unique metric");
        let consumer_ready = IntGaugeVec::new(
            Opts::new(
                "activejob_karafka_consumer_ready",
                "1 while this consumer of the worker (one per subscription group of each \
                 consumer group) is ready; activejob_karafka_worker_up is 1 when all are.",
            ),
            &["consumer_group", "subscription_group"],
        )
        .expect("valid metric");
        r.register(Box::new(consumer_ready.clone()))
            .expect("unique metric");
        let buffered_bytes = IntGauge::new(
            "activejob_karafka_worker_buffered_bytes",
            "Bytes of fetched messages the worker holds, not yet run (librdkafka's read-ahead \
             excluded); bounded by half of max_buffered_bytes plus one fetch.",
        )
        .expect("valid metric");
        r.register(Box::new(buffered_bytes.clone()))
            .expect("unique metric");
        let w = |name: &str, help: &str| {
            counter(r, &format!("activejob_karafka_worker_{name}_total"), help)
        };
        let worker = WorkerCounters {
            last: Mutex::new(StatsSnapshot::default()),
            jobs_succeeded: w("jobs_succeeded", "Runs that succeeded (worker counter)."),
            job_failures: w(
                "job_failures",
                "Runs that failed, including bad messages (worker counter).",
            ),
            dead_lettered: w(
                "dead_lettered",
                "Messages copied to a dead letter queue (worker counter).",
            ),
            forwarded: w(
                "forwarded",
                "Messages forwarded to another topic (worker counter).",
            ),
            discarded: w(
                "discarded",
                "Messages marked consumed after an error their job class discards (discard_on).",
            ),
            partitions_assigned: w("partitions_assigned", "Partitions received in rebalances."),
            partitions_revoked: w("partitions_revoked", "Partitions given up in rebalances."),
            assignments_lost: w(
                "assignments_lost",
                "Rebalances in which the assignment was lost.",
            ),
            max_poll_exceeded: w(
                "max_poll_exceeded",
                "max.poll.interval.ms exceeded reports.",
            ),
            commit_failures: w("commit_failures", "Offset commits that failed."),
        };
        Metrics {
            inner: Arc::new(Inner {
                processed: counter_vec(
                    r,
                    "activejob_karafka_jobs_processed_total",
                    "Job runs that ended, whatever the outcome (each retry is a run).",
                    class_topic,
                ),
                failed: counter_vec(
                    r,
                    "activejob_karafka_jobs_failed_total",
                    "Job runs that failed, by reason: error, panic, unknown_job_class, \
                     undecodable, tombstone, discard_on, dead_letter_on.",
                    &["job_class", "topic", "reason"],
                ),
                retried: counter_vec(
                    r,
                    "activejob_karafka_jobs_retried_total",
                    "Job runs that were a retry of a failed run of the same message.",
                    class_topic,
                ),
                dead_lettered: counter_vec(
                    r,
                    "activejob_karafka_jobs_dead_lettered_total",
                    "Messages copied to their topic's dead letter queue.",
                    class_topic,
                ),
                forwarded: counter_vec(
                    r,
                    "activejob_karafka_jobs_forwarded_total",
                    "Messages of unknown job classes forwarded unchanged to another topic.",
                    class_topic,
                ),
                duration,
                lag,
                partition_paused,
                paused,
                up,
                consumer_ready,
                buffered_bytes,
                worker,
                summary: Mutex::default(),
                attempts: Mutex::default(),
                paused_set: Mutex::default(),
                health: Health::default(),
                registry,
            }),
        }
    }

    /// The Prometheus registry, to add the application's own metrics to the same endpoint.
    pub fn registry(&self) -> &prometheus::Registry {
        &self.inner.registry
    }

    /// Wraps `handler`: a tracing span per run and the per-class counters and durations.
    pub fn instrument<H: MessageHandler>(&self, handler: H) -> Instrumented<H> {
        Instrumented {
            format: handler.payload_format(),
            inner: handler,
            metrics: self.clone(),
        }
    }

    /// Gives the metrics `worker`'s counters, shutdown handle and events; returns the worker.
    pub fn attach(&self, worker: Worker) -> Worker {
        *self.inner.health.worker.lock().expect("health lock") = Some(health::Attached {
            stats: worker.stats(),
            shutdown: worker.shutdown_handle(),
            health: worker.health(),
        });
        self.inner.health.finished.store(false, Ordering::Relaxed);
        let payload_format = worker.payload_format();
        worker.observer(Arc::new(MetricsObserver {
            metrics: self.clone(),
            payload_format,
        }))
    }

    /// Marks the attached worker as ended: `/health` answers 503 from now on.
    /// [`run_worker`](Self::run_worker) calls it; call it after awaiting [`Worker::run`]
    /// yourself.
    pub fn worker_finished(&self) {
        self.inner.health.finished.store(true, Ordering::Relaxed);
    }

    /// Attaches `worker`, runs it, and marks it finished when it returns.
    pub async fn run_worker(&self, worker: Worker) -> Result<(), crate::consumer::WorkerError> {
        let result = self.attach(worker).run().await;
        self.worker_finished();
        result
    }

    /// Per job class totals so far.
    pub fn summary(&self) -> BTreeMap<String, ClassSummary> {
        self.inner.summary.lock().expect("summary lock").clone()
    }

    /// The metrics in the Prometheus text format (what `GET /metrics` answers).
    pub fn render(&self) -> String {
        self.refresh();
        let mut buf = Vec::new();
        // Encoding into a Vec only fails on invalid metric families, which the registry rejects.
        let _ = TextEncoder::new().encode(&self.inner.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Copies the worker's counters and health into their metrics.
    fn refresh(&self) {
        self.inner.up.set(i64::from(self.health().is_ok()));
        let stats = match self
            .inner
            .health
            .worker
            .lock()
            .expect("health lock")
            .as_ref()
        {
            Some(worker) => {
                for (group, name, ready) in worker.health.consumers() {
                    self.inner
                        .consumer_ready
                        .with_label_values(&[group.as_str(), name.as_str()])
                        .set(i64::from(ready));
                }
                worker.stats.snapshot()
            }
            None => return,
        };
        self.inner
            .buffered_bytes
            .set(i64::try_from(stats.buffered_bytes).unwrap_or(i64::MAX));
        let w = &self.inner.worker;
        let mut last = w.last.lock().expect("stats lock");
        let add = |c: &IntCounter, now: u64, before: u64| c.inc_by(now.saturating_sub(before));
        add(&w.jobs_succeeded, stats.jobs_succeeded, last.jobs_succeeded);
        add(&w.job_failures, stats.job_failures, last.job_failures);
        add(&w.dead_lettered, stats.dead_lettered, last.dead_lettered);
        add(&w.discarded, stats.discarded, last.discarded);
        add(&w.forwarded, stats.forwarded, last.forwarded);
        add(
            &w.partitions_assigned,
            stats.partitions_assigned,
            last.partitions_assigned,
        );
        add(
            &w.partitions_revoked,
            stats.partitions_revoked,
            last.partitions_revoked,
        );
        add(
            &w.assignments_lost,
            stats.assignments_lost,
            last.assignments_lost,
        );
        add(
            &w.max_poll_exceeded,
            stats.max_poll_exceeded,
            last.max_poll_exceeded,
        );
        add(
            &w.commit_failures,
            stats.commit_failures,
            last.commit_failures,
        );
        *last = stats;
    }

    /// The attempt number (from 1) of the next run of `message`.
    fn attempt(&self, message: &InboundMessage) -> u32 {
        let attempts = self.inner.attempts.lock().expect("attempts lock");
        1 + attempts
            .get(&(message.topic.clone(), message.partition, message.offset))
            .copied()
            .unwrap_or(0)
    }

    fn record(
        &self,
        class: &str,
        message: &InboundMessage,
        attempt: u32,
        outcome: Result<(), &JobFailure>,
        took: Duration,
    ) {
        let i = &self.inner;
        let labels = [class, &*message.topic];
        i.processed.with_label_values(&labels).inc();
        i.duration
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
        if attempt > 1 {
            i.retried.with_label_values(&labels).inc();
        }
        let key = (message.topic.clone(), message.partition, message.offset);
        {
            let mut attempts = i.attempts.lock().expect("attempts lock");
            match outcome {
                Ok(()) => {
                    attempts.remove(&key);
                }
                Err(failure) => {
                    i.failed
                        .with_label_values(&[class, &message.topic, failure_reason(failure)])
                        .inc();
                    // Bounded by the partitions with a failing message, plus dead-lettered ones
                    // until their dead letter is reported; a cap guards against anything else.
                    if attempts.len() > 100_000 {
                        attempts.clear();
                    }
                    attempts.insert(key, attempt);
                }
            }
        }
        i.summary
            .lock()
            .expect("summary lock")
            .entry(class.to_owned())
            .or_default()
            .add(outcome, attempt > 1, took);
    }
}

#[cfg(test)]
mod tests;
