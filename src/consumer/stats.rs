//! Counters a running worker keeps, for logs, tests and health checks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a [`Worker`](super::Worker); read them with [`WorkerStats::snapshot`].
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub(crate) jobs_succeeded: AtomicU64,
    pub(crate) job_failures: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) discarded: AtomicU64,
    pub(crate) partitions_assigned: AtomicU64,
    pub(crate) partitions_revoked: AtomicU64,
    pub(crate) assignments_lost: AtomicU64,
    pub(crate) max_poll_exceeded: AtomicU64,
    pub(crate) commit_failures: AtomicU64,
    pub(crate) paused_partitions: AtomicU64,
    pub(crate) buffered_bytes: AtomicU64,
    pub(crate) buffered_bytes_peak: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Runs that returned Ok.
    pub jobs_succeeded: u64,
    /// Runs that failed (error, panic or bad message), including each retry.
    pub job_failures: u64,
    /// Messages copied to a dead letter queue.
    pub dead_lettered: u64,
    /// Messages forwarded to another topic.
    pub forwarded: u64,
    /// Messages marked consumed after an error their job class discards (`discard_on`).
    pub discarded: u64,
    /// Partitions received in rebalances.
    pub partitions_assigned: u64,
    /// Partitions given up in rebalances (including at close).
    pub partitions_revoked: u64,
    /// Rebalances in which librdkafka reported the assignment as lost (e.g. after an eviction).
    pub assignments_lost: u64,
    /// `max.poll.interval.ms` exceeded reports from librdkafka.
    pub max_poll_exceeded: u64,
    /// Offset commits that failed.
    pub commit_failures: u64,
    /// Partitions paused by the worker right now (backing off after a failure, after a dead
    /// letter, or holding a job until its `scheduled_at`): a gauge, not a counter.
    pub paused_partitions: u64,
    /// Bytes of fetched messages the runtime holds right now (taken from librdkafka, not yet
    /// run), a gauge; see [`WorkerConfig::max_buffered_bytes`](super::WorkerConfig::max_buffered_bytes).
    /// librdkafka's own read-ahead is not included.
    pub buffered_bytes: u64,
    /// The highest [`buffered_bytes`](Self::buffered_bytes) seen since the worker started.
    pub buffered_bytes_peak: u64,
}

impl WorkerStats {
    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            jobs_succeeded: r(&self.jobs_succeeded),
            job_failures: r(&self.job_failures),
            dead_lettered: r(&self.dead_lettered),
            forwarded: r(&self.forwarded),
            discarded: r(&self.discarded),
            partitions_assigned: r(&self.partitions_assigned),
            partitions_revoked: r(&self.partitions_revoked),
            assignments_lost: r(&self.assignments_lost),
            max_poll_exceeded: r(&self.max_poll_exceeded),
            commit_failures: r(&self.commit_failures),
            paused_partitions: r(&self.paused_partitions),
            buffered_bytes: r(&self.buffered_bytes),
            buffered_bytes_peak: r(&self.buffered_bytes_peak),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}
