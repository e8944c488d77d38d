//! Virtual partitions and errors (Karafka's collapse): a failed job stops its group, the other
//! groups finish what they were given, then the partition pauses at the first unfinished
//! offset and, after the backoff, retries the unfinished jobs one at a time in offset order.
//! Finished jobs never run again; the failed job's key waits for it.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use activejob_karafka::consumer::{TopicConfig, VirtualPartitioner};
use rdkafka::Message;
use support::*;

const JOBS: u64 = 400;
const KEYS: u64 = 16;
const POISON: u64 = 100;

fn key_of(id: u64) -> String {
    format!("k{}", id % KEYS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failure_collapses_without_rerunning_finished_jobs() {
    init_tracing();
    let topic = unique("vp-fail");
    let group = unique("vp-fail-group");
    create_topic(&topic, 1).await;
    produce(
        &topic,
        (0..JOBS).map(|id| Out::keyed(id, 0, &key_of(id))).collect(),
    )
    .await;

    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = recorder.handler(move |id, _, _| {
        // This run is already recorded: a first run is the only one.
        let first_run = rec.runs().iter().filter(|r| r.id == id).count() == 1;
        async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            if id == POISON && first_run {
                return Err("first run of the poison job".to_string());
            }
            Ok(())
        }
    });
    let config = config(
        &group,
        &[TopicConfig::new(&topic).virtual_partitions(VirtualPartitioner::Key, 8)],
    )
    .build()
    .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(60), "every job", || {
        recorder.succeeded().len() == JOBS as usize
    })
    .await;
    worker.stop().await;

    let runs = recorder.runs();
    let by_id = runs_by_id(&runs);
    assert_eq!(by_id.len(), JOBS as usize);
    for (id, rs) in &by_id {
        if *id == POISON {
            assert_eq!(rs.len(), 2, "the failed job ran again once");
            assert!(!rs[0].ok && rs[1].ok);
        } else {
            assert_eq!(rs.len(), 1, "job {id} ran {} times", rs.len());
        }
    }
    let failed = &by_id[&POISON][0];
    let retry = &by_id[&POISON][1];
    let failed_at = failed.finished.unwrap();
    // Backoff after the first failure: 2 × pause.timeout (100 ms in the tests).
    assert!(
        retry.started >= failed_at + Duration::from_millis(200),
        "retried after {:?}",
        retry.started - failed_at
    );
    // The rest of the poison's key waited for its retry to succeed.
    for r in runs
        .iter()
        .filter(|r| r.id % KEYS == POISON % KEYS && r.id > POISON)
    {
        assert!(
            r.started >= retry.finished.unwrap(),
            "job {} of the failed key ran before the retry succeeded",
            r.id
        );
    }
    // Sibling groups were not interrupted: they went on with what they had been given.
    let siblings_after_failure = runs
        .iter()
        .filter(|r| {
            r.id % KEYS != POISON % KEYS && r.started > failed_at && r.started < retry.started
        })
        .count();
    assert!(
        siblings_after_failure > 0,
        "other groups kept running after the failure"
    );
    // In the collapsed run, what was left ran one at a time in offset order.
    let mut collapsed: Vec<&Run> = runs
        .iter()
        .filter(|r| r.started >= retry.started && r.offset >= POISON as i64)
        .collect();
    collapsed.sort_by_key(|r| r.started);
    let leftover: Vec<i64> = collapsed.iter().map(|r| r.offset).collect();
    println!(
        "failure at offset {POISON}: {siblings_after_failure} jobs of other groups started \
         after it; the collapsed retry began at offset {:?}",
        leftover.first()
    );
    assert_eq!(
        leftover.first(),
        Some(&(POISON as i64)),
        "retry starts at the failed job"
    );
    assert_eq!(stats.snapshot().job_failures, 1);
    assert_eq!(stats.snapshot().paused_partitions, 0);
    assert_fully_committed(&group, &topic, 1);
}

/// With a dead letter queue, a job that keeps failing is dead-lettered from the collapsed
/// retry (attempt 2 with `max_retries = 1`); no other job runs twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_comes_from_the_collapsed_retry() {
    init_tracing();
    let topic = unique("vp-dlq-src");
    let dlq = unique("vp-dlq");
    let group = unique("vp-dlq-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    produce(
        &topic,
        (0..200).map(|id| Out::keyed(id, 0, &key_of(id))).collect(),
    )
    .await;
    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if id == 77 {
            return Err("always".to_string());
        }
        Ok(())
    });
    let config = config(
        &group,
        &[TopicConfig::new(&topic)
            .virtual_partitions(VirtualPartitioner::Key, 4)
            .dead_letter_queue(&dlq, 1)],
    )
    .build()
    .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(60), "every other job", || {
        recorder.succeeded().len() == 199 && stats.snapshot().dead_lettered == 1
    })
    .await;
    worker.stop().await;

    let by_id = runs_by_id(&recorder.runs());
    assert_eq!(by_id[&77].len(), 2, "one parallel run, one collapsed retry");
    let twice: BTreeSet<u64> = by_id
        .iter()
        .filter(|(id, rs)| **id != 77 && rs.len() > 1)
        .map(|(id, _)| *id)
        .collect();
    assert!(twice.is_empty(), "ran twice: {twice:?}");
    let got = read_topic(&dlq, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(header_str(&got[0], "source_offset").as_deref(), Some("77"));
    assert_eq!(header_str(&got[0], "source_attempts").as_deref(), Some("2"));
    assert_eq!(got[0].key(), Some(key_of(77).as_bytes()));
    assert_fully_committed(&group, &topic, 1);
}
