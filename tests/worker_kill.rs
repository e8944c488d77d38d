//! kill -9 of a worker process mid-stream, then a restart: every job runs at least once. Jobs
//! done but not yet committed (librdkafka auto-commits stored offsets every 5 s) run again; the
//! test counts and prints them.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use support::child::{self, CHILD_ENV};
use support::*;

const TOTAL: u64 = 3_000;
/// 3 partitions × 100 jobs/s: the kill comes after about 6 s.
const JOB_MS: u64 = 10;

/// The worker process body (a no-op unless started by the kill test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    child::run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_then_restart_runs_every_job_at_least_once() {
    init_tracing();
    let topic = unique("kill");
    let group = unique("kill-group");
    create_topic(&topic, 3).await;
    produce(
        &topic,
        (0..TOTAL).map(|id| Out::job(id, (id % 3) as i32)).collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.txt");

    // First process: killed with SIGKILL once it is well into the stream, after at least one
    // auto-commit (5 s).
    let mut first = child::spawn("child_worker_process", &topic, &group, &out, JOB_MS);
    wait_until(Duration::from_secs(60), "first process mid-stream", || {
        child::read_lines(&out).len() >= 1_900
    })
    .await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let at_kill = child::read_lines(&out).len();
    let committed_at_kill: i64 = committed(&group, &topic, 3).iter().map(|c| c.max(&0)).sum();
    assert!(at_kill < TOTAL as usize, "killed mid-stream");

    // Second process: runs to the end, then stops on SIGTERM (exit 0).
    let mut second = child::spawn("child_worker_process", &topic, &group, &out, JOB_MS);
    let started = Instant::now();
    wait_until(Duration::from_secs(120), "every job done", || {
        let ids: std::collections::BTreeSet<u64> =
            child::read_lines(&out).iter().map(|l| l.0).collect();
        ids.len() == TOTAL as usize
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = second.wait().expect("second process exits");
    assert!(
        exit.success(),
        "SIGTERM ends the worker with status 0: {exit:?}"
    );

    let lines = child::read_lines(&out);
    let mut runs: BTreeMap<u64, usize> = BTreeMap::new();
    for (id, _, _) in &lines {
        *runs.entry(*id).or_default() += 1;
    }
    let duplicates = lines.len() - runs.len();
    println!(
        "kill -9: {at_kill} jobs done before the kill, {committed_at_kill} committed; \
         after restart {} runs for {} jobs: {duplicates} ran twice (second process took {:?})",
        lines.len(),
        runs.len(),
        started.elapsed()
    );
    assert_eq!(runs.len(), TOTAL as usize, "every job ran at least once");
    assert!(runs.values().all(|&n| n <= 2));
    // Only what was done but not committed at the kill can run again.
    assert!(duplicates as i64 <= at_kill as i64 - committed_at_kill);
    assert_fully_committed(&group, &topic, 3);
}
