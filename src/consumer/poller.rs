//! The poller thread: serves the consumer queue (rebalances, errors, commit results,
//! statistics) so that the group membership and `max.poll.interval.ms` never depend on a job,
//! and handles rebalances through [`WorkerContext`] (inside `poll`). Messages do not pass
//! through it: each partition task polls its own librdkafka partition queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::batch_queue::MessageQueue;
use super::committer::Committer;
use super::fetched::{FetchedRun, MessageParts, RunBuilder};
use super::fetcher::FetchThread;
use super::message::copy_headers;
use super::partition::{PartitionShared, PartitionTask};
use super::stats::WorkerStats;
use super::worker::{WorkerError, WorkerShared};
use crate::kafka::log::{log_error, log_line};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientContext, Message, TopicPartitionList};

/// Longest wait in `poll`: bounds how late a shutdown request is noticed.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// Extra time for the final commit and close after `shutdown_timeout` (Karafka's
/// `forceful_shutdown_wait`).
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a start may wait for its first assignment before the worker says why it waits.
const JOIN_EXPLAIN_AFTER: Duration = Duration::from_secs(3);

/// Poller-side record of one assigned partition.
struct PartitionEntry {
    shared: Arc<PartitionShared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Registry {
    partitions: HashMap<String, HashMap<i32, PartitionEntry>>,
    next_generation: u64,
}

impl Registry {
    fn get(&self, topic: &str, partition: i32) -> Option<&PartitionEntry> {
        self.partitions.get(topic)?.get(&partition)
    }

    fn remove(&mut self, topic: &str, partition: i32) -> Option<PartitionEntry> {
        let per_topic = self.partitions.get_mut(topic)?;
        let entry = per_topic.remove(&partition);
        if per_topic.is_empty() {
            self.partitions.remove(topic);
        }
        entry
    }

    fn entries(&self) -> impl Iterator<Item = &PartitionEntry> {
        self.partitions.values().flat_map(|m| m.values())
    }

    fn count(&self) -> usize {
        self.partitions.values().map(HashMap::len).sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn single(topic: &str, partition: i32) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(1);
    tpl.add_partition(topic, partition);
    tpl
}

/// Commits stored offsets; "nothing to commit" is not an error. The outcome of a synchronous
/// commit, or of an asynchronous one refused at once, goes to the worker's
/// [`CommitState`](super::CommitState). librdkafka reports the later outcome of an asynchronous
/// manual commit (the ones at a pause and a resume) nowhere the event-based consumer sees; the
/// committer thread's next commit carries the same offsets anyway.
pub(crate) fn commit(consumer: &BaseConsumer<WorkerContext>, mode: CommitMode, why: &str) {
    let commits = &consumer.context().shared.commits;
    match consumer.commit_consumer_state(mode) {
        Ok(()) => {
            if matches!(mode, CommitMode::Sync) {
                commits.succeeded(Instant::now());
            }
            tracing::trace!(?mode, why, "offsets committed");
        }
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {
            commits.succeeded(Instant::now())
        }
        Err(error) => {
            WorkerStats::add(&consumer.context().shared.stats.commit_failures, 1);
            commits.failed(Instant::now(), error.to_string());
            tracing::warn!(?mode, why, %error, "offset commit failed");
        }
    }
}

/// The consumer's context: librdkafka logging, commit results, and rebalances.
pub(crate) struct WorkerContext {
    pub(crate) shared: Arc<WorkerShared>,
    registry: Mutex<Registry>,
    /// The queue assigned partitions' messages are forwarded to, while the poller runs.
    messages: Mutex<Option<Arc<MessageQueue>>>,
}

impl WorkerContext {
    pub(crate) fn new(shared: Arc<WorkerShared>) -> Self {
        WorkerContext {
            shared,
            registry: Mutex::new(Registry::default()),
            messages: Mutex::new(None),
        }
    }

    /// Delivers runs of copied messages (in the order librdkafka gave them, so each
    /// partition's in offset order) to their partitions' inboxes, then pauses the partitions that
    /// now hold more than their share of the buffer budget. Empties `runs`.
    pub(crate) fn deliver(
        &self,
        consumer: &BaseConsumer<WorkerContext>,
        runs: &mut Vec<FetchedRun>,
    ) {
        let mut touched: Vec<Arc<PartitionShared>> = Vec::new();
        {
            let registry = lock(&self.registry);
            for run in runs.drain(..) {
                match registry.get(run.topic(), run.partition()) {
                    Some(entry) => {
                        entry.shared.inbox.deliver(run);
                        if !touched.iter().any(|s| Arc::ptr_eq(s, &entry.shared)) {
                            touched.push(entry.shared.clone());
                        }
                    }
                    None => tracing::debug!(
                        topic = %run.topic(),
                        partition = run.partition(),
                        offset = run.first_offset(),
                        "messages of an unassigned partition dropped"
                    ),
                }
            }
        }
        for shared in touched {
            shared.throttle_if_full(consumer);
        }
    }

    fn assign(&self, tpl: &TopicPartitionList) {
        let mut registry = lock(&self.registry);
        let mut assigned = Vec::new();
        for elem in tpl.elements() {
            let (topic, partition) = (elem.topic(), elem.partition());
            let Some(topic_config) = self.shared.topics.get(topic) else {
                tracing::warn!(
                    topic,
                    partition,
                    "assigned a partition of an unrouted topic"
                );
                continue;
            };
            if let Some(old) = registry.remove(topic, partition) {
                // Eager rebalancing revokes before it assigns; be safe if it did not.
                old.shared.revoked.set();
                old.shared.close_store();
            }
            registry.next_generation += 1;
            let shared = Arc::new(PartitionShared::new(
                topic.to_string(),
                partition,
                registry.next_generation,
                self.shared.budget.clone(),
            ));
            let Some(consumer) = self.shared.consumer.get().and_then(|w| w.upgrade()) else {
                // Only while the consumer is being dropped.
                continue;
            };
            let forwarded = lock(&self.messages)
                .as_ref()
                .is_some_and(|q| q.forward_partition(&consumer, topic, partition));
            if !forwarded {
                tracing::warn!(
                    topic,
                    partition,
                    "partition queue not forwarded; messages come through the poller"
                );
            }
            let task =
                PartitionTask::new(shared.clone(), self.shared.clone(), consumer, topic_config);
            let task = self.shared.runtime.spawn(task.run());
            registry
                .partitions
                .entry(topic.to_string())
                .or_default()
                .insert(partition, PartitionEntry { shared, task });
            assigned.push(format!("{topic}/{partition}"));
        }
        WorkerStats::add(
            &self.shared.stats.partitions_assigned,
            assigned.len() as u64,
        );
        self.shared.health.assigned(registry.count());
        self.shared.budget.set_partitions(registry.count());
        tracing::info!(partitions = ?assigned, "partitions assigned");
    }

    /// Runs before librdkafka gives the partitions up: stop them, wait (bounded) for their
    /// running jobs, then commit what they stored.
    fn revoke(&self, consumer: &BaseConsumer<WorkerContext>, tpl: &TopicPartitionList) {
        let lost = consumer.assignment_lost();
        let mut revoked = Vec::new();
        {
            let mut registry = lock(&self.registry);
            for elem in tpl.elements() {
                if let Some(entry) = registry.remove(elem.topic(), elem.partition()) {
                    entry.shared.revoked.set();
                    revoked.push(entry);
                }
            }
            if lost {
                self.shared.health.lost();
            } else {
                self.shared.health.assigned(registry.count());
            }
            self.shared.budget.set_partitions(registry.count());
        }
        if revoked.is_empty() {
            return;
        }
        WorkerStats::add(&self.shared.stats.partitions_revoked, revoked.len() as u64);
        let names: Vec<String> = revoked
            .iter()
            .map(|e| format!("{}/{}", e.shared.topic, e.shared.partition))
            .collect();
        if lost {
            // Another member may own them already: committing could move its offsets.
            WorkerStats::add(&self.shared.stats.assignments_lost, 1);
            for e in &revoked {
                e.shared.close_store();
            }
            tracing::warn!(partitions = ?names, "assignment lost; running jobs may run again elsewhere");
            return;
        }
        let wait = self.shared.config.effective_revoke_timeout();
        let mut deadline = Instant::now() + wait;
        if let Some(stop) = self.shared.stop_deadline() {
            // While stopping, the shutdown budget bounds this wait as well.
            deadline = deadline.min(stop);
        }
        let mut still_running = Vec::new();
        for e in &revoked {
            if !e.shared.wait_done_until(deadline) {
                still_running.push(format!("{}/{}", e.shared.topic, e.shared.partition));
            }
            e.shared.close_store();
        }
        if !still_running.is_empty() {
            tracing::warn!(
                partitions = ?still_running,
                waited_ms = wait.as_millis() as u64,
                "revoked while a job is still running: it will run again on the new owner"
            );
        }
        commit(consumer, CommitMode::Sync, "revocation");
        tracing::info!(partitions = ?names, "partitions revoked");
    }

    /// Delivers a message that came through the consumer queue (only when its partition's
    /// queue could not be forwarded).
    fn route(&self, consumer: &BaseConsumer<WorkerContext>, message: &BorrowedMessage<'_>) {
        tracing::debug!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            "message on the consumer queue; handing it to the partition task"
        );
        let (key, payload) = (message.key(), message.payload());
        let size = key.map_or(0, <[u8]>::len) + payload.map_or(0, <[u8]>::len);
        let mut run = RunBuilder::with_capacity(1, size);
        run.push(MessageParts {
            offset: message.offset(),
            key,
            payload,
            headers: copy_headers(message),
            timestamp_ms: message.timestamp().to_millis(),
        });
        let run = run.finish(message.topic().into(), message.partition());
        self.deliver(consumer, &mut vec![run]);
    }
}

impl ClientContext for WorkerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.shared.health.connection.on_log(log_message);
        log_line("consumer", level, fac, log_message);
    }

    // Statistics are emitted every `statistics.interval.ms` (5 s, as in Karafka) and parsed
    // only when an observer wants them.
    fn stats_raw(&self, statistics: &[u8]) {
        self.shared.health.on_statistics(statistics);
        let Some(observer) = &self.shared.observer else {
            return;
        };
        observer.statistics(statistics);
        let lags = {
            let registry = lock(&self.registry);
            super::observer::consumer_lags(statistics, |topic, partition| {
                registry
                    .partitions
                    .get(topic)
                    .is_some_and(|m| m.contains_key(&partition))
            })
        };
        observer.consumer_lag(&lags);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::PollExceeded)
        ) {
            WorkerStats::add(&self.shared.stats.max_poll_exceeded, 1);
        }
        // Connection and group problems are logged (as errors) by the health record.
        if !self.shared.health.on_error(&error, reason) {
            log_error("consumer", &error, reason);
        }
    }
}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => self.revoke(consumer, tpl),
            // Before librdkafka starts fetching: the partition queues must be split first, or
            // the first messages would land on the consumer queue.
            Rebalance::Assign(tpl) => {
                self.assign(tpl);
                // A pause set by a failing job survives in librdkafka across assignments; a
                // new assignment starts unpaused (its task retries from the committed offset).
                if let Err(error) = consumer.resume(tpl) {
                    tracing::debug!(%error, "resume on assignment");
                }
            }
            Rebalance::Error(error) => {
                if !self.shared.health.on_error(error, &error.to_string()) {
                    tracing::warn!(%error, "rebalance error");
                }
            }
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        offsets: &TopicPartitionList,
    ) {
        let commits = &self.shared.commits;
        match result {
            Ok(()) => {
                commits.succeeded(Instant::now());
                tracing::trace!(?offsets, "commit acknowledged")
            }
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {
                commits.succeeded(Instant::now())
            }
            Err(error) => {
                WorkerStats::add(&self.shared.stats.commit_failures, 1);
                commits.failed(Instant::now(), error.to_string());
                tracing::warn!(%error, "offset commit failed");
            }
        }
    }
}

/// Says why a start waits for its assignment: after a crash, the group coordinator keeps the
/// dead member until its session times out, and the rebalance that admits this worker waits
/// for it (about `session.timeout.ms`, 45 s by default). A static member
/// (`group.instance.id`) takes its own place back at once instead.
fn explain_join_wait(config: &super::config::WorkerConfig) {
    let session = config
        .kafka
        .get("session.timeout.ms")
        .map_or("45000 (the default)", String::as_str);
    match config.kafka.get("group.instance.id") {
        None => tracing::info!(
            group_id = %config.group_id,
            session_timeout_ms = session,
            "waiting for the first assignment: if a worker of this group stopped without \
             leaving (a crash, kill -9), the broker waits up to session.timeout.ms for it before \
             the rebalance that admits this worker; set group.instance.id (static membership, \
             see the README) to take its place at once"
        ),
        Some(id) => tracing::info!(
            group_id = %config.group_id,
            group_instance_id = %id,
            "waiting for the first assignment: the group is rebalancing"
        ),
    }
}

/// The poller loop. Runs on its own thread until shutdown or a fatal consumer error.
pub(crate) struct Poller {
    consumer: Arc<BaseConsumer<WorkerContext>>,
}

impl Poller {
    pub(crate) fn new(consumer: Arc<BaseConsumer<WorkerContext>>) -> Self {
        Poller { consumer }
    }

    fn context(&self) -> &WorkerContext {
        self.consumer.context()
    }

    /// Consumes until shutdown, then stops cleanly; the consumer is closed when `self` drops.
    pub(crate) fn run(self) -> Result<(), WorkerError> {
        let fetch = match self.start_fetching() {
            Ok(f) => f,
            Err(source) => {
                self.context().shared.begin_stop();
                let _ = self.shutdown(None, None);
                return Err(WorkerError::Io {
                    what: "starting the fetch thread",
                    source,
                });
            }
        };
        let committer = match Committer::start(&self.consumer) {
            Ok(c) => c,
            Err(source) => {
                self.context().shared.begin_stop();
                let _ = self.shutdown(None, fetch);
                return Err(WorkerError::Io {
                    what: "starting the committer thread",
                    source,
                });
            }
        };
        let result = self.consume();
        if result.is_err() {
            // A fatal consumer error: stop the partition tasks as a shutdown would.
            self.context().shared.begin_stop();
        }
        let shutdown = self.shutdown(Some(committer), fetch);
        result.and(shutdown)
    }

    /// Creates the worker's message queue and starts the thread that reads it; before the first
    /// poll, so that every assignment finds the queue. Without a queue (librdkafka refused one)
    /// messages stay on the consumer queue and come through the poller.
    fn start_fetching(&self) -> std::io::Result<Option<FetchThread>> {
        let Some(queue) = MessageQueue::new(&self.consumer).map(Arc::new) else {
            tracing::warn!("no message queue; messages come through the poller");
            return Ok(None);
        };
        *lock(&self.context().messages) = Some(queue.clone());
        FetchThread::start(self.consumer.clone(), queue).map(Some)
    }

    fn consume(&self) -> Result<(), WorkerError> {
        let shared = self.context().shared.clone();
        let started = Instant::now();
        let mut join_explained = false;
        while !shared.stopping.is_set() {
            if !join_explained && started.elapsed() >= JOIN_EXPLAIN_AFTER {
                join_explained = true;
                if shared.health.is_joining() {
                    explain_join_wait(&shared.config);
                }
            }
            let mut timeout = IDLE_POLL;
            // Events are served inside poll; a message only shows up here when its partition
            // queue could not be forwarded to the message queue.
            loop {
                match self.consumer.poll(timeout) {
                    None => break,
                    Some(Ok(message)) => self.context().route(&self.consumer, &message),
                    Some(Err(error)) => self.poll_error(error)?,
                }
                timeout = Duration::ZERO;
            }
            self.watch_commits();
        }
        Ok(())
    }

    /// Holds new jobs while commits do not get through (see
    /// [`CommitState`](super::CommitState)); the committer thread sends the commits.
    fn watch_commits(&self) {
        self.context().shared.commits.check_stall(Instant::now());
    }

    fn poll_error(&self, error: KafkaError) -> Result<(), WorkerError> {
        match error {
            KafkaError::PartitionEOF(_) => Ok(()),
            KafkaError::MessageConsumptionFatal(_) => {
                let fatal = self.consumer.client().fatal_error();
                if let Some((RDKafkaErrorCode::FencedInstanceId, _)) = fatal {
                    let id = self
                        .context()
                        .shared
                        .config
                        .kafka
                        .get("group.instance.id")
                        .cloned()
                        .unwrap_or_default();
                    tracing::error!(group_instance_id = %id, "fenced: another running worker uses the same group.instance.id");
                    return Err(WorkerError::Fenced(id));
                }
                tracing::error!(%error, reason = ?fatal, "fatal consumer error");
                Err(WorkerError::Fatal(error))
            }
            error => {
                if matches!(
                    error.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::PollExceeded)
                ) {
                    WorkerStats::add(&self.context().shared.stats.max_poll_exceeded, 1);
                }
                if !self
                    .context()
                    .shared
                    .health
                    .on_error(&error, &error.to_string())
                {
                    tracing::warn!(%error, "consumer error");
                }
                Ok(())
            }
        }
    }

    /// Lets running jobs finish (polling on, so the membership stays alive), commits, closes.
    fn shutdown(
        &self,
        committer: Option<Committer>,
        fetch: Option<FetchThread>,
    ) -> Result<(), WorkerError> {
        let shared = self.context().shared.clone();
        let started = shared.stop_started();
        let deadline = started + shared.config.shutdown_timeout;
        tracing::info!(
            timeout_ms = shared.config.shutdown_timeout.as_millis() as u64,
            "stopping: no new jobs; waiting for running ones"
        );
        let running = loop {
            let running = lock(&self.context().registry)
                .entries()
                .filter(|e| !e.shared.is_done())
                .count();
            if running == 0 || Instant::now() >= deadline || shared.must_stop_now() {
                break running;
            }
            // Messages polled now are not run; their offsets are not stored, so they are
            // fetched again after a restart.
            if let Some(Err(error)) = self.consumer.poll(Duration::from_millis(50)) {
                if let Err(fatal) = self.poll_error(error) {
                    tracing::error!(%fatal, "fatal error while stopping");
                    break running;
                }
            }
        };
        {
            let registry = lock(&self.context().registry);
            for entry in registry.entries() {
                entry.shared.close_store();
                if !entry.shared.is_done() {
                    entry.task.abort();
                }
            }
        }
        if let Some(c) = committer {
            c.stop(CLOSE_GRACE);
        }
        commit(&self.consumer, CommitMode::Sync, "shutdown");
        let deadline = if shared.must_stop_now() {
            Instant::now()
        } else {
            deadline
        };
        // Karafka's order: unsubscribe (the revocation runs through our rebalance callback and
        // commits), then close when the consumer is dropped at the end of the poller thread.
        let close_deadline = Instant::now().max(deadline) + CLOSE_GRACE;
        self.consumer.unsubscribe();
        loop {
            let assigned = self.consumer.assignment().map(|a| a.count()).unwrap_or(0);
            if assigned == 0 {
                break;
            }
            if Instant::now() >= close_deadline {
                tracing::warn!(assigned, "partitions still assigned at close");
                break;
            }
            let _ = self.consumer.poll(Duration::from_millis(50));
        }
        // Nothing is fetched for a job any more; the queue must go before the consumer.
        if let Some(fetch) = fetch {
            fetch.stop();
        }
        lock(&self.context().messages).take();
        if running > 0 && shared.must_stop_now() {
            tracing::warn!(
                running,
                "stopped at once: jobs still running were abandoned and will run again"
            );
            return Err(WorkerError::ShutdownForced { running });
        }
        if running > 0 {
            tracing::error!(
                running,
                "shutdown timeout: jobs still running were abandoned and will run again"
            );
            return Err(WorkerError::ShutdownTimeout {
                running,
                timeout: shared.config.shutdown_timeout,
            });
        }
        tracing::info!("stopped");
        Ok(())
    }
}
