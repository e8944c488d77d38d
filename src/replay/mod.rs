//! Running recorded jobs through the registered handlers, with no broker: in CI, and in an
//! application's own tests.
//!
//! Inputs are payload files (`*.json`), directories (searched recursively), NDJSON files
//! (`.jsonl` / `.ndjson`: one payload or one recorded record per line) and recordings made by
//! [`crate::record`]. In a directory, `manifest.json`, `rails81_decoded.json` and `*.meta.json`
//! (metadata, read beside its payload) are not jobs; files run in natural name order, so
//! `orders-0-9.json` runs before `orders-0-10.json`.
//!
//! Each job runs as the worker would run it ([`Registry::run`]), with
//! [`PartitionSignals::detached`](crate::consumer::PartitionSignals::detached) and an
//! [`InboundMessage`] built from the recording: topic, partition, offset, key and headers from
//! the metadata when there is some; otherwise the
//! payload's `queue_name` as the topic, partition 0, and the line number (NDJSON) or 0 as the
//! offset.
//!
//! A job whose error its class's policies take ([`crate::registry::JobPolicies`]) ends as the
//! worker would end it: [`Outcome::Discarded`] for `discard_on`, [`Outcome::Retried`] for
//! `retry_on` (re-enqueued through the registry's requeue when it has one, otherwise only
//! reported); neither counts as a failure. `dead_letter_on` and unnamed errors are
//! [`Outcome::Failed`].
//!
//! With [`Replay::jobs`] above 1, jobs run in parallel, but jobs of the same Kafka key (or,
//! without a key, of the same topic-partition) still run one after the other in input order, as
//! a worker runs them; so do the lines of one NDJSON file of bare payloads. Other bare payload
//! files have no order to keep.
//!
//! ```
//! use activejob_karafka::registry::Registry;
//! use activejob_karafka::replay::Replay;
//!
//! #[derive(serde::Deserialize)]
//! struct ImportOptions { mode: String, dry_run: bool }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new().register(
//!     "ImportJob",
//!     |(import_id, options): (i64, ImportOptions), _ctx| async move {
//!         anyhow::ensure!(import_id > 0 && !options.mode.is_empty(), "bad import {import_id}");
//!         let _ = options.dry_run;
//!         Ok(())
//!     },
//! );
//! // In an application: Replay::new(my_app::registry()).path("tests/recorded_jobs")
//! let report = Replay::new(registry)
//!     .path(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/8.1/kwargs.json"))
//!     .jobs(4)
//!     .run()
//!     .await?;
//! report.assert_all_ok();
//! assert_eq!(report.class("ImportJob").ok, 1);
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::consumer::InboundMessage;
use crate::options::DecodeOptions;
use crate::registry::Registry;

mod inputs;
mod progress;
mod report;
mod run;
#[cfg(test)]
mod tests;

use inputs::{collect, Body, Entry, Lane};
use progress::ProgressBar;
pub use report::{ClassCounts, JobResult, Outcome, ReplayReport};
use run::{execute, Expected, Mode};

/// File names in a directory that are never jobs.
const NOT_JOBS: [&str; 2] = ["manifest.json", "rails81_decoded.json"];

/// A replay that could not start: an input or the expected-dumps file is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file that must be JSON is not.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A replay run, built step by step (see the [module docs](self)).
#[derive(Debug)]
pub struct Replay {
    registry: Registry,
    paths: Vec<PathBuf>,
    messages: Vec<(String, InboundMessage)>,
    jobs: usize,
    typed_expect: Option<PathBuf>,
    typed_options: Option<DecodeOptions>,
    progress: bool,
}

impl Replay {
    /// A replay through `registry`'s handlers.
    pub fn new(registry: Registry) -> Self {
        Replay {
            registry,
            paths: Vec::new(),
            messages: Vec::new(),
            jobs: 1,
            typed_expect: None,
            typed_options: None,
            progress: false,
        }
    }

    /// Adds a payload file, a directory, an NDJSON file or a recording.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Adds several inputs.
    pub fn paths<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.paths.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Adds a message built in code, named `name` in the report (after the paths' jobs).
    pub fn message(mut self, name: impl Into<String>, message: InboundMessage) -> Self {
        self.messages.push((name.into(), message));
        self
    }

    /// Runs up to `n` jobs at once (at least 1), keeping per-key order.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = n.max(1);
        self
    }

    /// Compares each payload's typed dump with the expected dumps in `file` instead of running
    /// handlers: a map `{ "<file name>": dump }` like `fixtures/8.1/rails81_decoded.json`, or
    /// NDJSON of dumps in input order.
    pub fn typed_expect(mut self, file: impl Into<PathBuf>) -> Self {
        self.typed_expect = Some(file.into());
        self
    }

    /// The decode options of typed dumps (default: the registry's).
    pub fn typed_options(mut self, options: DecodeOptions) -> Self {
        self.typed_options = Some(options);
        self
    }

    /// Shows a progress bar on standard error, when it is a terminal and the run lasts more
    /// than a second (default off; the command line turns it on).
    pub fn progress(mut self, yes: bool) -> Self {
        self.progress = yes;
        self
    }

    /// Runs every job and reports the outcomes. Await it within a tokio runtime (handlers and
    /// parallel runs use it).
    pub async fn run(self) -> Result<ReplayReport, ReplayError> {
        let started = Instant::now();
        let mut entries = collect(&self.paths)?;
        for (name, message) in self.messages {
            let payload = message.payload.clone();
            entries.push(Entry {
                index: 0,
                source: name.clone(),
                name,
                lane: Lane::None,
                line: 0,
                message: Some(message),
                body: match payload {
                    Some(bytes) => Body::Bytes(bytes.to_vec()),
                    None => Body::Tombstone,
                },
            });
        }
        for (i, entry) in entries.iter_mut().enumerate() {
            entry.index = i;
            entry.lane = entry.lane_of(i);
        }
        let mode = match &self.typed_expect {
            None => Mode::Run(self.registry.clone()),
            Some(file) => Mode::Typed {
                expected: Arc::new(Expected::load(file)?),
                options: Arc::new(
                    self.typed_options
                        .unwrap_or_else(|| self.registry.options().clone()),
                ),
            },
        };
        let bar = ProgressBar::new(self.progress, entries.len() as u64);
        let results = execute(entries, mode.clone(), self.jobs, bar.clone()).await;
        bar.finish();
        Ok(ReplayReport::new(
            matches!(mode, Mode::Typed { .. }),
            results,
            started.elapsed(),
        ))
    }
}
