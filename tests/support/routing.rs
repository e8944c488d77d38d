//! Helpers for the routing tests: a handler that records which topic ran which job, a running
//! worker, and the members of a consumer group as the broker lists them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{
    handler_fn, ShutdownHandle, Worker, WorkerConfig, WorkerError, WorkerHealth,
};
use activejob_karafka::metrics::Metrics;
use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use super::{bootstrap, parse_job};

/// One run: the message's topic, the job id, whether it succeeded, when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRun {
    pub topic: String,
    pub id: u64,
    pub ok: bool,
    pub started: Instant,
}

/// Runs of every topic, in the order they started.
#[derive(Debug, Clone, Default)]
pub struct TopicRuns(Arc<Mutex<Vec<TopicRun>>>);

impl TopicRuns {
    pub fn all(&self) -> Vec<TopicRun> {
        self.0.lock().unwrap().clone()
    }

    /// Ids that succeeded on `topic`, in run order.
    pub fn ok_on(&self, topic: &str) -> Vec<u64> {
        self.all()
            .into_iter()
            .filter(|r| r.ok && r.topic == topic)
            .map(|r| r.id)
            .collect()
    }

    /// When each run of job `id` on `topic` started.
    pub fn starts(&self, topic: &str, id: u64) -> Vec<Instant> {
        self.all()
            .into_iter()
            .filter(|r| r.topic == topic && r.id == id)
            .map(|r| r.started)
            .collect()
    }

    /// Ids run (successfully or not) on `topic`, in run order.
    pub fn ran_on(&self, topic: &str) -> Vec<u64> {
        self.all()
            .into_iter()
            .filter(|r| r.topic == topic)
            .map(|r| r.id)
            .collect()
    }
}

/// A running worker.
pub struct Running {
    pub stop: ShutdownHandle,
    pub health: Arc<WorkerHealth>,
    pub task: tokio::task::JoinHandle<Result<(), WorkerError>>,
}

impl Running {
    /// Stops the worker and expects a clean shutdown.
    pub async fn stop(self) {
        self.stop.shutdown();
        self.task.await.unwrap().expect("clean shutdown");
    }
}

/// Starts a worker whose jobs (parsed by [`parse_job`]) take `job_ms` each and fail when their
/// id is in `failing`; every run is recorded.
pub fn start_recording(config: WorkerConfig, job_ms: u64, failing: &[u64]) -> (Running, TopicRuns) {
    start_measured(config, job_ms, failing, None)
}

/// [`start_recording`], with `metrics` attached when given.
pub fn start_measured(
    config: WorkerConfig,
    job_ms: u64,
    failing: &[u64],
    metrics: Option<&Metrics>,
) -> (Running, TopicRuns) {
    let runs = TopicRuns::default();
    let record = runs.clone();
    let failing = failing.to_vec();
    let handler = handler_fn(move |m, _| {
        let record = record.clone();
        let failing = failing.clone();
        async move {
            let id = parse_job(&m)?;
            let started = Instant::now();
            if job_ms > 0 {
                tokio::time::sleep(Duration::from_millis(job_ms)).await;
            }
            let ok = !failing.contains(&id);
            record.0.lock().unwrap().push(TopicRun {
                topic: m.topic.to_string(),
                id,
                ok,
                started,
            });
            if ok {
                Ok(())
            } else {
                Err(activejob_karafka::consumer::JobFailure::Failed(
                    "fails on purpose".into(),
                ))
            }
        }
        .boxed()
    });
    let mut worker = Worker::new(config, handler).handle_signals(false);
    if let Some(metrics) = metrics {
        worker = metrics.attach(worker);
    }
    let running = Running {
        stop: worker.shutdown_handle(),
        health: worker.health(),
        task: tokio::spawn(worker.run()),
    };
    (running, runs)
}

/// How many members the broker lists in consumer group `group` (0 when it is unknown).
pub fn group_members(group: &str) -> usize {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("group lister");
    client
        .fetch_group_list(Some(group), Duration::from_secs(10))
        .ok()
        .and_then(|list| list.groups().first().map(|g| g.members().len()))
        .unwrap_or(0)
}
