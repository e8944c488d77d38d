//! The fault campaign (`make faults`; not part of `make test`): on a broker of its own, each
//! scenario runs a stream of jobs through a fault and prints jobs, lost, duplicates and recovery
//! time, as a reliability report.
//!
//! * kill -9 loop: a worker process killed at random points, again and again;
//! * rebalance: a second worker joins, then the first leaves;
//! * poisoned partitions: more partitions stuck on a failing head message than slots;
//! * broker killed and restarted within the session timeout;
//! * broker down for 60 s, longer than the default 45 s session timeout.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::broker::OwnBroker;
use support::child::{self, CHILD_ENV};
use support::faults::*;
use support::*;

/// The worker process body (a no-op unless started by the campaign).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    child::run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the fault campaign takes minutes: make faults"]
async fn fault_campaign() {
    init_tracing();
    let broker = Arc::new(OwnBroker::up("faults"));
    // Every helper of this test binary, and the worker processes, talk to this broker.
    std::env::set_var("KAFKA_BOOTSTRAP_SERVERS", &broker.bootstrap);
    assert_eq!(bootstrap(), broker.bootstrap);
    let mut reports = Vec::new();

    let kills = KillLoop {
        name: "kill -9 loop",
        child_test: "child_worker_process",
        partitions: 3,
        jobs: 9_000,
        job_ms: 5,
        kills: 5,
        ack_slack: Duration::from_millis(400),
    };
    let (report, _) = kill_loop(&kills, Duration::from_millis(100)).await;
    report.print();
    reports.push(report);

    let report = rebalance(&KillLoop {
        name: "rebalance (join, then leave)",
        jobs: 6_000,
        kills: 0,
        ..kills.clone()
    })
    .await;
    report.print();
    reports.push(report);

    let report = poisoned_partitions(&Poisoned {
        name: "poisoned partitions > concurrency",
        concurrency: 3,
        poisoned: 4,
        healthy: 2,
        jobs_per_healthy: 1_000,
        job_ms: 2,
    })
    .await;
    report.print();
    reports.push(report);

    for o in [
        Outage {
            name: "broker killed and restarted",
            partitions: 3,
            jobs: 9_000,
            job_ms: 2,
            down_for: Duration::from_secs(5),
            session_timeout: None,
        },
        Outage {
            name: "broker down 60 s (> session)",
            partitions: 3,
            jobs: 9_000,
            job_ms: 2,
            down_for: Duration::from_secs(60),
            session_timeout: None,
        },
    ] {
        let (report, _) = broker_outage(&broker, &o).await;
        report.print();
        reports.push(report);
    }

    println!(
        "\n== fault campaign (bound: duplicates allowed by the commit interval / stall timeout)"
    );
    for r in &reports {
        r.print();
    }
    assert!(reports.iter().all(|r| r.lost == 0), "a scenario lost jobs");
}
