//! Strategies combined, not one at a time. Karafka users met partitions paused for ever when
//! ActiveJob, a dead letter queue and long-running jobs met in one topic (karafka#1362), and
//! such combinations are where offset logic breaks. One partition here gets all of them at once:
//! a job longer than `max.poll.interval.ms`, a job that always fails and is dead-lettered after
//! its retry, and ordinary jobs around both. Jobs produced after the dead letter must still
//! run: nothing stays paused. The same scenario runs with and without virtual partitions.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::{TopicConfig, VirtualPartitioner};
use support::*;

/// Jobs produced before the worker starts.
const FIRST_BATCH: u64 = 30;
/// Jobs produced after the poison job was dead-lettered.
const SECOND_BATCH: u64 = 10;
/// Runs longer than `max.poll.interval.ms` (10 s below).
const LONG: u64 = 5;
const LONG_RUN: Duration = Duration::from_secs(12);
/// Fails on every attempt.
const POISON: u64 = 10;
const KEYS: u64 = 4;

fn key_of(id: u64) -> String {
    format!("k{}", id % KEYS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_job_dead_letter_and_later_jobs_in_one_partition() {
    run_scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_job_dead_letter_and_later_jobs_under_virtual_partitions() {
    run_scenario(Some(VirtualPartitioner::Key)).await;
}

async fn run_scenario(virtual_partitions: Option<VirtualPartitioner>) {
    init_tracing();
    let per_key = virtual_partitions.is_some();
    let topic = unique("matrix");
    let dlq = unique("matrix-dlq");
    let group = unique("matrix-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    produce(&topic, batch(1..=FIRST_BATCH)).await;

    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        if id == LONG {
            tokio::time::sleep(LONG_RUN).await;
        }
        if id == POISON {
            return Err("the poison job always fails".to_string());
        }
        Ok(())
    });
    let mut topic_config = TopicConfig::new(&topic).dead_letter_queue(&dlq, 1);
    if let Some(partitioner) = virtual_partitions {
        topic_config = topic_config.virtual_partitions(partitioner, KEYS as usize);
    }
    let config = short_max_poll_interval(config(&group, &[topic_config]))
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();

    wait_until(Duration::from_secs(60), "the first batch", || {
        recorder.succeeded().len() == FIRST_BATCH as usize - 1
            && stats.snapshot().dead_lettered == 1
    })
    .await;
    produce(&topic, batch(FIRST_BATCH + 1..=FIRST_BATCH + SECOND_BATCH)).await;
    wait_until(
        Duration::from_secs(30),
        "the jobs after the dead letter",
        || recorder.succeeded().len() == (FIRST_BATCH + SECOND_BATCH) as usize - 1,
    )
    .await;
    let before_stop = stats.snapshot();
    worker.stop().await;

    let runs = recorder.runs();
    for (id, rs) in runs_by_id(&runs) {
        let expected = if id == POISON { 2 } else { 1 };
        assert_eq!(rs.len(), expected, "job {id} ran {} times", rs.len());
    }
    let long = runs
        .iter()
        .find(|r| r.id == LONG)
        .expect("the long job ran");
    assert!(long.finished.unwrap() - long.started >= LONG_RUN);
    assert_order_within_keys(&runs, per_key);

    let dead = read_topic(&dlq, 1, Duration::from_secs(20));
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(
        header_str(&dead[0], "source_offset"),
        Some((POISON - 1).to_string())
    );
    assert_eq!(
        header_str(&dead[0], "source_attempts").as_deref(),
        Some("2")
    );

    assert_eq!(before_stop.dead_lettered, 1, "{before_stop:?}");
    assert_eq!(before_stop.max_poll_exceeded, 0, "{before_stop:?}");
    assert_eq!(before_stop.partitions_revoked, 0, "{before_stop:?}");
    assert_eq!(before_stop.assignments_lost, 0, "{before_stop:?}");
    assert_eq!(before_stop.paused_partitions, 0, "{before_stop:?}");
    assert_fully_committed(&group, &topic, 1);
}

/// Jobs `ids` on partition 0, keyed so that virtual partitions spread them over `KEYS` groups.
fn batch(ids: std::ops::RangeInclusive<u64>) -> Vec<Out> {
    ids.map(|id| Out::keyed(id, 0, &key_of(id))).collect()
}

/// Without virtual partitions every job starts after the one before it finished; with them,
/// the same holds among the jobs of one key. A job ends with its last run: the poison job's
/// retry must also finish before the next job of its lane starts.
fn assert_order_within_keys(runs: &[Run], per_key: bool) {
    let mut first_runs: Vec<&Run> = Vec::new();
    for r in runs {
        if !first_runs.iter().any(|f| f.id == r.id) {
            first_runs.push(r);
        }
    }
    let same_lane = |a: u64, b: u64| !per_key || a % KEYS == b % KEYS;
    for later in &first_runs {
        for earlier in first_runs
            .iter()
            .filter(|e| e.offset < later.offset && same_lane(e.id, later.id))
        {
            let earlier_done = runs
                .iter()
                .filter(|r| r.id == earlier.id)
                .filter_map(|r| r.finished)
                .max()
                .expect("finished");
            assert!(
                later.started >= earlier_done,
                "job {} started before job {} of its lane finished",
                later.id,
                earlier.id
            );
        }
    }
}
