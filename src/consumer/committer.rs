//! The committer thread: commits the stored offsets on the worker's cadence (see
//! [`CommitState`](super::CommitState)).
//!
//! Each commit is synchronous on this thread of its own, so that its outcome is known exactly
//! (librdkafka reports the outcome of an asynchronous manual commit only to an
//! `offset_commit_cb`, which the event-based consumer does not set), one commit is in flight
//! at a time (commits coalesce: the next one carries everything stored meanwhile), and
//! neither the poller nor a partition task ever waits on the broker for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::poller::WorkerContext;
use super::stats::WorkerStats;

/// How often the thread looks whether a commit is due: the shortest gap between two commits
/// when a partition ran dry before the interval.
const TICK: Duration = Duration::from_millis(10);

/// Handle on the committer thread; [`stop`](Self::stop) ends it.
pub(crate) struct Committer {
    stop: Arc<AtomicBool>,
    exited: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread. It holds the consumer weakly: the poller owns it and closes it.
    pub(crate) fn start(consumer: &Arc<BaseConsumer<WorkerContext>>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (exited_tx, exited) = mpsc::channel();
        let weak = Arc::downgrade(consumer);
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("kafka-committer".into())
            .spawn(move || {
                run(&weak, &flag);
                let _ = exited_tx.send(());
            })?;
        Ok(Committer {
            stop,
            exited,
            thread: Some(thread),
        })
    }

    /// Ends the thread, waiting up to `wait` for a commit in flight (one held by a broker that
    /// is away may take up to `socket.timeout.ms`; it is then left to finish on its own).
    pub(crate) fn stop(mut self, wait: Duration) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
        if self.exited.recv_timeout(wait).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            tracing::warn!("an offset commit is still waiting for the broker at shutdown");
        }
    }
}

fn run(consumer: &Weak<BaseConsumer<WorkerContext>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(TICK);
        let Some(consumer) = consumer.upgrade() else {
            return;
        };
        let shared = &consumer.context().shared;
        let now = Instant::now();
        if !shared
            .commits
            .commit_due(now, shared.config.commit_interval, TICK)
        {
            continue;
        }
        shared.commits.sent(now);
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {
                shared.commits.succeeded(Instant::now());
            }
            Err(error) => {
                WorkerStats::add(&shared.stats.commit_failures, 1);
                shared.commits.failed(Instant::now(), error.to_string());
                tracing::warn!(%error, "offset commit failed; the next one carries the offsets again");
            }
        }
    }
}
