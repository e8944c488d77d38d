//! Where a partition task takes its messages from: the partition's own librdkafka queue, read
//! in batches, or (when the queue could not be split) what the poller hands over.

use std::collections::VecDeque;
use std::sync::Arc;

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::BaseConsumer;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{mpsc, Notify};

use super::{Batch, PartitionTask};
use crate::consumer::batch_queue::{BatchQueue, RawMessage};
use crate::consumer::message::InboundMessage;
use crate::consumer::poller::WorkerContext;

/// Where a partition task takes its messages from.
pub(crate) struct Source {
    /// Messages taken from the queue and not yet handed out. Declared first so they are
    /// destroyed before the handles that keep the consumer alive.
    pending: VecDeque<RawMessage>,
    /// A second handle on `queue`, read in batches.
    batch: Option<BatchQueue>,
    /// The partition's own librdkafka queue (split from the consumer queue before the
    /// partition was assigned), with the waker its non-empty callback pokes. Read through
    /// `batch`; held for the split and the callback.
    pub(crate) queue: Option<(PartitionQueue<WorkerContext>, Arc<Notify>)>,
    /// Messages the poller received for this partition on the consumer queue: only when the
    /// queue could not be split.
    pub(crate) fallback: mpsc::UnboundedReceiver<Batch>,
}

impl Source {
    /// Splits `topic`/`partition` off the consumer queue.
    pub(crate) fn new(
        consumer: &Arc<BaseConsumer<WorkerContext>>,
        topic: &str,
        partition: i32,
        fallback: mpsc::UnboundedReceiver<Batch>,
    ) -> Self {
        // The batch handle first: without it the queue must not be split, or its messages
        // would have no reader.
        let split = BatchQueue::new(consumer, topic, partition).and_then(|batch| {
            let mut queue = consumer.split_partition_queue(topic, partition)?;
            let wake = Arc::new(Notify::new());
            let w = wake.clone();
            // Runs on a librdkafka thread with the queue locked: only wake the task.
            queue.set_nonempty_callback(move || w.notify_one());
            Some((batch, (queue, wake)))
        });
        let (batch, queue) = match split {
            Some((batch, queue)) => (Some(batch), Some(queue)),
            None => {
                tracing::warn!(
                    topic,
                    partition,
                    "partition queue not split; messages come through the poller"
                );
                (None, None)
            }
        };
        Source {
            pending: VecDeque::new(),
            batch,
            queue,
            fallback,
        }
    }
}

impl PartitionTask {
    /// The next message of the partition, without waiting.
    pub(super) fn next_ready(&mut self) -> Option<Arc<InboundMessage>> {
        if let Some(m) = self.buffered.pop_front() {
            return Some(m);
        }
        if let Some(batch) = self.source.batch.as_ref() {
            loop {
                let Some(m) = self.source.pending.pop_front() else {
                    if batch.take(&mut self.source.pending) == 0 {
                        break;
                    }
                    continue;
                };
                match m.error() {
                    None => return Some(Arc::new(m.to_inbound(&self.shared.topic))),
                    // Only with enable.partition.eof=true: nothing to do.
                    Some(RDKafkaErrorCode::PartitionEOF) => {}
                    Some(error) => tracing::warn!(
                        topic = %self.shared.topic,
                        partition = self.shared.partition,
                        %error,
                        "partition queue error"
                    ),
                }
            }
        }
        // Messages the poller received for this partition: none while the queue is split.
        while let Ok(batch) = self.source.fallback.try_recv() {
            self.buffered.extend(batch);
        }
        self.buffered.pop_front()
    }

    /// Waits until the partition may have a message (false: stop).
    pub(super) async fn wait_for_message(&mut self) -> bool {
        let signals = self.signals.clone();
        let wake = self.source.queue.as_ref().map(|(_, w)| w.clone());
        let woken = async {
            match &wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        let fallback_open = self.fallback_open;
        let fallback = &mut self.source.fallback;
        let from_poller = async {
            if fallback_open {
                fallback.recv().await
            } else {
                std::future::pending().await
            }
        };
        tokio::select! {
            biased;
            _ = signals.cancelled() => false,
            _ = woken => true,
            batch = from_poller => {
                match batch {
                    Some(b) => self.buffered.extend(b),
                    None => self.fallback_open = false,
                }
                true
            }
        }
    }
}
