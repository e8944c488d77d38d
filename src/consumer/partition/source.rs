//! Where a partition task takes its messages from: its assignment's inbox, which the fetch
//! thread fills with runs of messages (see `fetched.rs`), through a queue of its own that keeps
//! the buffer's byte count right when a message goes back to the front of the line. Each
//! message is built here, on the task's thread, as the task takes it.
//!
//! The bytes of the messages taken to run leave the buffer's counts in lumps (a sixteenth of
//! the partition's share, and whatever is left once the task's queue runs empty) rather than
//! one message at a time: the counts are shared with the fetch thread and every other
//! partition, and updating them per message costs more than a no-op job. Until a lump is
//! released the partition counts a little more than it holds, never less, so the bounds hold.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{PartitionShared, PartitionTask};
use crate::consumer::fetched::{held_bytes, FetchedRun};
use crate::consumer::message::InboundMessage;

/// The messages a task has taken from its inbox and not yet run, in offset order. They still
/// count against the partition's share of the buffer budget until they leave to run.
pub(crate) struct Pending {
    /// Messages taken to run and put back, the first in line last.
    put_back: Vec<Arc<InboundMessage>>,
    /// Runs taken from the inbox, none empty.
    runs: VecDeque<FetchedRun>,
    /// Bytes of the messages taken to run that the buffer still counts.
    unreleased: usize,
    shared: Arc<PartitionShared>,
}

impl Pending {
    pub(crate) fn new(shared: Arc<PartitionShared>) -> Self {
        Pending {
            put_back: Vec::new(),
            runs: VecDeque::new(),
            unreleased: 0,
            shared,
        }
    }

    /// The next message to run, taken out of the buffer.
    pub(crate) fn pop_front(&mut self) -> Option<Arc<InboundMessage>> {
        if self.is_empty() {
            self.shared.inbox.drain_into(&mut self.runs);
        }
        let Some((m, held)) = self.take_next() else {
            self.release();
            return None;
        };
        self.unreleased += held;
        if self.is_empty() || self.unreleased >= self.shared.inbox.budget().share() / 16 {
            self.release();
        }
        Some(m)
    }

    fn take_next(&mut self) -> Option<(Arc<InboundMessage>, usize)> {
        if let Some(m) = self.put_back.pop() {
            let held = held_bytes(&m);
            return Some((m, held));
        }
        let run = self.runs.front_mut()?;
        let next = run.pop_front();
        if run.len() == 0 {
            self.runs.pop_front();
        }
        next
    }

    /// Puts a taken message back in front, to run later.
    pub(crate) fn push_front(&mut self, m: Arc<InboundMessage>) {
        let bytes = held_bytes(&m);
        match self.unreleased.checked_sub(bytes) {
            // Still counted: it was taken since the last release.
            Some(left) => self.unreleased = left,
            None => self.shared.inbox.put_back(bytes),
        }
        self.put_back.push(m);
    }

    /// Takes the bytes of the messages taken to run out of the buffer's counts.
    fn release(&mut self) {
        if self.unreleased > 0 {
            self.shared
                .inbox
                .taken(std::mem::take(&mut self.unreleased));
        }
    }

    /// True when nothing taken waits here (the inbox may have more).
    pub(crate) fn is_empty(&self) -> bool {
        self.put_back.is_empty() && self.runs.is_empty()
    }
}

impl PartitionTask {
    /// The next message of the partition, without waiting.
    pub(super) fn next_ready(&mut self) -> Option<Arc<InboundMessage>> {
        let m = self.buffered.pop_front();
        // Taking makes room: a partition paused for holding too much may fetch again.
        self.shared.unthrottle_if_room(&self.consumer);
        m
    }

    /// Waits until the partition may have a message (false: stop).
    pub(super) async fn wait_for_message(&mut self) -> bool {
        let signals = self.signals.clone();
        let shared = self.shared.clone();
        tokio::select! {
            biased;
            _ = signals.cancelled() => false,
            _ = shared.inbox.delivered() => true,
        }
    }
}
