//! The worker's buffered messages stay within `max_buffered_bytes` however large the backlog:
//! a backlog of 64 MiB on 16 partitions, a worker with a 4 MiB budget and a slow handler.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::TopicConfig;
use support::*;

const PARTITIONS: i32 = 16;
const PER_PARTITION: u64 = 1_000;
/// Bytes of padding per job: 16 000 jobs of about 4 KiB, a 64 MiB backlog.
const PADDING: usize = 4_000;
const BUDGET: usize = 4 * 1024 * 1024;

/// A job whose first argument is `id`, padded to about 4 KiB.
fn padded_job(id: u64, partition: i32) -> Out {
    let payload = serde_json::json!({
        "job_class": "TestJob",
        "job_id": uuid::Uuid::new_v4().to_string(),
        "queue_name": "default",
        "arguments": [id],
        "executions": 0,
        "padding": "x".repeat(PADDING),
    });
    Out {
        partition: Some(partition),
        payload: Some(payload.to_string().into_bytes()),
        ..Out::default()
    }
}

/// Property: with a backlog 16 times the budget and jobs slower than the fetcher, the bytes
/// the runtime holds never exceed its half of `max_buffered_bytes` by more than one fetch
/// (by design at most a quarter of it plus a message per partition; librdkafka's
/// read-ahead, the other half, is bounded by librdkafka itself); yet every
/// partition makes progress, and each runs its jobs in offset order with none skipped or run
/// twice although its fetching was paused and resumed many times. (Before the budget, each
/// partition's own queue read ahead up to 8 MiB: 128 MiB here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_bytes_stay_within_the_budget_and_every_partition_progresses() {
    init_tracing();
    let topic = unique("budget");
    let group = unique("budget-group");
    create_topic(&topic, PARTITIONS).await;
    let messages = (0..PER_PARTITION * PARTITIONS as u64)
        .map(|id| padded_job(id, (id % PARTITIONS as u64) as i32))
        .collect();
    produce(&topic, messages).await;

    let recorder = Recorder::default();
    let handler = recorder.handler(|_, _, _| async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(())
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .concurrency(4)
        .max_messages(50)
        .max_buffered_bytes(BUDGET)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);

    // Each partition needs its turns: 4 slots, 50 jobs a turn, about 1 ms a job.
    let progressed = |min: usize| {
        let by_partition = recorder.ids_by_partition();
        by_partition.len() == PARTITIONS as usize
            && by_partition.values().all(|ids| ids.len() >= min)
    };
    wait_until(
        Duration::from_secs(40),
        "every partition ran 150 jobs",
        || progressed(150),
    )
    .await;
    let stats = worker.stats.clone();
    worker.stop().await;
    let snapshot = stats.snapshot();

    let fetch = BUDGET / 4;
    println!(
        "peak buffered {} KiB (runtime budget {} KiB, one fetch {} KiB); {} jobs ran",
        snapshot.buffered_bytes_peak / 1024,
        BUDGET / 2 / 1024,
        fetch / 1024,
        recorder.runs().len()
    );
    assert!(
        snapshot.buffered_bytes_peak as usize <= BUDGET / 2 + fetch,
        "buffered {} bytes, budget {} + one fetch {fetch}",
        snapshot.buffered_bytes_peak,
        BUDGET / 2
    );
    // The budget was used, not left idle: the partitions filled their shares.
    assert!(
        snapshot.buffered_bytes_peak as usize >= BUDGET / 4,
        "buffered only {} bytes",
        snapshot.buffered_bytes_peak
    );
    // Per partition: the ids it ran are its produced ids from the start, consecutive.
    assert!(recorder.runs().iter().all(|r| r.ok), "every job succeeded");
    assert_round_robin_order(&recorder.ids_by_partition(), PARTITIONS);
}
