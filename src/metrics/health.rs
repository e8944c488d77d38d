//! What `GET /health` answers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Metrics;
use crate::consumer::{ShutdownHandle, WorkerStats};

#[derive(Default)]
pub(super) struct Health {
    pub(super) worker: Mutex<Option<(Arc<WorkerStats>, ShutdownHandle)>>,
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

/// How long without librdkafka statistics (emitted by the poller every 5 s) before `/health`
/// calls the poller stalled. Only applies once statistics were seen.
const POLL_STALL: Duration = Duration::from_secs(60);

impl Metrics {
    /// Whether the attached worker runs: attached, not shutting down, not finished, and (once
    /// librdkafka statistics have been seen) statistics seen within the last minute. `Err` says
    /// why not.
    pub fn health(&self) -> Result<(), &'static str> {
        let h = &self.inner.health;
        let guard = h.worker.lock().expect("health lock");
        let Some((_, shutdown)) = guard.as_ref() else {
            return Err("no worker attached");
        };
        if h.finished.load(Ordering::Relaxed) {
            return Err("worker stopped");
        }
        if shutdown.is_shutting_down() {
            return Err("worker stopping");
        }
        let last = h.last_poll_ms.load(Ordering::Relaxed);
        if last > 0 && h.now_ms().saturating_sub(last) > POLL_STALL.as_millis() as u64 {
            return Err("no librdkafka statistics for a minute: the poller is stalled");
        }
        Ok(())
    }
}
