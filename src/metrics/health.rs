//! What `GET /health` (readiness) and `GET /health/live` (liveness) answer; the semantics are
//! in the [`crate::consumer::WorkerHealth`] docs and the README's "Metrics and health".

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Metrics;
use crate::consumer::{ShutdownHandle, WorkerHealth, WorkerStats};

/// The handles of the attached worker.
pub(super) struct Attached {
    pub(super) stats: Arc<WorkerStats>,
    pub(super) shutdown: ShutdownHandle,
    pub(super) health: Arc<WorkerHealth>,
}

#[derive(Default)]
pub(super) struct Health {
    pub(super) worker: Mutex<Option<Attached>>,
    pub(super) finished: AtomicBool,
    /// Milliseconds since `epoch` of the last sign of the poller being alive (statistics).
    pub(super) last_poll_ms: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
}

impl Health {
    pub(super) fn now_ms(&self) -> u64 {
        let epoch = *self.epoch.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// How long without librdkafka statistics (emitted by the poller every 5 s) before the poller
/// counts as stalled. Only applies once statistics were seen.
const POLL_STALL: Duration = Duration::from_secs(60);

impl Metrics {
    /// Readiness, what `GET /health` and `GET /health/ready` answer: `Ok` with a one-line
    /// summary while the attached worker does its work (connected, authenticated, a member of
    /// its group, see [`WorkerHealth::readiness`]), `Err` with the reason otherwise, including
    /// while it stops and once it stopped.
    pub fn readiness(&self) -> Result<String, String> {
        self.liveness()?;
        let h = &self.inner.health;
        let guard = h.worker.lock().expect("health lock");
        let Some(worker) = guard.as_ref() else {
            return Err("no worker attached".to_owned());
        };
        if worker.shutdown.is_shutting_down() {
            return Err("worker stopping".to_owned());
        }
        worker.health.readiness()
    }

    /// Liveness, what `GET /health/live` answers: `Ok` while the attached worker's poller runs
    /// (attached, not finished, and, once librdkafka statistics have been seen, statistics
    /// within the last minute), including while it stops or cannot reach the brokers. `Err`
    /// says why not.
    pub fn liveness(&self) -> Result<(), String> {
        let h = &self.inner.health;
        if h.worker.lock().expect("health lock").is_none() {
            return Err("no worker attached".to_owned());
        }
        if h.finished.load(Ordering::Relaxed) {
            return Err("worker stopped".to_owned());
        }
        let last = h.last_poll_ms.load(Ordering::Relaxed);
        if last > 0 && h.now_ms().saturating_sub(last) > POLL_STALL.as_millis() as u64 {
            return Err("no librdkafka statistics for a minute: the poller is stalled".to_owned());
        }
        Ok(())
    }

    /// [`readiness`](Self::readiness) without the summary.
    pub fn health(&self) -> Result<(), String> {
        self.readiness().map(drop)
    }
}
