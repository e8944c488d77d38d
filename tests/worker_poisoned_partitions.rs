//! More poisoned partitions than `concurrency` slots: a partition waiting out the backoff of a
//! failing head message holds no slot (Karafka pauses the partition and frees the worker
//! thread), so the healthy partitions run all their jobs meanwhile, about as fast as alone.

mod support;

use std::time::{Duration, Instant};

use activejob_karafka::consumer::TopicConfig;
use support::*;

const CONCURRENCY: usize = 3;
/// Partitions 0..4 start with a message that never succeeds; 4 and 5 are healthy.
const POISONED: i32 = 4;
const HEALTHY_JOBS: u64 = 300;
const JOB_MS: u64 = 2;
/// Ids at or above this fail every run.
const FAILING: u64 = 1_000_000;

fn poisoned_head(partition: i32) -> Out {
    let payload = match partition {
        0 => Some(job_payload("TestJob", FAILING)),
        1 => Some(b"{\"job_class\": \"TestJob\", \"arguments\": [".to_vec()),
        2 => None,
        _ => Some(job_payload("Billing::InvoiceJob", 7)),
    };
    Out {
        partition: Some(partition),
        payload,
        ..Out::default()
    }
}

/// Property: with 4 partitions blocked on a failing job, an undecodable payload, a tombstone
/// and an unknown job class (default retry policy, no dead letter queue) and only 3 slots, the
/// 2 healthy partitions still run all their jobs within 10 s (alone they need about 1 s; with
/// the backoffs holding the slots they never finish), while the poisoned ones keep retrying
/// and run nothing behind their head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoffs_hold_no_slot_so_healthy_partitions_keep_running() {
    init_tracing();
    let topic = unique("poisoned");
    let group = unique("poisoned-group");
    create_topic(&topic, POISONED + 2).await;
    let mut messages: Vec<Out> = (0..POISONED).map(poisoned_head).collect();
    // A job behind each poisoned head: it must not run.
    messages.extend((0..POISONED).map(|p| Out::job(FAILING + 1 + p as u64, p)));
    messages.extend((0..HEALTHY_JOBS * 2).map(|id| Out::job(id, POISONED + (id % 2) as i32)));
    produce(&topic, messages).await;

    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        if id >= FAILING {
            return Err("poisoned".to_string());
        }
        tokio::time::sleep(Duration::from_millis(JOB_MS)).await;
        Ok(())
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .concurrency(CONCURRENCY)
        .max_messages(20)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);

    let started = Instant::now();
    let healthy_done = || {
        recorder
            .succeeded()
            .keys()
            .filter(|id| **id < FAILING)
            .count()
    };
    // Alone, each healthy partition needs HEALTHY_JOBS × JOB_MS = 0.6 s (plus timer slack).
    wait_until(
        Duration::from_secs(20),
        "every healthy job ran beside the poisoned partitions",
        || healthy_done() == (HEALTHY_JOBS * 2) as usize,
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "healthy partitions slowed: {took:?}"
    );
    // Let the poisoned partitions retry a few more times.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = worker.stats.clone();
    worker.stop().await;

    let runs = recorder.runs();
    let snapshot = stats.snapshot();
    println!(
        "{} healthy jobs in {took:?} ({:.0} jobs/s) beside {POISONED} poisoned partitions \
         on {CONCURRENCY} slots; {} failed runs",
        HEALTHY_JOBS * 2,
        (HEALTHY_JOBS * 2) as f64 / took.as_secs_f64(),
        snapshot.job_failures
    );
    assert!(
        !runs.iter().any(|r| r.id > FAILING),
        "nothing behind a poisoned head ran"
    );
    // Each poisoned partition was retried (1 run + retries after 200 ms, 400 ms, ...).
    assert!(
        snapshot.job_failures >= 2 * POISONED as u64,
        "poisoned partitions keep retrying: {snapshot:?}"
    );
    let committed = committed(&group, &topic, POISONED + 2);
    assert!(committed[..POISONED as usize].iter().all(|c| *c <= 0));
    assert_eq!(
        &committed[POISONED as usize..],
        &[HEALTHY_JOBS as i64, HEALTHY_JOBS as i64]
    );
}
