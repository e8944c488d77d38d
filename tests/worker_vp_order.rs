//! Virtual partitions, order and offsets: 5 000 keyed jobs of one partition over 8 groups run
//! concurrently, each key's jobs strictly in offset order, each exactly once; a clean shutdown
//! leaves no finished job past the committed offset.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use activejob_karafka::consumer::{
    handler_fn, InboundMessage, TopicConfig, VirtualPartitioner, VirtualPartitions,
};
use futures::FutureExt;
use support::*;

const JOBS: u64 = 5_000;
const KEYS: u64 = 64;
const GROUPS: usize = 8;

fn key_of(id: u64) -> String {
    format!("account-{}", id % KEYS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_holds_across_8_concurrent_groups() {
    init_tracing();
    let topic = unique("vp-order");
    let group = unique("vp-order-group");
    create_topic(&topic, 1).await;
    produce(
        &topic,
        (0..JOBS).map(|id| Out::keyed(id, 0, &key_of(id))).collect(),
    )
    .await;

    let vp = VirtualPartitions::new(VirtualPartitioner::Key, GROUPS);
    let groups_used: std::collections::BTreeSet<usize> = (0..KEYS)
        .map(|k| {
            let m = InboundMessage {
                topic: topic.as_str().into(),
                partition: 0,
                offset: 0,
                key: Some(key_of(k).into_bytes().into()),
                payload: None,
                headers: vec![],
                timestamp_ms: None,
            };
            vp.group_of(&m)
        })
        .collect();
    assert_eq!(groups_used.len(), GROUPS, "the keys cover every group");

    let recorder = Recorder::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let (rec, now, most) = (recorder.clone(), in_flight.clone(), most_in_flight.clone());
    let handler = handler_fn(move |m, _| {
        let (rec, now, most) = (rec.clone(), now.clone(), most.clone());
        async move {
            let id = parse_job(&m)?;
            let i = rec.start(id, &m);
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            // Uneven job lengths, so groups finish out of offset order.
            tokio::time::sleep(Duration::from_micros(200 + (id % 5) * 300)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            rec.finish(i, true);
            Ok(())
        }
        .boxed()
    });
    let config = config(
        &group,
        &[TopicConfig::new(&topic).virtual_partitions(VirtualPartitioner::Key, GROUPS)],
    )
    .build()
    .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(90), "every job", || {
        recorder.succeeded().len() == JOBS as usize
    })
    .await;
    worker.stop().await;

    let runs = recorder.runs();
    assert_eq!(runs.len(), JOBS as usize, "each job ran exactly once");
    let mut per_key: BTreeMap<u64, Vec<&Run>> = BTreeMap::new();
    for r in &runs {
        assert_eq!(r.offset as u64, r.id, "produced in id order");
        per_key.entry(r.id % KEYS).or_default().push(r);
    }
    for (key, mut rs) in per_key {
        rs.sort_by_key(|r| r.started);
        for pair in rs.windows(2) {
            assert!(
                pair[0].offset < pair[1].offset,
                "key {key}: offset {} started after {}",
                pair[1].offset,
                pair[0].offset
            );
            assert!(
                pair[0].finished.unwrap() <= pair[1].started,
                "key {key}: offset {} started before {} finished",
                pair[1].offset,
                pair[0].offset
            );
        }
    }
    let most = most_in_flight.load(Ordering::SeqCst);
    println!("at most {most} jobs of the partition ran at once");
    assert!(most <= GROUPS, "never more than one job per group");
    assert!(
        most >= GROUPS / 2,
        "groups ran concurrently: at most {most}"
    );
    assert_fully_committed(&group, &topic, 1);
}

/// A shutdown in the middle lets the groups finish every job they had taken before it commits:
/// afterwards the finished jobs are exactly the committed prefix, with none finished past it
/// (which would run again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_taken_jobs_then_commits_their_prefix() {
    init_tracing();
    let topic = unique("vp-stop");
    let group = unique("vp-stop-group");
    create_topic(&topic, 1).await;
    produce(
        &topic,
        (0..2_000)
            .map(|id| Out::keyed(id, 0, &key_of(id)))
            .collect(),
    )
    .await;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = handler_fn(move |m, _| {
        let rec = rec.clone();
        async move {
            let id = parse_job(&m)?;
            let i = rec.start(id, &m);
            tokio::time::sleep(Duration::from_millis(5 + id % 4 * 5)).await;
            rec.finish(i, true);
            Ok(())
        }
        .boxed()
    });
    let config = config(
        &group,
        &[TopicConfig::new(&topic).virtual_partitions(VirtualPartitioner::Key, 4)],
    )
    .build()
    .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(60), "some jobs", || {
        recorder.succeeded().len() >= 300
    })
    .await;
    worker.stop().await;

    let runs = recorder.runs();
    assert!(runs.iter().all(|r| r.ok), "every started job finished");
    let mut offsets: Vec<i64> = runs.iter().map(|r| r.offset).collect();
    offsets.sort_unstable();
    let committed = committed(&group, &topic, 1)[0];
    assert!(committed > 0 && committed < 2_000, "stopped mid-stream");
    assert_eq!(
        offsets,
        (0..committed).collect::<Vec<_>>(),
        "finished jobs are exactly the committed prefix"
    );
}
