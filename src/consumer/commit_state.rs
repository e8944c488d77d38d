//! What became of the worker's offset commits, in one place that the poller writes and the
//! partition tasks and a health check read.
//!
//! The worker stores each finished job's offset in librdkafka and commits the stored offsets
//! itself, in the background, every [`WorkerConfig::commit_interval`](super::WorkerConfig)
//! (and sooner when a partition runs dry). Each commit's outcome lands here (the worker's
//! synchronous commits at revocation and shutdown included):
//!
//! * `last_success`: the last commit the group coordinator acknowledged (or that had nothing
//!   to commit);
//! * `failing_since` / `last_error`: the first failure since that success, and the latest one;
//! * `uncommitted_since`: the oldest commit of newly stored offsets that no acknowledged commit
//!   has covered yet. A commit to a broker that is down does not fail at once: librdkafka
//!   holds it until the coordinator is back (up to `socket.timeout.ms`), so this age, not the
//!   error, is what shows that finished jobs are piling up uncommitted.
//!
//! When `uncommitted_since` is older than
//! [`WorkerConfig::commit_stall_timeout`](super::WorkerConfig), the worker **holds**: no
//! partition starts a new job until a commit succeeds again. Jobs finished while commits
//! cannot reach the broker would all run again if the assignment is lost meanwhile (the
//! broker away for longer than `session.timeout.ms`); holding bounds those duplicates by what
//! finishes within the stall timeout, instead of by librdkafka's read-ahead. Running jobs are
//! not interrupted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Commit outcomes of one worker ([`Worker::commit_state`](super::Worker::commit_state)).
/// Read it with [`CommitState::status`]; the worker alone writes it.
///
/// The worker commits the stored offsets in the background every
/// [`WorkerConfig::commit_interval`](super::WorkerConfig::commit_interval) and when a
/// partition runs dry. A commit to a broker that is away does not fail at once (librdkafka
/// holds it until the coordinator is back, up to `socket.timeout.ms`), so the age of the
/// oldest unacknowledged commit ([`CommitStatus::uncommitted_since`]), not the error, shows
/// that finished jobs are piling up uncommitted. Past
/// [`WorkerConfig::commit_stall_timeout`](super::WorkerConfig::commit_stall_timeout) the
/// worker **holds**: no partition starts a new job until a commit succeeds again (running
/// jobs finish). This bounds what runs again when the assignment is lost during an outage.
#[derive(Debug)]
pub struct CommitState {
    inner: Mutex<Inner>,
    /// Offsets were stored since the last commit was sent.
    stored: AtomicBool,
    /// A partition ran dry: commit without waiting for the next interval.
    commit_soon: AtomicBool,
    /// True while new jobs wait for commits to succeed again: what waiting tasks watch.
    holding: watch::Sender<bool>,
    /// The same flag for the check every job start makes: a load of a line that rarely
    /// changes, where reading the channel takes its lock, a write to memory that every
    /// partition's task shares.
    holding_now: AtomicBool,
    stall_timeout: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    last_success: Option<Instant>,
    failing_since: Option<Instant>,
    last_error: Option<String>,
    uncommitted_since: Option<Instant>,
    last_sent: Option<Instant>,
}

/// A copy of the commit outcomes at one moment ([`CommitState::status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitStatus {
    /// When the group coordinator last acknowledged a commit (a commit with nothing new to
    /// commit counts). `None` before the first one.
    pub last_success: Option<Instant>,
    /// When commits started failing, if the latest outcome is a failure.
    pub failing_since: Option<Instant>,
    /// The latest commit error, kept until a commit succeeds.
    pub last_error: Option<String>,
    /// When the oldest commit of stored offsets not yet acknowledged was sent. `None` when
    /// everything stored is committed (or its commit is younger than one acknowledgement).
    pub uncommitted_since: Option<Instant>,
    /// True while no new job starts because commits have not succeeded for longer than
    /// `commit_stall_timeout`.
    pub holding_jobs: bool,
}

impl CommitStatus {
    /// How long stored offsets have waited for an acknowledged commit, as of `now`.
    pub fn uncommitted_for(&self, now: Instant) -> Duration {
        self.uncommitted_since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // Plain data: a panic elsewhere leaves it meaningful.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CommitState {
    /// A state for a worker that holds new jobs once commits have not succeeded for
    /// `stall_timeout`.
    pub(crate) fn new(stall_timeout: Duration) -> Self {
        CommitState {
            inner: Mutex::default(),
            stored: AtomicBool::new(false),
            commit_soon: AtomicBool::new(false),
            holding: watch::Sender::new(false),
            holding_now: AtomicBool::new(false),
            stall_timeout,
        }
    }

    /// The outcomes so far.
    pub fn status(&self) -> CommitStatus {
        let inner = lock(&self.inner);
        CommitStatus {
            last_success: inner.last_success,
            failing_since: inner.failing_since,
            last_error: inner.last_error.clone(),
            uncommitted_since: inner.uncommitted_since,
            holding_jobs: *self.holding.borrow(),
        }
    }

    /// A partition task stored offsets.
    pub(crate) fn stored(&self) {
        self.stored.store(true, Ordering::Release);
    }

    /// A partition task stored offsets and ran dry: commit them without waiting for the
    /// interval (the end of a batch).
    pub(crate) fn stored_and_ran_dry(&self) {
        self.stored.store(true, Ordering::Release);
        self.commit_soon.store(true, Ordering::Release);
    }

    /// Whether the poller should send a commit now: offsets were stored since the last one,
    /// and `interval` has passed since it (or a partition ran dry and `min_gap` has passed).
    /// When true, the caller sends the commit and calls [`sent`](Self::sent).
    pub(crate) fn commit_due(&self, now: Instant, interval: Duration, min_gap: Duration) -> bool {
        if !self.stored.load(Ordering::Acquire) {
            return false;
        }
        let since = lock(&self.inner)
            .last_sent
            .map_or(Duration::MAX, |t| now.saturating_duration_since(t));
        since >= interval || (since >= min_gap && self.commit_soon.load(Ordering::Acquire))
    }

    /// A commit of the offsets stored so far was sent at `now`.
    pub(crate) fn sent(&self, now: Instant) {
        self.stored.store(false, Ordering::Release);
        self.commit_soon.store(false, Ordering::Release);
        let mut inner = lock(&self.inner);
        inner.last_sent = Some(now);
        inner.uncommitted_since.get_or_insert(now);
    }

    /// The coordinator acknowledged a commit, or there was nothing to commit.
    pub(crate) fn succeeded(&self, now: Instant) {
        {
            let mut inner = lock(&self.inner);
            inner.last_success = Some(now);
            inner.failing_since = None;
            inner.last_error = None;
            // Offsets stored after that commit was sent are in the next one, due within an
            // interval: the age restarts with it.
            inner.uncommitted_since = None;
        }
        self.set_holding(false);
    }

    /// A commit failed with `error`. The stored offsets stay stored: the next commit carries
    /// them again.
    pub(crate) fn failed(&self, now: Instant, error: String) {
        let mut inner = lock(&self.inner);
        inner.failing_since.get_or_insert(now);
        inner.last_error = Some(error);
        drop(inner);
        self.stored.store(true, Ordering::Release);
    }

    /// Starts holding new jobs once stored offsets have waited longer than the stall timeout.
    /// Called by the poller on every turn; returns true while holding.
    pub(crate) fn check_stall(&self, now: Instant) -> bool {
        let stalled = lock(&self.inner)
            .uncommitted_since
            .is_some_and(|t| now.saturating_duration_since(t) > self.stall_timeout);
        if stalled {
            self.set_holding(true);
        }
        self.is_holding()
    }

    fn set_holding(&self, holding: bool) {
        let changed = self.holding.send_if_modified(|h| {
            let changed = *h != holding;
            *h = holding;
            // Under the channel's lock, so the two never disagree once it is released.
            self.holding_now.store(holding, Ordering::Release);
            changed
        });
        if changed {
            if holding {
                tracing::warn!(
                    stall_timeout_ms = self.stall_timeout.as_millis() as u64,
                    error = ?lock(&self.inner).last_error,
                    "offset commits are not getting through: no new job starts until one does"
                );
            } else {
                tracing::info!("offset commits succeed again: jobs resume");
            }
        }
    }

    /// True while new jobs wait for commits.
    pub(crate) fn is_holding(&self) -> bool {
        self.holding_now.load(Ordering::Acquire)
    }

    /// Waits until new jobs may start (returns at once when not holding).
    pub(crate) async fn wait_until_released(&self) {
        let mut rx = self.holding.subscribe();
        // The sender lives as long as `self`: an error cannot happen while we borrow it.
        let _ = rx.wait_for(|holding| !holding).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn nothing_stored_means_no_commit() {
        let s = CommitState::new(MS * 1000);
        assert!(!s.commit_due(Instant::now(), MS * 100, MS * 10));
    }

    #[test]
    fn stored_offsets_wait_for_the_interval_unless_a_partition_ran_dry() {
        let s = CommitState::new(MS * 1000);
        let t0 = Instant::now();
        s.stored();
        assert!(s.commit_due(t0, MS * 100, MS * 10), "first commit at once");
        s.sent(t0);
        s.stored();
        assert!(!s.commit_due(t0 + MS * 50, MS * 100, MS * 10));
        assert!(s.commit_due(t0 + MS * 100, MS * 100, MS * 10));
        s.stored_and_ran_dry();
        assert!(!s.commit_due(t0 + MS * 5, MS * 100, MS * 10), "min gap");
        assert!(s.commit_due(t0 + MS * 10, MS * 100, MS * 10));
    }

    #[test]
    fn holds_after_the_stall_timeout_and_resumes_on_success() {
        let s = CommitState::new(MS * 1000);
        let t0 = Instant::now();
        s.stored();
        s.sent(t0);
        s.failed(t0 + MS * 10, "coordinator not available".into());
        assert!(!s.check_stall(t0 + MS * 1000));
        assert!(s.check_stall(t0 + MS * 1001));
        let status = s.status();
        assert!(status.holding_jobs);
        assert_eq!(status.failing_since, Some(t0 + MS * 10));
        assert_eq!(
            status.last_error.as_deref(),
            Some("coordinator not available")
        );
        // A failed commit leaves the offsets to commit again.
        assert!(s.commit_due(t0 + MS * 1001, MS * 100, MS * 10));
        s.succeeded(t0 + MS * 2000);
        let status = s.status();
        assert!(!status.holding_jobs && status.failing_since.is_none());
        assert_eq!(status.last_success, Some(t0 + MS * 2000));
        assert!(!s.check_stall(t0 + MS * 9000));
    }

    #[test]
    fn a_commit_never_acknowledged_also_holds() {
        // A broker that is down holds the commit instead of failing it.
        let s = CommitState::new(MS * 500);
        let t0 = Instant::now();
        s.stored();
        s.sent(t0);
        s.stored();
        s.sent(t0 + MS * 100);
        assert_eq!(s.status().uncommitted_for(t0 + MS * 400), MS * 400);
        assert!(s.check_stall(t0 + MS * 501));
    }

    #[tokio::test]
    async fn waiting_tasks_are_released_by_a_success() {
        let s = std::sync::Arc::new(CommitState::new(Duration::ZERO));
        let t0 = Instant::now();
        s.sent(t0);
        assert!(s.check_stall(t0 + MS));
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait_until_released().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        s.succeeded(t0 + MS * 2);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .unwrap();
    }
}
