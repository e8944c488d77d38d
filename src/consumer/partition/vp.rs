//! The loop of a partition task whose topic has virtual partitions (see the module docs,
//! "Virtual partitions").
//!
//! Everything runs on the partition's own task: the task takes messages in offset order, puts
//! each in the queue of its group, and keeps one job per group running, all polled together
//! (a `FuturesUnordered`); the offset bookkeeping therefore needs no lock. Jobs that wait
//! (I/O, timers) overlap; CPU-heavy work belongs on the blocking pool
//! ([`blocking`](crate::consumer::blocking)), where it runs in parallel.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::PartitionTask;
use crate::consumer::failure::JobFailure;
use crate::consumer::message::InboundMessage;
use crate::consumer::observer::FinishedJob;
use crate::consumer::peek::{peek, Peeked};
use crate::consumer::stats::WorkerStats;
use crate::consumer::virtual_partitions::{
    reduce, OffsetTracker, VirtualPartitioner, VirtualPartitions,
};

/// Jobs taken from a partition and not finished may be at most this many times the number of
/// groups (and at least `max_messages`, Karafka's batch): enough that an idle group rarely waits
/// for the next message of its key to be read, few enough that a failure or a shutdown has
/// little queued work to finish.
const QUEUED_PER_GROUP: usize = 8;
/// Offsets taken past the first unfinished one (done or not) may be at most this many times
/// the window above: a job that runs long holds the stored offset back, and everything done
/// behind it would run again after a crash.
const HELD_PER_WINDOW: usize = 10;

/// One run of one job of a group.
struct Done {
    group: usize,
    message: Arc<InboundMessage>,
    outcome: Result<(), JobFailure>,
    duration: Duration,
}

/// The groups of one assignment and what they hold.
struct Groups {
    /// Taken, not started, per group, in offset order.
    queues: Vec<VecDeque<Arc<InboundMessage>>>,
    /// A job of the group is running.
    busy: Vec<bool>,
    /// A job of the group failed: the group starts nothing more until the collapse.
    failed: Vec<bool>,
    running: FuturesUnordered<BoxFuture<'static, Done>>,
    offsets: OffsetTracker,
    /// Taken and neither succeeded nor dead-lettered (queued, running or failed).
    unfinished: usize,
    /// Failed runs waiting for the collapsed retry.
    failures: Vec<(Arc<InboundMessage>, JobFailure)>,
    /// Highest offset taken in this assignment: anything at or below it that shows up again is
    /// dropped (Karafka's `VirtualLimiter`: no job runs twice in one assignment).
    last_taken: Option<i64>,
    /// The next message must wait for its `scheduled_at`: take nothing until then.
    hold: Option<SystemTime>,
    /// What was read from the payload of the message at this offset.
    peeked: Option<(i64, Peeked)>,
    /// Messages taken since the concurrency slot was acquired.
    taken_in_turn: usize,
    /// Take nothing more; give the slot back once what is taken has finished.
    yielding: bool,
}

impl Groups {
    fn new(n: usize) -> Self {
        Groups {
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            busy: vec![false; n],
            failed: vec![false; n],
            running: FuturesUnordered::new(),
            offsets: OffsetTracker::default(),
            unfinished: 0,
            failures: Vec::new(),
            last_taken: None,
            hold: None,
            peeked: None,
            taken_in_turn: 0,
            yielding: false,
        }
    }
}

impl PartitionTask {
    /// Runs the partition's jobs over `vp.max_partitions` groups until the partition is revoked
    /// or the worker stops. Returns only when no job of the partition is running.
    pub(super) async fn run_virtual(&mut self, vp: VirtualPartitions) {
        let n = vp.max_partitions;
        let window = self
            .worker
            .config
            .max_messages_for(&self.topic)
            .max(QUEUED_PER_GROUP * n);
        let held_limit = window * HELD_PER_WINDOW;
        let mut g = Groups::new(n);
        loop {
            let revoked = self.shared.revoked.is_set();
            let stopping = self.worker.stopping.is_set();
            let may_take = self.slot.is_some()
                && !revoked
                && !stopping
                && !g.yielding
                && g.failures.is_empty()
                && g.hold.is_none()
                && !self.worker.commits.is_holding();
            if may_take {
                self.take(&mut g, &vp, window, held_limit);
            }
            if g.running.is_empty() {
                // Every group is idle; only a failed group can still have queued jobs.
                if !g.failures.is_empty() {
                    if revoked || stopping || !self.collapse(&mut g).await {
                        break;
                    }
                    continue;
                }
                if revoked || stopping {
                    break;
                }
                self.flush_store_ran_dry();
                if g.yielding {
                    g.yielding = false;
                    self.slot = None;
                }
                if let Some(due) = g.hold.take() {
                    // Wait without the slot; the message stays first in line.
                    self.slot = None;
                    if !self.hold_until(due).await {
                        break;
                    }
                    continue;
                }
                if self.worker.commits.is_holding() {
                    // Commits do not get through: start nothing, and hold no slot meanwhile.
                    self.slot = None;
                    if !self.wait_for_commits().await {
                        break;
                    }
                    continue;
                }
                if self.peek_ready() {
                    if self.slot.is_none() {
                        if !self.acquire_slot().await {
                            break;
                        }
                        g.taken_in_turn = 0;
                    }
                    continue;
                }
                // Idle: hand the slot over while there is nothing to run.
                self.slot = None;
                if !self.wait_for_message().await {
                    break;
                }
                continue;
            }
            let room = may_take && g.unfinished < window && g.offsets.held() < held_limit;
            let done = tokio::select! {
                biased;
                d = g.running.next() => d,
                // Woken by a new message (or a stop, seen at the top of the loop).
                _ = self.wait_for_message(), if room => None,
            };
            if let Some(d) = done {
                self.finished(&mut g, d);
            }
            while let Some(Some(d)) = g.running.next().now_or_never() {
                self.finished(&mut g, d);
            }
            self.flush_store();
        }
    }

    /// True when a message is ready (it is kept first in line).
    fn peek_ready(&mut self) -> bool {
        if self.buffered.is_empty() {
            if let Some(m) = self.next_ready() {
                self.buffered.push_front(m);
            }
        }
        !self.buffered.is_empty()
    }

    /// Takes ready messages into their groups' queues and starts idle groups.
    fn take(&mut self, g: &mut Groups, vp: &VirtualPartitions, window: usize, held_limit: usize) {
        let hold = self.topic.hold_until_scheduled;
        let by_argument = matches!(vp.partitioner, VirtualPartitioner::FirstArgument);
        let max_messages = self.worker.config.max_messages_for(&self.topic);
        while g.unfinished < window && g.offsets.held() < held_limit {
            let Some(m) = self.next_ready() else {
                break;
            };
            if g.last_taken.is_some_and(|last| m.offset <= last) {
                tracing::debug!(
                    topic = %m.topic,
                    partition = m.partition,
                    offset = m.offset,
                    "message already taken in this assignment; dropped"
                );
                continue;
            }
            // One read of the payload serves both the schedule and the group.
            let peeked = if hold || by_argument {
                match g.peeked.take() {
                    Some((offset, p)) if offset == m.offset => p,
                    _ => m
                        .payload
                        .as_deref()
                        .map(|p| peek(p, self.worker.payload_format.as_deref(), by_argument))
                        .unwrap_or_default(),
                }
            } else {
                Peeked::default()
            };
            if hold {
                if let Some(due) = peeked.scheduled_at.filter(|d| *d > SystemTime::now()) {
                    g.peeked = Some((m.offset, peeked));
                    self.buffered.push_front(m);
                    g.hold = Some(due);
                    break;
                }
            }
            let group = if by_argument {
                reduce(peeked.first_argument.as_deref(), vp.max_partitions)
            } else {
                vp.group_of(&m)
            };
            g.last_taken = Some(m.offset);
            g.offsets.taken(m.offset);
            g.unfinished += 1;
            g.queues[group].push_back(m);
            if !g.busy[group] && !g.failed[group] {
                self.start(g, group);
            }
            g.taken_in_turn += 1;
            // Like a partition without virtual partitions, give the slot a turn every
            // `max_messages` jobs, but only when every slot is taken (someone may be waiting):
            // handing it over means letting all groups run dry first.
            if g.taken_in_turn >= max_messages && self.worker.slots.available_permits() == 0 {
                g.yielding = true;
                break;
            }
        }
    }

    /// Starts the next queued job of `group`, unless the partition was revoked (then nothing
    /// new starts; the job stays queued until the assignment ends).
    fn start(&self, g: &mut Groups, group: usize) {
        if self.shared.revoked.is_set() {
            return;
        }
        let Some(message) = g.queues[group].pop_front() else {
            return;
        };
        g.busy[group] = true;
        let started = Instant::now();
        // A panic while building the future is a failed run, as is one while polling it.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.worker
                .handler
                .handle(message.clone(), self.signals.clone())
        }));
        g.running.push(
            async move {
                let outcome = match future {
                    Ok(f) => AssertUnwindSafe(f)
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|panic| Err(JobFailure::from_panic(panic))),
                    Err(panic) => Err(JobFailure::from_panic(panic)),
                };
                Done {
                    group,
                    message,
                    outcome,
                    duration: started.elapsed(),
                }
            }
            .boxed(),
        );
    }

    /// Books a finished run and starts the group's next job.
    fn finished(&mut self, g: &mut Groups, d: Done) {
        g.busy[d.group] = false;
        if let Some(o) = &self.worker.observer {
            o.job_finished(&FinishedJob {
                message: &d.message,
                topic: &d.message.topic,
                partition: d.message.partition,
                offset: d.message.offset,
                attempt: 1,
                outcome: d.outcome.as_ref().map(|_| ()),
                duration: d.duration,
            });
        }
        match d.outcome {
            Ok(()) => {
                g.unfinished -= 1;
                self.pending_successes += 1;
                if let Some(next) = g.offsets.done(d.message.offset) {
                    self.pending_store = Some(next);
                }
            }
            // The job class discards this error: done, as in Ruby, where `discard_on` rescues
            // it and Karafka sees no error, so the partition does not collapse.
            Err(failure @ JobFailure::DiscardOn(_)) => {
                WorkerStats::add(&self.worker.stats.job_failures, 1);
                self.discarded(&d.message, &failure);
                g.unfinished -= 1;
                if let Some(next) = g.offsets.done(d.message.offset) {
                    self.pending_store = Some(next);
                }
            }
            Err(failure) => {
                WorkerStats::add(&self.worker.stats.job_failures, 1);
                tracing::warn!(
                    topic = %d.message.topic,
                    partition = d.message.partition,
                    offset = d.message.offset,
                    group = d.group,
                    reason = %failure,
                    "job failed in a virtual partition; the partition collapses once the \
                     running jobs finish"
                );
                g.failed[d.group] = true;
                g.failures.push((d.message, failure));
            }
        }
        // Stopping: what was taken still runs (Karafka Pro does not stop virtual partitions
        // early, so that their offsets can be committed).
        if !g.failed[d.group] {
            self.start(g, d.group);
        }
    }

    /// Karafka's collapse: every unfinished job taken so far runs again one at a time in offset
    /// order, starting at the first unfinished offset, with the usual pause / backoff / retry /
    /// dead letter for each; jobs that already succeeded are not among them. False when the
    /// partition was revoked or the worker stopped first.
    async fn collapse(&mut self, g: &mut Groups) -> bool {
        let mut todo: Vec<(Arc<InboundMessage>, Option<JobFailure>)> =
            g.failures.drain(..).map(|(m, f)| (m, Some(f))).collect();
        for q in &mut g.queues {
            todo.extend(q.drain(..).map(|m| (m, None)));
        }
        todo.sort_by_key(|(m, _)| m.offset);
        tracing::info!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            first_unfinished = g.offsets.first_unfinished(),
            jobs = todo.len(),
            "virtual partitions collapsed: retrying in offset order, one job at a time"
        );
        for (message, prior) in todo {
            if self.must_stop() {
                return false;
            }
            // The first of them is the first unfinished offset: the pause stores the done
            // prefix, which ends just before it.
            if !self.process(&message, prior).await {
                return false;
            }
            g.unfinished -= 1;
            if let Some(next) = g.offsets.done(message.offset) {
                self.pending_store = Some(next);
            }
        }
        g.failed.fill(false);
        true
    }
}
