//! Hooks through which code outside the runtime (metrics, tracing exporters, health checks)
//! sees what the worker does, without the runtime knowing about any of them.

use std::sync::Arc;
use std::time::Duration;

use super::failure::JobFailure;
use super::message::InboundMessage;

/// One run of one job that has just ended.
///
/// `#[non_exhaustive]`: more fields may be added; read the ones you need.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FinishedJob<'a> {
    /// The message the job came from (payload, key, headers).
    pub message: &'a InboundMessage,
    /// Its topic.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Which run of this message this was, from 1 (Karafka's pause-tracker attempt).
    pub attempt: u32,
    /// `Ok` when the job succeeded (its offset is marked), otherwise why it failed; a failed run
    /// is followed by a retry, a dead letter or a forward.
    pub outcome: Result<(), &'a JobFailure>,
    /// Wall time of this run, from the handler call to its result.
    pub duration: Duration,
}

/// Why a partition was paused in librdkafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseReason {
    /// A job failed: backing off before the retry (Karafka's `retry_after_pause`).
    Retry,
    /// A job was just dead-lettered: Karafka pauses for one `pause.timeout` before going on.
    AfterDeadLetter,
    /// Producing a dead letter or a forward failed: backing off before producing again.
    DispatchRetry,
    /// The next job's `scheduled_at` is in the future (`hold_until_scheduled`).
    Scheduled,
}

/// Receives the worker's events. Every method has an empty default, so an implementation
/// overrides only what it needs. Set one with [`Worker::observer`](super::Worker::observer).
///
/// Methods are called synchronously on the worker's own threads (job events on the runtime's
/// worker threads, statistics on the poller thread), once per event: keep them short and
/// non-blocking (update atomics or a metrics registry; hand anything slow to a channel), and do
/// not panic in them.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use activejob_karafka::consumer::{FinishedJob, WorkerObserver};
///
/// #[derive(Default)]
/// struct Counts { ok: AtomicU64, failed: AtomicU64 }
///
/// impl WorkerObserver for Counts {
///     fn job_finished(&self, job: &FinishedJob<'_>) {
///         let c = if job.outcome.is_ok() { &self.ok } else { &self.failed };
///         c.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait WorkerObserver: Send + Sync + 'static {
    /// A run of a job ended (success or failure; retries are separate runs).
    fn job_finished(&self, job: &FinishedJob<'_>) {
        let _ = job;
    }

    /// A message was copied to its topic's dead letter queue (the broker acknowledged it) and
    /// its offset is now marked. `failure` is the last failure of the job.
    fn dead_lettered(&self, message: &InboundMessage, failure: &JobFailure) {
        let _ = (message, failure);
    }

    /// A message of an unknown job class was forwarded unchanged to another topic (the broker
    /// acknowledged it) and its offset is now marked.
    fn forwarded(&self, message: &InboundMessage, failure: &JobFailure) {
        let _ = (message, failure);
    }

    /// The worker paused fetching of a partition.
    fn partition_paused(&self, topic: &str, partition: i32, reason: PauseReason) {
        let _ = (topic, partition, reason);
    }

    /// The pause ended: the partition was resumed, or it was given up (revoked, worker stopped)
    /// while paused. Every [`partition_paused`](Self::partition_paused) is followed by exactly
    /// one call of this, so a gauge of paused partitions stays right.
    fn partition_resumed(&self, topic: &str, partition: i32) {
        let _ = (topic, partition);
    }

    /// librdkafka's statistics (every `statistics.interval.ms`, 5 s by default): the consumer
    /// lag of each partition currently assigned to this worker, as `(topic, partition, lag)`.
    /// The lag is librdkafka's `consumer_lag`: high watermark minus committed offset; partitions
    /// for which librdkafka does not know it yet are left out.
    fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        let _ = lags;
    }

    /// The raw statistics JSON, for anything beyond the lag (see librdkafka's
    /// `STATISTICS.md`). Called just before [`consumer_lag`](Self::consumer_lag).
    fn statistics(&self, json: &[u8]) {
        let _ = json;
    }
}

/// Several observers as one: each event goes to each, in the order they were added.
pub(crate) struct Observers(pub(crate) Vec<Arc<dyn WorkerObserver>>);

impl WorkerObserver for Observers {
    fn job_finished(&self, job: &FinishedJob<'_>) {
        self.0.iter().for_each(|o| o.job_finished(job));
    }
    fn dead_lettered(&self, message: &InboundMessage, failure: &JobFailure) {
        self.0
            .iter()
            .for_each(|o| o.dead_lettered(message, failure));
    }
    fn forwarded(&self, message: &InboundMessage, failure: &JobFailure) {
        self.0.iter().for_each(|o| o.forwarded(message, failure));
    }
    fn partition_paused(&self, topic: &str, partition: i32, reason: PauseReason) {
        self.0
            .iter()
            .for_each(|o| o.partition_paused(topic, partition, reason));
    }
    fn partition_resumed(&self, topic: &str, partition: i32) {
        self.0
            .iter()
            .for_each(|o| o.partition_resumed(topic, partition));
    }
    fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        self.0.iter().for_each(|o| o.consumer_lag(lags));
    }
    fn statistics(&self, json: &[u8]) {
        self.0.iter().for_each(|o| o.statistics(json));
    }
}

/// Per-partition `consumer_lag` of the partitions for which `assigned` is true, read from a
/// librdkafka statistics document. Malformed documents give nothing.
pub(crate) fn consumer_lags(
    json: &[u8],
    assigned: impl Fn(&str, i32) -> bool,
) -> Vec<(String, i32, i64)> {
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Stats {
        #[serde(default)]
        topics: BTreeMap<String, Topic>,
    }
    #[derive(Deserialize)]
    struct Topic {
        #[serde(default)]
        partitions: BTreeMap<String, Partition>,
    }
    #[derive(Deserialize)]
    struct Partition {
        partition: i32,
        #[serde(default = "unknown")]
        consumer_lag: i64,
    }
    fn unknown() -> i64 {
        -1
    }

    let Ok(stats) = serde_json::from_slice::<Stats>(json) else {
        return Vec::new();
    };
    let mut lags = Vec::new();
    for (topic, t) in stats.topics {
        for p in t.partitions.into_values() {
            // -1 is librdkafka's internal "unassigned" partition; a lag of -1 means unknown.
            if p.partition >= 0 && p.consumer_lag >= 0 && assigned(&topic, p.partition) {
                lags.push((topic.clone(), p.partition, p.consumer_lag));
            }
        }
    }
    lags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_come_from_assigned_partitions_with_a_known_lag() {
        let json = br#"{"name":"c","topics":{
            "jobs":{"topic":"jobs","partitions":{
                "0":{"partition":0,"consumer_lag":12,"consumer_lag_stored":3},
                "1":{"partition":1,"consumer_lag":-1},
                "2":{"partition":2,"consumer_lag":7},
                "-1":{"partition":-1,"consumer_lag":-1}}},
            "other":{"topic":"other","partitions":{"0":{"partition":0,"consumer_lag":5}}}}}"#;
        let lags = consumer_lags(json, |t, _| t == "jobs");
        assert_eq!(lags, vec![("jobs".into(), 0, 12), ("jobs".into(), 2, 7)]);
        assert!(consumer_lags(b"not json", |_, _| true).is_empty());
    }
}
