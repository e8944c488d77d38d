//! The Rust Scheduled Messages dispatcher on a real broker: delayed jobs arrive on time with
//! Karafka's target key/partition and headers, tombstones follow, cancels hold, past-due
//! schedules written before start are delivered, incompatible schemas stop their partition,
//! and the `_states` records are written.

mod support;

use std::io::Read;
use std::time::Duration;

use activejob_karafka::arguments::Value;
use activejob_karafka::producer::{DispatchMethod, JobOptions, JobProducer, PartitionKeyType};
use activejob_karafka::Job;
use chrono::Utc;
use support::scheduling::{
    dispatcher_config, job_producer, karafka_partition, now_ms, Running, Seen, Watcher,
};
use support::{create_topic, init_tracing, produce, unique, Out};

const PROXY_PARTITIONS: i32 = 5;
const TARGET_PARTITIONS: i32 = 4;

fn string_arg(job: &Job) -> Option<String> {
    match job.arguments.first() {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn scheduling_producer(proxy: &str) -> JobProducer {
    let base = JobOptions::new()
        .scheduled_messages_topic(proxy)
        .dispatch_method(DispatchMethod::Sync);
    job_producer()
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
            base.partitioner(|_| Some("1".into()))
                .partition_key_type(PartitionKeyType::Partition),
        )
        .build()
        .unwrap()
}

async fn topics(prefix: &str) -> (String, String) {
    let target = unique(&format!("{prefix}-target"));
    let proxy = unique(&format!("{prefix}-proxy"));
    create_topic(&target, TARGET_PARTITIONS).await;
    create_topic(&proxy, PROXY_PARTITIONS).await;
    (target, proxy)
}

fn by_job<'a>(seen: &'a [Seen], job: &Job) -> Vec<&'a Seen> {
    seen.iter().filter(|s| s.job_id() == job.job_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perform_in_arrives_on_time_with_karafkas_target_and_tombstone() {
    init_tracing();
    let (target, proxy) = topics("due").await;
    let producer = scheduling_producer(&proxy);
    let watcher = Watcher::start(&[&target, &proxy]);
    let dispatcher = Running::start(dispatcher_config(&proxy, &unique("sm")).build());

    let jobs = [
        Job::new("PlainJob").queue(&target).arg("a"),
        Job::new("KeyJob").queue(&target).arg("user-1"),
        Job::new("PkJob").queue(&target).arg("tenant-7"),
        Job::new("PartJob").queue(&target).arg("b"),
    ];
    let mut epochs = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        // perform_in: 2.0 s, 2.6 s, 3.2 s, 3.8 s
        let wait = Duration::from_millis(2_000 + 600 * i as u64);
        let at = Utc::now() + chrono::Duration::from_std(wait).unwrap();
        let e = producer.enqueue_in(job, wait).await.unwrap();
        assert!(e.schedule.is_some());
        // enqueue_in computes its own `at` a moment later: the same second or the next one.
        epochs.push(at.timestamp());
    }
    let arrived = watcher
        .wait_for(&target, jobs.len(), Duration::from_secs(15))
        .await;
    let proxied = watcher.seen_on(&proxy);
    for (job, min_epoch) in jobs.iter().zip(&epochs) {
        let hits = by_job(&arrived, job);
        assert_eq!(hits.len(), 1, "{} arrived once", job.job_class);
        let m = hits[0];
        let source = by_job(&proxied, job)
            .into_iter()
            .find(|s| s.header("schedule_source_type") == Some("schedule"))
            .expect("proxy message");
        let epoch: i64 = source
            .header("schedule_target_epoch")
            .unwrap()
            .parse()
            .unwrap();
        assert!(epoch == *min_epoch || epoch == min_epoch + 1);
        // Not before its epoch second, and within 2 s after it.
        let produced = m.timestamp_ms.unwrap();
        assert!(
            produced >= epoch * 1000,
            "{} produced {} ms before its epoch",
            job.job_class,
            epoch * 1000 - produced
        );
        assert!(m.received_ms >= epoch * 1000);
        eprintln!(
            "{}: produced {} ms, received {} ms after its epoch second",
            job.job_class,
            produced - epoch * 1000,
            m.received_ms - epoch * 1000
        );
        assert!(
            m.received_ms <= epoch * 1000 + 2_000,
            "{} arrived {} ms after its epoch",
            job.job_class,
            m.received_ms - epoch * 1000
        );
        // The payload is the proxy payload, unchanged.
        assert_eq!(m.payload, source.payload);
        // Target key / partition as Karafka applies them.
        match job.job_class.as_str() {
            "KeyJob" => {
                assert_eq!(m.key.as_deref(), Some("user-1"));
                assert_eq!(m.partition, karafka_partition("user-1", TARGET_PARTITIONS));
            }
            "PkJob" => {
                assert_eq!(m.key, None);
                assert_eq!(
                    m.partition,
                    karafka_partition("tenant-7", TARGET_PARTITIONS)
                );
            }
            "PartJob" => {
                assert_eq!(m.key, None);
                assert_eq!(m.partition, 1);
            }
            _ => assert_eq!(m.key, None),
        }
        // Headers: the proxy's, then where it came from.
        let mut expected: Vec<(String, Option<String>)> = source.headers.clone();
        expected.push(("schedule_source_topic".into(), Some(proxy.clone())));
        expected.push((
            "schedule_source_partition".into(),
            Some(source.partition.to_string()),
        ));
        expected.push((
            "schedule_source_offset".into(),
            Some(source.offset.to_string()),
        ));
        expected.push(("schedule_source_key".into(), source.key.clone()));
        assert_eq!(m.headers, expected, "{}", job.job_class);
    }

    // One tombstone per schedule: same key and partition, no payload.
    let all = watcher
        .wait_for(&proxy, 2 * jobs.len(), Duration::from_secs(10))
        .await;
    for source in all
        .iter()
        .filter(|s| s.header("schedule_source_type") == Some("schedule"))
    {
        let tombs: Vec<&Seen> = all
            .iter()
            .filter(|s| {
                s.key == source.key && s.header("schedule_source_type") == Some("tombstone")
            })
            .collect();
        assert_eq!(tombs.len(), 1);
        let t = tombs[0];
        assert_eq!(t.partition, source.partition);
        assert_eq!(t.payload, None);
        assert!(t.offset > source.offset);
        let mut expected = source.headers.clone();
        for (k, v) in expected.iter_mut() {
            if k == "schedule_source_type" {
                *v = Some("tombstone".into());
            }
        }
        expected.push((
            "schedule_source_offset".into(),
            Some(source.offset.to_string()),
        ));
        assert_eq!(t.headers, expected);
    }
    dispatcher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_schedule_never_arrives() {
    init_tracing();
    let (target, proxy) = topics("cancel").await;
    let producer = scheduling_producer(&proxy);
    let watcher = Watcher::start(&[&target]);
    // Cancelled before the dispatcher starts (found while loading) ...
    let early = Job::new("KeyJob").queue(&target).arg("early");
    let e = producer
        .enqueue_in(&early, Duration::from_secs(2))
        .await
        .unwrap();
    producer.cancel(&e.schedule.unwrap()).await.unwrap();

    let dispatcher = Running::start(dispatcher_config(&proxy, &unique("sm")).build());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ... and while it runs, for each routing kind.
    let mut cancelled = vec![early];
    let mut kept = Vec::new();
    for class in ["PlainJob", "KeyJob", "PkJob", "PartJob"] {
        let doomed = Job::new(class).queue(&target).arg(format!("{class}-x"));
        let e = producer
            .enqueue_in(&doomed, Duration::from_secs(2))
            .await
            .unwrap();
        producer.cancel(&e.schedule.unwrap()).await.unwrap();
        cancelled.push(doomed);
        let survivor = Job::new(class).queue(&target).arg(format!("{class}-y"));
        producer
            .enqueue_in(&survivor, Duration::from_secs(3))
            .await
            .unwrap();
        kept.push(survivor);
    }
    watcher
        .wait_for(&target, kept.len(), Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let seen = watcher.seen_on(&target);
    for job in &kept {
        assert_eq!(by_job(&seen, job).len(), 1, "{} kept", job.job_class);
    }
    for job in &cancelled {
        assert!(
            by_job(&seen, job).is_empty(),
            "{} was cancelled",
            job.job_class
        );
    }
    assert_eq!(seen.len(), kept.len());
    dispatcher.stop().await;
}

/// A proxy message as Karafka writes it, for states the producer would not write itself.
fn raw_schedule(
    target: &str,
    partition: i32,
    key: &str,
    epoch: i64,
    version: &str,
    job: &Job,
) -> Out {
    let h = |k: &str, v: &str| (k.to_string(), Some(v.as_bytes().to_vec()));
    Out {
        partition: Some(partition),
        key: Some(key.as_bytes().to_vec()),
        payload: Some(job.encode().unwrap()),
        headers: vec![
            h("schedule_schema_version", version),
            h("schedule_target_epoch", &epoch.to_string()),
            h("schedule_source_type", "schedule"),
            h("schedule_target_topic", target),
        ],
    }
}

fn raw_tombstone(of: &Out, offset: i64) -> Out {
    let mut headers = of.headers.clone();
    for (k, v) in headers.iter_mut() {
        if k == "schedule_source_type" {
            *v = Some(b"tombstone".to_vec());
        }
    }
    headers.push((
        "schedule_source_offset".into(),
        Some(offset.to_string().into_bytes()),
    ));
    Out {
        partition: of.partition,
        key: of.key.clone(),
        payload: None,
        headers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_keeps_past_due_schedules_skips_tombstoned_and_later_days_and_refuses_new_schemas()
{
    init_tracing();
    let (target, proxy) = topics("load").await;
    let now = Utc::now().timestamp();
    let overdue = Job::new("OverdueJob").queue(&target);
    let done = Job::new("DoneJob").queue(&target);
    let tomorrow = Job::new("TomorrowJob").queue(&target);
    let future_schema = Job::new("FutureSchemaJob").queue(&target);
    let behind_it = Job::new("BehindJob").queue(&target);
    let other_partition = Job::new("OtherPartitionJob").queue(&target);

    let done_msg = raw_schedule(&target, 0, "k-done", now - 30, "1.0.0", &done);
    let placed = produce(
        &proxy,
        vec![
            raw_schedule(&target, 0, "k-overdue", now - 5, "1.0.0", &overdue),
            done_msg.clone(),
            raw_schedule(&target, 0, "k-tomorrow", now + 86_400, "1.0.0", &tomorrow),
        ],
    )
    .await;
    produce(&proxy, vec![raw_tombstone(&done_msg, placed[1].1)]).await;
    produce(
        &proxy,
        vec![
            raw_schedule(&target, 3, "k-v2", now - 1, "2.0.0", &future_schema),
            raw_schedule(&target, 3, "k-behind", now - 1, "1.0.0", &behind_it),
            raw_schedule(&target, 4, "k-other", now - 1, "1.0.0", &other_partition),
        ],
    )
    .await;

    let watcher = Watcher::start(&[&target]);
    let dispatcher = Running::start(dispatcher_config(&proxy, &unique("sm")).build());
    watcher.wait_for(&target, 2, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let seen = watcher.seen_on(&target);
    assert_eq!(
        by_job(&seen, &overdue).len(),
        1,
        "overdue, never dispatched: sent once"
    );
    assert_eq!(by_job(&seen, &other_partition).len(), 1);
    assert!(
        by_job(&seen, &done).is_empty(),
        "tombstoned: already dispatched"
    );
    assert!(by_job(&seen, &tomorrow).is_empty(), "not today");
    assert!(
        by_job(&seen, &future_schema).is_empty(),
        "schema 2.0.0 refused"
    );
    assert!(
        by_job(&seen, &behind_it).is_empty(),
        "the refused message's partition stops"
    );
    assert_eq!(seen.len(), 2);
    dispatcher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_records_are_deflated_json_keyed_by_state() {
    init_tracing();
    let (target, proxy) = topics("states").await;
    let states = format!("{proxy}_states");
    create_topic(&states, PROXY_PARTITIONS).await;
    let producer = scheduling_producer(&proxy);
    let job = Job::new("KeyJob").queue(&target).arg("s");
    producer
        .enqueue_in(&job, Duration::from_secs(1))
        .await
        .unwrap();
    let watcher = Watcher::start(&[&states, &target]);
    let dispatcher = Running::start(
        dispatcher_config(&proxy, &unique("sm"))
            .states(true)
            .build(),
    );
    watcher.wait_for(&target, 1, Duration::from_secs(15)).await;
    dispatcher.stop().await;
    let deadline = now_ms() + 10_000;
    let records = loop {
        let r = watcher.seen_on(&states);
        let stopped = r
            .iter()
            .filter(|s| s.key.as_deref() == Some("stopped_state"));
        if stopped.count() >= PROXY_PARTITIONS as usize || now_ms() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for kind in ["loaded", "stopped"] {
        let key = format!("{kind}_state");
        let mine: Vec<&Seen> = records
            .iter()
            .filter(|s| s.key.as_deref() == Some(key.as_str()))
            .collect();
        let partitions: std::collections::BTreeSet<i32> =
            mine.iter().map(|s| s.partition).collect();
        assert_eq!(
            partitions.len(),
            PROXY_PARTITIONS as usize,
            "{key} per partition"
        );
        for s in mine {
            assert_eq!(s.header("zlib"), Some("true"));
            let mut text = String::new();
            flate2::read::ZlibDecoder::new(s.payload.as_deref().unwrap())
                .read_to_string(&mut text)
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["schema_version"], "1.0.0");
            assert_eq!(v["state"], kind);
            assert!(v["dispatched_at"].is_f64());
            assert!(v["offsets"]["low"].is_i64() && v["offsets"]["high"].is_i64());
            assert!(v["daily"].is_object());
            assert!(v["started_at"].is_i64());
            assert!(v["reloads"].as_i64().unwrap() >= 1);
        }
    }
}
