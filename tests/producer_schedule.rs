//! `enqueue_at` / `enqueue_in` / `cancel` write exactly Karafka Pro's Scheduled Messages proxy
//! messages (key, partition, headers, payload) for every `partition_key_type`; past times
//! dispatch directly; without a scheduled topic the error names the fix.

mod support;

use std::time::Duration;

use activejob_karafka::arguments::Value;
use activejob_karafka::producer::{
    DispatchMethod, JobOptions, PartitionKeyType, ProduceError, ScheduleRef,
};
use activejob_karafka::Job;
use chrono::{TimeZone, Utc};
use support::scheduling::{job_producer, karafka_partition, Watcher};
use support::{create_topic, init_tracing, unique};

/// Karafka's routing declares the schedules topic with 5 partitions.
const PROXY_PARTITIONS: i32 = 5;

fn string_arg(job: &Job) -> Option<String> {
    match job.arguments.first() {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_messages_match_karafka_for_every_partition_key_type() {
    init_tracing();
    let target = unique("sched-target");
    let proxy = unique("sched-proxy");
    create_topic(&target, 4).await;
    create_topic(&proxy, PROXY_PARTITIONS).await;
    let base = JobOptions::new()
        .scheduled_messages_topic(&proxy)
        .dispatch_method(DispatchMethod::Sync);
    let producer = job_producer()
        .defaults(base.clone())
        .job("KeyJob", base.clone().partitioner(string_arg))
        .job(
            "PkJob",
            base.clone()
                .partitioner(string_arg)
                .partition_key_type(PartitionKeyType::PartitionKey),
        )
        .job(
            "PartJob",
            base.clone()
                .partitioner(|_| Some("3".into()))
                .partition_key_type(PartitionKeyType::Partition),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&proxy, &target]);
    // Fractional seconds: the epoch is truncated like Ruby's to_i.
    let at = Utc::now() + chrono::Duration::hours(2) + chrono::Duration::milliseconds(900);
    let epoch = at.timestamp().to_string();

    let cases = [
        (Job::new("PlainJob").queue(&target).arg("x"), None, None),
        (
            Job::new("KeyJob").queue(&target).arg("user-42"),
            Some(("schedule_target_key", "user-42")),
            None,
        ),
        (
            Job::new("PkJob").queue(&target).arg("tenant-9"),
            Some(("schedule_target_partition_key", "tenant-9")),
            Some("tenant-9"),
        ),
        (
            Job::new("PartJob").queue(&target).arg("y"),
            Some(("schedule_target_partition", "3")),
            Some("3"),
        ),
    ];
    let mut sent = Vec::new();
    for (job, _, _) in &cases {
        let e = producer.enqueue_at(job, at).await.unwrap();
        assert_eq!(e.topic, proxy);
        sent.push(e);
    }
    let seen = watcher
        .wait_for(&proxy, cases.len(), Duration::from_secs(20))
        .await;
    for ((job, target_header, routed_by), e) in cases.iter().zip(&sent) {
        let m = seen
            .iter()
            .find(|s| s.job_id() == job.job_id)
            .expect("proxy message");
        let key = m.key.clone().expect("proxy key");
        // "<target_topic>-<uuid v4>"
        let uuid = key.strip_prefix(&format!("{target}-")).expect("key prefix");
        let parsed = uuid::Uuid::parse_str(uuid).expect("uuid");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.hyphenated().to_string(), uuid);
        let schedule = e.schedule.clone().unwrap();
        assert_eq!(schedule.key, key);
        assert_eq!(schedule.partition, Some(m.partition));
        // Partition: the target partition / partition key when there is one, else the key.
        let route = routed_by.unwrap_or(key.as_str());
        assert_eq!(
            m.partition,
            karafka_partition(route, PROXY_PARTITIONS),
            "{}",
            job.job_class
        );

        let mut expected = vec![
            ("schedule_schema_version", "1.0.0"),
            ("schedule_target_epoch", epoch.as_str()),
            ("schedule_source_type", "schedule"),
            ("schedule_target_topic", target.as_str()),
        ];
        expected.extend(target_header.iter().copied());
        let got: Vec<(&str, &str)> = m
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref().unwrap()))
            .collect();
        assert_eq!(got, expected, "{}", job.job_class);

        // The payload is the job Rails would write for set(wait_until: at).perform_later.
        let payload = m.payload.as_deref().unwrap();
        let decoded = Job::decode(payload).unwrap();
        let mut original = job.clone().scheduled_at(at);
        original.enqueued_at = decoded.enqueued_at.clone();
        assert_eq!(payload, &original.encode().unwrap()[..]);
        let text = String::from_utf8_lossy(payload);
        assert!(
            text.contains(&format!(
                "\"scheduled_at\":\"{}\"",
                at.format("%Y-%m-%dT%H:%M:%S%.9fZ")
            )),
            "{text}"
        );
    }
    assert!(
        watcher.seen_on(&target).is_empty(),
        "nothing reaches the target yet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_writes_karafkas_cancel_message_on_the_schedules_partition() {
    init_tracing();
    let target = unique("cancel-target");
    let proxy = unique("cancel-proxy");
    create_topic(&proxy, PROXY_PARTITIONS).await;
    let producer = job_producer()
        .defaults(
            JobOptions::new()
                .scheduled_messages_topic(&proxy)
                .partitioner(|_| Some("2".into()))
                .partition_key_type(PartitionKeyType::Partition),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&proxy]);
    let job = Job::new("LaterJob").queue(&target);
    // Async dispatch: the partition is still known, from the partition key.
    let e = producer
        .enqueue_in(&job, Duration::from_secs(3600))
        .await
        .unwrap();
    let schedule = e.schedule.unwrap();
    assert_eq!(
        schedule.partition,
        Some(karafka_partition("2", PROXY_PARTITIONS))
    );
    let cancelled = producer.cancel(&schedule).await.unwrap();
    assert_eq!(cancelled.partition, schedule.partition);

    let seen = watcher.wait_for(&proxy, 2, Duration::from_secs(20)).await;
    let cancel = seen
        .iter()
        .find(|s| s.header("schedule_source_type") == Some("cancel"))
        .unwrap();
    assert_eq!(cancel.key.as_deref(), Some(schedule.key.as_str()));
    assert_eq!(cancel.payload, None);
    assert_eq!(Some(cancel.partition), schedule.partition);
    let got: Vec<(&str, Option<&str>)> = cancel
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("schedule_schema_version", Some("1.0.0")),
            ("schedule_source_type", Some("cancel"))
        ]
    );

    // A cancel by key only is routed by the key, as Karafka's Proxy.cancel(key:) is.
    let by_key = producer
        .cancel(&ScheduleRef::new(&proxy, "some-target-key"))
        .await
        .unwrap();
    assert_eq!(
        by_key.partition,
        Some(karafka_partition("some-target-key", PROXY_PARTITIONS))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_and_present_times_dispatch_directly_and_missing_topic_is_a_typed_error() {
    init_tracing();
    let target = unique("past-target");
    create_topic(&target, 2).await;
    // No scheduled_messages_topic: Karafka OSS.
    let producer = job_producer()
        .defaults(JobOptions::new().dispatch_method(DispatchMethod::Sync))
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&target]);
    let past = Utc.with_ymd_and_hms(2020, 1, 2, 3, 4, 5).unwrap();
    let job = Job::new("CatchUpJob").queue(&target).arg(1);
    let e = producer.enqueue_at(&job, past).await.unwrap();
    assert_eq!(e.topic, target);
    assert!(e.schedule.is_none());
    let now_job = Job::new("NowJob").queue(&target).arg(2);
    producer.enqueue_in(&now_job, Duration::ZERO).await.unwrap();

    let seen = watcher.wait_for(&target, 2, Duration::from_secs(20)).await;
    let m = seen.iter().find(|s| s.job_id() == job.job_id).unwrap();
    assert!(m.headers.is_empty());
    let decoded = Job::decode(m.payload.as_deref().unwrap()).unwrap();
    assert_eq!(
        decoded.scheduled_at.unwrap().to_wire(),
        "2020-01-02T03:04:05.000000000Z",
        "scheduled_at is set as Rails sets it"
    );
    assert!(seen.iter().any(|s| s.job_id() == now_job.job_id));

    let future = Job::new("LaterJob").queue(&target);
    let err = producer
        .enqueue_in(&future, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(err, ProduceError::SchedulingNotConfigured { .. }));
    let text = err.to_string();
    assert!(text.contains("scheduled_messages_topic"), "{text}");
    assert!(text.contains("wait: 0"), "{text}");
    // A job whose scheduled_at is in the future goes through enqueue_at, as in Rails.
    let scheduled = Job::new("LaterJob")
        .queue(&target)
        .scheduled_at(Utc::now() + chrono::Duration::minutes(5));
    assert!(matches!(
        producer.enqueue(&scheduled).await,
        Err(ProduceError::SchedulingNotConfigured { .. })
    ));
}
