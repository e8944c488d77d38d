//! The reporting task, and the two hooks that feed its sampler: a handler wrapper for running
//! jobs and an observer for finished runs, pauses and librdkafka's statistics.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::contract::{check_error, check_report, Violation};
use super::sampler::{Draft, RunningJob, Sampler, Status};
use super::WebUiConfig;
use crate::consumer::{
    FinishedJob, InboundMessage, JobFailure, MessageHandler, PartitionSignals, PauseReason,
    ShutdownHandle, WorkerObserver,
};
use crate::kafka::log::LogContext;
use crate::metrics::{job_head, NO_CLASS_TOMBSTONE, NO_CLASS_UNDECODABLE};
use crate::payload_format::{job_json_in, PayloadFormat};

/// How long the final `stopped` report may wait for the broker.
const FINAL_REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The job class of a message, as the metrics label it.
fn job_class(message: &InboundMessage, format: Option<&dyn PayloadFormat>) -> String {
    match message.payload.as_deref() {
        None => NO_CLASS_TOMBSTONE.to_owned(),
        Some(payload) => job_json_in(format, payload)
            .ok()
            .and_then(|json| job_head(&json))
            .map_or_else(|| NO_CLASS_UNDECODABLE.to_owned(), |h| h.job_class),
    }
}

/// Runs another handler, keeping each run in the report's `jobs` while it runs.
pub(crate) struct TrackedHandler {
    pub(crate) inner: Arc<dyn MessageHandler>,
    pub(crate) sampler: Arc<Sampler>,
    pub(crate) format: Option<Arc<dyn PayloadFormat>>,
}

impl MessageHandler for TrackedHandler {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        let class = job_class(&message, self.format.as_deref());
        let running: RunningJob = self.sampler.job_started(&message, &class);
        let run = self.inner.handle(message, signals);
        async move {
            let outcome = run.await;
            drop(running);
            outcome
        }
        .boxed()
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.inner.payload_format()
    }
}

/// Feeds the sampler from the worker's events.
pub(crate) struct ReportObserver {
    pub(crate) sampler: Arc<Sampler>,
    pub(crate) format: Option<Arc<dyn PayloadFormat>>,
}

impl WorkerObserver for ReportObserver {
    fn job_finished(&self, job: &FinishedJob<'_>) {
        // The class is only needed for an error report: a successful run is not parsed again.
        let class = match job.outcome {
            Ok(()) => String::new(),
            Err(_) => job_class(job.message, self.format.as_deref()),
        };
        self.sampler.job_finished(
            job.message,
            &class,
            job.attempt,
            job.outcome.err(),
            job.duration,
        );
    }

    fn partition_paused(&self, topic: &str, partition: i32, _reason: PauseReason) {
        self.sampler.paused(topic, partition);
    }

    fn partition_resumed(&self, topic: &str, partition: i32) {
        self.sampler.resumed(topic, partition);
    }

    fn statistics(&self, json: &[u8]) {
        self.sampler.statistics(json);
    }
}

/// The running reporter: stop it with [`ReporterTask::finish`], which sends the `stopped`
/// report.
pub(crate) struct ReporterTask {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ReporterTask {
    /// Starts reporting: a first report at once, then every `interval`, and at once when the
    /// shutdown starts.
    pub(crate) fn spawn(
        config: WebUiConfig,
        sampler: Arc<Sampler>,
        producer: FutureProducer<LogContext>,
        shutdown: ShutdownHandle,
    ) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let sender = Sender {
            config,
            sampler,
            producer,
        };
        let task = tokio::spawn(async move {
            let mut status = Status::Running;
            loop {
                sender.send(status, None).await;
                let next = Instant::now() + sender.config.interval;
                tokio::select! {
                    // The state change is reported at once, and before the final report.
                    biased;
                    _ = shutdown.started(), if status == Status::Running => {
                        status = Status::Stopping;
                    }
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep_until(next) => {}
                }
            }
            sender
                .send(Status::Stopped, Some(FINAL_REPORT_TIMEOUT))
                .await;
        });
        ReporterTask { stop, task }
    }

    /// Sends the final `stopped` report and ends the task.
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

struct Sender {
    config: WebUiConfig,
    sampler: Arc<Sampler>,
    producer: FutureProducer<LogContext>,
}

impl Sender {
    /// Builds, checks and produces a report and the errors since the last one. With `wait`,
    /// waits up to that long for the broker's acknowledgements; otherwise only queues them
    /// (the delivery is logged when it fails).
    async fn send(&self, status: Status, wait: Option<Duration>) {
        let draft: Draft = self.sampler.draft(status);
        let schema = self.sampler.identity().schema;
        let key = self.sampler.identity().process_id.clone();
        let mut deliveries = Vec::new();
        match checked(&draft.report, |v| check_report(schema, v)) {
            Ok(json) => {
                if let Some(d) = self.produce(&self.config.reports_topic, Some(0), &key, &json) {
                    self.sampler.sent(&draft);
                    deliveries.push(d);
                }
            }
            Err(why) => tracing::warn!(
                violations = %why,
                "web UI: consumer report not sent: it breaks karafka-web's contract"
            ),
        }
        for error in &draft.errors {
            match checked(error, |v| check_error(schema, v)) {
                Ok(json) => {
                    deliveries.extend(self.produce(&self.config.errors_topic, None, &key, &json))
                }
                Err(why) => tracing::warn!(
                    violations = %why,
                    "web UI: error report not sent: it breaks karafka-web's contract"
                ),
            }
        }
        let all = futures::future::join_all(deliveries);
        match wait {
            Some(timeout) => {
                if tokio::time::timeout(timeout, all).await.is_err() {
                    tracing::warn!("web UI: the final report was not acknowledged in time");
                }
            }
            None => {
                tokio::spawn(all);
            }
        }
    }

    /// Queues one zlib-deflated record (as karafka-web sends them, with the `zlib` header);
    /// returns a future that logs a failed delivery.
    fn produce(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &str,
        json: &[u8],
    ) -> Option<BoxFuture<'static, ()>> {
        let payload = match deflate(json) {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(%error, "web UI: report not sent: compression failed");
                return None;
            }
        };
        let headers = OwnedHeaders::new().insert(Header {
            key: "zlib",
            value: Some("true"),
        });
        let mut record = FutureRecord::to(topic)
            .key(key)
            .payload(&payload)
            .headers(headers);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        match self.producer.send_result(record) {
            Ok(delivery) => {
                let topic = topic.to_owned();
                Some(
                    async move {
                        match delivery.await {
                            Ok(Ok(_)) => {}
                            Ok(Err((error, _))) => {
                                tracing::warn!(%error, topic, "web UI: report not delivered")
                            }
                            Err(_) => tracing::warn!(topic, "web UI: report delivery cancelled"),
                        }
                    }
                    .boxed(),
                )
            }
            Err((error, _)) => {
                // A full producer queue: this report is skipped, the next one goes.
                tracing::warn!(%error, topic, "web UI: report not queued");
                None
            }
        }
    }
}

/// The JSON of `value` if `check` finds nothing wrong with it, else the violations.
fn checked<T: Serialize>(
    value: &T,
    check: impl Fn(&serde_json::Value) -> Vec<Violation>,
) -> Result<Vec<u8>, String> {
    let json = serde_json::to_value(value).map_err(|e| format!("not serializable: {e}"))?;
    let violations = check(&json);
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Err(list.join("; "));
    }
    serde_json::to_vec(&json).map_err(|e| format!("not serializable: {e}"))
}

fn deflate(json: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(json)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A report that breaks a contract rule is not turned into bytes to send: the violation is
    // what gets logged instead.
    #[test]
    fn only_reports_without_violations_are_serialized() {
        let check =
            |v: &serde_json::Value| crate::web_ui::check_error(crate::web_ui::Schema::V1_4_1, v);
        let good = json!({
            "schema_version": "1.1.0", "type": "consumer.consume.error", "error_class": "E",
            "error_message": "m", "backtrace": "", "details": {}, "occurred_at": 1.5,
            "process": { "id": "h:1:a" }
        });
        let bytes = checked(&good, check).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            good
        );

        let mut bad = good.clone();
        bad["occurred_at"] = json!(1796605134837.5);
        let why = checked(&bad, check).unwrap_err();
        assert_eq!(why, "occurred_at: guard: epoch seconds, not milliseconds");
        // A float that is not a number (NaN) becomes null, which no rule accepts.
        let why = checked(&json!({ "x": f64::NAN }), check).unwrap_err();
        assert!(why.contains("schema_version: missing"), "{why}");
    }

    #[test]
    fn reports_are_deflated_as_ruby_zlib_does() {
        use std::io::Read;
        let packed = deflate(br#"{"a":1}"#).unwrap();
        // zlib framing (RFC 1950), as Ruby's Zlib::Deflate.deflate writes and Inflate reads.
        assert_eq!(packed[0], 0x78);
        let mut out = String::new();
        flate2::read::ZlibDecoder::new(packed.as_slice())
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, r#"{"a":1}"#);
    }
}
