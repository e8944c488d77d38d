//! A dispatcher stopped mid-way and started again (then as two members of one group) loses
//! and duplicates nothing: it rebuilds from the proxy topic and skips every schedule it had
//! already dispatched and tombstoned.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use activejob_karafka::arguments::Value;
use activejob_karafka::producer::{DispatchMethod, JobOptions, PartitionKeyType};
use activejob_karafka::Job;
use chrono::Utc;
use support::scheduling::{dispatcher_config, job_producer, Running, Watcher};
use support::{create_topic, init_tracing, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_dispatchers_lose_and_duplicate_nothing() {
    init_tracing();
    let target = unique("restart-target");
    let proxy = unique("restart-proxy");
    let group = unique("sm-restart");
    create_topic(&target, 3).await;
    create_topic(&proxy, 5).await;
    let base = JobOptions::new()
        .scheduled_messages_topic(&proxy)
        .dispatch_method(DispatchMethod::Sync);
    let producer = job_producer()
        .defaults(base.clone())
        .job(
            "KeyJob",
            base.clone().partitioner(|job| match job.arguments.first() {
                Some(Value::Integer(i)) => Some(format!("k{}", i)),
                _ => None,
            }),
        )
        .job(
            "PartJob",
            base.partitioner(|_| Some("2".into()))
                .partition_key_type(PartitionKeyType::Partition),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&target]);

    // 18 jobs due two per second from 2 s to 10.5 s from now.
    let start = Utc::now();
    let mut jobs = Vec::new();
    for i in 0..18u64 {
        let class = ["PlainJob", "KeyJob", "PartJob"][(i % 3) as usize];
        let job = Job::new(class).queue(&target).arg(i);
        let at = start + chrono::Duration::milliseconds(2_000 + 500 * i as i64);
        producer.enqueue_at(&job, at).await.unwrap();
        jobs.push(job);
    }

    let first = Running::start(dispatcher_config(&proxy, &group).build());
    watcher.wait_for(&target, 6, Duration::from_secs(20)).await;
    first.stop().await;
    let after_first = watcher.seen_on(&target).len();
    assert!(after_first < jobs.len(), "stopped mid-way ({after_first})");
    // Some schedules fall due while nothing runs.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        watcher.seen_on(&target).len(),
        after_first,
        "stopped means stopped"
    );

    // Two members of the same group now share the partitions.
    let second = Running::start(dispatcher_config(&proxy, &group).build());
    let third = Running::start(dispatcher_config(&proxy, &group).build());
    watcher
        .wait_for(&target, jobs.len(), Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    second.stop().await;
    third.stop().await;

    // A last start rebuilds everything from the topic and finds nothing left to do.
    let last = Running::start(dispatcher_config(&proxy, &group).build());
    tokio::time::sleep(Duration::from_secs(4)).await;
    last.stop().await;

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in watcher.seen_on(&target) {
        *counts.entry(m.job_id().expect("a job")).or_default() += 1;
    }
    for job in &jobs {
        assert_eq!(
            counts.get(job.job_id.as_ref().unwrap()).copied(),
            Some(1),
            "{} {:?} exactly once",
            job.job_class,
            job.arguments
        );
    }
    assert_eq!(counts.len(), jobs.len());
}
