//! The worker runtime: consumes ActiveJob topics with Karafka's offset semantics and runs each
//! message through a [`MessageHandler`].
//!
//! # How it runs
//!
//! * **One poller thread** owns the librdkafka consumer and polls its consumer queue, which
//!   carries only events: rebalances (handled inside `poll`, see below), errors, commit results
//!   and statistics. It never waits on a job, so the group membership and
//!   `max.poll.interval.ms` do not depend on how long jobs take.
//! * **One fetch thread** reads the messages of every assigned partition: each partition's
//!   librdkafka queue is forwarded (before fetching starts) to one message queue of the
//!   worker, which the thread reads up to 64 messages per librdkafka call, copies out of
//!   librdkafka and hands to the partitions' inboxes.
//! * **One task per assigned partition** runs what its inbox holds: no per-message task, and
//!   jobs of a partition run strictly in offset order. A semaphore of `concurrency` permits
//!   bounds how many partitions run jobs at once, and a partition gives its permit back every
//!   `max_messages` jobs so that waiting partitions get a turn. A permit is held only while
//!   jobs run: a partition waiting out a retry backoff, a `scheduled_at` hold or the pause
//!   after a dead letter holds none (Karafka pauses the partition and frees the worker thread),
//!   so any number of poisoned partitions cannot stop the healthy ones.
//! * **Memory** is bounded by one budget for the whole worker,
//!   [`WorkerConfig::max_buffered_bytes`] (24 MiB): half for librdkafka's read-ahead (which
//!   applies once, to the one message queue, as with Karafka's single consumer queue), half
//!   for the inboxes, split evenly between the assigned partitions. A partition whose inbox
//!   holds more than its share (its jobs run slower than it is fetched) is paused in
//!   librdkafka until its jobs have worked it down to half its share: librdkafka drops what it
//!   had read ahead for that partition and later fetches again from after the last message
//!   taken, so nothing is skipped or read twice, and the other partitions go on meanwhile.
//!   The bytes held are in [`StatsSnapshot::buffered_bytes`].
//! * **Offsets**: after each successful job the task stores `offset + 1` (Karafka's
//!   `mark_as_consumed`; `store_offsets` takes the next offset, unlike `store_offset`). Stores of
//!   jobs that finish without ever waiting are coalesced up to the next await point or the end of
//!   the batch. The worker commits the stored offsets itself, in the background (a committer
//!   thread; no job and no poll waits for it), every [`WorkerConfig::commit_interval`]
//!   (100 ms) and as soon as a partition runs dry (the end of a batch): one commit at a time
//!   for all partitions, never more often than every 10 ms; also when a
//!   failing partition is paused and resumed, and synchronously on revocation and shutdown. A
//!   `kill -9` therefore re-runs at most what each partition finished in about the last
//!   interval. Karafka instead keeps librdkafka's auto-commit (every 5 s: up to 5 s of work
//!   runs again after a crash); its synchronous `mark_as_consumed!` closes that window at the
//!   price of one round trip per job. Commit outcomes are kept in [`CommitState`].
//! * **Commits that do not get through** (the broker or the group coordinator away): once
//!   stored offsets have waited [`WorkerConfig::commit_stall_timeout`] (1 s, at most half of
//!   `session.timeout.ms`) for an acknowledged commit, no partition starts a new job; running
//!   jobs finish. Jobs resume when a commit succeeds. Without this, jobs would go on running
//!   from librdkafka's read-ahead with offsets that can never be committed, and all of them
//!   would run again once the assignment is lost (after `session.timeout.ms`).
//! * **Failures** pause the partition (librdkafka pause + async commit), wait
//!   `pause.timeout × 2^attempt` (capped) without a concurrency permit, resume, take a permit
//!   again and run the same message again; nothing after
//!   it in that partition runs meanwhile, other partitions go on. The task keeps the failed
//!   message, and the ones it took from librdkafka after it but has not run, and runs them
//!   itself; the pause drops librdkafka's read-ahead for the partition and the resume fetches
//!   again from the offset after the last message taken. So the retry starts exactly at the
//!   failed offset and nothing is skipped or read twice, which Karafka gets by seeking back.
//!   After `max_retries` retries (with a dead letter queue) the message is copied to the DLQ
//!   with Karafka Pro's `source_*` headers, the produce is acknowledged, and its offset is
//!   stored.
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
//!   with Karafka Pro's long-running jobs. If that job fails, it is neither dead-lettered nor
//!   forwarded: the new owner does it, so the dead letter queue gets no duplicate (Karafka
//!   2.6). A job that fails within the wait is still dead-lettered, and its offset committed,
//!   while the partition is ours.
//! * **Shutdown** ([`ShutdownHandle`], SIGINT, SIGTERM): no new job starts, running jobs see
//!   [`PartitionSignals::is_stopping`] and may finish within `shutdown_timeout` while the poller
//!   keeps the membership alive; then a synchronous commit, unsubscribe (the final revocation
//!   commits again) and close. Jobs still running at `shutdown_timeout` are abandoned and
//!   [`Worker::run`] returns [`WorkerError::ShutdownTimeout`]. A second SIGINT / SIGTERM
//!   ([`ShutdownHandle::shutdown_now`]) stops at once: running jobs are abandoned (they run
//!   again), the offsets of finished jobs are committed, and [`Worker::run`] returns
//!   [`WorkerError::ShutdownForced`] if a job was still running.
//! * **Dead letters** are followed, as in Karafka, by a pause of one `pause.timeout` before the
//!   partition goes on.
//! * **`scheduled_at`** is ignored by default, as Karafka ignores it. With
//!   [`TopicConfig::hold_until_scheduled`] the partition task reads the next job's `scheduled_at`
//!   (that field only) before running it; when it is in the future the partition is paused in
//!   librdkafka (no polling meanwhile, no concurrency slot held) until it is due, then resumed
//!   and the job runs. Order is kept: nothing behind the held job runs before it.
//! * **Routing**: the default consumer group (`group_id` with its topics and patterns) and
//!   every [`ConsumerGroupConfig`] run in one process, one librdkafka consumer per subscription
//!   group ([`WorkerConfig::subscription_groups`]: a consumer group's topics with equal
//!   librdkafka properties), each with its own poller thread and partition tasks. They share
//!   the `concurrency` slots, the handler, the dead-letter producer and the shutdown; a fatal
//!   error of one stops all. Patterns ([`TopicPattern`]) subscribe by regex; a partition of a
//!   topic the group names explicitly runs with that topic's settings, any other with the
//!   first matching pattern's. See the [`config`](WorkerConfig::routes) docs and the README's
//!   configuration reference.
//! * **Observing**: [`Worker::observer`] takes a [`WorkerObserver`] that is told about every
//!   finished run, dead letter, forward, pause and resume, and receives librdkafka's consumer
//!   lag per partition from the statistics (every `statistics.interval.ms`, 5 s).
//!
//! # Virtual partitions
//!
//! Karafka Pro's virtual partitions, with the rules of Karafka's code (`VirtualOffsetManager`,
//! the collapse, `VirtualLimiter`), set per topic with [`TopicConfig::virtual_partitions`]:
//!
//! * **Grouping.** Each message's virtual key comes from a [`VirtualPartitioner`]: the message
//!   key (default), a header, the job's first argument (read once per message with a targeted
//!   parse of the payload that skips everything else), or a closure. The group is Karafka's
//!   default reducer, `key.to_s.sum % max_partitions` (the key's bytes summed modulo 2^16); a
//!   message without a key goes to group 0, as a `nil` key does in Karafka. A partition's jobs
//!   spread over up to `max_partitions` groups; each group runs its jobs one at a time in offset
//!   order, the groups at the same time. Same key, same group, same order. With
//!   `max_partitions = 1` the topic runs as without virtual partitions (so does Karafka).
//! * **Where they run.** All groups of a partition run on the partition's task, which keeps one
//!   job per group in flight and polls them together: jobs that await (I/O, timers) overlap, and
//!   the offset bookkeeping needs no lock. CPU-heavy work must go to the blocking pool with
//!   [`blocking`], where it runs in parallel on all cores. A virtual-partitioned partition
//!   holds one `concurrency` slot, however many groups it runs; it gives the slot back when it
//!   runs dry and, when every slot is taken, after `max_messages` jobs.
//! * **Offsets.** Every finished job is marked; the stored offset is always the one after the
//!   longest run of finished jobs from the first one taken (the contiguous prefix), advanced
//!   job by job while the groups work: a commit never passes an unfinished job. Jobs finished
//!   past the prefix run again after a crash (as in Karafka: reference §5.4). At most
//!   `max(max_messages, 8 × max_partitions)` jobs are taken and unfinished at a time, and at
//!   most ten times that many offsets are held past the first unfinished one.
//! * **Errors.** A failed job stops its group; sibling groups are not interrupted: they finish
//!   the jobs already given to them, and nothing new is taken. Then the partition collapses: it
//!   pauses (storing the prefix, i.e. at the first unfinished offset), waits the backoff
//!   (`pause.timeout × 2^attempt`), and runs every unfinished job taken so far again one at a
//!   time in offset order, with the usual retry / dead-letter handling for each. Jobs that
//!   already succeeded in this assignment never run again (Karafka's `VirtualLimiter`): the task
//!   keeps the unfinished ones and drops anything it has taken before. After the collapsed
//!   jobs, the partition goes back to its groups. With a dead letter queue, virtual partitions
//!   need `max_retries >= 1` (a job is dead-lettered only from the collapsed retry, as in
//!   Karafka Pro, whose contract refuses 0 as well); [`ConfigError::VirtualPartitionsNeedRetries`]
//!   at start-up otherwise.
//! * **Revocation** starts no new job of the partition; running jobs finish within the revoke
//!   wait and their prefix is committed. **Shutdown** takes no new message but lets the groups
//!   finish every job already taken (Karafka Pro does not stop virtual partitions early), then
//!   commits.
//!
//! ```no_run
//! # use activejob_karafka::consumer::*;
//! let config = WorkerConfig::builder()
//!     .topic(TopicConfig::new("events").virtual_partitions(VirtualPartitioner::Key, 8))
//!     .topic(TopicConfig::new("imports").virtual_partitions(VirtualPartitioner::FirstArgument, 4))
//!     .build()?;
//! # Ok::<(), ConfigError>(())
//! ```
//!
//! # CPU-heavy handlers
//!
//! Handlers run on the tokio runtime: a handler that computes for long without awaiting holds
//! a runtime thread, and with virtual partitions it also holds up the other groups of its
//! partition. Run such work with [`blocking`] (tokio's blocking pool): the handler awaits it,
//! the runtime goes on, and jobs of different groups and partitions compute in parallel on all
//! cores. A panic in the closure becomes [`JobFailure::Panicked`], retried as any failure.
//!
//! ```
//! use activejob_karafka::consumer::blocking;
//! use activejob_karafka::registry::{JobContext, Registry};
//!
//! fn render(pages: u64) -> u64 {
//!     (0..pages * 1_000).fold(0, |a, x| a ^ x.wrapping_mul(31))
//! }
//!
//! let registry = Registry::new().register(
//!     "RenderReportJob",
//!     |(pages,): (u64,), _ctx: JobContext| async move {
//!         let digest = blocking(move || render(pages)).await?;
//!         anyhow::ensure!(digest != u64::MAX, "bad digest");
//!         Ok(())
//!     },
//! );
//! # let _ = registry;
//! ```

mod batch_queue;
mod buffer;
mod commit_state;
mod committer;
mod config;
mod dispatch;
mod failure;
mod fetched;
mod fetcher;
mod health;
mod message;
mod observer;
mod partition;
mod peek;
mod poller;
mod stats;
mod topic_routes;
mod virtual_partitions;
mod worker;

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::payload_format::PayloadFormat;

pub use commit_state::{CommitState, CommitStatus};
pub use config::{
    BadMessagePolicies, BadMessagePolicy, ConfigError, ConsumerGroupConfig, ConsumerGroupRoutes,
    DeadLetterQueue, Declaratives, InitialOffset, PauseConfig, SubscriptionGroup, TopicConfig,
    TopicDeclaration, TopicPattern, WorkerConfig, WorkerConfigBuilder, BOOTSTRAP_ENV,
    DEFAULT_MAX_BUFFERED_BYTES, MIN_MAX_BUFFERED_BYTES,
};
pub use dispatch::{
    dead_letter_headers, dead_letter_partition, partition_for_key, DispatchError, SOURCE_HEADERS,
};
pub use failure::{BadMessageKind, JobFailure};
pub use health::WorkerHealth;
pub(crate) use message::copy_headers;
pub use message::{Bytes, InboundMessage, PartitionSignals, SignalSwitch};
pub use observer::{FinishedJob, PauseReason, WorkerObserver};
pub use stats::{StatsSnapshot, WorkerStats};
pub use virtual_partitions::{VirtualKeyFn, VirtualPartitioner, VirtualPartitions};
pub use worker::{ShutdownHandle, Worker, WorkerError};

/// Runs CPU-heavy work on tokio's blocking pool and waits for it, so that it neither holds a
/// runtime thread nor the other virtual partitions of its partition (see "CPU-heavy
/// handlers" in the module docs). A panic in `f` is returned as [`JobFailure::Panicked`].
///
/// The blocking pool grows up to 512 threads by default: to keep CPU work to the number of
/// cores, share a `tokio::sync::Semaphore` between the jobs that call this.
pub async fn blocking<F, T>(f: F) -> Result<T, JobFailure>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err(JobFailure::from_panic(e.into_panic())),
        Err(e) => Err(JobFailure::Failed(format!(
            "blocking task did not finish: {e}"
        ))),
    }
}

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

    /// How the messages carry their job when the application replaced Karafka's `Deserializer`
    /// (a [`Registry`](crate::registry::Registry) gives its
    /// [`DecodeOptions::payload_format`](crate::DecodeOptions::payload_format)). The worker reads
    /// `scheduled_at` (for `hold_until_scheduled`) and the first argument (for the
    /// `FirstArgument` virtual partitioner) through it. Default: none, the payload is the job's
    /// JSON.
    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        None
    }
}

impl<H: MessageHandler + ?Sized> MessageHandler for Arc<H> {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        (**self).handle(message, signals)
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        (**self).payload_format()
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
