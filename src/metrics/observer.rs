//! The worker observer behind [`Metrics::attach`](super::Metrics::attach): dead letters,
//! forwards, paused partitions, consumer lag and the poller's heartbeat.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus::IntCounterVec;

use super::labels::class_label_in;
use super::Metrics;
use crate::consumer::{InboundMessage, JobFailure};
use crate::payload_format::PayloadFormat;

/// Receives the worker's own events for [`Metrics`].
pub(super) struct MetricsObserver {
    pub(super) metrics: Metrics,
    /// The worker's payload format, for the class labels of the messages it copies.
    pub(super) payload_format: Option<Arc<dyn PayloadFormat>>,
}

impl MetricsObserver {
    /// Counts a message copied elsewhere (dead letter or forward): its attempts end here.
    fn copied(&self, counter: &IntCounterVec, message: &InboundMessage) {
        counter
            .with_label_values(&[
                class_label_in(message, self.payload_format.as_deref()).as_str(),
                &message.topic,
            ])
            .inc();
        self.metrics
            .inner
            .attempts
            .lock()
            .expect("attempts lock")
            .remove(&(message.topic.clone(), message.partition, message.offset));
    }
}

impl crate::consumer::WorkerObserver for MetricsObserver {
    fn dead_lettered(&self, message: &InboundMessage, _failure: &JobFailure) {
        self.copied(&self.metrics.inner.dead_lettered, message);
    }

    fn forwarded(&self, message: &InboundMessage, _failure: &JobFailure) {
        self.copied(&self.metrics.inner.forwarded, message);
    }

    fn partition_paused(&self, topic: &str, partition: i32, _reason: crate::consumer::PauseReason) {
        let i = &self.metrics.inner;
        let mut set = i.paused_set.lock().expect("paused lock");
        set.insert((topic.to_owned(), partition), ());
        i.partition_paused
            .with_label_values(&[topic, &partition.to_string()])
            .set(1);
        i.paused.set(set.len() as i64);
    }

    fn partition_resumed(&self, topic: &str, partition: i32) {
        let i = &self.metrics.inner;
        let mut set = i.paused_set.lock().expect("paused lock");
        set.remove(&(topic.to_owned(), partition));
        i.partition_paused
            .with_label_values(&[topic, &partition.to_string()])
            .set(0);
        i.paused.set(set.len() as i64);
    }

    fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        let i = &self.metrics.inner;
        // Partitions no longer assigned drop out instead of keeping a stale lag.
        i.lag.reset();
        for (topic, partition, lag) in lags {
            i.lag
                .with_label_values(&[topic.as_str(), &partition.to_string()])
                .set(*lag);
        }
    }

    fn statistics(&self, _json: &[u8]) {
        let h = &self.metrics.inner.health;
        h.last_poll_ms.store(h.now_ms().max(1), Ordering::Relaxed);
    }
}
