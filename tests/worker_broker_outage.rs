//! The broker dies under a running worker (`kill -9` of the broker process, on a broker of the
//! test's own). Once commits have not got through for `commit_stall_timeout` (1 s) the worker
//! starts no new job, and it resumes when commits succeed again: nothing is lost, and what
//! runs twice is bounded by what finished around the moment of the kill, not by librdkafka's
//! read-ahead.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::broker::OwnBroker;
use support::faults::{broker_outage, Outage};
use support::*;

/// Property: the broker killed, kept down 8 s and started again (its start-up adds 10–30 s),
/// longer than the worker's 6 s session timeout, so that the assignment is lost: every job
/// runs, no job starts while the worker holds, and the duplicates are at most the jobs
/// finished from one commit interval before the kill to the stall timeout after it. (Without
/// the hold, every job in librdkafka's read-ahead runs during the outage and again after it.)
/// `make faults` runs the longer variants: a restart within the session, 60 s down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_past_the_session_timeout_loses_nothing_and_bounds_duplicates() {
    init_tracing();
    let broker = Arc::new(OwnBroker::up("outage"));
    // Every helper of this test binary talks to this broker (the only test in the binary).
    std::env::set_var("KAFKA_BOOTSTRAP_SERVERS", &broker.bootstrap);
    assert_eq!(bootstrap(), broker.bootstrap);
    let o = Outage {
        name: "broker-down-past-session",
        partitions: 3,
        jobs: 6_000,
        job_ms: 2,
        down_for: Duration::from_secs(8),
        session_timeout: Some(Duration::from_secs(6)),
    };
    let (report, started_while_holding) = broker_outage(&broker, &o).await;
    report.print();
    assert_eq!(report.lost, 0, "nothing lost");
    assert_eq!(
        started_while_holding, 0,
        "no job starts while commits do not get through"
    );
    assert!(
        report.duplicates <= report.bound,
        "{} duplicates, more than the {} jobs finished around the kill",
        report.duplicates,
        report.bound
    );
}
