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
//! * **Fairness**: each partition may hold at most twice its share, the runtime's half divided
//!   by the number of partitions assigned (at least [`MIN_SHARE`]). A partition that holds more
//!   (its jobs are slower than the others', or one job runs long) is paused in librdkafka:
//!   librdkafka stops fetching it and drops what it had read ahead for it, and the room goes to
//!   the other partitions. Once its jobs have brought it under half its share, it resumes and
//!   librdkafka fetches again from after the last message taken: nothing is skipped or read
//!   twice. The pause is the exception, not the rule: pausing drops read-ahead that must be
//!   fetched again, so the common case is bounded by the shared limit alone.
//!
//! The fetch thread takes batches of about a quarter of a share, so the runtime holds at most
//! its half of the budget plus one such batch, plus whatever partitions paused after a failure
//! held when they paused (at most two shares each).
//!
//! So however many partitions are assigned and however long the backlog, the worker holds
//! about the budget, and a slow or stuck partition cannot take the others' room.

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use tokio::sync::Notify;

use super::message::InboundMessage;
use super::stats::WorkerStats;

/// The smallest share of the runtime budget a partition gets, however many are assigned.
pub(crate) const MIN_SHARE: usize = 64 * 1024;

/// The bytes a message takes in memory while the runtime holds it: its data plus the fixed
/// size of its record.
pub(crate) fn held_bytes(m: &InboundMessage) -> usize {
    let headers: usize = m
        .headers
        .iter()
        .map(|(k, v)| {
            size_of::<(String, Option<Vec<u8>>)>() + k.len() + v.as_ref().map_or(0, Vec::len)
        })
        .sum();
    // The record, its `Arc` counts and its slot in a queue.
    size_of::<InboundMessage>()
        + 2 * size_of::<usize>()
        + size_of::<Arc<InboundMessage>>()
        + m.topic.len()
        + m.key.as_ref().map_or(0, Vec::len)
        + m.payload.as_ref().map_or(0, Vec::len)
        + headers
}

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
    messages: Mutex<VecDeque<Arc<InboundMessage>>>,
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
            messages: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            throttled: AtomicBool::new(false),
            wake: Notify::new(),
            budget,
        }
    }

    /// Appends messages of this partition, in offset order, and wakes the task.
    pub(crate) fn deliver(&self, messages: impl Iterator<Item = Arc<InboundMessage>>) {
        let mut added = 0;
        {
            let mut queue = lock(&self.messages);
            for m in messages {
                added += held_bytes(&m);
                queue.push_back(m);
            }
        }
        if added == 0 {
            return;
        }
        self.bytes.fetch_add(added, Ordering::Relaxed);
        self.budget.held(added);
        self.wake.notify_one();
    }

    /// Moves everything delivered so far to the back of `into` (still counted as buffered).
    pub(crate) fn drain_into(&self, into: &mut VecDeque<Arc<InboundMessage>>) {
        let mut queue = lock(&self.messages);
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

    /// `m` left the buffer to run.
    pub(crate) fn taken(&self, m: &InboundMessage) {
        let bytes = held_bytes(m);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.budget.released(bytes);
    }

    /// `m`, taken, goes back to the front of the line without running.
    pub(crate) fn put_back(&self, m: &InboundMessage) {
        let bytes = held_bytes(m);
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

    /// True when the partition holds more than twice its share: fetching it must pause.
    pub(crate) fn over_share(&self) -> bool {
        self.bytes() > 2 * self.budget.share()
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
