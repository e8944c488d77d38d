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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    TextEncoder,
};
use tracing::Instrument;

use crate::consumer::{
    InboundMessage, JobFailure, MessageHandler, PartitionSignals, ShutdownHandle, StatsSnapshot,
    Worker, WorkerStats,
};
use crate::payload_format::{job_json_in, PayloadFormat};

/// The label value used as job class when the payload names none.
pub const NO_CLASS_TOMBSTONE: &str = "(tombstone)";
/// The label value used as job class when the payload cannot be read.
pub const NO_CLASS_UNDECODABLE: &str = "(undecodable)";

/// The few envelope fields the metrics need, read without decoding the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHead {
    /// `job_class`.
    pub job_class: String,
    /// `job_id`, when present.
    pub job_id: Option<String>,
}

/// Reads `job_class` and `job_id` from a payload; `None` when it is not a JSON object with a
/// string `job_class`. Much cheaper than [`crate::Job::decode`]: arguments are skipped, not
/// built.
pub fn job_head(payload: &[u8]) -> Option<JobHead> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow, default)]
        job_class: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        job_id: Option<Cow<'a, str>>,
    }
    let head: Head<'_> = serde_json::from_slice(payload).ok()?;
    Some(JobHead {
        job_class: head.job_class?.into_owned(),
        job_id: head.job_id.map(Cow::into_owned),
    })
}

/// [`job_head`] of the job a message payload carries in the application's `format`.
fn job_head_in(payload: &[u8], format: Option<&dyn PayloadFormat>) -> Option<JobHead> {
    job_head(&job_json_in(format, payload).ok()?)
}

/// The job class label of a message: its `job_class`, or [`NO_CLASS_TOMBSTONE`] /
/// [`NO_CLASS_UNDECODABLE`].
pub fn class_label(message: &InboundMessage) -> String {
    class_label_in(message, None)
}

/// [`class_label`] for messages in the application's payload `format`.
fn class_label_in(message: &InboundMessage, format: Option<&dyn PayloadFormat>) -> String {
    match message.payload.as_deref() {
        None => NO_CLASS_TOMBSTONE.to_owned(),
        Some(p) => {
            job_head_in(p, format).map_or_else(|| NO_CLASS_UNDECODABLE.to_owned(), |h| h.job_class)
        }
    }
}

/// The `reason` label of a failed run.
pub fn failure_reason(failure: &JobFailure) -> &'static str {
    match failure {
        JobFailure::Tombstone => "tombstone",
        JobFailure::Undecodable(_) => "undecodable",
        JobFailure::UnknownJobClass(_) => "unknown_job_class",
        JobFailure::Failed(_) => "error",
        JobFailure::Panicked(_) => "panic",
    }
}

/// Per job class totals, for log lines and summaries (shadow mode prints them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSummary {
    /// Runs that succeeded.
    pub succeeded: u64,
    /// Runs whose handler returned an error or panicked.
    pub failed: u64,
    /// Runs of messages whose class has no handler.
    pub no_handler: u64,
    /// Runs of tombstones and unreadable payloads.
    pub bad_payload: u64,
    /// Runs that were a retry of a failed run.
    pub retried: u64,
    /// Wall time of all runs together.
    pub total_time: Duration,
    /// The longest run.
    pub max_time: Duration,
}

impl ClassSummary {
    /// All runs.
    pub fn runs(&self) -> u64 {
        self.succeeded + self.failed + self.no_handler + self.bad_payload
    }

    /// Mean wall time of a run.
    pub fn mean_time(&self) -> Duration {
        match self.runs() {
            0 => Duration::ZERO,
            n => self.total_time / u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    fn add(&mut self, outcome: Result<(), &JobFailure>, retry: bool, took: Duration) {
        match outcome {
            Ok(()) => self.succeeded += 1,
            Err(JobFailure::Failed(_) | JobFailure::Panicked(_)) => self.failed += 1,
            Err(JobFailure::UnknownJobClass(_)) => self.no_handler += 1,
            Err(JobFailure::Tombstone | JobFailure::Undecodable(_)) => self.bad_payload += 1,
        }
        self.retried += u64::from(retry);
        self.total_time += took;
        self.max_time = self.max_time.max(took);
    }
}

/// Renders per-class summaries as an aligned table (one line per class, then a total).
pub fn render_summary(summary: &BTreeMap<String, ClassSummary>) -> String {
    let width = summary.keys().map(String::len).max().unwrap_or(0).max(9);
    let mut out = format!(
        "{:<width$}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>10}  {:>10}\n",
        "job class", "ok", "failed", "no handler", "bad", "retries", "mean", "max"
    );
    let mut total = ClassSummary::default();
    let mut line = |name: &str, s: &ClassSummary| {
        out.push_str(&format!(
            "{:<width$}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>10}  {:>10}\n",
            name,
            s.succeeded,
            s.failed,
            s.no_handler,
            s.bad_payload,
            s.retried,
            format!("{:.1?}", s.mean_time()),
            format!("{:.1?}", s.max_time),
        ));
    };
    for (class, s) in summary {
        line(class, s);
        total.succeeded += s.succeeded;
        total.failed += s.failed;
        total.no_handler += s.no_handler;
        total.bad_payload += s.bad_payload;
        total.retried += s.retried;
        total.total_time += s.total_time;
        total.max_time = total.max_time.max(s.max_time);
    }
    line("total", &total);
    out
}

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
    worker: WorkerCounters,
    summary: Mutex<BTreeMap<String, ClassSummary>>,
    /// Failed runs per (topic, partition, offset), to number the next run of the same message
    /// (the worker retries a failed message in place).
    attempts: Mutex<HashMap<(String, i32, i64), u32>>,
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
    partitions_assigned: IntCounter,
    partitions_revoked: IntCounter,
    assignments_lost: IntCounter,
    max_poll_exceeded: IntCounter,
    commit_failures: IntCounter,
}

#[derive(Default)]
struct Health {
    worker: Mutex<Option<(Arc<WorkerStats>, ShutdownHandle)>>,
    finished: AtomicBool,
    /// Milliseconds since `epoch` of the last sign of the poller being alive (statistics).
    last_poll_ms: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
}

impl Health {
    fn now_ms(&self) -> u64 {
        let epoch = *self.epoch.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// How long without librdkafka statistics (emitted by the poller every 5 s) before `/health`
/// calls the poller stalled. Only applies once statistics were seen.
const POLL_STALL: Duration = Duration::from_secs(60);

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
            "1 while the worker runs (the same condition as GET /health answering 200).",
        )
        .expect("valid metric");
        r.register(Box::new(up.clone())).expect("unique metric");
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
                     undecodable, tombstone.",
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
        *self.inner.health.worker.lock().expect("health lock") =
            Some((worker.stats(), worker.shutdown_handle()));
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

    /// Whether the attached worker runs: attached, not shutting down, not finished, and (once
    /// librdkafka statistics have been seen) statistics seen within the last minute. `Err` says
    /// why not.
    pub fn health(&self) -> Result<(), &'static str> {
        let h = &self.inner.health;
        let guard = h.worker.lock().expect("health lock");
        let Some((_, shutdown)) = guard.as_ref() else {
            return Err("no worker attached");
        };
        if h.finished.load(Ordering::Relaxed) {
            return Err("worker stopped");
        }
        if shutdown.is_shutting_down() {
            return Err("worker stopping");
        }
        let last = h.last_poll_ms.load(Ordering::Relaxed);
        if last > 0 && h.now_ms().saturating_sub(last) > POLL_STALL.as_millis() as u64 {
            return Err("no librdkafka statistics for a minute: the poller is stalled");
        }
        Ok(())
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
            Some((stats, _)) => stats.snapshot(),
            None => return,
        };
        let w = &self.inner.worker;
        let mut last = w.last.lock().expect("stats lock");
        let add = |c: &IntCounter, now: u64, before: u64| c.inc_by(now.saturating_sub(before));
        add(&w.jobs_succeeded, stats.jobs_succeeded, last.jobs_succeeded);
        add(&w.job_failures, stats.job_failures, last.job_failures);
        add(&w.dead_lettered, stats.dead_lettered, last.dead_lettered);
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
        let labels = [class, message.topic.as_str()];
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
                        .with_label_values(&[
                            class,
                            message.topic.as_str(),
                            failure_reason(failure),
                        ])
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

    /// Serves `GET /metrics` and `GET /health` on `addr` (port 0: any free port) until
    /// [`MetricsServer::stop`].
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<MetricsServer> {
        use axum::http::{header, StatusCode};
        use axum::routing::get;

        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let for_metrics = self.clone();
        let for_health = self.clone();
        let app = axum::Router::new()
            .route(
                "/metrics",
                get(move || {
                    let m = for_metrics.clone();
                    async move {
                        (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            m.render(),
                        )
                    }
                }),
            )
            .route(
                "/health",
                get(move || {
                    let m = for_health.clone();
                    async move {
                        match m.health() {
                            Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
                            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                        }
                    }
                }),
            );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        });
        tracing::info!(%local_addr, "metrics endpoint listening (/metrics, /health)");
        Ok(MetricsServer {
            local_addr,
            stop: stop_tx,
            task,
        })
    }
}

/// A running metrics endpoint.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening (requests being answered finish).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A [`MessageHandler`] that runs another in a `job` span and records each run in [`Metrics`];
/// see [`Metrics::instrument`].
pub struct Instrumented<H> {
    inner: H,
    metrics: Metrics,
    format: Option<Arc<dyn PayloadFormat>>,
}

impl<H: MessageHandler> MessageHandler for Instrumented<H> {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        let format = self.format.as_deref();
        let head = message
            .payload
            .as_deref()
            .and_then(|p| job_head_in(p, format));
        let class = match (&message.payload, &head) {
            (None, _) => NO_CLASS_TOMBSTONE.to_owned(),
            (Some(_), None) => NO_CLASS_UNDECODABLE.to_owned(),
            (Some(_), Some(h)) => h.job_class.clone(),
        };
        let attempt = self.metrics.attempt(&message);
        let span = tracing::info_span!(
            "job",
            job_class = %class,
            job_id = head.as_ref().and_then(|h| h.job_id.as_deref()).unwrap_or(""),
            topic = %message.topic,
            partition = message.partition,
            offset = message.offset,
            attempt,
        );
        let started = Instant::now();
        // The handler's synchronous part (decoding) runs inside the span too.
        let run = span.in_scope(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.inner.handle(Arc::clone(&message), signals)
            }))
        });
        let metrics = self.metrics.clone();
        async move {
            // A panic is a failed run, as the worker counts it; catching it here keeps the
            // metrics right, and the worker gets the same failure it would have made of it.
            let outcome = match run {
                Ok(run) => AssertUnwindSafe(run)
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|p| Err(JobFailure::from_panic(p))),
                Err(p) => Err(JobFailure::from_panic(p)),
            };
            let took = started.elapsed();
            match &outcome {
                Ok(()) => tracing::debug!(took = ?took, "job succeeded"),
                Err(e) => tracing::warn!(took = ?took, error = %e, "job failed"),
            }
            metrics.record(
                &class,
                &message,
                attempt,
                outcome.as_ref().map(|_| ()),
                took,
            );
            outcome
        }
        .instrument(span)
        .boxed()
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.inner.payload_format()
    }
}

/// Receives the worker's own events for [`Metrics`].
struct MetricsObserver {
    metrics: Metrics,
    /// The worker's payload format, for the class labels of the messages it copies.
    payload_format: Option<Arc<dyn PayloadFormat>>,
}

impl MetricsObserver {
    /// Counts a message copied elsewhere (dead letter or forward): its attempts end here.
    fn copied(&self, counter: &IntCounterVec, message: &InboundMessage) {
        counter
            .with_label_values(&[
                class_label_in(message, self.payload_format.as_deref()).as_str(),
                message.topic.as_str(),
            ])
            .inc();
        self.metrics
            .inner
            .attempts
            .lock()
            .expect("attempts lock")
            .remove(&(message.topic.clone(), message.partition, message.offset));
    }
}

impl crate::consumer::WorkerObserver for MetricsObserver {
    fn dead_lettered(&self, message: &InboundMessage, _failure: &JobFailure) {
        self.copied(&self.metrics.inner.dead_lettered, message);
    }

    fn forwarded(&self, message: &InboundMessage, _failure: &JobFailure) {
        self.copied(&self.metrics.inner.forwarded, message);
    }

    fn partition_paused(&self, topic: &str, partition: i32, _reason: crate::consumer::PauseReason) {
        let i = &self.metrics.inner;
        let mut set = i.paused_set.lock().expect("paused lock");
        set.insert((topic.to_owned(), partition), ());
        i.partition_paused
            .with_label_values(&[topic, &partition.to_string()])
            .set(1);
        i.paused.set(set.len() as i64);
    }

    fn partition_resumed(&self, topic: &str, partition: i32) {
        let i = &self.metrics.inner;
        let mut set = i.paused_set.lock().expect("paused lock");
        set.remove(&(topic.to_owned(), partition));
        i.partition_paused
            .with_label_values(&[topic, &partition.to_string()])
            .set(0);
        i.paused.set(set.len() as i64);
    }

    fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        let i = &self.metrics.inner;
        // Partitions no longer assigned drop out instead of keeping a stale lag.
        i.lag.reset();
        for (topic, partition, lag) in lags {
            i.lag
                .with_label_values(&[topic.as_str(), &partition.to_string()])
                .set(*lag);
        }
    }

    fn statistics(&self, _json: &[u8]) {
        let h = &self.metrics.inner.health;
        h.last_poll_ms.store(h.now_ms().max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_labels_read_through_the_payload_format() {
        use crate::payload_format::testing::Prefixed;
        let message = |payload: &[u8]| InboundMessage {
            topic: "jobs".to_owned(),
            partition: 0,
            offset: 0,
            key: None,
            payload: Some(payload.to_vec()),
            headers: Vec::new(),
            timestamp_ms: None,
        };
        let wrapped = message(br##"#{"job_class":"ImportJob"}"##);
        assert_eq!(class_label_in(&wrapped, Some(&Prefixed("#"))), "ImportJob");
        assert_eq!(class_label_in(&wrapped, None), NO_CLASS_UNDECODABLE);
        let bare = message(br#"{"job_class":"ImportJob"}"#);
        assert_eq!(
            class_label_in(&bare, Some(&Prefixed("#"))),
            NO_CLASS_UNDECODABLE
        );
        assert_eq!(class_label(&bare), "ImportJob");
    }

    #[test]
    fn job_head_reads_class_and_id_only() {
        let head = job_head(
            br#"{"arguments":[{"deep":[1,2,{"x":"\u00e9"}]}],"job_class":"A\"B","job_id":"j-1"}"#,
        )
        .unwrap();
        assert_eq!(head.job_class, "A\"B");
        assert_eq!(head.job_id.as_deref(), Some("j-1"));
        assert_eq!(job_head(b"[1]"), None);
        assert_eq!(job_head(br#"{"job_id":"x"}"#), None);
    }

    #[test]
    fn render_has_the_metric_names() {
        let m = Metrics::new();
        let msg = InboundMessage {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            key: None,
            payload: None,
            headers: vec![],
            timestamp_ms: None,
        };
        m.record(
            "A",
            &msg,
            1,
            Err(&JobFailure::Failed("x".into())),
            Duration::from_millis(3),
        );
        assert_eq!(m.attempt(&msg), 2);
        m.record("A", &msg, 2, Ok(()), Duration::from_millis(1));
        assert_eq!(m.attempt(&msg), 1);
        let text = m.render();
        assert!(
            text.contains(r#"activejob_karafka_jobs_processed_total{job_class="A",topic="t"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"activejob_karafka_jobs_failed_total{job_class="A",reason="error",topic="t"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"activejob_karafka_jobs_retried_total{job_class="A",topic="t"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("activejob_karafka_job_duration_seconds_bucket"),
            "{text}"
        );
        let s = &m.summary()["A"];
        assert_eq!((s.succeeded, s.failed, s.retried), (1, 1, 1));
        assert_eq!(m.health(), Err("no worker attached"));
    }
}
