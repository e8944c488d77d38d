//! 1 000 keyed jobs over 3 partitions run in offset order per partition, each exactly once, and
//! the group's committed offsets end at the partitions' ends.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use activejob_karafka::consumer::TopicConfig;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_jobs_run_in_offset_order_per_partition() {
    init_tracing();
    let topic = unique("order");
    let group = unique("order-group");
    create_topic(&topic, 3).await;

    // Keys spread the jobs over the partitions; ids grow in production order.
    let messages: Vec<Out> = (0..1_000u64)
        .map(|id| Out {
            key: Some(format!("customer-{}", id % 17).into_bytes()),
            payload: Some(job_payload("TestJob", id)),
            ..Out::default()
        })
        .collect();
    let placed = produce(&topic, messages).await;
    let per_partition = placed.iter().fold([0usize; 3], |mut acc, (p, _)| {
        acc[*p as usize] += 1;
        acc
    });
    assert!(per_partition.iter().all(|&n| n > 0), "{per_partition:?}");

    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        // Some jobs yield, so partitions really interleave.
        if id % 10 == 0 {
            tokio::task::yield_now().await;
        }
        Ok(())
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .concurrency(5)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(60), "all 1000 jobs", || {
        recorder.succeeded().len() == 1_000
    })
    .await;
    worker.stop().await;

    let runs = recorder.runs();
    assert_eq!(runs.len(), 1_000, "each job exactly once");
    assert!(recorder.succeeded().values().all(|&n| n == 1));

    // Offsets strictly increase per partition in run order; per key, ids increase.
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    let mut last_id_per_key: HashMap<u64, u64> = HashMap::new();
    for r in &runs {
        if let Some(prev) = last_offset.insert(r.partition, r.offset) {
            assert!(
                r.offset > prev,
                "partition {} ran {} after {}",
                r.partition,
                r.offset,
                prev
            );
        }
        if let Some(prev) = last_id_per_key.insert(r.id % 17, r.id) {
            assert!(
                r.id > prev,
                "key {} ran id {} after {}",
                r.id % 17,
                r.id,
                prev
            );
        }
    }
    // The jobs' positions are exactly what was produced.
    let mut expected: Vec<(i32, i64)> = placed.clone();
    expected.sort();
    let mut ran: Vec<(i32, i64)> = runs.iter().map(|r| (r.partition, r.offset)).collect();
    ran.sort();
    assert_eq!(ran, expected);

    assert_fully_committed(&group, &topic, 3);
}

/// `concurrency` bounds how many partitions run a job at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_partitions_running_at_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    init_tracing();
    let topic = unique("concurrency");
    let group = unique("concurrency-group");
    create_topic(&topic, 4).await;
    produce(
        &topic,
        (0..20u64).map(|id| Out::job(id, (id % 4) as i32)).collect(),
    )
    .await;

    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let recorder = Recorder::default();
    let (r, p) = (running.clone(), peak.clone());
    let handler = recorder.handler(move |_, _, _| {
        let (r, p) = (r.clone(), p.clone());
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .concurrency(2)
        .max_messages(1)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(30), "all 20 jobs", || {
        recorder.succeeded().len() == 20
    })
    .await;
    worker.stop().await;
    assert_eq!(peak.load(Ordering::SeqCst), 2, "two partitions at a time");
    // With max_messages = 1 the slots rotate: every partition made progress early on.
    let first_eight: std::collections::BTreeSet<i32> = recorder
        .runs()
        .iter()
        .take(8)
        .map(|r| r.partition)
        .collect();
    assert_eq!(first_eight.len(), 4, "slots are shared fairly");
}
