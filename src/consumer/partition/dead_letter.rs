//! Copies of a message to another topic: a dead letter, or a forward of an unknown job class.
//! The message's offset is marked only once the broker has acknowledged its copy.

use std::sync::Arc;

use super::PartitionTask;
use crate::consumer::dispatch::{Delivered, DispatchError, Dispatcher};
use crate::consumer::failure::JobFailure;
use crate::consumer::message::InboundMessage;
use crate::consumer::observer::PauseReason;
use crate::consumer::stats::WorkerStats;

impl PartitionTask {
    pub(super) async fn dead_letter(
        &mut self,
        message: &Arc<InboundMessage>,
        attempt: u32,
        failure: &JobFailure,
    ) -> bool {
        let Some(dlq) = self.topic.dead_letter_queue.clone() else {
            // Excluded by WorkerConfig::validate.
            tracing::error!(topic = %message.topic, "dead letter requested without a DLQ topic");
            return false;
        };
        let dlq_topic = dlq.topic.as_str();
        let Some(to) = self
            .copy_until_acked(message, "dead letter dispatch", move |d| async move {
                d.dead_letter(dlq_topic, message, attempt).await
            })
            .await
        else {
            return false;
        };
        tracing::warn!(
            topic = %message.topic,
            partition = message.partition,
            offset = message.offset,
            attempts = attempt,
            reason = %failure,
            dlq_topic = %dlq.topic,
            dlq_partition = to.partition,
            dlq_offset = to.offset,
            "job sent to the dead letter queue"
        );
        WorkerStats::add(&self.worker.stats.dead_lettered, 1);
        self.pending_store = Some(message.offset + 1);
        if let Some(o) = &self.worker.observer {
            o.dead_lettered(message, failure);
        }
        // Karafka pauses after a dispatch, with the pause tracker reset: one `pause.timeout`,
        // then consumption goes on after the dead letter. Cut short by a revocation or
        // shutdown, the dead letter is still marked.
        let _ = self
            .pause_for(
                self.worker.config.pause_for(&self.topic).timeout,
                PauseReason::AfterDeadLetter,
            )
            .await;
        true
    }

    pub(super) async fn forward(
        &mut self,
        message: &Arc<InboundMessage>,
        to_topic: &str,
        failure: &JobFailure,
    ) -> bool {
        let Some(to) = self
            .copy_until_acked(message, "forward", move |d| async move {
                d.forward(to_topic, message).await
            })
            .await
        else {
            return false;
        };
        tracing::info!(
            topic = %message.topic,
            partition = message.partition,
            offset = message.offset,
            reason = %failure,
            forward_topic = to_topic,
            forward_partition = to.partition,
            forward_offset = to.offset,
            "message forwarded"
        );
        WorkerStats::add(&self.worker.stats.forwarded, 1);
        self.pending_store = Some(message.offset + 1);
        if let Some(o) = &self.worker.observer {
            o.forwarded(message, failure);
        }
        true
    }

    /// Produces a copy of `message` (a dead letter or a forward) until the broker acknowledges
    /// it, backing off between tries as after a failed job: the message's offset may only be
    /// marked once its copy is safe. `None` when the worker has no producer or a revocation or
    /// shutdown cut the wait short.
    async fn copy_until_acked<F, Fut>(
        &mut self,
        message: &InboundMessage,
        what: &'static str,
        produce: F,
    ) -> Option<Delivered>
    where
        F: Fn(Arc<Dispatcher>) -> Fut,
        Fut: std::future::Future<Output = Result<Delivered, DispatchError>>,
    {
        let dispatcher = self.worker.dispatcher.clone()?;
        let mut tries: u32 = 0;
        loop {
            match produce(dispatcher.clone()).await {
                Ok(to) => return Some(to),
                Err(error) => {
                    tries += 1;
                    tracing::error!(
                        topic = %message.topic,
                        partition = message.partition,
                        offset = message.offset,
                        %error,
                        "{what} failed; retrying after backoff"
                    );
                    let backoff = self.worker.config.pause_for(&self.topic).backoff(tries);
                    if !self.pause_for(backoff, PauseReason::DispatchRetry).await {
                        return None;
                    }
                }
            }
        }
    }
}
