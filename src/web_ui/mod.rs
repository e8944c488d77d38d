//! Reporting to the Karafka Web UI: the worker shows on the dashboard next to the Ruby
//! processes (Processes, Jobs → Running, Errors, lag charts).
//!
//! # How the Web UI works
//!
//! Every Karafka process with the Web UI enabled *reports*: every `tracking.interval` (5 s),
//! and at once when its state changes, it produces a **consumer report** to
//! `karafka_consumers_reports` (partition 0, key = the process id, JSON deflated with zlib and a
//! `zlib: true` header), and its errors to `karafka_errors`. One Ruby `karafka server` with the
//! Web processing (its consumer group `karafka_web`) aggregates the reports of every process
//! into the states and metrics topics that the UI reads. The worker only reports; the
//! aggregation stays in the user's Ruby process, as in Karafka's documented set-up of several
//! applications reporting to one Web UI.
//!
//! # What the worker reports
//!
//! With `web_ui.enabled` (off by default), [`Worker::run`](crate::consumer::Worker::run)
//! starts a reporter beside the poller. Its reports are produced by the worker's producer (the
//! one behind dead letters) and never wait on jobs, nor jobs on them:
//!
//! * `process`: id `host:pid:hex`, status `running`, then `stopping` once a shutdown starts
//!   (reported at once) and a final `stopped` report when the worker has committed and closed;
//!   memory, threads and load averages from `/proc`; `workers` is the `concurrency`; the
//!   configured `tags`.
//! * `stats`: `busy` = jobs running now; the window totals (jobs, batches, messages, errors,
//!   retries, dead) are the worker's own counters ([`WorkerStats`])
//!   since the previous report sent, every run counting as one batch of one message; a retry
//!   is a run after the first of a message; `utilization` is Karafka's: time spent in jobs
//!   over the last minute, over `concurrency` × that minute.
//! * `consumer_groups`: the worker's group with one subscription group (its one consumer), the
//!   group state from librdkafka's `cgrp` statistics, and per fetched partition the lag, the
//!   committed and stored offsets, watermarks and fetch state from librdkafka's statistics
//!   (`statistics.interval.ms`, 5 s), with karafka-core's `_d` / `_fd` companions computed the
//!   same way. `poll_state` is `paused` while the worker holds the partition paused (retry
//!   backoff, held `scheduled_at`). Until the first statistics arrive the group is left out.
//! * `jobs`: every job running now, with Karafka's tags `active_job` and the job class.
//! * Errors: every failed run (handler error, panic, bad message) goes to `karafka_errors` with
//!   the next report: the kind of failure as `error_class`, its text as `error_message`, the
//!   topic, partition and offset, the job class in the tags, and the attempt.
//!
//! # Schemas
//!
//! The Web UI's processing takes only reports whose `schema_version` equals its own: an older
//! one hides the process, a newer one halts the processing of **every** process's reports. The
//! schema is therefore chosen from the karafka-web version the user runs
//! ([`WebUiConfig::karafka_web_version`]), and an unknown version is refused at start-up:
//!
//! | karafka-web | `schema_version` | error schema |
//! |---|---|---|
//! | 0.11.0 – 0.11.3 | 1.4.1 | 1.1.0 |
//! | 0.11.4 – 0.11.5 | 1.5.0 | 1.2.0 |
//! | 0.11.6 | 1.6.0 | 1.2.0 |
//! | 1.0.x | 1.7.0 | 1.2.0 |
//!
//! The aggregator does not validate what it receives, and a report missing one field can stop
//! the user's whole dashboard. So every report is checked against karafka-web's contracts for
//! its schema, ported rule by rule in [`check_report`] and [`check_error`], before it is sent:
//! a report that breaks any rule is not sent, and the reason is logged.

mod contract;
mod report;
mod reporter;
mod sampler;
mod schema;
mod statistics;
mod system;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::FutureProducer;

pub use contract::{check_error, check_report, Violation, PROCESS_STATES};
pub use schema::{Schema, SUPPORTED};

use crate::consumer::{MessageHandler, ShutdownHandle, WorkerConfig, WorkerObserver, WorkerStats};
use crate::kafka::log::LogContext;
use crate::payload_format::PayloadFormat;
use reporter::{ReportObserver, ReporterTask, TrackedHandler};
use sampler::{Identity, Sampler};

/// The consumer reports topic karafka-web creates.
pub const DEFAULT_REPORTS_TOPIC: &str = "karafka_consumers_reports";
/// The errors topic karafka-web creates.
pub const DEFAULT_ERRORS_TOPIC: &str = "karafka_errors";

/// The `[web_ui]` section of the worker configuration: reporting to the Karafka Web UI.
///
/// ```toml
/// [web_ui]
/// enabled = true
/// karafka_web_version = "0.11.2"   # the karafka-web your Ruby app runs (0.11.0 - 1.0.x)
/// reports_topic = "karafka_consumers_reports"
/// errors_topic = "karafka_errors"
/// interval_ms = 5000
/// tags = ["rust"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUiConfig {
    /// Whether the worker reports (false by default).
    pub enabled: bool,
    /// The karafka-web version of the user's Ruby app, which fixes the report schema (see
    /// [`Schema::for_karafka_web`]). Required when enabled.
    pub karafka_web_version: Option<String>,
    /// Where consumer reports go (`karafka_consumers_reports`).
    pub reports_topic: String,
    /// Where error reports go (`karafka_errors`).
    pub errors_topic: String,
    /// Time between two reports (Karafka's `tracking.interval`, 5 s). Keep it well under the
    /// Web UI's `ttl` (30 s), or the process drops off the dashboard between reports.
    pub interval: Duration,
    /// The process tags shown beside the process (Karafka's `Karafka::Process.tags`).
    pub tags: Vec<String>,
}

impl Default for WebUiConfig {
    fn default() -> Self {
        WebUiConfig {
            enabled: false,
            karafka_web_version: None,
            reports_topic: DEFAULT_REPORTS_TOPIC.to_owned(),
            errors_topic: DEFAULT_ERRORS_TOPIC.to_owned(),
            interval: Duration::from_secs(5),
            tags: Vec::new(),
        }
    }
}

impl WebUiConfig {
    /// Reporting on, for the given karafka-web version, with the default topics and interval.
    pub fn for_karafka_web(version: impl Into<String>) -> Self {
        WebUiConfig {
            enabled: true,
            karafka_web_version: Some(version.into()),
            ..WebUiConfig::default()
        }
    }

    /// The report schema of the configured karafka-web version; `None` when the version is
    /// missing or unknown.
    pub fn schema(&self) -> Option<Schema> {
        self.karafka_web_version
            .as_deref()
            .and_then(Schema::for_karafka_web)
    }
}

/// Reporting of one running worker.
pub(crate) struct WebUi {
    sampler: Arc<Sampler>,
    config: WebUiConfig,
    format: Option<Arc<dyn PayloadFormat>>,
}

impl WebUi {
    /// The reporter of a worker whose configuration has reporting on; `None` when it is off.
    /// The configuration was validated, so the schema is known.
    pub(crate) fn new(
        config: &WorkerConfig,
        stats: Arc<WorkerStats>,
        format: Option<Arc<dyn PayloadFormat>>,
    ) -> Option<Self> {
        let web = &config.web_ui;
        if !web.enabled {
            return None;
        }
        let schema = web.schema()?;
        let identity = Identity {
            schema,
            process_id: format!(
                "{}:{}:{}",
                sampler_hostname(),
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            tags: web.tags.clone(),
            group_id: config.group_id.clone(),
            subscription_group: format!("{}_0", config.group_id),
            concurrency: config.concurrency,
            max_poll_interval_ms: config.max_poll_interval().as_millis() as u64,
            instance_id: config.kafka.get("group.instance.id").cloned(),
            karafka_web_version: web.karafka_web_version.clone().unwrap_or_default(),
        };
        Some(WebUi {
            sampler: Arc::new(Sampler::new(identity, stats)),
            config: web.clone(),
            format,
        })
    }

    /// `handler`, with its running jobs reported.
    pub(crate) fn track(&self, handler: Arc<dyn MessageHandler>) -> Arc<dyn MessageHandler> {
        Arc::new(TrackedHandler {
            inner: handler,
            sampler: self.sampler.clone(),
            format: self.format.clone(),
        })
    }

    /// The observer that feeds the reports.
    pub(crate) fn observer(&self) -> Arc<dyn WorkerObserver> {
        Arc::new(ReportObserver {
            sampler: self.sampler.clone(),
            format: self.format.clone(),
        })
    }

    /// Starts reporting with the worker's `producer`.
    pub(crate) fn start(
        &self,
        producer: FutureProducer<LogContext>,
        shutdown: ShutdownHandle,
    ) -> ReporterHandle {
        tracing::info!(
            process_id = %self.sampler.identity().process_id,
            schema_version = %self.sampler.identity().schema,
            topic = %self.config.reports_topic,
            "reporting to the Karafka Web UI"
        );
        ReporterHandle(ReporterTask::spawn(
            self.config.clone(),
            self.sampler.clone(),
            producer,
            shutdown,
        ))
    }
}

/// Stops a started reporter with a final `stopped` report.
pub(crate) struct ReporterHandle(ReporterTask);

impl ReporterHandle {
    /// Sends the `stopped` report (waiting up to 5 s for the broker) and ends reporting.
    pub(crate) async fn finish(self) {
        self.0.finish().await;
    }
}

fn sampler_hostname() -> String {
    system::hostname()
}
