//! Fault scenarios shared by the fault tests (small, with assertions) and the fault campaign
//! (`make faults`, larger, printed as a report): a broker outage under a running worker, and a
//! worker process killed with SIGKILL again and again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{handler_fn, JobFailure, TopicConfig, Worker};
use futures::FutureExt;

use super::broker::OwnBroker;
use super::child;
use super::*;

/// A scenario's name as a topic name: letters, digits and dashes.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// What one scenario cost.
#[derive(Debug, Clone)]
pub struct FaultReport {
    pub scenario: String,
    /// Distinct jobs produced.
    pub jobs: u64,
    /// Jobs that never ran.
    pub lost: u64,
    /// Runs beyond the first of each job.
    pub duplicates: u64,
    /// The most duplicates the scenario may cost (see each scenario).
    pub bound: u64,
    /// From the end of the fault (broker answering again, worker restarted) to the first job
    /// run after it.
    pub recovery: Duration,
    /// Free text: the scenario's own figures.
    pub notes: String,
}

impl FaultReport {
    /// One line of the report.
    pub fn print(&self) {
        println!(
            "FAULT {:<34} jobs={:<6} lost={:<3} duplicates={:<5} (bound {:<5}) recovery={:>6.2}s  {}",
            self.scenario,
            self.jobs,
            self.lost,
            self.duplicates,
            self.bound,
            self.recovery.as_secs_f64(),
            self.notes
        );
    }
}

/// Settings of a broker outage.
#[derive(Debug, Clone)]
pub struct Outage {
    pub name: &'static str,
    pub partitions: i32,
    pub jobs: u64,
    pub job_ms: u64,
    /// How long the broker stays down before it is started again (its start-up comes on top).
    pub down_for: Duration,
    /// `session.timeout.ms` of the worker (librdkafka's 45 s default when `None`).
    pub session_timeout: Option<Duration>,
}

/// A worker runs `jobs` jobs of `job_ms`; a quarter in, the broker is killed (`kill -9`), kept
/// down for `down_for`, and started again; the worker runs on to the last job.
///
/// Returns the report and the number of runs that started while the worker should have been
/// holding (later than the stall timeout + 0.5 s after the kill, before the restart began).
/// The duplicates bound is what finished between one commit interval + 0.5 s before the kill
/// and the stall timeout + 0.5 s after it: what finished later never starts, and what finished
/// earlier was committed.
pub async fn broker_outage(broker: &Arc<OwnBroker>, o: &Outage) -> (FaultReport, usize) {
    let topic = unique(&slug(o.name));
    let group = unique(&format!("{}-group", slug(o.name)));
    create_topic(&topic, o.partitions).await;
    produce(
        &topic,
        (0..o.jobs)
            .map(|id| Out::job(id, (id % o.partitions as u64) as i32))
            .collect(),
    )
    .await;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let job_ms = o.job_ms;
    let handler = handler_fn(move |m, _| {
        let rec = rec.clone();
        async move {
            let id = parse_job(&m)?;
            let i = rec.start(id, &m);
            tokio::time::sleep(Duration::from_millis(job_ms)).await;
            rec.finish(i, true);
            Ok::<(), JobFailure>(())
        }
        .boxed()
    });
    let mut builder = config(&group, &[TopicConfig::new(&topic)]);
    if let Some(s) = o.session_timeout {
        builder = builder
            .kafka("session.timeout.ms", s.as_millis().to_string())
            .kafka("heartbeat.interval.ms", "1000");
    }
    let config = builder.build().unwrap();
    let interval = config.commit_interval;
    let stall = config.effective_commit_stall_timeout();
    let worker = Worker::new(config, handler).handle_signals(false);
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());

    wait_until(Duration::from_secs(90), "a quarter of the jobs", || {
        recorder.succeeded().len() as u64 >= o.jobs / 4
    })
    .await;
    let killed_at = Instant::now();
    let b = broker.clone();
    tokio::task::spawn_blocking(move || b.kill()).await.unwrap();
    tokio::time::sleep(o.down_for).await;
    let restart_began = Instant::now();
    let b = broker.clone();
    let start_took = tokio::task::spawn_blocking(move || b.start())
        .await
        .unwrap();
    let back_at = Instant::now();
    wait_until(
        Duration::from_secs(180),
        "every job after the outage",
        || recorder.succeeded().len() as u64 == o.jobs,
    )
    .await;
    stop.shutdown();
    running.await.unwrap().expect("clean shutdown");

    let runs = recorder.runs();
    let ids: BTreeSet<u64> = runs.iter().map(|r| r.id).collect();
    let hold_from = killed_at + stall + Duration::from_millis(500);
    let started_while_holding = runs
        .iter()
        .filter(|r| r.started > hold_from && r.started < restart_began)
        .count();
    let window_from = killed_at - interval - Duration::from_millis(500);
    let bound = runs
        .iter()
        .filter(|r| {
            r.finished
                .is_some_and(|f| f >= window_from && f <= hold_from)
        })
        .count() as u64;
    let first_after = runs
        .iter()
        .map(|r| r.started)
        .filter(|s| *s > restart_began)
        .min()
        .unwrap_or(back_at);
    let report = FaultReport {
        scenario: o.name.to_string(),
        jobs: o.jobs,
        lost: o.jobs - ids.len() as u64,
        duplicates: (runs.len() - ids.len()) as u64,
        bound,
        recovery: first_after.saturating_duration_since(back_at),
        notes: format!(
            "broker down {:.1}s + {:.1}s restart; {started_while_holding} jobs started while \
             holding",
            o.down_for.as_secs_f64(),
            start_took.as_secs_f64()
        ),
    };
    (report, started_while_holding)
}

/// Settings of a kill loop.
#[derive(Debug, Clone)]
pub struct KillLoop {
    pub name: &'static str,
    /// The test function that runs [`child::run`] in this test binary.
    pub child_test: &'static str,
    pub partitions: i32,
    pub jobs: u64,
    pub job_ms: u64,
    pub kills: usize,
    /// Extra time past the commit interval that a commit may take to be acknowledged.
    pub ack_slack: Duration,
}

/// Per kill and partition: jobs run again, and the bound (what the partition finished within
/// one commit interval + `ack_slack` before the kill).
#[derive(Debug, Clone, Default)]
pub struct KillCost {
    pub reruns: BTreeMap<i32, u64>,
    pub bound: BTreeMap<i32, u64>,
}

/// A new topic holding the scenario's `jobs`, job `id` on partition `id % partitions`, and a
/// new group to read it with.
async fn keyed_backlog(k: &KillLoop) -> (String, String) {
    let topic = unique(&slug(k.name));
    let group = unique(&format!("{}-group", slug(k.name)));
    create_topic(&topic, k.partitions).await;
    produce(
        &topic,
        (0..k.jobs)
            .map(|id| Out::job(id, (id % k.partitions as u64) as i32))
            .collect(),
    )
    .await;
    (topic, group)
}

/// A worker process runs `jobs` jobs; `kills` times, at a random point, it is killed with
/// SIGKILL and a new one started; the last one runs to the end and stops on SIGTERM.
pub async fn kill_loop(k: &KillLoop, interval: Duration) -> (FaultReport, Vec<KillCost>) {
    let (topic, group) = keyed_backlog(k).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.txt");
    // A small deterministic generator, seeded from the clock and printed, for the kill points.
    let mut seed = child::unix_ms() | 1;
    println!("{}: kill points seeded with {seed}", k.name);
    let mut next_random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let per_kill = k.jobs / (k.kills as u64 + 2);
    let mut segments = Vec::new(); // lines in the output at each kill, and the kill time
    let mut recovery = Duration::ZERO;
    for _ in 0..k.kills {
        let mut worker = child::spawn(k.child_test, &topic, &group, &out, k.job_ms);
        let before = child::read_lines(&out).len();
        let target = before + (per_kill / 2 + next_random(per_kill)) as usize;
        let spawned = Instant::now();
        let mut first_seen = None;
        wait_until(
            Duration::from_secs(120),
            "worker process mid-stream",
            || {
                let n = child::read_lines(&out).len();
                if n > before && first_seen.is_none() {
                    first_seen = Some(spawned.elapsed());
                }
                n >= target
            },
        )
        .await;
        worker.kill().expect("SIGKILL");
        let killed_ms = child::unix_ms();
        worker.wait().expect("reaped");
        recovery = recovery.max(first_seen.unwrap_or_default());
        segments.push((child::read_lines(&out).len(), killed_ms));
    }
    let mut last = child::spawn(k.child_test, &topic, &group, &out, k.job_ms);
    wait_until(Duration::from_secs(180), "every job done", || {
        let ids: BTreeSet<u64> = child::read_lines(&out).iter().map(|l| l.0).collect();
        ids.len() == k.jobs as usize
    })
    .await;
    std::process::Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(last.wait().expect("exits").success(), "SIGTERM: status 0");

    let lines = child::read_timed_lines(&out);
    let mut costs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut from = 0;
    for (i, (at_kill, killed_ms)) in segments.iter().enumerate() {
        let mut cost = KillCost::default();
        let window_ms = (interval + k.ack_slack).as_millis() as u64;
        for l in &lines[from..*at_kill] {
            seen.insert(l.0);
            if l.3 + window_ms >= *killed_ms {
                *cost.bound.entry(l.1).or_default() += 1;
            }
        }
        let next_end = segments.get(i + 1).map_or(lines.len(), |s| s.0);
        for l in &lines[*at_kill..next_end] {
            if seen.contains(&l.0) {
                *cost.reruns.entry(l.1).or_default() += 1;
            }
        }
        from = *at_kill;
        costs.push(cost);
    }
    let ids: BTreeSet<u64> = lines.iter().map(|l| l.0).collect();
    let report = FaultReport {
        scenario: k.name.to_string(),
        jobs: k.jobs,
        lost: k.jobs - ids.len() as u64,
        duplicates: (lines.len() - ids.len()) as u64,
        bound: costs.iter().flat_map(|c| c.bound.values()).sum(),
        recovery,
        notes: format!(
            "{} kills; re-runs per kill per partition: {}",
            k.kills,
            costs
                .iter()
                .map(|c| format!("{:?}", c.reruns.values().collect::<Vec<_>>()))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    assert_fully_committed(&group, &topic, k.partitions);
    (report, costs)
}

/// A worker process runs a third of `jobs`, a second one joins (a rebalance), at two thirds
/// the first stops on SIGTERM (another rebalance), and the second runs to the end. Recovery is
/// the longest gap between two finished jobs: what the rebalances stalled the topic.
pub async fn rebalance(k: &KillLoop) -> FaultReport {
    let (topic, group) = keyed_backlog(k).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.txt");
    let sigterm = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill -TERM")
    };
    let mut first = child::spawn(k.child_test, &topic, &group, &out, k.job_ms);
    wait_until(Duration::from_secs(120), "a third of the jobs", || {
        child::read_lines(&out).len() as u64 >= k.jobs / 3
    })
    .await;
    let mut second = child::spawn(k.child_test, &topic, &group, &out, k.job_ms);
    wait_until(Duration::from_secs(120), "two thirds of the jobs", || {
        child::read_lines(&out).len() as u64 >= 2 * k.jobs / 3
    })
    .await;
    sigterm(first.id());
    assert!(first.wait().expect("exits").success(), "SIGTERM: status 0");
    wait_until(Duration::from_secs(180), "every job done", || {
        let ids: BTreeSet<u64> = child::read_lines(&out).iter().map(|l| l.0).collect();
        ids.len() == k.jobs as usize
    })
    .await;
    sigterm(second.id());
    assert!(second.wait().expect("exits").success(), "SIGTERM: status 0");
    let lines = child::read_timed_lines(&out);
    let mut finished: Vec<u64> = lines.iter().map(|l| l.3).collect();
    finished.sort_unstable();
    let longest_gap = finished.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let ids: BTreeSet<u64> = lines.iter().map(|l| l.0).collect();
    assert_fully_committed(&group, &topic, k.partitions);
    FaultReport {
        scenario: k.name.to_string(),
        jobs: k.jobs,
        lost: k.jobs - ids.len() as u64,
        duplicates: (lines.len() - ids.len()) as u64,
        bound: 0,
        recovery: Duration::from_millis(longest_gap),
        notes: "a second worker joins, then the first leaves on SIGTERM; recovery = longest \
                gap between two finished jobs"
            .into(),
    }
}

/// Settings of the poisoned-partitions scenario.
#[derive(Debug, Clone)]
pub struct Poisoned {
    pub name: &'static str,
    pub concurrency: usize,
    /// Partitions whose head never succeeds (more than `concurrency`).
    pub poisoned: i32,
    pub healthy: i32,
    pub jobs_per_healthy: u64,
    pub job_ms: u64,
}

/// Ids at or above this fail every run.
const POISON: u64 = 1_000_000_000;

/// The healthy partitions' jobs, alone on a topic and then beside `poisoned` partitions whose
/// head fails forever (a failing job, an undecodable payload, a tombstone, an unknown class in
/// turn), on `concurrency` slots. Recovery is unused; the notes compare the two rates.
pub async fn poisoned_partitions(p: &Poisoned) -> FaultReport {
    let alone = run_healthy_beside(p, 0).await;
    let beside = run_healthy_beside(p, p.poisoned).await;
    let jobs = p.jobs_per_healthy * p.healthy as u64;
    FaultReport {
        scenario: p.name.to_string(),
        jobs,
        lost: jobs - beside.0,
        duplicates: beside.1,
        bound: 0,
        recovery: Duration::ZERO,
        notes: format!(
            "healthy partitions: {:.0} jobs/s alone, {:.0} jobs/s beside {} poisoned partitions \
             on {} slots",
            jobs as f64 / alone.2.as_secs_f64(),
            jobs as f64 / beside.2.as_secs_f64(),
            p.poisoned,
            p.concurrency
        ),
    }
}

/// Runs the healthy jobs with `poisoned` poisoned partitions before them: (distinct healthy
/// jobs run, healthy duplicates, time to run them all).
async fn run_healthy_beside(p: &Poisoned, poisoned: i32) -> (u64, u64, Duration) {
    let topic = unique(&slug(p.name));
    let group = unique(&format!("{}-group", slug(p.name)));
    create_topic(&topic, poisoned + p.healthy).await;
    let mut messages: Vec<Out> = (0..poisoned)
        .map(|partition| Out {
            partition: Some(partition),
            payload: match partition % 4 {
                0 => Some(job_payload("TestJob", POISON)),
                1 => Some(b"{\"job_class\": \"TestJob\", \"arguments\": [".to_vec()),
                2 => None,
                _ => Some(job_payload("Billing::InvoiceJob", 7)),
            },
            ..Out::default()
        })
        .collect();
    let healthy_jobs = p.jobs_per_healthy * p.healthy as u64;
    messages.extend(
        (0..healthy_jobs).map(|id| Out::job(id, poisoned + (id % p.healthy as u64) as i32)),
    );
    produce(&topic, messages).await;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let job_ms = p.job_ms;
    let handler = handler_fn(move |m, _| {
        let rec = rec.clone();
        async move {
            let id = parse_job(&m)?;
            let i = rec.start(id, &m);
            if id >= POISON {
                return rec.finish_as(i, false, "poisoned");
            }
            tokio::time::sleep(Duration::from_millis(job_ms)).await;
            rec.finish(i, true);
            Ok::<(), JobFailure>(())
        }
        .boxed()
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .concurrency(p.concurrency)
        .build()
        .unwrap();
    let worker = Worker::new(config, handler).handle_signals(false);
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let started = Instant::now();
    let healthy_done = || recorder.succeeded().len() as u64;
    let deadline = started + Duration::from_secs(120);
    while healthy_done() < healthy_jobs && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    stop.shutdown();
    running.await.unwrap().expect("clean shutdown");
    let ok_runs = recorder.runs().iter().filter(|r| r.ok).count() as u64;
    let distinct = healthy_done();
    (distinct, ok_runs - distinct, took)
}
