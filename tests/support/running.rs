//! A worker running in the test's runtime, and its clean stop.

use std::sync::Arc;

use activejob_karafka::consumer::{
    MessageHandler, ShutdownHandle, Worker, WorkerConfig, WorkerError, WorkerHealth, WorkerStats,
};
use tokio::task::JoinHandle;

/// A worker started by [`RunningWorker::start`] (signals not handled: the test stops it).
pub struct RunningWorker {
    /// The worker's counters.
    pub stats: Arc<WorkerStats>,
    /// The worker's readiness.
    pub health: Arc<WorkerHealth>,
    stop: ShutdownHandle,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl RunningWorker {
    /// Runs a worker of `config` with `handler` on the test's runtime.
    pub fn start(config: WorkerConfig, handler: impl MessageHandler) -> Self {
        Self::spawn(Worker::new(config, handler))
    }

    /// Runs `worker` (set up further than [`RunningWorker::start`] does) on the test's runtime.
    pub fn spawn(worker: Worker) -> Self {
        let worker = worker.handle_signals(false);
        RunningWorker {
            stats: worker.stats(),
            health: worker.health(),
            stop: worker.shutdown_handle(),
            task: tokio::spawn(worker.run()),
        }
    }

    /// A handle that stops the worker as SIGTERM would.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// Partitions held now.
    pub fn held(&self) -> u64 {
        let s = self.stats.snapshot();
        s.partitions_assigned - s.partitions_revoked
    }

    /// True once the worker stopped on its own.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the worker and asserts that it shut down cleanly.
    pub async fn stop(self) {
        self.stop_and_wait().await.expect("clean shutdown");
    }

    /// Stops the worker and gives what its run returned.
    pub async fn stop_and_wait(self) -> Result<(), WorkerError> {
        self.stop.shutdown();
        self.task.await.expect("the worker's task panicked")
    }
}

/// Stops all `workers` at once (none takes over the others' partitions while they stop) and
/// asserts that each shut down cleanly.
pub async fn stop_all(workers: impl IntoIterator<Item = RunningWorker>) {
    let workers: Vec<RunningWorker> = workers.into_iter().collect();
    for w in &workers {
        w.stop.shutdown();
    }
    for w in workers {
        w.task.await.unwrap().expect("clean shutdown");
    }
}
