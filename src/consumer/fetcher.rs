//! The fetch thread: takes the messages librdkafka fetched for every assigned partition from
//! the worker's one message queue, many per call, copies them out of librdkafka and delivers
//! them to their partitions' inboxes, pausing a partition that holds more than its share of
//! the buffer budget (see `buffer.rs`).
//!
//! Copying at once frees librdkafka's fetch buffers, which a message kept by librdkafka would
//! hold whole (one buffer serves all partitions of a fetch response). The copy is made per run
//! (the consecutive messages of one partition in a batch), into one buffer per run, and the
//! partition's task builds the messages from it (see `fetched.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use super::batch_queue::{MessageQueue, RawMessage, BATCH_MESSAGES};
use super::fetched::{FetchedRun, MessageParts, RunBuilder};
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
    let mut runs = Vec::new();
    let mut sizes = BatchSizer::default();
    let mut topics = TopicNames::default();
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
        copy_out(&mut raw, &mut topics, &mut runs);
        sizes.observe(&runs);
        raw.clear();
        consumer.context().deliver(consumer, &mut runs);
    }
}

/// Sizes the batches taken from librdkafka so that one batch holds about one partition's share
/// of the budget: a partition goes past its limit by what one batch brought it, so by at most
/// one share (plus one message), and the partitions together by as much. Small messages come
/// [`BATCH_MESSAGES`] at a time.
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
        (share / self.average.max(1)).clamp(1, BATCH_MESSAGES)
    }

    fn observe(&mut self, batch: &[FetchedRun]) {
        let messages: usize = batch.iter().map(FetchedRun::len).sum();
        if messages == 0 {
            return;
        }
        let total: usize = batch.iter().map(FetchedRun::held).sum();
        let average = total / messages;
        // Follows changes within a few batches without jumping on one odd batch.
        self.average = (self.average * 3 + average) / 4;
    }
}

/// Copies the messages of `raw` to `into`, in order, one run per partition's consecutive
/// messages, skipping (and destroying) the errors librdkafka reports in place of messages.
fn copy_out(raw: &mut Vec<RawMessage>, topics: &mut TopicNames, into: &mut Vec<FetchedRun>) {
    raw.retain(|m| match m.error() {
        None => true,
        // Only with enable.partition.eof=true: nothing to do.
        Some(RDKafkaErrorCode::PartitionEOF) => false,
        Some(error) => {
            tracing::warn!(partition = m.partition(), %error, "fetch error");
            false
        }
    });
    let mut rest = &raw[..];
    while let Some(first) = rest.first() {
        // While all of them live, equal topic handles mean equal topics.
        let run = rest
            .iter()
            .take_while(|m| m.partition() == first.partition())
            .take_while(|m| m.topic_handle() == first.topic_handle())
            .count();
        into.push(copy_run(&rest[..run], topics.of(first), first.partition()));
        rest = &rest[run..];
    }
}

/// Copies `run`, messages of `topic`/`partition`.
fn copy_run(run: &[RawMessage], topic: Arc<str>, partition: i32) -> FetchedRun {
    let size: usize = run
        .iter()
        .map(|m| m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len))
        .sum();
    let mut builder = RunBuilder::with_capacity(run.len(), size);
    for m in run {
        builder.push(MessageParts {
            offset: m.offset(),
            key: m.key(),
            payload: m.payload(),
            headers: m.headers(),
            timestamp_ms: m.timestamp_ms(),
        });
    }
    builder.finish(topic, partition)
}

/// The names of the topics the fetch thread has seen, one shared copy each.
#[derive(Default)]
struct TopicNames(Vec<Arc<str>>);

impl TopicNames {
    /// The shared name of `m`'s topic.
    fn of(&mut self, m: &RawMessage) -> Arc<str> {
        let name = m.topic_name();
        if let Some(known) = self.0.iter().find(|t| ***t == *name) {
            return known.clone();
        }
        let name: Arc<str> = Arc::from(&*name);
        self.0.push(name.clone());
        name
    }
}
