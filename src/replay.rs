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
//! [`PartitionSignals::detached`] and an [`InboundMessage`] built from the recording: topic,
//! partition, offset, key and headers from the metadata when there is some; otherwise the
//! payload's `queue_name` as the topic, partition 0, and the line number (NDJSON) or 0 as the
//! offset.
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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::Value as Json;

use crate::consumer::{InboundMessage, JobFailure, PartitionSignals};
use crate::options::DecodeOptions;
use crate::record::RecordedMessage;
use crate::registry::Registry;
use crate::typed::{compare, typed_dump};
use crate::{DecodeErrorKind, Job};

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
                    Some(bytes) => Body::Bytes(bytes),
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

// ------------------------------------------------------------------------------------------------
// Inputs

/// One job to replay.
#[derive(Debug)]
struct Entry {
    index: usize,
    /// Where it came from, for the report: a path, or `path:line`.
    source: String,
    /// The key of its expected typed dump in a map: the file name (`name:line` for NDJSON).
    name: String,
    lane: Lane,
    /// The line number in an NDJSON file (0 for a file of its own): the offset of a bare payload.
    line: i64,
    /// The message, when metadata or code gave one (the payload is read separately).
    message: Option<InboundMessage>,
    body: Body,
}

#[derive(Debug)]
enum Body {
    File(PathBuf),
    Bytes(Vec<u8>),
    Tombstone,
    /// A recording without its payload: why.
    Missing(String),
}

/// What a job must stay in order with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Lane {
    None,
    Key(Vec<u8>),
    Partition(String, i32),
    File(PathBuf),
    Alone(usize),
}

impl Entry {
    fn lane_of(&self, index: usize) -> Lane {
        match (&self.lane, &self.message) {
            (Lane::File(f), _) => Lane::File(f.clone()),
            (_, Some(m)) => match &m.key {
                Some(key) => Lane::Key(key.clone()),
                None => Lane::Partition(m.topic.clone(), m.partition),
            },
            _ => Lane::Alone(index),
        }
    }
}

fn collect(paths: &[PathBuf]) -> Result<Vec<Entry>, ReplayError> {
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(io_error(path))?;
        if metadata.is_dir() {
            walk(path, &mut entries, &mut seen)?;
        } else {
            add_file(path, true, &mut entries, &mut seen)?;
        }
    }
    Ok(entries)
}

fn walk(
    dir: &Path,
    entries: &mut Vec<Entry>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), ReplayError> {
    let mut children: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .map(|e| {
            let e = e.map_err(io_error(dir))?;
            let is_dir = e.file_type().map_err(io_error(&e.path()))?.is_dir();
            Ok((e.path(), is_dir))
        })
        .collect::<Result<_, ReplayError>>()?;
    children.sort_by(|a, b| natural_cmp(&file_name(&a.0), &file_name(&b.0)));
    for (child, is_dir) in children {
        if is_dir {
            walk(&child, entries, seen)?;
        } else {
            add_file(&child, false, entries, seen)?;
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn add_file(
    path: &Path,
    explicit: bool,
    entries: &mut Vec<Entry>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), ReplayError> {
    let name = file_name(path);
    if NOT_JOBS.contains(&name.as_str()) {
        return Ok(());
    }
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(stem) = name.strip_suffix(".meta.json") {
        let payload = path.with_file_name(format!("{stem}.json"));
        if payload.exists() {
            // The payload file carries the job; its metadata is read with it.
            if explicit {
                return add_file(&payload, true, entries, seen);
            }
            return Ok(());
        }
        if !seen.insert(key) {
            return Ok(());
        }
        let meta = read_meta(path)?;
        let body = if meta.tombstone {
            Body::Tombstone
        } else if let Some(e) = &meta.redaction_error {
            Body::Missing(format!("the recording has no payload: {e}"))
        } else {
            Body::Missing(format!("{stem}.json is missing"))
        };
        entries.push(Entry {
            index: 0,
            source: path.display().to_string(),
            name: format!("{stem}.json"),
            lane: Lane::None,
            line: 0,
            message: Some(meta.to_inbound(None)),
            body,
        });
        return Ok(());
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        if seen.insert(key) {
            read_ndjson(path, &name, entries)?;
        }
        return Ok(());
    }
    if !explicit && !lower.ends_with(".json") {
        return Ok(());
    }
    if !seen.insert(key) {
        return Ok(());
    }
    let meta_path = match name.strip_suffix(".json") {
        Some(stem) => path.with_file_name(format!("{stem}.meta.json")),
        None => path.with_file_name(format!("{name}.meta.json")),
    };
    let message = if meta_path.exists() {
        Some(read_meta(&meta_path)?.to_inbound(None))
    } else {
        None
    };
    entries.push(Entry {
        index: 0,
        source: path.display().to_string(),
        name,
        lane: Lane::None,
        line: 0,
        message,
        body: Body::File(path.to_path_buf()),
    });
    Ok(())
}

fn read_meta(path: &Path) -> Result<RecordedMessage, ReplayError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    serde_json::from_slice(&bytes).map_err(|e| ReplayError::Invalid {
        path: path.display().to_string(),
        reason: format!("not recording metadata: {e}"),
    })
}

fn read_ndjson(path: &Path, name: &str, entries: &mut Vec<Entry>) -> Result<(), ReplayError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = i + 1;
        let source = format!("{}:{number}", path.display());
        let name = format!("{name}:{number}");
        match as_record(line) {
            Some(record) => {
                let body = match (&record.payload, record.tombstone) {
                    (Some(p), _) => Body::Bytes(p.0.clone()),
                    (None, true) => Body::Tombstone,
                    (None, false) => Body::Missing(match &record.redaction_error {
                        Some(e) => format!("the recording has no payload: {e}"),
                        None => "the record has no payload".to_owned(),
                    }),
                };
                entries.push(Entry {
                    index: 0,
                    source,
                    name,
                    lane: Lane::None,
                    line: 0,
                    message: Some(record.to_inbound(None)),
                    body,
                });
            }
            None => entries.push(Entry {
                index: 0,
                source,
                name,
                lane: Lane::File(path.to_path_buf()),
                line: number as i64,
                message: None,
                body: Body::Bytes(line.to_vec()),
            }),
        }
    }
    Ok(())
}

/// A recorded record line: metadata with the payload inline (or a tombstone), not a job.
fn as_record(line: &[u8]) -> Option<RecordedMessage> {
    let value: Json = serde_json::from_slice(line).ok()?;
    let object = value.as_object()?;
    let is_record = object.contains_key("topic")
        && object.contains_key("offset")
        && !object.contains_key("job_class")
        && (object.contains_key("payload") || object.contains_key("tombstone"));
    if !is_record {
        return None;
    }
    serde_json::from_slice(line).ok()
}

/// Compares names with runs of digits as numbers: `t-0-9` before `t-0-10`.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (tx, ty) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                tx.len()
                    .cmp(&ty.len())
                    .then(tx.cmp(ty))
                    .then(x.len().cmp(&y.len()))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

// ------------------------------------------------------------------------------------------------
// Expected typed dumps

#[derive(Debug)]
enum Expected {
    ByName(HashMap<String, Json>),
    InOrder(Vec<Json>),
}

impl Expected {
    fn load(path: &Path) -> Result<Expected, ReplayError> {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        let invalid = |reason: String| ReplayError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let lower = file_name(path).to_ascii_lowercase();
        let ndjson = lower.ends_with(".jsonl") || lower.ends_with(".ndjson");
        if !ndjson {
            if let Ok(Json::Object(map)) = serde_json::from_slice::<Json>(&bytes) {
                // One object holding a job is a single dump; otherwise file name => dump.
                if !map.contains_key("job_class") {
                    return Ok(Expected::ByName(map.into_iter().collect()));
                }
                return Ok(Expected::InOrder(vec![Json::Object(map)]));
            }
        }
        let mut dumps = Vec::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            dumps.push(
                serde_json::from_slice(line)
                    .map_err(|e| invalid(format!("line {}: not a typed dump: {e}", i + 1)))?,
            );
        }
        Ok(Expected::InOrder(dumps))
    }

    fn get(&self, entry: &Entry) -> Option<&Json> {
        match self {
            Expected::ByName(map) => map.get(&entry.name),
            Expected::InOrder(list) => list.get(entry.index),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Running

#[derive(Clone)]
enum Mode {
    Run(Registry),
    Typed {
        expected: Arc<Expected>,
        options: Arc<DecodeOptions>,
    },
}

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

async fn execute(entries: Vec<Entry>, mode: Mode, jobs: usize, bar: ProgressBar) -> Vec<JobResult> {
    let total = entries.len();
    let mut slots: Vec<Option<JobResult>> = vec![None; total];
    if jobs <= 1 {
        for entry in entries {
            let index = entry.index;
            slots[index] = Some(run_one(entry, &mode).await);
            bar.inc();
        }
    } else {
        // Lanes in order of first appearance; each runs its jobs one after the other.
        let mut order: Vec<Lane> = Vec::new();
        let mut lanes: HashMap<Lane, Vec<Entry>> = HashMap::new();
        for entry in entries {
            let lane = entry.lane.clone();
            lanes
                .entry(lane.clone())
                .or_insert_with(|| {
                    order.push(lane);
                    Vec::new()
                })
                .push(entry);
        }
        let queue: VecDeque<Vec<Entry>> =
            order.into_iter().filter_map(|l| lanes.remove(&l)).collect();
        let queue = Arc::new(Mutex::new(queue));
        let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..jobs {
            let (queue, results, mode, bar) =
                (queue.clone(), results.clone(), mode.clone(), bar.clone());
            workers.spawn(async move {
                loop {
                    let lane = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some(lane) = lane else { break };
                    for entry in lane {
                        let index = entry.index;
                        let result = run_one(entry, &mode).await;
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((index, result));
                        bar.inc();
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
        for (index, result) in
            std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()))
        {
            slots[index] = Some(result);
        }
    }
    slots.into_iter().flatten().collect()
}

/// The two envelope fields the report needs, read without decoding the arguments.
#[derive(serde::Deserialize, Default)]
struct Peek {
    job_class: Option<Json>,
    job_id: Option<Json>,
    queue_name: Option<Json>,
}

async fn run_one(mut entry: Entry, mode: &Mode) -> JobResult {
    let payload = match std::mem::replace(&mut entry.body, Body::Tombstone) {
        Body::File(path) => match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        },
        Body::Bytes(bytes) => Ok(Some(bytes)),
        Body::Tombstone => Ok(None),
        Body::Missing(why) => Err(why),
    };
    let peek: Peek = match &payload {
        Ok(Some(bytes)) => serde_json::from_slice(bytes).unwrap_or_default(),
        _ => Peek::default(),
    };
    let text = |v: &Option<Json>| v.as_ref().and_then(Json::as_str).map(str::to_owned);
    let job_class = text(&peek.job_class);
    let mut message = entry.message.take().unwrap_or_else(|| InboundMessage {
        topic: text(&peek.queue_name).unwrap_or_default(),
        partition: 0,
        offset: entry.line,
        key: None,
        payload: None,
        headers: Vec::new(),
        timestamp_ms: None,
    });
    let mut result = JobResult {
        source: entry.source.clone(),
        job_class,
        job_id: text(&peek.job_id),
        topic: message.topic.clone(),
        partition: message.partition,
        offset: message.offset,
        outcome: Outcome::Ok,
        reason: String::new(),
    };
    let payload = match payload {
        Ok(p) => p,
        Err(why) => {
            result.outcome = Outcome::BadPayload;
            result.reason = why;
            return result;
        }
    };
    let (outcome, reason) = match mode {
        Mode::Run(registry) => {
            message.payload = payload;
            run_handler(registry, message).await
        }
        Mode::Typed { expected, options } => compare_typed(
            payload.as_deref(),
            expected.get(&entry),
            &entry.name,
            options,
        ),
    };
    result.outcome = outcome;
    result.reason = reason;
    result
}

async fn run_handler(registry: &Registry, message: InboundMessage) -> (Outcome, String) {
    // A handler may panic while building its future as well as while it runs.
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        registry.run(Arc::new(message), PartitionSignals::detached())
    }));
    let outcome = match started {
        Ok(future) => std::panic::AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(JobFailure::from_panic(panic))),
        Err(panic) => Err(JobFailure::from_panic(panic)),
    };
    match outcome {
        Ok(()) => (Outcome::Ok, String::new()),
        Err(failure) => {
            let class = match failure {
                JobFailure::Failed(_)
                | JobFailure::Panicked(_)
                | JobFailure::DiscardOn(_)
                | JobFailure::DeadLetterOn(_) => Outcome::Failed,
                JobFailure::UnknownJobClass(_) => Outcome::NoHandler,
                JobFailure::Tombstone | JobFailure::Undecodable(_) => Outcome::BadPayload,
            };
            let mut reason = failure.to_string();
            if let JobFailure::UnknownJobClass(job_class) = &failure {
                if let Some(hint) = registry.no_handler_hint(job_class) {
                    reason.push_str(&format!(" ({hint})"));
                }
            }
            (class, reason)
        }
    }
}

fn compare_typed(
    payload: Option<&[u8]>,
    expected: Option<&Json>,
    name: &str,
    options: &DecodeOptions,
) -> (Outcome, String) {
    let Some(payload) = payload else {
        return (Outcome::BadPayload, JobFailure::Tombstone.to_string());
    };
    let job = match Job::decode_with(payload, options) {
        Ok(job) => job,
        Err(e) if e.kind == DecodeErrorKind::UnknownJobClass => {
            return (Outcome::NoHandler, e.to_string())
        }
        Err(e) => return (Outcome::BadPayload, e.to_string()),
    };
    let Some(expected) = expected else {
        return (
            Outcome::Failed,
            format!("no expected typed dump for {name}"),
        );
    };
    match compare(&typed_dump(&job, options), expected) {
        Ok(()) => (Outcome::Ok, String::new()),
        Err(difference) => (
            Outcome::Failed,
            format!("typed dump differs (ours vs expected) at {difference}"),
        ),
    }
}

/// A progress bar that appears only once a run has lasted a second, on a terminal.
#[derive(Clone)]
struct ProgressBar {
    bar: indicatif::ProgressBar,
    shown: Option<Arc<std::sync::atomic::AtomicBool>>,
    started: Instant,
}

impl ProgressBar {
    const DELAY: Duration = Duration::from_secs(1);

    fn new(enabled: bool, total: u64) -> Self {
        use std::io::IsTerminal;
        let enabled = enabled && std::io::stderr().is_terminal();
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "replaying {wide_bar} {pos}/{len} jobs, {elapsed} elapsed, about {eta} left",
        ) {
            bar.set_style(style);
        }
        ProgressBar {
            bar,
            shown: enabled.then(Arc::default),
            started: Instant::now(),
        }
    }

    fn inc(&self) {
        self.bar.inc(1);
        if let Some(shown) = &self.shown {
            if self.started.elapsed() >= Self::DELAY
                && !shown.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                self.bar
                    .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

// ------------------------------------------------------------------------------------------------
// The report

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
    fn new(typed: bool, jobs: Vec<JobResult>, elapsed: Duration) -> Self {
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

fn row(class: &str, c: &ClassCounts) -> [String; 5] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut names = vec![
            "t-0-10.json",
            "t-0-9.json",
            "t-1-0.json",
            "t-0-09x",
            "a.json",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a.json",
                "t-0-9.json",
                "t-0-09x",
                "t-0-10.json",
                "t-1-0.json"
            ]
        );
    }

    #[test]
    fn record_lines_are_told_from_payload_lines() {
        assert!(as_record(br#"{"topic":"t","partition":0,"offset":3,"payload":"{}"}"#).is_some());
        assert!(as_record(br#"{"topic":"t","partition":0,"offset":3,"tombstone":true}"#).is_some());
        assert!(as_record(br#"{"job_class":"A","arguments":[]}"#).is_none());
        assert!(as_record(b"not json").is_none());
    }
}
