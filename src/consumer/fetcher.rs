//! The fetch thread: takes the messages librdkafka fetched for every assigned partition from
//! the worker's one message queue, many per call, copies them out of librdkafka and delivers
//! them to their partitions' inboxes, pausing a partition that holds more than its share of
//! the buffer budget (see `buffer.rs`).
//!
//! Copying at once frees librdkafka's fetch buffers, which a message kept by librdkafka would
//! hold whole (one buffer serves all partitions of a fetch response).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use super::batch_queue::{MessageQueue, RawMessage, BATCH_MESSAGES};
use super::buffer::held_bytes;
use super::message::InboundMessage;
use super::poller::WorkerContext;

/// Longest wait for a message: bounds how late a stop is noticed if the wake-up is missed.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// Longest wait for room in the budget, should a wake-up be missed.
const ROOM_WAIT: Duration = Duration::from_millis(5);

/// The running fetch thread.
pub(crate) struct FetchThread {
    stop: Arc<AtomicBool>,
    queue: Arc<MessageQueue>,
    thread: JoinHandle<()>,
}

impl FetchThread {
    /// Starts reading `queue` for `consumer`'s partitions.
    pub(crate) fn start(
        consumer: Arc<BaseConsumer<WorkerContext>>,
        queue: Arc<MessageQueue>,
    ) -> std::io::Result<FetchThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, queue) = (stop.clone(), queue.clone());
            std::thread::Builder::new()
                .name("kafka-fetch".into())
                .spawn(move || run(&consumer, &queue, &stop))?
        };
        Ok(FetchThread {
            stop,
            queue,
            thread,
        })
    }

    /// Stops the thread and waits for it; messages it had taken and not delivered are dropped
    /// (their offsets were never stored, so they are fetched again after a restart).
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.queue.wake();
        self.thread.thread().unpark();
        if self.thread.join().is_err() {
            tracing::error!("the fetch thread panicked");
        }
    }
}

fn run(consumer: &BaseConsumer<WorkerContext>, queue: &MessageQueue, stop: &AtomicBool) {
    let mut raw = Vec::with_capacity(BATCH_MESSAGES);
    let mut messages = Vec::with_capacity(BATCH_MESSAGES);
    let mut sizes = BatchSizer::default();
    let budget = &consumer.context().shared.budget;
    budget.register_fetcher();
    while !stop.load(Ordering::Acquire) {
        if !budget.has_room() {
            // The partitions hold their half of the budget: wait for their jobs to make room
            // (a release that opens room wakes this thread); librdkafka's read-ahead fills
            // meanwhile and then stops fetching.
            std::thread::park_timeout(ROOM_WAIT);
            continue;
        }
        if queue.take(&mut raw, IDLE_WAIT, sizes.limit(budget.share())) == 0 {
            continue;
        }
        copy_out(&raw, &mut messages);
        sizes.observe(&messages);
        // Destroyed only now: while all of them live, equal topic handles mean equal topics.
        raw.clear();
        consumer.context().deliver(consumer, &mut messages);
    }
}

/// Sizes the batches taken from librdkafka so that one batch holds about a quarter of a
/// partition's share of the budget: a partition goes past its share by what one batch brought
/// it, so by at most a quarter (plus one message). Small messages come 64 at a time.
struct BatchSizer {
    /// Recent average of the bytes a message takes once copied.
    average: usize,
}

impl Default for BatchSizer {
    fn default() -> Self {
        // Until the first batch tells: a guess on the large side, so the first batches stay
        // small.
        BatchSizer { average: 4096 }
    }
}

impl BatchSizer {
    fn limit(&self, share: usize) -> usize {
        (share / 4 / self.average.max(1)).clamp(1, BATCH_MESSAGES)
    }

    fn observe(&mut self, batch: &[Arc<InboundMessage>]) {
        if batch.is_empty() {
            return;
        }
        let total: usize = batch.iter().map(|m| held_bytes(m)).sum();
        let average = total / batch.len();
        // Follows changes within a few batches without jumping on one odd batch.
        self.average = (self.average * 3 + average) / 4;
    }
}

/// Copies the messages of `raw` (skipping the errors librdkafka reports in place of
/// messages) to `into`, reading each topic's name once per batch.
fn copy_out(raw: &[RawMessage], into: &mut Vec<Arc<InboundMessage>>) {
    let mut topic: Option<(*const c_void, String)> = None;
    for m in raw {
        match m.error() {
            None => {}
            // Only with enable.partition.eof=true: nothing to do.
            Some(RDKafkaErrorCode::PartitionEOF) => continue,
            Some(error) => {
                tracing::warn!(partition = m.partition(), %error, "fetch error");
                continue;
            }
        }
        let handle = m.topic_handle();
        let name = match &mut topic {
            Some((h, name)) if *h == handle => name,
            slot => &slot.insert((handle, m.topic_name())).1,
        };
        into.push(Arc::new(m.to_inbound(name)));
    }
}
