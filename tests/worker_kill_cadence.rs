//! `kill -9` of a worker process at random points, again and again: each kill re-runs at most
//! the jobs each partition finished within about one commit interval before it (the worker
//! commits every 100 ms), not the seconds of work librdkafka's 5 s auto-commit would leave.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::TopicConfig;

use support::child::{self, CHILD_ENV};
use support::faults::{kill_loop, KillLoop};
use support::*;

/// The worker process body (a no-op unless started by the test below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    child::run().await;
}

/// Property: over 3 kills at random points, nothing is lost, everything ends committed, and
/// per kill and partition the jobs run again are at most those the partition finished in the
/// last commit interval + 400 ms (acknowledgement slack on a busy machine) before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kill_9_reruns_at_most_one_commit_interval_per_partition() {
    init_tracing();
    let k = KillLoop {
        name: "kill-cadence",
        child_test: "child_worker_process",
        partitions: 3,
        jobs: 4_500,
        job_ms: 5,
        kills: 3,
        ack_slack: Duration::from_millis(400),
    };
    // The child runs with the default commit interval.
    let interval = config("any", &[TopicConfig::new("any")])
        .build()
        .unwrap()
        .commit_interval;
    let (report, costs) = kill_loop(&k, interval).await;
    report.print();
    assert_eq!(report.lost, 0, "nothing lost");
    for (kill, cost) in costs.iter().enumerate() {
        println!(
            "kill {}: re-runs per partition {:?}, bound {:?}",
            kill + 1,
            cost.reruns,
            cost.bound
        );
        for (partition, reruns) in &cost.reruns {
            let bound = cost.bound.get(partition).copied().unwrap_or(0);
            assert!(
                *reruns <= bound,
                "kill {}: partition {partition} re-ran {reruns} jobs, more than the {bound} \
                 it finished in the last commit interval",
                kill + 1
            );
        }
    }
}
