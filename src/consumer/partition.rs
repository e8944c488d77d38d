//! One assigned partition: its shared state and the task that runs its jobs in order.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, Notify};

use super::batch_queue::{BatchQueue, RawMessage};
use super::config::{BadMessagePolicy, TopicConfig};
use super::dispatch::{Delivered, DispatchError, Dispatcher};
use super::failure::JobFailure;
use super::message::{Flag, InboundMessage, PartitionSignals};
use super::observer::{FinishedJob, PauseReason};
use super::poller::{commit, single, WorkerContext};
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
    fn is_given_up(&self) -> bool {
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

/// Runs the jobs of one partition assignment: one at a time in offset order, or spread over
/// virtual partitions (`partition_vp.rs`).
pub(crate) struct PartitionTask {
    pub(super) shared: Arc<PartitionShared>,
    pub(super) worker: Arc<WorkerShared>,
    consumer: Arc<BaseConsumer<WorkerContext>>,
    pub(super) topic: Arc<TopicConfig>,
    source: Source,
    fallback_open: bool,
    pub(super) buffered: VecDeque<Arc<InboundMessage>>,
    pub(super) signals: PartitionSignals,
    /// Next offset to store (last success + 1), not yet handed to librdkafka.
    pub(super) pending_store: Option<i64>,
    /// Successes not yet added to the worker's counters.
    pub(super) pending_successes: u64,
    /// True while this task has the partition paused in librdkafka.
    paused: bool,
    /// `scheduled_at` of the message at this offset, already read (`hold_until_scheduled`).
    peeked_schedule: Option<(i64, Option<SystemTime>)>,
}

impl PartitionTask {
    pub(crate) fn new(
        shared: Arc<PartitionShared>,
        worker: Arc<WorkerShared>,
        consumer: Arc<BaseConsumer<WorkerContext>>,
        topic: Arc<TopicConfig>,
        source: Source,
    ) -> Self {
        let signals = PartitionSignals::new(shared.revoked.clone(), worker.stopping.clone());
        PartitionTask {
            shared,
            worker,
            consumer,
            topic,
            source,
            fallback_open: true,
            buffered: VecDeque::new(),
            signals,
            pending_store: None,
            pending_successes: 0,
            paused: false,
            peeked_schedule: None,
        }
    }

    pub(super) fn must_stop(&self) -> bool {
        self.shared.revoked.is_set() || self.worker.stopping.is_set()
    }

    pub(crate) async fn run(mut self) {
        let _done = DoneGuard(self.shared.clone());
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            generation = self.shared.generation,
            "partition task started"
        );
        match self.topic.virtual_partitions.clone() {
            // Karafka does not virtualize with a single group either.
            Some(vp) if vp.max_partitions > 1 => self.run_virtual(vp).await,
            _ => self.run_jobs().await,
        }
        self.flush_store();
        if self.paused {
            // Given up while paused: the pause ends with the assignment.
            self.paused = false;
            WorkerStats::sub(&self.worker.stats.paused_partitions, 1);
            if let Some(o) = &self.worker.observer {
                o.partition_resumed(&self.shared.topic, self.shared.partition);
            }
        }
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            revoked = self.shared.revoked.is_set(),
            stopping = self.worker.stopping.is_set(),
            "partition task ended"
        );
    }

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

    async fn run_jobs(&mut self) {
        let hold = self.topic.hold_until_scheduled;
        loop {
            let first = match self.next_ready() {
                Some(m) => m,
                None => {
                    // The partition may idle for long: store and commit what is done first.
                    self.flush_store_ran_dry();
                    if !self.wait_for_message().await {
                        return;
                    }
                    continue;
                }
            };
            if hold {
                if let Some(due) = self.not_due(&first) {
                    // Waits without a concurrency slot; the message stays first in line.
                    self.buffered.push_front(first);
                    if !self.hold_until(due).await {
                        return;
                    }
                    continue;
                }
            }

            if !self.wait_for_commits().await {
                return;
            }
            // One concurrency slot for up to `max_messages` jobs.
            let slots = self.worker.slots.clone();
            let signals = self.signals.clone();
            let permit = tokio::select! {
                biased;
                _ = signals.cancelled() => return,
                p = slots.acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let mut message = first;
            let mut ran = 0usize;
            loop {
                if self.must_stop() {
                    return;
                }
                if !self.process(&message, None).await {
                    return;
                }
                ran += 1;
                if ran >= self.worker.config.max_messages {
                    break;
                }
                if self.worker.commits.is_holding() {
                    // Commits do not get through: the outer loop waits, without the slot.
                    break;
                }
                match self.next_ready() {
                    Some(m) => message = m,
                    None => break,
                }
                if hold && self.not_due(&message).is_some() {
                    // Held outside the slot, by the outer loop.
                    self.buffered.push_front(message);
                    break;
                }
            }
            self.flush_store();
            drop(permit);
        }
    }

    /// Waits while the worker holds new jobs because offset commits do not get through (see
    /// [`CommitState`](super::CommitState)). False when revoked or stopping meanwhile.
    pub(super) async fn wait_for_commits(&mut self) -> bool {
        if !self.worker.commits.is_holding() {
            return true;
        }
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            "waiting for offset commits to succeed before the next job"
        );
        let commits = self.worker.commits.clone();
        let signals = self.signals.clone();
        tokio::select! {
            biased;
            _ = signals.cancelled() => false,
            _ = commits.wait_until_released() => true,
        }
    }

    /// When `message` must wait for its `scheduled_at`: the time it is due, if in the future.
    pub(super) fn not_due(&mut self, message: &InboundMessage) -> Option<SystemTime> {
        let at = match self.peeked_schedule {
            Some((offset, at)) if offset == message.offset => at,
            _ => {
                let at = message.payload.as_deref().and_then(|p| {
                    let format = self.worker.payload_format.as_deref();
                    super::peek::peek(p, format, false).scheduled_at
                });
                self.peeked_schedule = Some((message.offset, at));
                at
            }
        };
        at.filter(|due| *due > SystemTime::now())
    }

    /// Keeps the partition paused in librdkafka until `due` (wall clock), then resumes it.
    /// False when revoked or stopping meanwhile.
    pub(super) async fn hold_until(&mut self, due: SystemTime) -> bool {
        let wait = due
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            wait_ms = wait.as_millis() as u64,
            "next job is scheduled later; holding the partition"
        );
        self.pause_for(wait, PauseReason::Scheduled).await
    }

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
            let next = self.next_after(&failure, attempt);
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
    ///
    /// The pause drops what librdkafka had prefetched for the partition; on resume it fetches
    /// again from after the last message taken, i.e. after the failed one, which this task
    /// still holds and runs again itself.
    pub(super) async fn pause_for(&mut self, backoff: Duration, reason: PauseReason) -> bool {
        self.flush_store();
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
        let tpl = single(topic, partition);
        let result = if paused {
            self.consumer.pause(&tpl)
        } else {
            self.consumer.resume(&tpl)
        };
        match result {
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
                self.worker.config.pause.timeout,
                PauseReason::AfterDeadLetter,
            )
            .await;
        true
    }

    async fn forward(
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
                    let backoff = self.worker.config.pause.backoff(tries);
                    if !self.pause_for(backoff, PauseReason::DispatchRetry).await {
                        return None;
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

    /// [`flush_store`](Self::flush_store) at the end of a batch, when the partition has nothing
    /// more to run: the offsets are committed without waiting for the commit interval.
    pub(super) fn flush_store_ran_dry(&mut self) {
        if self.flush_store() {
            self.worker.commits.stored_and_ran_dry();
        }
    }

    /// Hands the pending offset to librdkafka (unless the partition has been given up). True
    /// when an offset was stored; the poller commits it within the commit interval.
    pub(super) fn flush_store(&mut self) -> bool {
        if self.pending_successes > 0 {
            WorkerStats::add(
                &self.worker.stats.jobs_succeeded,
                std::mem::take(&mut self.pending_successes),
            );
        }
        let Some(next) = self.pending_store.take() else {
            return false;
        };
        let closed = lock(&self.shared.store_closed);
        if *closed {
            tracing::debug!(
                topic = %self.shared.topic,
                partition = self.shared.partition,
                next_offset = next,
                "offset not stored: partition already given up"
            );
            return false;
        }
        let mut tpl = TopicPartitionList::with_capacity(1);
        let result = tpl
            .add_partition_offset(
                &self.shared.topic,
                self.shared.partition,
                Offset::Offset(next),
            )
            .and_then(|()| self.consumer.store_offsets(&tpl));
        drop(closed);
        match result {
            Ok(()) => {
                self.worker.commits.stored();
                true
            }
            Err(error) => {
                tracing::warn!(
                    topic = %self.shared.topic,
                    partition = self.shared.partition,
                    next_offset = next,
                    %error,
                    "offset store failed"
                );
                false
            }
        }
    }
}
