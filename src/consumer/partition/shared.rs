//! State of one assignment of one partition, shared by the poller and the partition's task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::consumer::message::Flag;

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
}

impl PartitionShared {
    pub(crate) fn new(topic: String, partition: i32, generation: u64) -> Self {
        PartitionShared {
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
        self.0.mark_done();
    }
}
