//! Per job class totals and their table, printed by shadow mode.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::consumer::JobFailure;

/// Per job class totals, for log lines and summaries (shadow mode prints them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSummary {
    /// Runs that succeeded.
    pub succeeded: u64,
    /// Runs whose handler returned an error or panicked.
    pub failed: u64,
    /// Runs of messages whose class has no handler.
    pub no_handler: u64,
    /// Runs of tombstones and unreadable payloads.
    pub bad_payload: u64,
    /// Runs that were a retry of a failed run.
    pub retried: u64,
    /// Wall time of all runs together.
    pub total_time: Duration,
    /// The longest run.
    pub max_time: Duration,
}

impl ClassSummary {
    /// All runs.
    pub fn runs(&self) -> u64 {
        self.succeeded + self.failed + self.no_handler + self.bad_payload
    }

    /// Mean wall time of a run.
    pub fn mean_time(&self) -> Duration {
        match self.runs() {
            0 => Duration::ZERO,
            n => self.total_time / u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    pub(super) fn add(&mut self, outcome: Result<(), &JobFailure>, retry: bool, took: Duration) {
        match outcome {
            Ok(()) => self.succeeded += 1,
            Err(
                JobFailure::Failed(_)
                | JobFailure::Panicked(_)
                | JobFailure::DiscardOn(_)
                | JobFailure::DeadLetterOn(_),
            ) => self.failed += 1,
            Err(JobFailure::UnknownJobClass(_)) => self.no_handler += 1,
            Err(JobFailure::Tombstone | JobFailure::Undecodable(_)) => self.bad_payload += 1,
        }
        self.retried += u64::from(retry);
        self.total_time += took;
        self.max_time = self.max_time.max(took);
    }
}

/// Renders per-class summaries as an aligned table (one line per class, then a total).
pub fn render_summary(summary: &BTreeMap<String, ClassSummary>) -> String {
    let width = summary.keys().map(String::len).max().unwrap_or(0).max(9);
    let mut out = format!(
        "{:<width$}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>10}  {:>10}\n",
        "job class", "ok", "failed", "no handler", "bad", "retries", "mean", "max"
    );
    let mut total = ClassSummary::default();
    let mut line = |name: &str, s: &ClassSummary| {
        out.push_str(&format!(
            "{:<width$}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>10}  {:>10}\n",
            name,
            s.succeeded,
            s.failed,
            s.no_handler,
            s.bad_payload,
            s.retried,
            format!("{:.1?}", s.mean_time()),
            format!("{:.1?}", s.max_time),
        ));
    };
    for (class, s) in summary {
        line(class, s);
        total.succeeded += s.succeeded;
        total.failed += s.failed;
        total.no_handler += s.no_handler;
        total.bad_payload += s.bad_payload;
        total.retried += s.retried;
        total.total_time += s.total_time;
        total.max_time = total.max_time.max(s.max_time);
    }
    line("total", &total);
    out
}
