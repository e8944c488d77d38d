//! The worker: wiring, start-up, signals and shutdown.

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use thiserror::Error;
use tokio::sync::{oneshot, Semaphore};

use super::buffer::BufferBudget;
use super::commit_state::CommitState;
use super::config::{
    ConfigError, SubscriptionGroup, TopicPattern, WorkerConfig, MIN_MAX_BUFFERED_BYTES,
};
use super::dispatch::Dispatcher;
use super::health::WorkerHealth;
use super::message::Flag;
use super::observer::{Observers, WorkerObserver};
use super::poller::{Poller, WorkerContext};
use super::stats::WorkerStats;
use super::topic_routes::TopicRoutes;
use super::MessageHandler;
use crate::payload_format::PayloadFormat;
use crate::web_ui::WebUi;

/// Why a worker stopped other than by a clean shutdown.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// librdkafka refused the client configuration or the subscription.
    #[error("kafka client: {0}")]
    Kafka(#[from] KafkaError),
    /// librdkafka reported a fatal consumer error; the consumer cannot go on.
    #[error("fatal consumer error: {0}")]
    Fatal(KafkaError),
    /// Jobs were still running when `shutdown_timeout` ran out; they were abandoned (and will run
    /// again), what had completed was committed. Karafka exits with status 2 in this case.
    #[error("shutdown timed out after {timeout:?} with {running} job(s) still running")]
    ShutdownTimeout {
        /// Partitions whose job had not finished.
        running: usize,
        /// The configured timeout.
        timeout: Duration,
    },
    /// A second SIGINT / SIGTERM (or [`ShutdownHandle::shutdown_now`]) stopped the worker
    /// before its running jobs finished: they were abandoned (and will run again), what had
    /// finished was committed.
    #[error("stopped at once with {running} job(s) still running")]
    ShutdownForced {
        /// Partitions whose job had not finished.
        running: usize,
    },
    /// An OS facility (thread, signal handler) was unavailable.
    #[error("{what}: {source}")]
    Io {
        /// What was being set up.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another running member of the group uses the same `group.instance.id`: the broker
    /// fenced this one out. Two processes must never share one.
    #[error(
        "group.instance.id {0:?} is used by another running worker of the group (fenced); \
         give each process its own (see the README's \"Static membership\")"
    )]
    Fenced(String),
    /// The poller thread died unexpectedly.
    #[error("the poller thread panicked")]
    PollerPanicked,
}

/// Asks a running worker to stop: no new job starts, running jobs finish, offsets are committed.
/// Cheap to clone; calling it again has no further effect.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    flag: Arc<Flag>,
    started: OnceLock<Instant>,
    /// Set by [`ShutdownHandle::shutdown_now`]: running jobs are not waited for.
    now: Flag,
}

impl ShutdownHandle {
    /// Starts the shutdown.
    pub fn shutdown(&self) {
        let _ = self.inner.started.set(Instant::now());
        self.inner.flag.set();
    }

    /// Stops at once: no new job starts, running jobs are abandoned (they run again after a
    /// restart), and the offsets of the jobs that finished are committed before the worker
    /// closes. A second SIGINT / SIGTERM does this.
    pub fn shutdown_now(&self) {
        self.inner.now.set();
        self.shutdown();
    }

    /// True once [`shutdown`](Self::shutdown) was called (or a signal arrived).
    pub fn is_shutting_down(&self) -> bool {
        self.inner.flag.is_set()
    }

    /// Resolves once the shutdown has started.
    pub(crate) async fn started(&self) {
        self.inner.flag.wait().await;
    }
}

/// State shared by the poller, the rebalance callbacks and the partition tasks of one
/// consumer (subscription group).
pub(crate) struct WorkerShared {
    pub(crate) config: WorkerConfig,
    pub(crate) topics: TopicRoutes,
    pub(crate) handler: Arc<dyn MessageHandler>,
    /// The handler's payload format, asked once.
    pub(crate) payload_format: Option<Arc<dyn PayloadFormat>>,
    pub(crate) stopping: Arc<Flag>,
    shutdown: ShutdownHandle,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) dispatcher: Option<Arc<Dispatcher>>,
    pub(crate) stats: Arc<WorkerStats>,
    /// The runtime's share of `max_buffered_bytes`, split between the assigned partitions.
    pub(crate) budget: Arc<BufferBudget>,
    pub(crate) commits: Arc<CommitState>,
    pub(crate) health: Arc<WorkerHealth>,
    pub(crate) observer: Option<Arc<dyn WorkerObserver>>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Set once the consumer exists; weak so that the context (owned by the consumer) does not
    /// keep it alive. Partition tasks hold strong references while they run.
    pub(crate) consumer: OnceLock<Weak<BaseConsumer<WorkerContext>>>,
}

impl WorkerShared {
    /// When the shutdown began (now, if it has not).
    pub(crate) fn stop_started(&self) -> Instant {
        *self.shutdown.inner.started.get_or_init(Instant::now)
    }

    /// Starts a shutdown from inside the worker.
    pub(crate) fn begin_stop(&self) {
        self.shutdown.shutdown();
    }

    /// The shutdown deadline, once a shutdown has begun (now, once it must stop at once).
    pub(crate) fn stop_deadline(&self) -> Option<Instant> {
        if self.must_stop_now() {
            return Some(Instant::now());
        }
        self.shutdown
            .inner
            .started
            .get()
            .map(|s| *s + self.config.shutdown_timeout)
    }

    /// True once the worker must stop without waiting for running jobs.
    pub(crate) fn must_stop_now(&self) -> bool {
        self.shutdown.inner.now.is_set()
    }
}

/// Consumes the configured topics and runs every message through a [`MessageHandler`] with
/// Karafka's offset semantics (see the [module docs](super)).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use activejob_karafka::consumer::*;
/// # async fn demo(handler: impl MessageHandler) -> Result<(), WorkerError> {
/// let config = WorkerConfig::builder()
///     .bootstrap_servers("127.0.0.1:9092")
///     .topic(TopicConfig::new("default").dead_letter_queue("default_dlq", 3))
///     .build()?;
/// Worker::new(config, handler).run().await // returns on SIGINT / SIGTERM
/// # }
/// ```
pub struct Worker {
    config: WorkerConfig,
    /// One per librdkafka consumer: a subscription group of a consumer group.
    consumers: Vec<Member>,
    handler: Arc<dyn MessageHandler>,
    shutdown: ShutdownHandle,
    stats: Arc<WorkerStats>,
    commits: Arc<CommitState>,
    health: Arc<WorkerHealth>,
    observer: Option<Arc<dyn WorkerObserver>>,
    handle_signals: bool,
}

/// One consumer of the worker, with its own commit and health records.
struct Member {
    group: SubscriptionGroup,
    commits: Arc<CommitState>,
    health: Arc<WorkerHealth>,
}

impl Member {
    fn new(group: SubscriptionGroup) -> Self {
        let commits = Arc::new(CommitState::new(
            group.config.effective_commit_stall_timeout(),
        ));
        Member {
            health: Arc::new(WorkerHealth::new(&group.config.group_id, commits.clone())),
            commits,
            group,
        }
    }
}

impl Worker {
    /// A worker for a validated configuration (see [`WorkerConfig::builder`]). It runs one
    /// librdkafka consumer per subscription group
    /// ([`WorkerConfig::subscription_groups`]).
    pub fn new(config: WorkerConfig, handler: impl MessageHandler) -> Self {
        let consumers: Vec<Member> = config
            .subscription_groups()
            .into_iter()
            .map(Member::new)
            .collect();
        let (commits, health) = match consumers.as_slice() {
            [one] => (one.commits.clone(), one.health.clone()),
            _ => {
                let commits = consumers.first().map_or_else(
                    || Arc::new(CommitState::new(config.effective_commit_stall_timeout())),
                    |c| c.commits.clone(),
                );
                let members = consumers
                    .iter()
                    .map(|c| (c.group.name.clone(), c.health.clone()))
                    .collect();
                let health = WorkerHealth::combined(members, commits.clone());
                (commits, Arc::new(health))
            }
        };
        Worker {
            commits,
            health,
            consumers,
            config,
            handler: Arc::new(handler),
            shutdown: ShutdownHandle::default(),
            stats: Arc::default(),
            observer: None,
            handle_signals: true,
        }
    }

    /// Reports the worker's events (jobs finished, dead letters, pauses, consumer lag) to
    /// `observer`; see [`WorkerObserver`]. Without one, nothing is measured for it. Calling it
    /// again adds another observer: each gets every event.
    pub fn observer(mut self, observer: Arc<dyn WorkerObserver>) -> Self {
        self.observer = Some(match self.observer.take() {
            None => observer,
            Some(first) => Arc::new(Observers(vec![first, observer])),
        });
        self
    }

    /// Whether SIGINT / SIGTERM start a shutdown (default true).
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.handle_signals = yes;
        self
    }

    /// A handle that stops the worker from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<WorkerStats> {
        self.stats.clone()
    }

    /// What became of its offset commits (last success, failing since, last error, whether
    /// new jobs are held); see [`CommitState`]. A health check reads it. With several
    /// consumers, this is the first one's; [`health`](Self::health) covers all of them.
    pub fn commit_state(&self) -> Arc<CommitState> {
        self.commits.clone()
    }

    /// What the worker knows about its connection and group membership (readiness), for all
    /// of its consumers.
    pub fn health(&self) -> Arc<WorkerHealth> {
        self.health.clone()
    }

    /// The payload format its handler reads (see [`MessageHandler::payload_format`]).
    pub(crate) fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.handler.payload_format()
    }

    /// Runs until a shutdown completes (Ok) or the consumer fails. Must be called within a
    /// tokio runtime; each consumer's librdkafka poll loop runs on a thread of its own.
    pub async fn run(mut self) -> Result<(), WorkerError> {
        self.config.validate()?;
        // Reporting needs a single consumer (validated): report its group, which need not be
        // the default one.
        let reported = match self.consumers.as_slice() {
            [one] => &one.group.config,
            _ => &self.config,
        };
        let web_ui = WebUi::new(reported, self.stats.clone(), self.handler.payload_format());
        if let Some(web_ui) = &web_ui {
            self.handler = web_ui.track(self.handler);
            self = self.observer(web_ui.observer());
        }
        let dispatcher = if self.config.needs_producer() {
            Some(Dispatcher::new(&self.config)?)
        } else {
            None
        };
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let payload_format = self.handler.payload_format();
        let mut pollers = Vec::new();
        // One budget for the worker: each consumer gets an even part of it.
        let members = self.consumers.len().max(1);
        let budget_per_member =
            (self.config.max_buffered_bytes / members).max(MIN_MAX_BUFFERED_BYTES);
        for mut member in std::mem::take(&mut self.consumers) {
            member.group.config.max_buffered_bytes = budget_per_member;
            let shared = Arc::new(WorkerShared {
                slots: slots.clone(),
                topics: TopicRoutes::new(&member.group),
                config: member.group.config,
                payload_format: payload_format.clone(),
                handler: self.handler.clone(),
                stopping: self.shutdown.inner.flag.clone(),
                shutdown: self.shutdown.clone(),
                dispatcher: dispatcher.clone(),
                budget: Arc::new(BufferBudget::new(budget_per_member, self.stats.clone())),
                stats: self.stats.clone(),
                commits: member.commits,
                health: member.health,
                observer: self.observer.clone(),
                runtime: tokio::runtime::Handle::current(),
                consumer: OnceLock::new(),
            });
            pollers.push(start_consumer(shared, &member.group.name)?);
        }
        let reporter = match (&web_ui, &dispatcher) {
            (Some(web_ui), Some(d)) => Some(web_ui.start(d.producer(), self.shutdown.clone())),
            _ => None,
        };

        let signals = if self.handle_signals {
            Some(spawn_signal_listener(self.shutdown.clone())?)
        } else {
            None
        };

        let mut result = Ok(());
        let mut spawned = Vec::new();
        for (name, poller) in pollers {
            match spawn_poller(name, poller) {
                Ok(done) => spawned.push(done),
                Err(e) => {
                    // The consumers already polling stop with the others.
                    self.shutdown.shutdown();
                    result = Err(e);
                    break;
                }
            }
        }
        for done in spawned {
            let outcome = done.await.unwrap_or(Err(WorkerError::PollerPanicked));
            if outcome.is_err() {
                // One consumer failed: stop all, as one process.
                self.shutdown.shutdown();
            }
            if result.is_ok() {
                result = outcome;
            }
        }
        if let Some(s) = signals {
            s.abort();
        }
        // A fatal error ends the poller without a shutdown request: stop the tasks too.
        self.shutdown.shutdown();
        if let Some(reporter) = reporter {
            reporter.finish().await;
        }
        if let Some(d) = dispatcher {
            tokio::task::spawn_blocking(move || d.flush(Duration::from_secs(5)))
                .await
                .ok();
        }
        result
    }
}

/// Creates a consumer of the worker and subscribes it to its topics and patterns.
fn start_consumer(shared: Arc<WorkerShared>, name: &str) -> Result<(String, Poller), WorkerError> {
    let consumer: BaseConsumer<WorkerContext> = shared
        .config
        .consumer_config()
        .create_with_context(WorkerContext::new(shared.clone()))?;
    let consumer = Arc::new(consumer);
    let _ = shared.consumer.set(Arc::downgrade(&consumer));
    let subscriptions: Vec<String> = shared
        .config
        .topics
        .iter()
        .map(|t| t.name.clone())
        .chain(
            shared
                .config
                .patterns
                .iter()
                .map(TopicPattern::subscription),
        )
        .collect();
    let names: Vec<&str> = subscriptions.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    tracing::info!(
        group_id = %shared.config.group_id,
        subscription_group = name,
        topics = ?names,
        concurrency = shared.config.concurrency,
        "worker started"
    );
    for note in shared.config.semantic_warnings() {
        tracing::warn!("{note}");
    }
    Ok((name.to_owned(), Poller::new(consumer)))
}

/// Runs a consumer's poller on a thread of its own; resolves when it ends.
fn spawn_poller(
    name: String,
    poller: Poller,
) -> Result<oneshot::Receiver<Result<(), WorkerError>>, WorkerError> {
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("kafka-poller-{name}"))
        .spawn(move || {
            let _ = done_tx.send(poller.run());
        })
        .map_err(|source| WorkerError::Io {
            what: "starting the poller thread",
            source,
        })?;
    Ok(done_rx)
}

fn spawn_signal_listener(
    shutdown: ShutdownHandle,
) -> Result<tokio::task::JoinHandle<()>, WorkerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let io = |source| WorkerError::Io {
        what: "installing signal handlers",
        source,
    };
    let mut term = signal(SignalKind::terminate()).map_err(io)?;
    let mut int = signal(SignalKind::interrupt()).map_err(io)?;
    Ok(tokio::spawn(async move {
        let mut first = true;
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            if first {
                tracing::info!(
                    signal = name,
                    "shutdown requested; running jobs may finish (a second signal stops at once)"
                );
                shutdown.shutdown();
                first = false;
            } else {
                tracing::warn!(
                    signal = name,
                    "second signal: stopping at once; running jobs will run again"
                );
                shutdown.shutdown_now();
            }
        }
    }))
}
