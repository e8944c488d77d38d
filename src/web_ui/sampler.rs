//! The state a report is built from: running jobs, librdkafka's statistics, paused partitions,
//! errors since the last report and the worker's counters.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::report::{
    ConsumerGroup, ErrorDetails, ErrorProcess, ErrorReport, GroupState, Job, Listeners, Process,
    Report, Stats, SubscriptionGroup, Topic, Totals, Versions,
};
use super::schema::Schema;
use super::statistics::{Snapshot, StatisticsReader};
use super::system;
use crate::consumer::{InboundMessage, JobFailure, StatsSnapshot, WorkerStats};

/// The `consumer` of our jobs and errors: what Karafka reports as the consumer class.
pub(crate) const CONSUMER: &str = "ActiveJobKarafka::Consumer";

/// Karafka's utilization window.
const UTILIZATION_WINDOW: Duration = Duration::from_secs(60);

/// What a process is, fixed at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub schema: Schema,
    /// `host:pid:hex`.
    pub process_id: String,
    pub tags: Vec<String>,
    pub group_id: String,
    /// The one subscription group of the worker's consumer.
    pub subscription_group: String,
    pub concurrency: usize,
    pub max_poll_interval_ms: u64,
    pub instance_id: Option<String>,
    pub karafka_web_version: String,
}

/// The Karafka process state reported as `process.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Running,
    Stopping,
    Stopped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
        }
    }
}

/// A report being sent, with what to forget once it is.
pub(crate) struct Draft {
    pub report: Report,
    pub errors: Vec<ErrorReport>,
    counters: (StatsSnapshot, u64),
}

pub(crate) struct Sampler {
    identity: Identity,
    started_at: f64,
    worker_stats: Arc<WorkerStats>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_job: u64,
    running: BTreeMap<u64, Job>,
    reader: StatisticsReader,
    snapshot: Option<Snapshot>,
    statistics_at: Option<Instant>,
    paused: HashSet<(String, i32)>,
    retries: u64,
    errors: Vec<ErrorReport>,
    /// (when, how long) of each run that ended in the last minute.
    processed: VecDeque<(Instant, Duration)>,
    /// (when, bytes received, bytes sent) from each statistics of the last minute.
    transfers: VecDeque<(Instant, u64, u64)>,
    /// The counters and retries as of the last report sent.
    reported: (StatsSnapshot, u64),
}

/// Epoch seconds, as Karafka's `float_now`.
pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Keeps a running job in the report until dropped (the run ended, or was abandoned).
pub(crate) struct RunningJob {
    sampler: Arc<Sampler>,
    id: u64,
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        self.sampler.lock().running.remove(&self.id);
    }
}

impl Sampler {
    pub(crate) fn new(identity: Identity, worker_stats: Arc<WorkerStats>) -> Self {
        Sampler {
            identity,
            started_at: now_secs(),
            worker_stats,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A job of `job_class` starts on `message`.
    pub(crate) fn job_started(
        self: &Arc<Self>,
        message: &InboundMessage,
        job_class: &str,
    ) -> RunningJob {
        let now = now_secs();
        let consumption_lag = message
            .timestamp_ms
            .map_or(-1, |ts| ((now * 1000.0) as i64 - ts).max(0));
        let job = Job {
            consumer: CONSUMER,
            consumer_group: self.identity.group_id.clone(),
            updated_at: now,
            topic: message.topic.to_string(),
            partition: message.partition,
            first_offset: message.offset,
            last_offset: message.offset,
            committed_offset: message.offset - 1,
            messages: 1,
            kind: "consume",
            tags: vec!["active_job".to_owned(), job_class.to_owned()],
            consumption_lag,
            // The time between the fetch and the start is not measured.
            processing_lag: -1,
            status: "running",
        };
        let mut state = self.lock();
        state.next_job += 1;
        let id = state.next_job;
        state.running.insert(id, job);
        RunningJob {
            sampler: self.clone(),
            id,
        }
    }

    /// A run ended: counted in the utilization; a failed one is reported as an error
    /// (`job_class` is only read for it).
    pub(crate) fn job_finished(
        &self,
        message: &InboundMessage,
        job_class: &str,
        attempt: u32,
        failure: Option<&JobFailure>,
        took: Duration,
    ) {
        let error = failure.map(|f| self.error_report(message, job_class, attempt, f));
        let mut state = self.lock();
        let now = Instant::now();
        state.processed.push_back((now, took));
        while state
            .processed
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > UTILIZATION_WINDOW)
        {
            state.processed.pop_front();
        }
        if attempt > 1 {
            state.retries += 1;
        }
        state.errors.extend(error);
    }

    fn error_report(
        &self,
        message: &InboundMessage,
        job_class: &str,
        attempt: u32,
        failure: &JobFailure,
    ) -> ErrorReport {
        let id = &self.identity;
        ErrorReport {
            schema_version: id.schema.error_version(),
            id: id
                .schema
                .has_error_id()
                .then(|| uuid::Uuid::new_v4().to_string()),
            kind: "consumer.consume.error",
            error_class: error_class(failure).to_owned(),
            error_message: failure.to_string(),
            backtrace: String::new(),
            details: ErrorDetails {
                topic: message.topic.to_string(),
                consumer_group: id.group_id.clone(),
                subscription_group: id.subscription_group.clone(),
                partition: message.partition,
                first_offset: message.offset,
                last_offset: message.offset,
                committed_offset: message.offset - 1,
                consumer: CONSUMER,
                trace_id: None,
                tags: vec!["active_job".to_owned(), job_class.to_owned()],
                attempt,
            },
            occurred_at: now_secs(),
            process: ErrorProcess {
                id: id.process_id.clone(),
                tags: id.tags.clone(),
            },
        }
    }

    pub(crate) fn paused(&self, topic: &str, partition: i32) {
        self.lock().paused.insert((topic.to_owned(), partition));
    }

    pub(crate) fn resumed(&self, topic: &str, partition: i32) {
        self.lock().paused.remove(&(topic.to_owned(), partition));
    }

    /// librdkafka's statistics of the worker's consumer.
    pub(crate) fn statistics(&self, json: &[u8]) {
        let mut state = self.lock();
        let Some(snapshot) = state.reader.read(json) else {
            return;
        };
        let now = Instant::now();
        state
            .transfers
            .push_back((now, snapshot.rx_bytes, snapshot.tx_bytes));
        while state
            .transfers
            .front()
            .is_some_and(|(at, ..)| now.duration_since(*at) > UTILIZATION_WINDOW)
        {
            state.transfers.pop_front();
        }
        state.snapshot = Some(snapshot);
        state.statistics_at = Some(now);
    }

    /// The report to send now, with the errors since the last one.
    pub(crate) fn draft(&self, status: Status) -> Draft {
        let process = system::sample();
        let counters = self.worker_stats.snapshot();
        let mut state = self.lock();
        let retries = state.retries;
        let total = totals(&state.reported, &counters, retries);
        let report = Report {
            schema_version: self.identity.schema.version(),
            kind: "consumer",
            dispatched_at: now_secs(),
            process: self.process(&state, status, process),
            versions: self.versions(),
            stats: Stats {
                busy: state.running.len() as u64,
                enqueued: 0,
                waiting: 0,
                utilization: self.utilization(&state),
                total,
            },
            consumer_groups: self.consumer_groups(&state),
            jobs: state.running.values().cloned().collect(),
        };
        let errors = std::mem::take(&mut state.errors);
        Draft {
            report,
            errors,
            counters: (counters, retries),
        }
    }

    /// The draft was sent: its window totals are not counted again.
    pub(crate) fn sent(&self, draft: &Draft) {
        self.lock().reported = draft.counters;
    }

    fn process(&self, state: &State, status: Status, sample: system::ProcessSample) -> Process {
        let (bytes_received, bytes_sent) = transfer_rates(&state.transfers);
        Process {
            id: self.identity.process_id.clone(),
            started_at: self.started_at,
            status: status.as_str(),
            execution_mode: "standalone",
            // One consumer, polled by one thread: Karafka's one listener.
            listeners: Listeners {
                active: u64::from(status != Status::Stopped),
                standby: u64::from(status == Status::Stopped),
            },
            workers: self.identity.concurrency as u64,
            memory_usage: sample.memory_usage,
            memory_total_usage: sample.memory_usage,
            memory_size: sample.memory_size,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            threads: sample.threads,
            cpu_usage: sample.cpu_usage,
            tags: self.identity.tags.clone(),
            bytes_received,
            bytes_sent,
        }
    }

    fn versions(&self) -> Versions {
        // Not a Ruby process: the Ruby gems are named as what stands in for them.
        let ours = format!("activejob-karafka {}", env!("CARGO_PKG_VERSION"));
        Versions {
            ruby: "none (Rust)".to_owned(),
            karafka: ours.clone(),
            karafka_core: ours.clone(),
            karafka_web: self.identity.karafka_web_version.clone(),
            waterdrop: ours,
            rdkafka: "rust-rdkafka".to_owned(),
            librdkafka: rdkafka::util::get_rdkafka_version().1,
        }
    }

    /// Karafka's utilization: the time spent in jobs that ended in the last minute, over the
    /// workers' time in that minute (or since start, when younger), in %.
    fn utilization(&self, state: &State) -> f64 {
        let busy: f64 = state.processed.iter().map(|(_, d)| d.as_secs_f64()).sum();
        let window = (now_secs() - self.started_at).clamp(0.001, 60.0);
        let workers = self.identity.concurrency.max(1) as f64;
        (busy / workers / window * 100.0 * 100.0).round() / 100.0
    }

    fn consumer_groups(&self, state: &State) -> BTreeMap<String, ConsumerGroup> {
        let (Some(snapshot), Some(group)) = (
            state.snapshot.as_ref(),
            state.snapshot.as_ref().and_then(|s| s.group.as_ref()),
        ) else {
            // Before the first statistics nothing is known about the assignment.
            return BTreeMap::new();
        };
        let id = &self.identity;
        let schema = id.schema;
        let topics = snapshot
            .topics
            .iter()
            .filter(|(_, t)| !t.partitions.is_empty())
            .map(|(name, t)| {
                let mut partitions = t.partitions.clone();
                for (p, partition) in partitions.iter_mut() {
                    if state.paused.contains(&(name.clone(), *p)) {
                        partition.poll_state = "paused";
                    }
                }
                let topic = Topic {
                    name: name.clone(),
                    partitions_cnt: schema.has_partitions_cnt().then_some(t.partitions_cnt),
                    partitions,
                };
                (name.clone(), topic)
            })
            .collect();
        let poll_age = state.statistics_at.map_or(0.0, |at| {
            (at.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
        });
        let sg = SubscriptionGroup {
            id: id.subscription_group.clone(),
            instance_id: schema.has_instance_id().then(|| {
                id.instance_id
                    .clone()
                    .map_or(serde_json::Value::Bool(false), serde_json::Value::String)
            }),
            state: GroupState {
                state: group.state.clone(),
                join_state: group.join_state.clone(),
                stateage: group.stateage,
                rebalance_age: group.rebalance_age,
                rebalance_cnt: group.rebalance_cnt,
                rebalance_reason: group.rebalance_reason.clone(),
                poll_age,
                poll_interval: schema
                    .has_poll_interval()
                    .then_some(id.max_poll_interval_ms),
            },
            topics,
        };
        let cg = ConsumerGroup {
            id: id.group_id.clone(),
            subscription_groups: BTreeMap::from([(id.subscription_group.clone(), sg)]),
        };
        BTreeMap::from([(id.group_id.clone(), cg)])
    }
}

/// The window totals: the worker's counters since the last report sent. Every run is one
/// message, taken as one batch.
fn totals(reported: &(StatsSnapshot, u64), now: &StatsSnapshot, retries: u64) -> Totals {
    let (before, retries_before) = reported;
    let runs = |s: &StatsSnapshot| s.jobs_succeeded + s.job_failures;
    let jobs = runs(now).saturating_sub(runs(before));
    Totals {
        jobs,
        batches: jobs,
        messages: jobs,
        errors: now.job_failures.saturating_sub(before.job_failures),
        retries: retries.saturating_sub(*retries_before),
        dead: now.dead_lettered.saturating_sub(before.dead_lettered),
    }
}

/// Bytes per second received and sent over the statistics of the last minute.
fn transfer_rates(transfers: &VecDeque<(Instant, u64, u64)>) -> (u64, u64) {
    let (Some(first), Some(last)) = (transfers.front(), transfers.back()) else {
        return (0, 0);
    };
    let secs = last.0.duration_since(first.0).as_secs_f64();
    if secs <= 0.0 {
        return (0, 0);
    }
    let rate = |a: u64, b: u64| (b.saturating_sub(a) as f64 / secs).round() as u64;
    (rate(first.1, last.1), rate(first.2, last.2))
}

/// The `error_class` of a failed run: the kind of failure, named as in this crate.
fn error_class(failure: &JobFailure) -> &'static str {
    match failure {
        JobFailure::Tombstone => "ActiveJobKarafka::JobFailure::Tombstone",
        JobFailure::Undecodable(_) => "ActiveJobKarafka::JobFailure::Undecodable",
        JobFailure::UnknownJobClass(_) => "ActiveJobKarafka::JobFailure::UnknownJobClass",
        JobFailure::Failed(_) => "ActiveJobKarafka::JobFailure::Failed",
        JobFailure::Panicked(_) => "ActiveJobKarafka::JobFailure::Panicked",
        JobFailure::DiscardOn(_) => "ActiveJobKarafka::JobFailure::DiscardOn",
        JobFailure::DeadLetterOn(_) => "ActiveJobKarafka::JobFailure::DeadLetterOn",
    }
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
