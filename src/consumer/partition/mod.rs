//! One assigned partition: its shared state and the task that runs its jobs in order.
//!
//! `shared.rs` holds the state the poller shares with the task, `source.rs` where the task
//! reads its messages, `hold.rs` the `scheduled_at` hold, `failure.rs` what a failed run does
//! (with the decision itself in `policy.rs`), `dead_letter.rs` the copies to a dead letter
//! queue or another topic, and `vp.rs` the loop of a topic with virtual partitions.

mod dead_letter;
mod failure;
mod hold;
mod policy;
mod shared;
mod source;
mod vp;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::SystemTime;

use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::OwnedSemaphorePermit;

use self::shared::{lock, DoneGuard};
use super::config::TopicConfig;
use super::failure::JobFailure;
use super::message::{InboundMessage, PartitionSignals};
use super::poller::WorkerContext;
use super::stats::WorkerStats;
use super::worker::WorkerShared;

pub(crate) use self::shared::PartitionShared;
use self::source::Pending;

/// Runs the jobs of one partition assignment: one at a time in offset order, or spread over
/// virtual partitions (`vp.rs`).
pub(crate) struct PartitionTask {
    pub(super) shared: Arc<PartitionShared>,
    pub(super) worker: Arc<WorkerShared>,
    consumer: Arc<BaseConsumer<WorkerContext>>,
    pub(super) topic: Arc<TopicConfig>,
    pub(super) buffered: Pending,
    pub(super) signals: PartitionSignals,
    /// Next offset to store (last success + 1), not yet handed to librdkafka.
    pub(super) pending_store: Option<i64>,
    /// Successes not yet added to the worker's counters.
    pub(super) pending_successes: u64,
    /// True while this task has the partition paused in librdkafka.
    paused: bool,
    /// `scheduled_at` of the message at this offset, already read (`hold_until_scheduled`).
    peeked_schedule: Option<(i64, Option<SystemTime>)>,
    /// The concurrency slot, while jobs of this partition run.
    pub(super) slot: Option<OwnedSemaphorePermit>,
}

impl PartitionTask {
    pub(crate) fn new(
        shared: Arc<PartitionShared>,
        worker: Arc<WorkerShared>,
        consumer: Arc<BaseConsumer<WorkerContext>>,
        topic: Arc<TopicConfig>,
    ) -> Self {
        let signals = PartitionSignals::new(shared.revoked.clone(), worker.stopping.clone());
        let buffered = Pending::new(shared.clone());
        PartitionTask {
            shared,
            worker,
            consumer,
            topic,
            buffered,
            signals,
            pending_store: None,
            pending_successes: 0,
            paused: false,
            peeked_schedule: None,
            slot: None,
        }
    }

    pub(super) fn must_stop(&self) -> bool {
        self.shared.revoked.is_set() || self.worker.stopping.is_set()
    }

    pub(crate) async fn run(mut self) {
        let _done = DoneGuard(self.shared.clone());
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            generation = self.shared.generation,
            "partition task started"
        );
        match self.topic.virtual_partitions.clone() {
            // Karafka does not virtualize with a single group either.
            Some(vp) if vp.max_partitions > 1 => self.run_virtual(vp).await,
            _ => self.run_jobs().await,
        }
        self.flush_store();
        if self.paused {
            // Given up while paused: the pause ends with the assignment.
            self.paused = false;
            WorkerStats::sub(&self.worker.stats.paused_partitions, 1);
            if let Some(o) = &self.worker.observer {
                o.partition_resumed(&self.shared.topic, self.shared.partition);
            }
        }
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            revoked = self.shared.revoked.is_set(),
            stopping = self.worker.stopping.is_set(),
            "partition task ended"
        );
    }

    async fn run_jobs(&mut self) {
        let hold = self.topic.hold_until_scheduled;
        loop {
            let first = match self.next_ready() {
                Some(m) => m,
                None => {
                    // The partition may idle for long: store and commit what is done first.
                    self.flush_store_ran_dry();
                    if !self.wait_for_message().await {
                        return;
                    }
                    continue;
                }
            };
            if hold {
                if let Some(due) = self.not_due(&first) {
                    // Waits without a concurrency slot; the message stays first in line.
                    self.buffered.push_front(first);
                    if !self.hold_until(due).await {
                        return;
                    }
                    continue;
                }
            }

            // One concurrency slot for up to `max_messages` jobs (given back meanwhile while a
            // failed job waits out its backoff).
            if !self.acquire_slot().await {
                return;
            }
            let mut message = first;
            let mut ran = 0usize;
            loop {
                if self.must_stop() {
                    return;
                }
                if !self.process(&message, None).await {
                    return;
                }
                ran += 1;
                if ran >= self.worker.config.max_messages_for(&self.topic) {
                    break;
                }
                if self.worker.commits.is_holding() {
                    // Commits do not get through: the outer loop waits, without the slot.
                    break;
                }
                match self.next_ready() {
                    Some(m) => message = m,
                    None => break,
                }
                if hold && self.not_due(&message).is_some() {
                    // Held outside the slot, by the outer loop.
                    self.buffered.push_front(message);
                    break;
                }
            }
            self.flush_store();
            self.slot = None;
        }
    }

    /// Takes a concurrency slot unless the task holds one already, after waiting for commits
    /// to get through when they do not. False when revoked or stopping meanwhile.
    ///
    /// A slot is held only while jobs run: a partition waiting out a backoff, a `scheduled_at`
    /// hold or the pause after a dead letter gives it back ([`pause_for`](Self::pause_for)), as
    /// Karafka pauses the partition and frees the worker thread.
    pub(super) async fn acquire_slot(&mut self) -> bool {
        if self.slot.is_some() {
            return true;
        }
        if !self.wait_for_commits().await {
            return false;
        }
        let slots = self.worker.slots.clone();
        let signals = self.signals.clone();
        let permit = tokio::select! {
            biased;
            _ = signals.cancelled() => None,
            p = slots.acquire_owned() => p.ok(),
        };
        self.slot = permit;
        self.slot.is_some()
    }

    /// Waits while the worker holds new jobs because offset commits do not get through (see
    /// [`CommitState`](super::CommitState)). False when revoked or stopping meanwhile.
    pub(super) async fn wait_for_commits(&mut self) -> bool {
        if !self.worker.commits.is_holding() {
            return true;
        }
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            "waiting for offset commits to succeed before the next job"
        );
        let commits = self.worker.commits.clone();
        let signals = self.signals.clone();
        tokio::select! {
            biased;
            _ = signals.cancelled() => false,
            _ = commits.wait_until_released() => true,
        }
    }

    /// One run of the handler; panics (while building or polling the future) are failures.
    async fn run_handler(&mut self, message: &Arc<InboundMessage>) -> Result<(), JobFailure> {
        let handler = &self.worker.handler;
        let signals = self.signals.clone();
        let future = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            handler.handle(message.clone(), signals)
        })) {
            Ok(f) => f,
            Err(panic) => return Err(JobFailure::from_panic(panic)),
        };
        let mut future = AssertUnwindSafe(future).catch_unwind();
        // A job that completes on its first poll needs no store of its own yet; one that waits
        // must not keep the previous jobs' offsets unstored while it does.
        let outcome = match futures::poll!(&mut future) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                self.flush_store();
                future.await
            }
        };
        outcome.unwrap_or_else(|panic| Err(JobFailure::from_panic(panic)))
    }

    /// [`flush_store`](Self::flush_store) at the end of a batch, when the partition has nothing
    /// more to run: the offsets are committed without waiting for the commit interval.
    pub(super) fn flush_store_ran_dry(&mut self) {
        if self.flush_store() {
            self.worker.commits.stored_and_ran_dry();
        }
    }

    /// Hands the pending offset to librdkafka (unless the partition has been given up). True
    /// when an offset was stored; the poller commits it within the commit interval.
    pub(super) fn flush_store(&mut self) -> bool {
        if self.pending_successes > 0 {
            WorkerStats::add(
                &self.worker.stats.jobs_succeeded,
                std::mem::take(&mut self.pending_successes),
            );
        }
        let Some(next) = self.pending_store.take() else {
            return false;
        };
        let closed = lock(&self.shared.store_closed);
        if *closed {
            tracing::debug!(
                topic = %self.shared.topic,
                partition = self.shared.partition,
                next_offset = next,
                "offset not stored: partition already given up"
            );
            return false;
        }
        let mut tpl = TopicPartitionList::with_capacity(1);
        let result = tpl
            .add_partition_offset(
                &self.shared.topic,
                self.shared.partition,
                Offset::Offset(next),
            )
            .and_then(|()| self.consumer.store_offsets(&tpl));
        drop(closed);
        match result {
            Ok(()) => {
                self.worker.commits.stored();
                true
            }
            Err(error) => {
                tracing::warn!(
                    topic = %self.shared.topic,
                    partition = self.shared.partition,
                    next_offset = next,
                    %error,
                    "offset store failed"
                );
                false
            }
        }
    }
}
