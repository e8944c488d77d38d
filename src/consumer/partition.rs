//! One assigned partition: its shared state and the task that runs its jobs in order.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::config::{BadMessagePolicy, TopicConfig};
use super::failure::JobFailure;
use super::message::{Flag, InboundMessage, PartitionSignals};
use super::poller::Command;
use super::stats::WorkerStats;
use super::worker::WorkerShared;

/// A batch of messages of one partition, in offset order.
pub(crate) type Batch = Vec<Arc<InboundMessage>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    /// Messages handed to the task and not yet run.
    pub(crate) backlog: AtomicUsize,
    /// `true` once offsets of this assignment may no longer be stored (after revocation).
    store_closed: Mutex<bool>,
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
            backlog: AtomicUsize::new(0),
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
struct DoneGuard(Arc<PartitionShared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.mark_done();
    }
}

/// What happens after a failed run.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Retry(Duration),
    DeadLetter,
    Forward(String),
}

/// Runs the jobs of one partition assignment, one at a time, in offset order.
pub(crate) struct PartitionTask {
    shared: Arc<PartitionShared>,
    worker: Arc<WorkerShared>,
    topic: Arc<TopicConfig>,
    rx: mpsc::UnboundedReceiver<Batch>,
    signals: PartitionSignals,
    current: std::vec::IntoIter<Arc<InboundMessage>>,
    /// Next offset to store (last success + 1), not yet handed to librdkafka.
    pending_store: Option<i64>,
}

impl PartitionTask {
    pub(crate) fn new(
        shared: Arc<PartitionShared>,
        worker: Arc<WorkerShared>,
        topic: Arc<TopicConfig>,
        rx: mpsc::UnboundedReceiver<Batch>,
    ) -> Self {
        let signals = PartitionSignals::new(shared.revoked.clone(), worker.stopping.clone());
        PartitionTask {
            shared,
            worker,
            topic,
            rx,
            signals,
            current: Vec::new().into_iter(),
            pending_store: None,
        }
    }

    fn must_stop(&self) -> bool {
        self.shared.revoked.is_set() || self.worker.stopping.is_set()
    }

    /// Resolves when this partition must start no further job.
    async fn stop_requested(&self) {
        self.signals.cancelled().await
    }

    pub(crate) async fn run(mut self) {
        let _done = DoneGuard(self.shared.clone());
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            generation = self.shared.generation,
            "partition task started"
        );
        self.run_jobs().await;
        self.flush_store();
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            revoked = self.shared.revoked.is_set(),
            stopping = self.worker.stopping.is_set(),
            "partition task ended"
        );
    }

    /// The next message already delivered to this task, without waiting.
    fn next_ready(&mut self) -> Option<Arc<InboundMessage>> {
        loop {
            if let Some(m) = self.current.next() {
                return Some(m);
            }
            match self.rx.try_recv() {
                Ok(batch) => self.current = batch.into_iter(),
                Err(_) => return None,
            }
        }
    }

    async fn run_jobs(&mut self) {
        loop {
            // Wait for work (storing what is done first: the partition may idle for long).
            let mut first = self.next_ready();
            if first.is_none() {
                self.flush_store();
                let signals = self.signals.clone();
                let received = tokio::select! {
                    biased;
                    _ = signals.cancelled() => return,
                    b = self.rx.recv() => b,
                };
                match received {
                    Some(batch) => self.current = batch.into_iter(),
                    None => return,
                }
                first = self.next_ready();
            }
            let Some(mut message) = first else { continue };

            // One concurrency slot for up to `max_messages` jobs.
            let slots = self.worker.slots.clone();
            let permit = tokio::select! {
                biased;
                _ = self.stop_requested() => return,
                p = slots.acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let mut ran = 0usize;
            loop {
                if self.must_stop() {
                    return;
                }
                let completed = self.process(&message).await;
                ran += 1;
                if !completed {
                    return;
                }
                if ran >= self.worker.config.max_messages {
                    break;
                }
                match self.next_ready() {
                    Some(m) => message = m,
                    None => break,
                }
            }
            self.shared.backlog.fetch_sub(ran, Ordering::AcqRel);
            self.flush_store();
            drop(permit);
        }
    }

    /// Runs one message until it succeeds or is dead-lettered / forwarded. Returns false when it
    /// was left unfinished because the partition was revoked or the worker is stopping.
    async fn process(&mut self, message: &Arc<InboundMessage>) -> bool {
        let mut attempt: u32 = 0;
        loop {
            // Karafka counts the attempt before each run.
            attempt += 1;
            let failure = match self.run_handler(message).await {
                Ok(()) => {
                    self.pending_store = Some(message.offset + 1);
                    WorkerStats::add(&self.worker.stats.jobs_succeeded, 1);
                    return true;
                }
                Err(f) => f,
            };
            WorkerStats::add(&self.worker.stats.job_failures, 1);
            match self.next_after(&failure, attempt) {
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
                    if !self.pause_for(backoff).await {
                        return false;
                    }
                }
                Next::DeadLetter => {
                    return self.dead_letter(message, attempt, &failure).await;
                }
                Next::Forward(to) => {
                    return self.forward(message, &to, &failure).await;
                }
            }
        }
    }

    fn next_after(&self, failure: &JobFailure, attempt: u32) -> Next {
        let by_retries = || match &self.topic.dead_letter_queue {
            // Karafka: retry while attempt <= max_retries, then dispatch.
            Some(dlq) if attempt > dlq.max_retries => Next::DeadLetter,
            _ => Next::Retry(self.worker.config.pause.backoff(attempt)),
        };
        match failure.bad_message_kind() {
            None => by_retries(),
            Some(kind) => match self.topic.bad_messages.for_kind(kind) {
                BadMessagePolicy::Retry => by_retries(),
                BadMessagePolicy::DeadLetter => Next::DeadLetter,
                BadMessagePolicy::Forward(to) => Next::Forward(to.clone()),
            },
        }
    }

    /// Pauses the partition in librdkafka for `backoff`, then resumes it. False when revoked or
    /// stopping meanwhile (the partition then stays paused until it is given up).
    async fn pause_for(&mut self, backoff: Duration) -> bool {
        self.flush_store();
        self.command(Command::Pause);
        let interrupted = tokio::select! {
            biased;
            _ = self.stop_requested() => true,
            _ = tokio::time::sleep(backoff) => false,
        };
        if interrupted {
            return false;
        }
        self.command(Command::Resume);
        true
    }

    fn command(&self, make: fn(String, i32, u64) -> Command) {
        let cmd = make(
            self.shared.topic.clone(),
            self.shared.partition,
            self.shared.generation,
        );
        // The poller only goes away at the very end of a shutdown; nothing to do then.
        let _ = self.worker.commands.send(cmd);
    }

    async fn dead_letter(
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
        let mut tries: u32 = 0;
        loop {
            let result = match &self.worker.dispatcher {
                Some(d) => d.dead_letter(&dlq.topic, message, attempt).await,
                None => return false,
            };
            match result {
                Ok(to) => {
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
                    return true;
                }
                Err(error) => {
                    tries += 1;
                    tracing::error!(
                        topic = %message.topic,
                        partition = message.partition,
                        offset = message.offset,
                        %error,
                        "dead letter dispatch failed; retrying after backoff"
                    );
                    if !self
                        .pause_for(self.worker.config.pause.backoff(tries))
                        .await
                    {
                        return false;
                    }
                }
            }
        }
    }

    async fn forward(
        &mut self,
        message: &Arc<InboundMessage>,
        to_topic: &str,
        failure: &JobFailure,
    ) -> bool {
        let mut tries: u32 = 0;
        loop {
            let result = match &self.worker.dispatcher {
                Some(d) => d.forward(to_topic, message).await,
                None => return false,
            };
            match result {
                Ok(to) => {
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
                    return true;
                }
                Err(error) => {
                    tries += 1;
                    tracing::error!(
                        topic = %message.topic,
                        partition = message.partition,
                        offset = message.offset,
                        %error,
                        "forward failed; retrying after backoff"
                    );
                    if !self
                        .pause_for(self.worker.config.pause.backoff(tries))
                        .await
                    {
                        return false;
                    }
                }
            }
        }
    }

    /// One run of the handler; panics (while building or polling the future) are failures.
    async fn run_handler(&mut self, message: &Arc<InboundMessage>) -> Result<(), JobFailure> {
        let handler = &self.worker.handler;
        let signals = self.signals.clone();
        let future = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            handler.handle(message.clone(), signals)
        })) {
            Ok(f) => f,
            Err(panic) => return Err(JobFailure::from_panic(panic)),
        };
        let mut future = AssertUnwindSafe(future).catch_unwind();
        // A job that completes on its first poll needs no store of its own yet; one that waits
        // must not keep the previous jobs' offsets unstored while it does.
        let outcome = match futures::poll!(&mut future) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                self.flush_store();
                future.await
            }
        };
        outcome.unwrap_or_else(|panic| Err(JobFailure::from_panic(panic)))
    }

    /// Hands the pending offset to librdkafka (unless the partition has been given up).
    fn flush_store(&mut self) {
        let Some(next) = self.pending_store.take() else {
            return;
        };
        let closed = lock(&self.shared.store_closed);
        if *closed {
            tracing::debug!(
                topic = %self.shared.topic,
                partition = self.shared.partition,
                next_offset = next,
                "offset not stored: partition already given up"
            );
            return;
        }
        let Some(consumer) = self.worker.consumer.get().and_then(|w| w.upgrade()) else {
            return;
        };
        let mut tpl = TopicPartitionList::with_capacity(1);
        let result = tpl
            .add_partition_offset(
                &self.shared.topic,
                self.shared.partition,
                Offset::Offset(next),
            )
            .and_then(|()| consumer.store_offsets(&tpl));
        drop(closed);
        if let Err(error) = result {
            tracing::warn!(
                topic = %self.shared.topic,
                partition = self.shared.partition,
                next_offset = next,
                %error,
                "offset store failed"
            );
        }
    }
}
