//! A second SIGTERM stops the worker at once: it does not wait the `shutdown_timeout` for a
//! running job, yet commits what finished before it closes.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::child::{self, CHILD_ENV};
use support::*;

const STUCK: u64 = 1_000;

/// The worker process body (a no-op unless started by the test below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    child::run().await;
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
}

/// Property: with a job that never ends and `shutdown_timeout` = 20 s, the first SIGTERM waits
/// for it, the second ends the process within a few seconds with the worker's
/// `ShutdownForced` outcome, and the 40 jobs that finished are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_stops_at_once_after_committing_what_finished() {
    init_tracing();
    let topic = unique("second-signal");
    let group = unique("second-signal-group");
    create_topic(&topic, 2).await;
    let mut messages: Vec<Out> = (0..40).map(|id| Out::job(id, 0)).collect();
    messages.push(Out::job(STUCK, 1));
    produce(&topic, messages).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.txt");

    let mut worker = child::command("child_worker_process", &topic, &group, &out, 5)
        .env("AJK_CHILD_STUCK_ID", STUCK.to_string())
        .spawn()
        .expect("spawning the worker process");
    wait_until(Duration::from_secs(60), "partition 0 done", || {
        child::read_lines(&out).len() == 40
    })
    .await;
    // The stuck job has been running meanwhile (partition 1 holds only it).
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(worker.id());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the first SIGTERM waits for the running job"
    );
    let second = Instant::now();
    sigterm(worker.id());
    let exited = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(
            second.elapsed() < Duration::from_secs(8),
            "the second SIGTERM did not stop the worker at once"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "second SIGTERM: exited in {:?} ({exited:?})",
        second.elapsed()
    );
    assert_eq!(
        exited.code(),
        Some(child::EXIT_SHUTDOWN_FORCED),
        "the child reports the forced shutdown (WorkerError::ShutdownForced), not a panic"
    );
    assert_eq!(
        committed(&group, &topic, 2)[0],
        40,
        "finished jobs committed"
    );
    assert!(committed(&group, &topic, 2)[1] <= 0, "the stuck job is not");
}
