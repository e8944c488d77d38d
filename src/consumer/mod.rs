//! The worker runtime: consumes ActiveJob topics with Karafka's offset semantics and runs each
//! message through a [`MessageHandler`].
//!
//! # How it runs
//!
//! * **One poller thread** owns the librdkafka consumer and polls its consumer queue, which
//!   carries only events: rebalances (handled inside `poll`, see below), errors, commit results
//!   and statistics. It never waits on a job, so the group membership and
//!   `max.poll.interval.ms` do not depend on how long jobs take.
//! * **One task per assigned partition.** When a partition is assigned, its librdkafka queue is
//!   split off the consumer queue (before fetching starts) and a task is spawned that polls it
//!   directly: messages go from librdkafka to the task that runs them, with no hop through
//!   another thread and no per-message task. Jobs of a partition run strictly in offset order;
//!   a semaphore of `concurrency` permits bounds how many partitions run jobs at once, and a
//!   partition gives its permit back every `max_messages` jobs so that waiting partitions get a
//!   turn. A partition whose task is busy simply stops being drained: librdkafka's read-ahead
//!   for it fills up to `queued.min.messages` / `queued.max.messages.kbytes` and fetching for it
//!   stops, while the other partitions go on.
//! * **Offsets**: after each successful job the task stores `offset + 1` (Karafka's
//!   `mark_as_consumed`; `store_offsets` takes the next offset, unlike `store_offset`). Stores of
//!   jobs that finish without ever waiting are coalesced up to the next await point or the end of
//!   the batch: nothing can commit in between except librdkafka's 5 s auto-commit, which then
//!   sees at worst a few microseconds old offset. librdkafka auto-commits stored offsets every
//!   5 s; the worker also commits asynchronously when a failing partition is paused and resumed,
//!   and synchronously on revocation and shutdown.
//! * **Failures** pause the partition (librdkafka pause + async commit), wait
//!   `pause.timeout × 2^attempt` (capped), resume, and run the same message again; nothing after
//!   it in that partition runs meanwhile, other partitions go on. The task keeps the failed
//!   message and runs it again itself; the pause drops librdkafka's read-ahead for the partition
//!   and the resume fetches again from the offset after the failed one. So the retry starts
//!   exactly at the failed offset, which Karafka gets by seeking back. After `max_retries`
//!   retries (with a dead letter queue) the message is copied to the DLQ with Karafka Pro's
//!   `source_*` headers, the produce is acknowledged, and its offset is stored.
//! * **Bad messages** (tombstone, undecodable, unknown job class) follow the same path by
//!   default and can instead go straight to the DLQ or, for unknown classes, be forwarded
//!   unchanged to another topic; see [`BadMessagePolicy`].
//! * **Revocation** (in the rebalance callback, before librdkafka gives the partitions up): the
//!   partition's task starts no further job and its running job sees
//!   [`PartitionSignals::is_revoked`]; the callback waits for that job up to
//!   [`WorkerConfig::effective_revoke_timeout`] (10 s, at most half of `max.poll.interval.ms`, so
//!   the group is never held up long enough to evict anyone), refuses any later offset store for
//!   those partitions, and commits synchronously. A job still running after the wait finishes
//!   unacknowledged and runs again on the new owner: at most one job per partition twice, as
//!   with Karafka Pro's long-running jobs.
//! * **Shutdown** ([`ShutdownHandle`], SIGINT, SIGTERM): no new job starts, running jobs see
//!   [`PartitionSignals::is_stopping`] and may finish within `shutdown_timeout` while the poller
//!   keeps the membership alive; then a synchronous commit, unsubscribe (the final revocation
//!   commits again) and close. Jobs still running at `shutdown_timeout` are abandoned and
//!   [`Worker::run`] returns [`WorkerError::ShutdownTimeout`].

mod config;
mod dispatch;
mod failure;
mod message;
mod partition;
mod poller;
mod stats;
mod worker;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use config::{
    BadMessagePolicies, BadMessagePolicy, ConfigError, DeadLetterQueue, PauseConfig, TopicConfig,
    WorkerConfig, WorkerConfigBuilder, BOOTSTRAP_ENV,
};
pub use dispatch::{
    dead_letter_headers, dead_letter_partition, partition_for_key, DispatchError, SOURCE_HEADERS,
};
pub use failure::{BadMessageKind, JobFailure};
pub use message::{InboundMessage, PartitionSignals, SignalSwitch};
pub use stats::{StatsSnapshot, WorkerStats};
pub use worker::{ShutdownHandle, Worker, WorkerError};

/// Runs the job carried by one message.
///
/// The worker calls it once per run of a message (again on each retry), in offset order within
/// a partition and never for two messages of the same partition at once.
pub trait MessageHandler: Send + Sync + 'static {
    /// Runs one message to completion. Ok => the message is marked consumed (offset+1 stored).
    ///
    /// An `Err` (or a panic) is a failed run: the partition pauses and the message is retried or
    /// dead-lettered according to the topic's configuration. `signals` tells a long job that its
    /// partition was revoked or the worker is stopping.
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>>;
}

impl<H: MessageHandler + ?Sized> MessageHandler for Arc<H> {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        (**self).handle(message, signals)
    }
}

/// A [`MessageHandler`] made from a closure returning a boxed future; see [`handler_fn`].
pub struct HandlerFn<F>(F);

/// Wraps a closure as a [`MessageHandler`] (the bound lets Rust infer the closure's argument
/// types).
///
/// ```
/// use activejob_karafka::consumer::{handler_fn, JobFailure};
/// use futures::FutureExt;
///
/// let handler = handler_fn(|message, _signals| {
///     async move {
///         let payload = message.payload.as_deref().ok_or(JobFailure::Tombstone)?;
///         println!("{} bytes at offset {}", payload.len(), message.offset);
///         Ok(())
///     }
///     .boxed()
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F>(f: F) -> HandlerFn<F>
where
    F: Fn(Arc<InboundMessage>, PartitionSignals) -> BoxFuture<'static, Result<(), JobFailure>>
        + Send
        + Sync
        + 'static,
{
    HandlerFn(f)
}

impl<F> MessageHandler for HandlerFn<F>
where
    F: Fn(Arc<InboundMessage>, PartitionSignals) -> BoxFuture<'static, Result<(), JobFailure>>
        + Send
        + Sync
        + 'static,
{
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        (self.0)(message, signals)
    }
}
