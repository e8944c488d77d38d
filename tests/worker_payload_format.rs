//! A Ruby application that replaced Karafka's `Deserializer` with the one of Karafka's own
//! documentation (each job wrapped as `{"version":1,"produced_at":…,"producer":…,"payload":{job}}`):
//! jobs that Rust enqueues in that format run in the worker in order, `hold_until_scheduled`
//! reads the wrapped `scheduled_at`, and messages not in the format (a bare job, version 2) are
//! undecodable: dead-lettered unchanged under that policy, never run, never skipped silently.

mod common;
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{BadMessageKind, BadMessagePolicy, TopicConfig};
use activejob_karafka::payload_format::PayloadFormat;
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::{DecodeOptions, EnvelopeTime, Job};
use common::versioned_envelope::VersionedEnvelope;
use rdkafka::Message;
use support::scheduling::job_producer;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_in_the_applications_format_run_and_others_are_dead_lettered() {
    init_tracing();
    let topic = unique("format-src");
    let dlq = unique("format-dlq");
    let group = unique("format-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;

    let format: Arc<dyn PayloadFormat> = Arc::new(VersionedEnvelope);
    let producer = job_producer()
        .payload_format(Arc::clone(&format))
        .build()
        .unwrap();
    let import = |id: i64| Job::new("ImportJob").queue(&topic).arg(id);
    producer.enqueue(&import(1)).await.unwrap();
    // Delivered before the messages of the other producer below, so the partition's order is
    // the order written here.
    producer.flush(Duration::from_secs(10)).await.unwrap();
    // Not in the format: the bare job JSON, and an envelope of another version.
    let bare = import(2).encode().unwrap();
    let version_2 = String::from_utf8(
        VersionedEnvelope
            .payload(import(3).encode().unwrap())
            .unwrap(),
    )
    .unwrap()
    .replacen(r#""version":1"#, r#""version":2"#, 1)
    .into_bytes();
    let out = |payload: &Vec<u8>| Out {
        partition: Some(0),
        payload: Some(payload.clone()),
        ..Out::default()
    };
    produce(&topic, vec![out(&bare), out(&version_2)]).await;
    // Delivered now with a scheduled_at 2 s ahead (as Karafka OSS delivers `wait:` jobs): held
    // until due, read through the format.
    let hold = Duration::from_secs(2);
    let mut later = import(4);
    later.scheduled_at = Some(EnvelopeTime::new(
        chrono::Utc::now() + chrono::Duration::from_std(hold).unwrap(),
    ));
    let later = VersionedEnvelope.payload(later.encode().unwrap()).unwrap();
    let enqueued_at = Instant::now();
    produce(&topic, vec![out(&later)]).await;
    producer.enqueue(&import(5)).await.unwrap();
    producer.flush(Duration::from_secs(10)).await.unwrap();

    // What Rust wrote is the envelope, with the job's JSON under "payload".
    let written = read_topic(&topic, 5, Duration::from_secs(20));
    let first: serde_json::Value = serde_json::from_slice(written[0].payload().unwrap()).unwrap();
    assert_eq!(first["version"], 1);
    assert_eq!(first["producer"], "billing-rs");
    assert_eq!(first["payload"]["job_class"], "ImportJob");
    assert_eq!(first["payload"]["arguments"], serde_json::json!([1]));

    let ran = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ran);
    let options = DecodeOptions {
        payload_format: Some(format),
        ..DecodeOptions::default()
    };
    let registry = Registry::with_options(options).register(
        "ImportJob",
        move |(id,): (i64,), _ctx: JobContext| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push((id, Instant::now()));
                Ok(())
            }
        },
    );
    let topic_config = TopicConfig::new(&topic)
        .dead_letter_queue(&dlq, 0)
        .hold_until_scheduled(true)
        .on_bad_message(BadMessageKind::Undecodable, BadMessagePolicy::DeadLetter);
    let config = config(&group, &[topic_config]).build().unwrap();
    let worker = RunningWorker::start(config, registry);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(30), "jobs 1, 4 and 5", || {
        ran.lock().unwrap().len() == 3
    })
    .await;
    worker.stop().await;

    let ran = ran.lock().unwrap().clone();
    let ids: Vec<i64> = ran.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![1, 4, 5], "in order, the bad ones never run");
    let held = ran[1].1.duration_since(enqueued_at);
    assert!(
        held >= hold - Duration::from_millis(300),
        "job 4 ran {held:?} after it was enqueued, before its scheduled_at"
    );
    assert_eq!(stats.snapshot().dead_lettered, 2);
    assert_fully_committed(&group, &topic, 1);

    let dead = read_topic(&dlq, 2, Duration::from_secs(20));
    let payloads: Vec<&[u8]> = dead.iter().filter_map(|m| m.payload()).collect();
    assert_eq!(
        payloads,
        vec![&bare[..], &version_2[..]],
        "unchanged, in order"
    );
}
