//! Where a partition task takes its messages from: its assignment's inbox, which the fetch
//! thread fills (see `buffer.rs`), through a queue of its own that keeps the buffer's byte
//! count right when a message goes back to the front of the line.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{PartitionShared, PartitionTask};
use crate::consumer::message::InboundMessage;

/// The messages a task has taken from its inbox and not yet run, in offset order. They still
/// count against the partition's share of the buffer budget until they leave to run.
pub(crate) struct Pending {
    queue: VecDeque<Arc<InboundMessage>>,
    shared: Arc<PartitionShared>,
}

impl Pending {
    pub(crate) fn new(shared: Arc<PartitionShared>) -> Self {
        Pending {
            queue: VecDeque::new(),
            shared,
        }
    }

    /// The next message to run, taken out of the buffer.
    pub(crate) fn pop_front(&mut self) -> Option<Arc<InboundMessage>> {
        if self.queue.is_empty() {
            self.shared.inbox.drain_into(&mut self.queue);
        }
        let m = self.queue.pop_front()?;
        self.shared.inbox.taken(&m);
        Some(m)
    }

    /// Puts a taken message back in front, to run later.
    pub(crate) fn push_front(&mut self, m: Arc<InboundMessage>) {
        self.shared.inbox.put_back(&m);
        self.queue.push_front(m);
    }

    /// True when nothing taken waits here (the inbox may have more).
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
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
