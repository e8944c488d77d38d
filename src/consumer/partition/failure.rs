//! A failed run: the partition pauses, waits its backoff and runs the same message again, or
//! the message goes to the dead letter queue or another topic (see [`policy`](super::policy)).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::CommitMode;

use super::policy::{next_after, Next};
use super::PartitionTask;
use crate::consumer::failure::JobFailure;
use crate::consumer::message::InboundMessage;
use crate::consumer::observer::{FinishedJob, PauseReason};
use crate::consumer::poller::commit;
use crate::consumer::stats::WorkerStats;

impl PartitionTask {
    /// Runs one message until it succeeds or is dead-lettered / forwarded. Returns false when it
    /// was left unfinished because the partition was revoked or the worker is stopping.
    ///
    /// `prior` is a failed first run that already happened (in a virtual partition): it counts
    /// as attempt 1, and the message is not run again before the backoff.
    pub(super) async fn process(
        &mut self,
        message: &Arc<InboundMessage>,
        mut prior: Option<JobFailure>,
    ) -> bool {
        let mut attempt: u32 = 0;
        loop {
            // Karafka counts the attempt before each run.
            attempt += 1;
            let failure = match prior.take() {
                Some(f) => f,
                None => {
                    if !self.acquire_slot().await {
                        return false;
                    }
                    let started = self.worker.observer.as_ref().map(|_| Instant::now());
                    let outcome = self.run_handler(message).await;
                    if let (Some(o), Some(started)) = (&self.worker.observer, started) {
                        o.job_finished(&FinishedJob {
                            message,
                            topic: &message.topic,
                            partition: message.partition,
                            offset: message.offset,
                            attempt,
                            outcome: outcome.as_ref().map(|_| ()),
                            duration: started.elapsed(),
                        });
                    }
                    match outcome {
                        Ok(()) => {
                            self.pending_store = Some(message.offset + 1);
                            // Counted with the store: one shared atomic per batch, not per job.
                            self.pending_successes += 1;
                            return true;
                        }
                        Err(f) => {
                            WorkerStats::add(&self.worker.stats.job_failures, 1);
                            f
                        }
                    }
                }
            };
            let pause = self.worker.config.pause_for(&self.topic);
            let next = next_after(&self.topic, pause, &failure, attempt);
            if matches!(next, Next::DeadLetter | Next::Forward(_)) && self.shared.is_given_up() {
                // Karafka 2.6 skips the dispatch too: the new owner runs the job again and
                // dead-letters it itself, so dispatching here would make a duplicate.
                tracing::warn!(
                    topic = %message.topic,
                    partition = message.partition,
                    offset = message.offset,
                    attempt,
                    reason = %failure,
                    "job failed after its partition was given up; left to the new owner"
                );
                return false;
            }
            match next {
                Next::Retry(backoff) => {
                    tracing::warn!(
                        topic = %message.topic,
                        partition = message.partition,
                        offset = message.offset,
                        attempt,
                        backoff_ms = backoff.as_millis() as u64,
                        reason = %failure,
                        "job failed; pausing the partition and retrying"
                    );
                    if !self.pause_for(backoff, PauseReason::Retry).await {
                        return false;
                    }
                }
                Next::DeadLetter => {
                    return self.dead_letter(message, attempt, &failure).await;
                }
                Next::Forward(to) => {
                    return self.forward(message, &to, &failure).await;
                }
                Next::Discard => {
                    self.discarded(message, &failure);
                    self.pending_store = Some(message.offset + 1);
                    return true;
                }
            }
        }
    }

    /// Counts and logs a message whose job class discards its error (`discard_on`); the caller
    /// marks it consumed.
    pub(super) fn discarded(&self, message: &InboundMessage, failure: &JobFailure) {
        tracing::info!(
            topic = %message.topic,
            partition = message.partition,
            offset = message.offset,
            reason = %failure,
            "job discarded (discard_on); marked consumed"
        );
        WorkerStats::add(&self.worker.stats.discarded, 1);
    }

    /// Pauses the partition in librdkafka for `backoff`, without a concurrency slot, then
    /// resumes it. False when revoked or stopping meanwhile (the partition then stays paused
    /// until it is given up).
    ///
    /// The pause drops what librdkafka had prefetched for the partition; on resume it fetches
    /// again from after the last message taken, i.e. after the failed one, which this task
    /// still holds and runs again itself.
    pub(super) async fn pause_for(&mut self, backoff: Duration, reason: PauseReason) -> bool {
        self.flush_store();
        // A paused partition runs nothing: its slot goes to one that can.
        self.slot = None;
        self.set_paused(true, reason);
        let signals = self.signals.clone();
        let interrupted = tokio::select! {
            biased;
            _ = signals.cancelled() => true,
            _ = tokio::time::sleep(backoff) => false,
        };
        if interrupted {
            return false;
        }
        self.set_paused(false, reason);
        true
    }

    /// librdkafka pause / resume, each followed by an asynchronous commit (Karafka's
    /// `client.pause` / `client.resume`).
    fn set_paused(&mut self, paused: bool, reason: PauseReason) {
        if self.shared.revoked.is_set() {
            return;
        }
        if paused != self.paused {
            self.paused = paused;
            let (topic, partition) = (&self.shared.topic, self.shared.partition);
            if paused {
                WorkerStats::add(&self.worker.stats.paused_partitions, 1);
                if let Some(o) = &self.worker.observer {
                    o.partition_paused(topic, partition, reason);
                }
            } else {
                WorkerStats::sub(&self.worker.stats.paused_partitions, 1);
                if let Some(o) = &self.worker.observer {
                    o.partition_resumed(topic, partition);
                }
            }
        }
        let (topic, partition) = (&self.shared.topic, self.shared.partition);
        match self.shared.set_task_pause(&self.consumer, paused) {
            Ok(()) => tracing::debug!(topic = %topic, partition, paused, "partition pause changed"),
            Err(error) => {
                tracing::warn!(topic = %topic, partition, paused, %error, "pause/resume failed")
            }
        }
        commit(
            &self.consumer,
            CommitMode::Async,
            if paused { "pause" } else { "resume" },
        );
    }
}
