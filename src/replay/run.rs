//! Running the entries: through the handlers (in lanes, up to `jobs` at once) or against
//! expected typed dumps.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value as Json;

use super::inputs::{file_name, Body, Entry, Lane};
use super::progress::ProgressBar;
use super::report::{JobResult, Outcome};
use super::{io_error, ReplayError};
use crate::consumer::{InboundMessage, JobFailure, PartitionSignals};
use crate::options::DecodeOptions;
use crate::registry::{Registry, Requeue};
use crate::typed::{compare, typed_dump};
use crate::{DecodeErrorKind, Job};

#[derive(Debug)]
pub(super) enum Expected {
    ByName(HashMap<String, Json>),
    InOrder(Vec<Json>),
}

impl Expected {
    pub(super) fn load(path: &Path) -> Result<Expected, ReplayError> {
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

    pub(super) fn get(&self, entry: &Entry) -> Option<&Json> {
        match self {
            Expected::ByName(map) => map.get(&entry.name),
            Expected::InOrder(list) => list.get(entry.index),
        }
    }
}

#[derive(Clone)]
pub(super) enum Mode {
    Run(Registry),
    Typed {
        expected: Arc<Expected>,
        options: Arc<DecodeOptions>,
    },
}

pub(super) async fn execute(
    entries: Vec<Entry>,
    mode: Mode,
    jobs: usize,
    bar: ProgressBar,
) -> Vec<JobResult> {
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
pub(super) struct Peek {
    job_class: Option<Json>,
    job_id: Option<Json>,
    queue_name: Option<Json>,
}

pub(super) async fn run_one(mut entry: Entry, mode: &Mode) -> JobResult {
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
        topic: text(&peek.queue_name).unwrap_or_default().into(),
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
        topic: message.topic.to_string(),
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
            message.payload = payload.map(Into::into);
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

/// Where a replayed job's `retry_on` re-enqueues: noted for the report, then handed to the
/// registry's own requeue when it has one (as the worker would), else kept here, so that a
/// replay without a producer reports the retry instead of failing for want of one.
#[derive(Clone)]
struct RetryRecorder {
    inner: Option<Arc<dyn Requeue>>,
    retries: Arc<Mutex<Vec<Retry>>>,
}

/// A recorded retry: the `executions` it carries and when it is to run.
type Retry = (i64, DateTime<Utc>);

impl Requeue for RetryRecorder {
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        let executions = job.executions.unwrap_or_default();
        let retries = Arc::clone(&self.retries);
        let forwarded = self.inner.as_ref().map(|inner| inner.requeue(job, at, key));
        async move {
            if let Some(forwarded) = forwarded {
                forwarded.await?;
            }
            retries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((executions, at));
            Ok(())
        }
        .boxed()
    }
}

impl RetryRecorder {
    fn new(registry: &Registry) -> Self {
        RetryRecorder {
            inner: registry.requeue(),
            retries: Arc::default(),
        }
    }

    fn take(&self) -> Option<Retry> {
        self.retries.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }
}

pub(super) async fn run_handler(registry: &Registry, message: InboundMessage) -> (Outcome, String) {
    let retries = RetryRecorder::new(registry);
    let registry = &registry
        .clone()
        .with_retry_requeue(Arc::new(retries.clone()));
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
        Ok(()) => match retries.take() {
            Some((executions, at)) => (
                Outcome::Retried,
                format!(
                    "re-enqueued by retry_on (executions {executions}, to run at {})",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            None => (Outcome::Ok, String::new()),
        },
        Err(failure) => {
            let class = match failure {
                JobFailure::DiscardOn(_) => Outcome::Discarded,
                JobFailure::Failed(_) | JobFailure::Panicked(_) | JobFailure::DeadLetterOn(_) => {
                    Outcome::Failed
                }
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

pub(super) fn compare_typed(
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
