//! A producer built for an older Rails (`JobProducerBuilder::rails_version`) writes that version's payload on
//! every path that writes one: `enqueue`, `enqueue_at` (past: direct; future: the Scheduled Messages proxy),
//! `enqueue_all` and the `Requeue` of an interrupted continuation; and refuses, before producing anything,
//! a job that version cannot read. Checked on a real broker by reading the messages back.

mod support;

use std::time::Duration;

use activejob_karafka::arguments::{Range, Value};
use activejob_karafka::producer::{DispatchMethod, JobOptions, ProduceError};
use activejob_karafka::registry::Requeue;
use activejob_karafka::{EncodeErrorKind, Job, RailsVersion};
use chrono::Utc;
use rdkafka::Message;
use serde_json::Value as Json;
use support::scheduling::job_producer;
use support::{create_topic, init_tracing, read_topic, unique};

fn big_decimal_job(topic: &str, n: i64) -> Job {
    Job::new("EchoJob")
        .queue(topic)
        .arg(n)
        .arg(Value::BigDecimal("1.25".into()))
}

/// Rails 6.1's forms: no `scheduled_at` key, `enqueued_at` in whole seconds, BigDecimal as a String.
fn assert_rails61_payload(bytes: &[u8]) {
    let payload: Json = serde_json::from_slice(bytes).unwrap();
    let object = payload.as_object().unwrap();
    assert!(!object.contains_key("scheduled_at"), "{payload}");
    let enqueued_at = payload["enqueued_at"].as_str().unwrap();
    assert_eq!(
        enqueued_at.len(),
        "2026-11-24T21:16:25Z".len(),
        "{enqueued_at}"
    );
    assert_eq!(payload["arguments"][1], "1.25", "{payload}");
}

/// Property: every payload a 6.1 producer sends, on each path, has 6.1's forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_enqueue_path_writes_for_the_target_version() {
    init_tracing();
    let topic = unique("target-jobs");
    let proxy = unique("target-proxy");
    create_topic(&topic, 1).await;
    create_topic(&proxy, 1).await;
    let producer = job_producer()
        .rails_version(RailsVersion::V6_1)
        .defaults(
            JobOptions::new()
                .scheduled_messages_topic(&proxy)
                .dispatch_method(DispatchMethod::Sync),
        )
        .build()
        .unwrap();

    producer.enqueue(&big_decimal_job(&topic, 1)).await.unwrap();
    let past = Utc::now() - chrono::Duration::minutes(1);
    producer
        .enqueue_at(&big_decimal_job(&topic, 2), past)
        .await
        .unwrap();
    producer
        .enqueue_all(&[big_decimal_job(&topic, 3), big_decimal_job(&topic, 4)])
        .await
        .unwrap();
    producer
        .requeue(big_decimal_job(&topic, 5), past, None)
        .await
        .unwrap();
    let future = Utc::now() + chrono::Duration::hours(1);
    producer
        .enqueue_at(&big_decimal_job(&topic, 6), future)
        .await
        .unwrap();
    producer.flush(Duration::from_secs(10)).await.unwrap();

    let direct = read_topic(&topic, 5, Duration::from_secs(20));
    assert_eq!(direct.len(), 5, "direct messages");
    let scheduled = read_topic(&proxy, 1, Duration::from_secs(20));
    assert_eq!(scheduled.len(), 1, "proxy messages");
    let mut numbers = Vec::new();
    for message in direct.iter().chain(&scheduled) {
        let bytes = message.payload().unwrap();
        assert_rails61_payload(bytes);
        let payload: Json = serde_json::from_slice(bytes).unwrap();
        numbers.push(payload["arguments"][0].as_i64().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
}

/// Property: a job the target cannot read is refused with `ProduceError::Encode` naming the version, on the
/// enqueue path and the requeue path, and nothing reaches the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_target_cannot_read_is_refused_before_producing() {
    init_tracing();
    let topic = unique("target-refused");
    create_topic(&topic, 1).await;
    let producer = job_producer()
        .rails_version(RailsVersion::V6_1)
        .defaults(JobOptions::new().dispatch_method(DispatchMethod::Sync))
        .build()
        .unwrap();
    let range = Job::new("EchoJob")
        .queue(&topic)
        .arg(Value::Range(Box::new(Range {
            begin: Value::from(1),
            end: Value::from(2),
            exclude_end: false,
        })));
    match producer.enqueue(&range).await {
        Err(ProduceError::Encode { source, .. }) => {
            assert_eq!(
                source.kind,
                EncodeErrorKind::NotReadableBy(RailsVersion::V6_1)
            );
            assert_eq!(source.path.to_string(), "arguments[0]");
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    let continuable = Job::new("ProcessImportJob").queue(&topic).continuable();
    let error = producer
        .requeue(continuable, Utc::now(), None)
        .await
        .expect_err("a continuation is refused for 6.1");
    let produce = error
        .downcast_ref::<ProduceError>()
        .expect("a ProduceError");
    assert!(
        matches!(produce, ProduceError::Encode { source, .. }
            if source.kind == EncodeErrorKind::NotReadableBy(RailsVersion::V6_1)),
        "{produce}"
    );
    producer.flush(Duration::from_secs(10)).await.unwrap();
    assert!(read_topic(&topic, 1, Duration::from_secs(3)).is_empty());
}
