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
    /// The handler's error is one its class discards (`discard_on`): the worker marks the
    /// message consumed and goes on. Not a failure.
    Discarded,
    /// The handler's error is one its class retries (`retry_on`): the worker re-enqueues the
    /// job with its counters raised (a replay only records that) and marks the message
    /// consumed. Not a failure.
    Retried,
}

impl Outcome {
    /// True for the outcomes a replay counts against the run: failed, no handler, bad payload.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::NoHandler | Outcome::BadPayload
        )
    }

    /// True when a job policy (`discard_on`, `retry_on`) took the job's error.
    pub fn is_policy(self) -> bool {
        matches!(self, Outcome::Discarded | Outcome::Retried)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::NoHandler => "no handler",
            Outcome::BadPayload => "bad payload",
            Outcome::Discarded => "discarded",
            Outcome::Retried => "retried",
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
    /// Jobs whose error their class discards (`discard_on`).
    pub discarded: usize,
    /// Jobs whose error their class retries (`retry_on`): re-enqueued by a worker.
    pub retried: usize,
}

impl ClassCounts {
    /// All jobs counted.
    pub fn total(&self) -> usize {
        self.ok + self.failed + self.no_handler + self.bad_payload + self.discarded + self.retried
    }

    /// Jobs a job policy took: discarded plus retried.
    pub fn by_policy(&self) -> usize {
        self.discarded + self.retried
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NoHandler => self.no_handler += 1,
            Outcome::BadPayload => self.bad_payload += 1,
            Outcome::Discarded => self.discarded += 1,
            Outcome::Retried => self.retried += 1,
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

    /// The jobs that failed, had no handler or had a bad payload, in input order.
    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.jobs.iter().filter(|j| j.outcome.is_failure())
    }

    /// The jobs a job policy took (discarded, retried), in input order.
    pub fn by_policy(&self) -> impl Iterator<Item = &JobResult> {
        self.jobs.iter().filter(|j| j.outcome.is_policy())
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

    /// True when no job failed, lacked a handler or had a bad payload (and there was at least
    /// one): jobs that their class's `discard_on` or `retry_on` took count as handled, as the
    /// worker handles them.
    pub fn all_ok(&self) -> bool {
        self.totals.total() > 0 && self.failures().next().is_none()
    }

    /// Panics with the summary table and the first failures unless [`Self::all_ok`].
    #[track_caller]
    pub fn assert_all_ok(&self) {
        if !self.all_ok() {
            panic!("replay did not succeed:\n{}", self.render(20));
        }
    }

    /// The summary table, then the first `failures` failures with source and reason, then as
    /// many of the jobs a policy took (the `discarded` and `retried` columns and that list appear
    /// only when there are some).
    pub fn render(&self, failures: usize) -> String {
        let policies = self.totals.by_policy() > 0;
        let mut headers: Vec<&str> = if self.typed {
            vec![
                "job class",
                "ok",
                "mismatch",
                "unknown class",
                "bad payload",
            ]
        } else {
            vec!["job class", "ok", "failed", "no handler", "bad payload"]
        };
        if policies {
            headers.extend(["discarded", "retried"]);
        }
        let mut rows: Vec<Vec<String>> = self
            .classes
            .iter()
            .map(|(class, c)| row(class, c, policies))
            .collect();
        rows.push(row("total", &self.totals, policies));
        let widths: Vec<usize> = (0..headers.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[&str]| {
            let mut s = format!("{:<w$}", cells[0], w = widths[0]);
            for (cell, w) in cells.iter().zip(&widths).skip(1) {
                s.push_str(&format!("  {cell:>w$}"));
            }
            s.push('\n');
            s
        };
        let mut out = line(&headers);
        for (i, r) in rows.iter().enumerate() {
            if i + 1 == rows.len() {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
                out.push('\n');
            }
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            out.push_str(&line(&cells));
        }
        let failed: Vec<&JobResult> = self.failures().collect();
        self.render_list(&mut out, &failed, failures, "did not succeed");
        let taken: Vec<&JobResult> = self.by_policy().collect();
        self.render_list(&mut out, &taken, failures, "were taken by a job policy");
        out
    }

    /// Up to `limit` of `jobs`, under a line saying how many `what`.
    fn render_list(&self, out: &mut String, jobs: &[&JobResult], limit: usize, what: &str) {
        if jobs.is_empty() || limit == 0 {
            return;
        }
        let shown = jobs.len().min(limit);
        out.push_str(&format!(
            "\n{} of {} job{} {what}{}:\n",
            jobs.len(),
            self.totals.total(),
            if self.totals.total() == 1 { "" } else { "s" },
            if shown < jobs.len() {
                format!(" (the first {shown})")
            } else {
                String::new()
            }
        ));
        for job in jobs.iter().take(shown) {
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
}

fn row(class: &str, c: &ClassCounts, policies: bool) -> Vec<String> {
    let mut cells = vec![
        class.to_owned(),
        c.ok.to_string(),
        c.failed.to_string(),
        c.no_handler.to_string(),
        c.bad_payload.to_string(),
    ];
    if policies {
        cells.extend([c.discarded.to_string(), c.retried.to_string()]);
    }
    cells
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(20))
    }
}
