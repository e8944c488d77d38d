//! The worker's bound on buffered messages: one budget for everything it holds, split fairly
//! between the assigned partitions.
//!
//! A worker holds messages in two places: librdkafka's read-ahead (fetched, not yet taken) and
//! the runtime's per-partition inboxes (taken from librdkafka, not yet run).
//! [`WorkerConfig::max_buffered_bytes`](super::WorkerConfig::max_buffered_bytes) covers both:
//!
//! * **librdkafka** gets half of it: a quarter as `queued.max.messages.kbytes`, which applies
//!   once to the worker's one message queue (see `batch_queue.rs`), and as much again for the
//!   fetch response that may land on top (librdkafka sizes `fetch.max.bytes` to the read-ahead
//!   bound unless told otherwise).
//! * **The runtime** gets the other half. The fetch thread takes messages from librdkafka
//!   only while the partitions hold less than that half together (a partition waiting out a
//!   retry backoff or a `scheduled_at` hold does not count: it is paused in librdkafka and
//!   gets nothing new, and the others must not wait for it). Otherwise it waits, librdkafka's
//!   read-ahead fills up to its own bound, and fetching stops: as in Karafka, where the next
//!   poll waits for the jobs of the last one.
//! * **Fairness**: once the partitions together hold half the runtime's half, each may hold at
//!   most twice its share, the runtime's half divided by the number of partitions assigned (at
//!   least [`MIN_SHARE`]). A partition that holds more (its jobs are slower than the others', or
//!   one job runs long) is paused in librdkafka: librdkafka stops fetching it and drops what it
//!   had read ahead for it, and the room goes to the other partitions. Once its jobs have
//!   brought it under half its share, it resumes and librdkafka fetches again from after the
//!   last message taken: nothing is skipped or read twice. The pause is the exception, not the
//!   rule: pausing drops read-ahead that must be fetched again (librdkafka fetches up to 1 MiB
//!   of a partition at a time, far more than a share on many partitions), so while there is
//!   room for everyone nobody is paused, and a stuck partition takes at most about half the
//!   runtime's half before it is.
//!
//! The fetch thread takes batches of about one share, so the runtime holds at most its half of
//! the budget plus one such batch, plus whatever partitions paused after a failure held when
//! they paused (at most two shares each). The counts include every byte a partition keeps
//! alive but those of the messages running (see `fetched.rs`).
//!
//! The partitions' tasks take their messages out of the counts in lumps (see
//! `partition/source.rs`), and the fetch thread wakes a task only when its inbox goes from empty
//! to not empty: the counts and the wake-ups are shared between threads, and paying for them per
//! message would cost more than a no-op job.
//!
//! So however many partitions are assigned and however long the backlog, the worker holds
//! about the budget, and a slow or stuck partition cannot take the others' room.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use tokio::sync::Notify;

use super::fetched::FetchedRun;
use super::stats::WorkerStats;

/// The smallest share of the runtime budget a partition gets, however many are assigned.
pub(crate) const MIN_SHARE: usize = 64 * 1024;

/// The runtime's half of the budget and how it is shared out.
#[derive(Debug)]
pub(crate) struct BufferBudget {
    /// Bytes all partition inboxes may hold together.
    runtime_bytes: usize,
    /// The current share of one partition.
    share: AtomicUsize,
    /// Bytes held by partitions their task has paused (a backoff, a hold), as they were when
    /// paused: left out of the shared limit.
    paused_bytes: AtomicUsize,
    /// The fetch thread, woken when room opens.
    fetcher: OnceLock<Thread>,
    stats: Arc<WorkerStats>,
}

impl BufferBudget {
    /// The budget of a worker configured with `max_buffered_bytes`.
    pub(crate) fn new(max_buffered_bytes: usize, stats: Arc<WorkerStats>) -> Self {
        let runtime_bytes = max_buffered_bytes / 2;
        BufferBudget {
            runtime_bytes,
            share: AtomicUsize::new(runtime_bytes.max(MIN_SHARE)),
            paused_bytes: AtomicUsize::new(0),
            fetcher: OnceLock::new(),
            stats,
        }
    }

    /// Registers the calling thread as the fetch thread, to be woken when room opens.
    pub(crate) fn register_fetcher(&self) {
        let _ = self.fetcher.set(std::thread::current());
    }

    /// Wakes the fetch thread (when room opened, or to stop it).
    pub(crate) fn wake_fetcher(&self) {
        if let Some(t) = self.fetcher.get() {
            t.unpark();
        }
    }

    /// Bytes counted against the shared limit: all held, less what paused partitions hold.
    fn counted(&self) -> usize {
        let held = self.stats.buffered_bytes.load(Ordering::Relaxed) as usize;
        held.saturating_sub(self.paused_bytes.load(Ordering::Relaxed))
    }

    /// True while the partitions hold less than the runtime's half of the budget together:
    /// the fetch thread may take more.
    pub(crate) fn has_room(&self) -> bool {
        self.counted() < self.runtime_bytes
    }

    /// True once the partitions hold at least half the runtime's budget together: from then
    /// on, a partition over its share takes room the others may need.
    pub(crate) fn under_pressure(&self) -> bool {
        self.counted() >= self.runtime_bytes / 2
    }

    /// A partition holding `bytes` was paused by its task: they leave the shared limit.
    pub(crate) fn paused(&self, bytes: usize) {
        self.paused_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.wake_fetcher();
    }

    /// The partition paused with `bytes` resumed: they count again.
    pub(crate) fn resumed(&self, bytes: usize) {
        self.paused_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Shares the runtime budget between `partitions` assigned partitions.
    pub(crate) fn set_partitions(&self, partitions: usize) {
        let share = (self.runtime_bytes / partitions.max(1)).max(MIN_SHARE);
        self.share.store(share, Ordering::Relaxed);
    }

    /// What one partition may hold before it is paused.
    pub(crate) fn share(&self) -> usize {
        self.share.load(Ordering::Relaxed)
    }

    fn held(&self, bytes: usize) {
        let now = self
            .stats
            .buffered_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed)
            + bytes as u64;
        self.stats
            .buffered_bytes_peak
            .fetch_max(now, Ordering::Relaxed);
    }

    fn released(&self, bytes: usize) {
        let before = self
            .stats
            .buffered_bytes
            .fetch_sub(bytes as u64, Ordering::Relaxed) as usize;
        let paused = self.paused_bytes.load(Ordering::Relaxed);
        // Wake the fetch thread only when this release opened room.
        let limit = self.runtime_bytes + paused;
        if before >= limit && before - bytes < limit {
            self.wake_fetcher();
        }
    }
}

/// One partition assignment's buffered messages: filled by the fetch thread (or the poller),
/// emptied by the partition's task. Bytes are counted from the moment a message is delivered
/// until its task takes it to run.
#[derive(Debug)]
pub(crate) struct Inbox {
    runs: Mutex<VecDeque<FetchedRun>>,
    /// Bytes delivered and not yet taken to run (in the inbox or in the task's own queue).
    bytes: AtomicUsize,
    /// True while the fetch thread has the partition paused because it holds more than its
    /// share (a hint read without the pause lock; the lock decides).
    pub(crate) throttled: AtomicBool,
    wake: Notify,
    budget: Arc<BufferBudget>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inbox {
    pub(crate) fn new(budget: Arc<BufferBudget>) -> Self {
        Inbox {
            runs: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            throttled: AtomicBool::new(false),
            wake: Notify::new(),
            budget,
        }
    }

    /// Appends a run of this partition's messages (the next in offset order) and wakes the
    /// task if the inbox was empty (otherwise the delivery that filled it woke the task, which
    /// has not drained it yet).
    pub(crate) fn deliver(&self, run: FetchedRun) {
        if run.len() == 0 {
            return;
        }
        let added = run.held();
        let was_empty = {
            let mut queue = lock(&self.runs);
            let was_empty = queue.is_empty();
            queue.push_back(run);
            was_empty
        };
        self.bytes.fetch_add(added, Ordering::Relaxed);
        self.budget.held(added);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Moves everything delivered so far to the back of `into` (still counted as buffered).
    pub(crate) fn drain_into(&self, into: &mut VecDeque<FetchedRun>) {
        let mut queue = lock(&self.runs);
        if into.is_empty() {
            std::mem::swap(into, &mut queue);
        } else {
            into.extend(queue.drain(..));
        }
    }

    /// Waits until something may have been delivered since the last wait.
    pub(crate) async fn delivered(&self) {
        self.wake.notified().await
    }

    /// Messages of `bytes` left the buffer to run.
    pub(crate) fn taken(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.budget.released(bytes);
    }

    /// Messages of `bytes`, taken, go back to the front of the line without running.
    pub(crate) fn put_back(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.budget.held(bytes);
    }

    /// The worker's budget this inbox counts against.
    pub(crate) fn budget(&self) -> &BufferBudget {
        &self.budget
    }

    /// Bytes this partition holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// True when the partition holds more than twice its share while the partitions together
    /// hold at least half their budget: fetching it must pause.
    pub(crate) fn over_share(&self) -> bool {
        self.bytes() > 2 * self.budget.share() && self.budget.under_pressure()
    }

    /// True when a throttled partition has room again (at most half its share).
    pub(crate) fn has_room(&self) -> bool {
        self.bytes() <= self.budget.share() / 2
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Whatever the assignment still held is freed with it.
        self.budget.released(self.bytes.load(Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::fetched::{MessageParts, RunBuilder};

    /// A run of `messages` messages of `size` payload bytes each.
    fn run(messages: usize, size: usize) -> FetchedRun {
        let payload = vec![b'x'; size];
        let mut b = RunBuilder::with_capacity(messages, messages * size);
        for offset in 0..messages {
            b.push(MessageParts {
                offset: offset as i64,
                key: None,
                payload: Some(&payload),
                headers: Vec::new(),
                timestamp_ms: None,
            });
        }
        b.finish("t".into(), 0)
    }

    #[test]
    fn a_partition_over_twice_its_share_must_pause_only_once_room_is_short() {
        // 512 KiB for the runtime, 4 partitions: a share is 128 KiB.
        let budget = Arc::new(BufferBudget::new(1024 * 1024, Arc::default()));
        budget.set_partitions(4);
        let (busy, other) = (Inbox::new(budget.clone()), Inbox::new(budget.clone()));
        busy.deliver(run(30, 10_000));
        assert!(busy.bytes() > 2 * budget.share());
        // 300 KB of 512 KiB: more than half, so the partition takes room the others need.
        assert!(budget.under_pressure() && busy.over_share());
        assert!(budget.has_room() && !other.over_share());

        let budget = Arc::new(BufferBudget::new(2 * 1024 * 1024, Arc::default()));
        budget.set_partitions(8);
        let busy = Inbox::new(budget.clone());
        busy.deliver(run(30, 10_000));
        // Over twice its share (128 KiB) but a third of the room: nobody waits for it yet.
        assert!(busy.bytes() > 2 * budget.share());
        assert!(!budget.under_pressure() && !busy.over_share());
        let other = Inbox::new(budget.clone());
        other.deliver(run(50, 10_000));
        assert!(budget.under_pressure() && busy.over_share());
    }

    #[test]
    fn counts_go_back_to_zero_when_the_inboxes_go() {
        let budget = Arc::new(BufferBudget::new(1024 * 1024, Arc::default()));
        let inbox = Inbox::new(budget.clone());
        inbox.deliver(run(3, 100));
        let mut runs = VecDeque::new();
        inbox.drain_into(&mut runs);
        let (m, held) = runs[0].pop_front().unwrap();
        inbox.taken(held);
        assert_eq!(inbox.bytes(), runs[0].held());
        drop(m);
        drop(inbox);
        assert_eq!(budget.stats.buffered_bytes.load(Ordering::Relaxed), 0);
    }
}
