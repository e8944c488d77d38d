//! State of one assignment of one partition, shared by the poller and the partition's task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;

use crate::consumer::buffer::{BufferBudget, Inbox};
use crate::consumer::message::Flag;
use crate::consumer::poller::{single, WorkerContext};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere; the data (flags) is still meaningful.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State of one assignment of one partition, shared by the poller and the partition's task.
#[derive(Debug)]
pub(crate) struct PartitionShared {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// Distinguishes this assignment from a later one of the same partition.
    pub(crate) generation: u64,
    /// Set when the partition is revoked: no further job starts.
    pub(crate) revoked: Arc<Flag>,
    /// `true` once offsets of this assignment may no longer be stored (after revocation).
    pub(super) store_closed: Mutex<bool>,
    done: Mutex<bool>,
    done_cv: Condvar,
    finished: AtomicBool,
    /// Messages fetched for this assignment and not yet run.
    pub(crate) inbox: Inbox,
    /// Why the partition is paused in librdkafka, if it is.
    pauses: Mutex<Pauses>,
}

/// Who has the partition paused in librdkafka: it is paused while either does.
#[derive(Debug, Default)]
struct Pauses {
    /// The task: a retry backoff, a `scheduled_at` hold, the pause after a dead letter.
    task: bool,
    /// The fetch thread: the partition holds more than its share of the buffer budget.
    throttled: bool,
    /// The bytes the partition held when its task paused it, left out of the budget's shared
    /// limit until it resumes.
    paused_with: Option<usize>,
}

impl Pauses {
    fn any(&self) -> bool {
        self.task || self.throttled
    }
}

impl PartitionShared {
    pub(crate) fn new(
        topic: String,
        partition: i32,
        generation: u64,
        budget: Arc<BufferBudget>,
    ) -> Self {
        PartitionShared {
            inbox: Inbox::new(budget),
            pauses: Mutex::new(Pauses::default()),
            topic,
            partition,
            generation,
            revoked: Arc::default(),
            store_closed: Mutex::new(false),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
            finished: AtomicBool::new(false),
        }
    }

    /// Refuses every later offset store of this assignment. Taking the lock also waits for a
    /// store in progress, so nothing of this assignment is stored after this returns.
    pub(crate) fn close_store(&self) {
        *lock(&self.store_closed) = true;
    }

    /// True once the partition was given up: its offsets can no longer be stored, and the new
    /// owner will run again whatever this assignment did not store.
    pub(super) fn is_given_up(&self) -> bool {
        *lock(&self.store_closed)
    }

    /// Pauses (`on`) or resumes fetching for the task's own reasons. librdkafka resumes the
    /// partition only once the fetch thread does not hold it paused either.
    pub(crate) fn set_task_pause(
        &self,
        consumer: &BaseConsumer<WorkerContext>,
        on: bool,
    ) -> KafkaResult<()> {
        self.change_pauses(consumer, |p| {
            p.task = on;
            let budget = self.inbox.budget();
            match (on, p.paused_with) {
                (true, None) => {
                    let bytes = self.inbox.bytes();
                    budget.paused(bytes);
                    p.paused_with = Some(bytes);
                }
                (false, Some(bytes)) => {
                    budget.resumed(bytes);
                    p.paused_with = None;
                }
                _ => {}
            }
        })
    }

    /// Pauses fetching while the partition holds more than its share of the buffer budget
    /// (called by the fetch thread after each delivery).
    pub(crate) fn throttle_if_full(&self, consumer: &BaseConsumer<WorkerContext>) {
        if self.inbox.throttled.load(Ordering::Relaxed) || self.revoked.is_set() {
            return;
        }
        let result = self.change_pauses(consumer, |p| {
            // Decided under the lock: the task may have made room meanwhile.
            if self.inbox.over_share() {
                p.throttled = true;
                self.inbox.throttled.store(true, Ordering::Relaxed);
            }
        });
        if let Err(error) = result {
            tracing::warn!(topic = %self.topic, partition = self.partition, %error, "pause of a full partition failed");
        }
    }

    /// Resumes fetching of a throttled partition once it has room again (called by the task
    /// as it takes messages to run).
    pub(crate) fn unthrottle_if_room(&self, consumer: &BaseConsumer<WorkerContext>) {
        if !self.inbox.throttled.load(Ordering::Relaxed) || !self.inbox.has_room() {
            return;
        }
        let result = self.change_pauses(consumer, |p| {
            if p.throttled && self.inbox.has_room() {
                p.throttled = false;
                self.inbox.throttled.store(false, Ordering::Relaxed);
            }
        });
        if let Err(error) = result {
            tracing::warn!(topic = %self.topic, partition = self.partition, %error, "resume of a drained partition failed");
        }
    }

    /// Applies `change` and pauses or resumes the partition in librdkafka when whether anyone
    /// wants it paused changed. Under the lock, so librdkafka sees the changes in order.
    fn change_pauses(
        &self,
        consumer: &BaseConsumer<WorkerContext>,
        change: impl FnOnce(&mut Pauses),
    ) -> KafkaResult<()> {
        let mut pauses = lock(&self.pauses);
        let before = pauses.any();
        change(&mut pauses);
        let after = pauses.any();
        if before == after || self.revoked.is_set() {
            return Ok(());
        }
        let tpl = single(&self.topic, self.partition);
        if after {
            consumer.pause(&tpl)
        } else {
            consumer.resume(&tpl)
        }
    }

    /// Ends the assignment's part in the budget: bytes left out while paused count again
    /// until the inbox is dropped with the assignment.
    fn leave_budget(&self) {
        let mut pauses = lock(&self.pauses);
        if let Some(bytes) = pauses.paused_with.take() {
            self.inbox.budget().resumed(bytes);
        }
    }

    /// True once the task has exited.
    pub(crate) fn is_done(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Blocks the calling (poller) thread until the task has exited or `deadline` passes.
    pub(crate) fn wait_done_until(&self, deadline: Instant) -> bool {
        let mut done = lock(&self.done);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = match self.done_cv.wait_timeout(done, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }

    fn mark_done(&self) {
        *lock(&self.done) = true;
        self.finished.store(true, Ordering::Release);
        self.done_cv.notify_all();
    }
}

/// Marks the task done however it ends (return, panic, or abort at a forced shutdown).
pub(super) struct DoneGuard(pub(super) Arc<PartitionShared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.leave_budget();
        self.0.mark_done();
    }
}
