//! How each job ended and the per-class summary.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How one job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The handler succeeded (typed: the dump matched).
    Ok,
    /// The handler returned an error or panicked (typed: the dump differs or none is expected).
    Failed,
    /// No handler is registered for the job class, or the application does not define it.
    NoHandler,
    /// The payload cannot be decoded (or there is none: a tombstone).
    BadPayload,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::NoHandler => "no handler",
            Outcome::BadPayload => "bad payload",
        })
    }
}

/// One replayed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// Where it came from: a path, or `path:line` for NDJSON.
    pub source: String,
    /// Its `job_class`, when the payload names one.
    pub job_class: Option<String>,
    /// Its `job_id`, when the payload has one.
    pub job_id: Option<String>,
    /// The topic, partition and offset it ran with.
    pub topic: String,
    /// See `topic`.
    pub partition: i32,
    /// See `topic`.
    pub offset: i64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it did not succeed (empty when it did).
    pub reason: String,
}

impl JobResult {
    /// The row of the per-class table this job counts in.
    pub fn class_label(&self) -> &str {
        match (&self.job_class, self.outcome) {
            (Some(c), _) => c,
            (None, Outcome::BadPayload) if self.reason.starts_with("tombstone") => "(tombstone)",
            (None, _) => "(unreadable)",
        }
    }
}

/// Outcomes of one job class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Jobs that succeeded (typed: matched).
    pub ok: usize,
    /// Jobs whose handler failed or panicked (typed: mismatched).
    pub failed: usize,
    /// Jobs with no handler (typed: a class the application does not define).
    pub no_handler: usize,
    /// Jobs whose payload could not be decoded, and tombstones.
    pub bad_payload: usize,
}

impl ClassCounts {
    /// All jobs counted.
    pub fn total(&self) -> usize {
        self.ok + self.failed + self.no_handler + self.bad_payload
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NoHandler => self.no_handler += 1,
            Outcome::BadPayload => self.bad_payload += 1,
        }
    }
}

/// What a replay found: counts per job class and every job's outcome in input order.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    typed: bool,
    jobs: Vec<JobResult>,
    classes: BTreeMap<String, ClassCounts>,
    totals: ClassCounts,
    elapsed: Duration,
}

impl ReplayReport {
    pub(super) fn new(typed: bool, jobs: Vec<JobResult>, elapsed: Duration) -> Self {
        let mut classes: BTreeMap<String, ClassCounts> = BTreeMap::new();
        let mut totals = ClassCounts::default();
        for job in &jobs {
            classes
                .entry(job.class_label().to_owned())
                .or_default()
                .add(job.outcome);
            totals.add(job.outcome);
        }
        ReplayReport {
            typed,
            jobs,
            classes,
            totals,
            elapsed,
        }
    }

    /// Whether typed dumps were compared instead of running handlers.
    pub fn is_typed(&self) -> bool {
        self.typed
    }

    /// Every job in input order.
    pub fn jobs(&self) -> &[JobResult] {
        &self.jobs
    }

    /// The jobs that did not succeed, in input order.
    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.jobs.iter().filter(|j| j.outcome != Outcome::Ok)
    }

    /// Counts per job class (`(unreadable)` and `(tombstone)` for payloads without one).
    pub fn classes(&self) -> &BTreeMap<String, ClassCounts> {
        &self.classes
    }

    /// The counts of one job class (all zero when none ran).
    pub fn class(&self, job_class: &str) -> ClassCounts {
        self.classes.get(job_class).copied().unwrap_or_default()
    }

    /// The counts over all classes.
    pub fn totals(&self) -> ClassCounts {
        self.totals
    }

    /// How long the run took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// True when every job succeeded (and there was at least one).
    pub fn all_ok(&self) -> bool {
        self.totals.total() > 0 && self.totals.ok == self.totals.total()
    }

    /// Panics with the summary table and the first failures unless [`Self::all_ok`].
    #[track_caller]
    pub fn assert_all_ok(&self) {
        if !self.all_ok() {
            panic!("replay did not succeed:\n{}", self.render(20));
        }
    }

    /// The summary table, then the first `failures` failures with source and reason.
    pub fn render(&self, failures: usize) -> String {
        let mut out = String::new();
        let headers = if self.typed {
            [
                "job class",
                "ok",
                "mismatch",
                "unknown class",
                "bad payload",
            ]
        } else {
            ["job class", "ok", "failed", "no handler", "bad payload"]
        };
        let mut rows: Vec<[String; 5]> = self
            .classes
            .iter()
            .map(|(class, c)| row(class, c))
            .collect();
        rows.push(row("total", &self.totals));
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..5).map(width).collect();
        let line = |cells: [&str; 5]| {
            let mut s = format!("{:<w$}", cells[0], w = widths[0]);
            for i in 1..5 {
                s.push_str(&format!("  {:>w$}", cells[i], w = widths[i]));
            }
            s.push('\n');
            s
        };
        out.push_str(&line(headers));
        for (i, r) in rows.iter().enumerate() {
            if i + 1 == rows.len() {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 8));
                out.push('\n');
            }
            out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
        let failed: Vec<&JobResult> = self.failures().collect();
        if !failed.is_empty() && failures > 0 {
            let shown = failed.len().min(failures);
            out.push_str(&format!(
                "\n{} of {} job{} did not succeed{}:\n",
                failed.len(),
                self.totals.total(),
                if self.totals.total() == 1 { "" } else { "s" },
                if shown < failed.len() {
                    format!(" (the first {shown})")
                } else {
                    String::new()
                }
            ));
            for job in failed.iter().take(shown) {
                let outcome = match (self.typed, job.outcome) {
                    (true, Outcome::Failed) => "mismatch".to_owned(),
                    (true, Outcome::NoHandler) => "unknown class".to_owned(),
                    (_, o) => o.to_string(),
                };
                out.push_str(&format!(
                    "  {} [{}] {outcome}: {}\n",
                    job.source,
                    job.class_label(),
                    job.reason
                ));
            }
        }
        out
    }
}

pub(super) fn row(class: &str, c: &ClassCounts) -> [String; 5] {
    [
        class.to_owned(),
        c.ok.to_string(),
        c.failed.to_string(),
        c.no_handler.to_string(),
        c.bad_payload.to_string(),
    ]
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(20))
    }
}
