//! Dead letter queue: after `max_retries` retries the message goes to the DLQ topic with its
//! payload, key and headers plus Karafka Pro's `source_*` headers, in the partition Karafka
//! would choose; the job's offset is then marked and the partition goes on.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{dead_letter_partition, handler_fn, TopicConfig};
use futures::FutureExt;
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_job_goes_to_the_dlq_after_max_retries() {
    init_tracing();
    let topic = unique("dlq-src");
    let dlq = unique("dlq");
    let group = unique("dlq-group");
    create_topic(&topic, 2).await;
    create_topic(&dlq, 5).await;

    let poison = Out {
        partition: Some(1),
        key: Some(b"order-42".to_vec()),
        payload: Some(job_payload("TestJob", 2)),
        headers: vec![
            ("traceparent".into(), Some(b"00-abc-01".to_vec())),
            ("nullable".into(), None),
        ],
    };
    let placed = produce(&topic, vec![Out::job(1, 1), poison.clone(), Out::job(3, 1)]).await;
    let poison_offset = placed[1].1;

    let recorder = Recorder::default();
    let rec = recorder.clone();
    let poison_seen = Arc::new(Mutex::new(None));
    let seen = poison_seen.clone();
    let handler = handler_fn(move |m, _| {
        let rec = rec.clone();
        let seen = seen.clone();
        async move {
            let id = parse_job(&m)?;
            if id == 2 {
                *seen.lock().unwrap() = Some(m.clone());
            }
            let i = rec.start(id, &m);
            let ok = id != 2;
            rec.finish_as(i, ok, "always fails")
        }
        .boxed()
    });
    let config = config(
        &group,
        &[TopicConfig::new(&topic).dead_letter_queue(&dlq, 2)],
    )
    .build()
    .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(30), "jobs 1 and 3", || {
        recorder.succeeded().len() == 2
    })
    .await;
    worker.stop().await;

    // 1 run + 2 retries, then the DLQ; job 3 only after that.
    let ids: Vec<u64> = recorder.runs().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![1, 2, 2, 2, 3]);
    assert_eq!(stats.snapshot().dead_lettered, 1);
    assert_fully_committed(&group, &topic, 2);

    // What the handler was given: the message as produced, with the broker's timestamp.
    let handed = poison_seen.lock().unwrap().clone().expect("job 2 ran");
    assert_eq!(handed.key.as_deref(), poison.key.as_deref());
    assert_eq!(handed.payload.as_deref(), poison.payload.as_deref());
    assert_eq!(handed.headers, poison.headers);
    assert_eq!((handed.partition, handed.offset), (1, poison_offset));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let stamped = handed.timestamp_ms.expect("a broker timestamp");
    assert!(
        (now_ms - 120_000..=now_ms).contains(&stamped),
        "timestamp {stamped} is not from the last two minutes (now {now_ms})"
    );

    let got = read_topic(&dlq, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "one dead letter");
    let d = &got[0];
    assert_eq!(d.payload(), poison.payload.as_deref());
    assert_eq!(d.key(), Some(&b"order-42"[..]));
    assert_eq!(header_str(d, "traceparent").as_deref(), Some("00-abc-01"));
    let nullable = {
        use rdkafka::message::Headers;
        d.headers()
            .unwrap()
            .iter()
            .find(|h| h.key == "nullable")
            .map(|h| h.value.is_none())
    };
    assert_eq!(nullable, Some(true), "a null header stays null");
    assert_eq!(header_str(d, "source_topic"), Some(topic.clone()));
    assert_eq!(header_str(d, "source_partition").as_deref(), Some("1"));
    assert_eq!(
        header_str(d, "source_offset"),
        Some(poison_offset.to_string())
    );
    assert_eq!(header_str(d, "source_consumer_group"), Some(group.clone()));
    assert_eq!(header_str(d, "source_attempts").as_deref(), Some("3"));
    let trace = header_str(d, "source_trace_id").expect("source_trace_id");
    let uuid = uuid::Uuid::parse_str(&trace).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    // partition_key "1" through librdkafka's consistent_random partitioner.
    assert_eq!(d.partition(), dead_letter_partition(1, 5));
}

/// `dead_letter_partition` agrees with what librdkafka itself does for a producer configured
/// with `partitioner=consistent_random` (rdkafka-ruby's default) and the key "0".."9".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_partition_matches_librdkafkas_partitioner() {
    let topic = unique("partitioner");
    create_topic(&topic, 7).await;
    let producer: rdkafka::producer::FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("partitioner", "consistent_random")
        .create()
        .unwrap();
    for source_partition in 0..10 {
        let key = source_partition.to_string();
        let d = producer
            .send(
                FutureRecord::<str, str>::to(&topic).key(&key).payload("x"),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
        assert_eq!(
            d.partition,
            dead_letter_partition(source_partition, 7),
            "partition key {key}"
        );
    }
}
