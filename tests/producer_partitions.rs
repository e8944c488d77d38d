//! Rust-enqueued jobs land on the partitions Karafka (Pro) would put them on, with the payload
//! bytes `Job::encode` writes, on a real broker.

mod support;

use std::time::Duration;

use activejob_karafka::arguments::Value;
use activejob_karafka::consumer::partition_for_key;
use activejob_karafka::producer::{
    DispatchMethod, Enqueued, JobOptions, PartitionKeyType, ProduceError,
};
use activejob_karafka::Job;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use support::scheduling::{job_producer, karafka_partition, Watcher};
use support::{bootstrap, create_topic, init_tracing, unique};

const PARTITIONS: i32 = 6;

fn first_string_arg(job: &Job) -> Option<String> {
    match job.arguments.first() {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Where librdkafka itself puts a message with key `key` (producer configured with
/// `partitioner`, or librdkafka's default when `None`).
async fn librdkafka_partition(topic: &str, key: &str, partitioner: Option<&str>) -> i32 {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap());
    if let Some(p) = partitioner {
        c.set("partitioner", p);
    }
    let producer: FutureProducer = c.create().expect("reference producer");
    let d = producer
        .send(
            FutureRecord::<str, str>::to(topic).key(key).payload("ref"),
            Duration::from_secs(10),
        )
        .await
        .expect("reference produce");
    d.partition
}

/// The payload is exactly `Job::encode` of the job with the enqueue time Rust set.
fn assert_encode_bytes(payload: &[u8], original: &Job) {
    let decoded = Job::decode(payload).expect("payload decodes");
    let mut expected = original.clone();
    expected.enqueued_at = decoded.enqueued_at.clone();
    assert_eq!(
        String::from_utf8_lossy(payload),
        String::from_utf8_lossy(&expected.encode().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_partitioner_lands_on_the_crc32_partition_librdkafka_picks() {
    init_tracing();
    let topic = unique("prod-key");
    let reference = unique("prod-key-ref");
    create_topic(&topic, PARTITIONS).await;
    create_topic(&reference, PARTITIONS).await;
    let producer = job_producer()
        .job(
            "KeyedJob",
            JobOptions::new()
                .partitioner(first_string_arg)
                .dispatch_method(DispatchMethod::Sync),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&topic]);
    let mut jobs = Vec::new();
    for i in 0..24 {
        let job = Job::new("KeyedJob")
            .queue(&topic)
            .arg(format!("account-{i}"));
        let sent = producer.enqueue(&job).await.unwrap();
        assert_eq!(sent.topic, topic);
        assert!(sent.offset.is_some(), "sync dispatch reports the offset");
        jobs.push((job, sent));
    }
    let seen = watcher.wait_for(&topic, 24, Duration::from_secs(20)).await;
    let mut partitions_used = std::collections::BTreeSet::new();
    for (job, sent) in &jobs {
        let key = first_string_arg(job).unwrap();
        let m = seen
            .iter()
            .find(|s| s.job_id() == job.job_id)
            .expect("job arrived");
        assert_eq!(m.key.as_deref(), Some(key.as_str()), "the key is written");
        assert!(m.headers.is_empty(), "Karafka writes no headers");
        let karafka = karafka_partition(&key, PARTITIONS);
        assert_eq!(m.partition, karafka, "CRC-32 of {key}");
        assert_eq!(Some(m.partition), sent.partition);
        assert_eq!(
            m.partition,
            librdkafka_partition(&reference, &key, Some("consistent_random")).await
        );
        // rust-rdkafka leaves librdkafka's default partitioner, which is consistent_random.
        assert_eq!(
            m.partition,
            librdkafka_partition(&reference, &key, None).await
        );
        assert_encode_bytes(m.payload.as_deref().unwrap(), job);
        partitions_used.insert(m.partition);
    }
    assert!(
        partitions_used.len() > 2,
        "keys spread: {partitions_used:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_key_picks_the_partition_librdkafka_picks_for_that_key_and_writes_no_key() {
    init_tracing();
    let topic = unique("prod-pkey");
    let reference = unique("prod-pkey-ref");
    create_topic(&topic, PARTITIONS).await;
    create_topic(&reference, PARTITIONS).await;
    let producer = job_producer()
        .job(
            "TenantJob",
            JobOptions::new()
                .partitioner(first_string_arg)
                .partition_key_type(PartitionKeyType::PartitionKey)
                .dispatch_method(DispatchMethod::Sync),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&topic]);
    let mut jobs = Vec::new();
    for i in 0..24 {
        let job = Job::new("TenantJob")
            .queue(&topic)
            .arg(format!("tenant-{i}"));
        producer.enqueue(&job).await.unwrap();
        jobs.push(job);
    }
    let seen = watcher.wait_for(&topic, 24, Duration::from_secs(20)).await;
    for job in &jobs {
        let pk = first_string_arg(job).unwrap();
        let m = seen.iter().find(|s| s.job_id() == job.job_id).unwrap();
        assert_eq!(m.key, None, "a partition key is not a message key");
        assert!(m.headers.is_empty());
        let by_librdkafka = librdkafka_partition(&reference, &pk, Some("consistent_random")).await;
        assert_eq!(m.partition, by_librdkafka, "partition key {pk}");
        assert_eq!(m.partition, karafka_partition(&pk, PARTITIONS));
        assert_eq!(m.partition, partition_for_key(pk.as_bytes(), PARTITIONS));
        assert_encode_bytes(m.payload.as_deref().unwrap(), job);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_type_lands_on_the_partition_given_and_async_dispatch_flushes() {
    init_tracing();
    let topic = unique("prod-part");
    create_topic(&topic, PARTITIONS).await;
    let producer = job_producer()
        .job(
            "PinnedJob",
            JobOptions::new()
                .partitioner(|job| match job.arguments.first() {
                    Some(Value::Integer(i)) => Some(i.to_string()),
                    _ => None,
                })
                .partition_key_type(PartitionKeyType::Partition),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&topic]);
    let mut jobs = Vec::new();
    for i in 0..12u64 {
        let job = Job::new("PinnedJob").queue(&topic).arg(i % 6);
        let sent = producer.enqueue(&job).await.unwrap();
        // Async (Karafka's default): not waited for, but the partition is known up front.
        assert_eq!(sent.offset, None);
        assert_eq!(sent.partition, Some((i % 6) as i32));
        jobs.push((i, job));
    }
    producer.flush(Duration::from_secs(10)).await.unwrap();
    let seen = watcher.wait_for(&topic, 12, Duration::from_secs(20)).await;
    for (i, job) in &jobs {
        let m = seen.iter().find(|s| s.job_id() == job.job_id).unwrap();
        assert_eq!(m.partition, (*i % 6) as i32);
        assert_eq!(m.key, None);
    }
    // Out of range or not a number: refused before producing, as WaterDrop refuses it.
    let bad = Job::new("PinnedJob").queue(&topic).arg("x");
    assert!(matches!(
        producer.enqueue(&bad).await,
        Err(ProduceError::InvalidPartition { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_partitioner_no_key_prefix_changes_only_the_topic_and_class_producers_apply() {
    init_tracing();
    let prefix = format!("{}-", unique("pfx"));
    let queue = "mailers";
    let topic = format!("{prefix}{queue}");
    create_topic(&topic, 3).await;
    let producer = job_producer()
        .queue_prefix(&prefix)
        .defaults(JobOptions::new().producer_config("acks", "1"))
        .job(
            "CriticalJob",
            JobOptions::new()
                .producer_config("acks", "all")
                .dispatch_method(DispatchMethod::Sync),
        )
        .build()
        .unwrap();
    let debug = format!("{producer:?}");
    assert!(debug.contains("producers: 2"), "{debug}");
    let watcher = Watcher::start(&[&topic]);
    let plain = Job::new("MailJob").queue(queue).arg(1);
    let critical = Job::new("CriticalJob").queue(queue).arg(2);
    let a = producer.enqueue(&plain).await.unwrap();
    let b: Enqueued = producer.enqueue(&critical).await.unwrap();
    assert_eq!(a.topic, topic);
    assert!(b.offset.is_some());
    producer.flush(Duration::from_secs(10)).await.unwrap();
    let seen = watcher.wait_for(&topic, 2, Duration::from_secs(20)).await;
    for job in [&plain, &critical] {
        let m = seen.iter().find(|s| s.job_id() == job.job_id).unwrap();
        assert_eq!(m.key, None);
        let decoded = Job::decode(m.payload.as_deref().unwrap()).unwrap();
        assert_eq!(
            decoded.queue_name.as_deref(),
            Some(queue),
            "payload untouched"
        );
        assert_encode_bytes(m.payload.as_deref().unwrap(), job);
    }
    let mut nameless = Job::new("X");
    nameless.queue_name = None;
    assert!(matches!(
        producer.enqueue(&nameless).await,
        Err(ProduceError::NoQueue { .. })
    ));
}
