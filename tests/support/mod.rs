//! Shared helpers for the worker tests: a real broker, topics, producing, reading back, and a
//! recorder of job runs. Every test uses its own topic and group names, so tests run in
//! parallel against one broker.
#![allow(dead_code)]

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{
    InboundMessage, JobFailure, PauseConfig, TopicConfig, WorkerConfig, WorkerConfigBuilder,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub mod broker;
pub mod child;
pub mod faults;
pub mod http;
pub mod recorder;
pub mod routing;
pub mod running;
pub mod scheduling;
pub mod secure;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use recorder::{assert_round_robin_order, runs_by_id, succeeded_on_any, Recorder, Run};
#[allow(unused_imports)]
pub use running::{stop_all, RunningWorker};

/// Where the tests' broker is: `KAFKA_BOOTSTRAP_SERVERS` when set; else a testcontainers Kafka
/// when a Docker engine answers; else the project's own broker (`scripts/kafka/kafka.sh up`,
/// left running for the next test binary; `make kafka-down` stops it).
pub fn bootstrap() -> String {
    static BOOTSTRAP: OnceLock<String> = OnceLock::new();
    BOOTSTRAP
        .get_or_init(|| {
            if let Ok(b) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
                if !b.trim().is_empty() {
                    return b;
                }
            }
            if let Some(b) = testcontainers_kafka() {
                return b;
            }
            project_broker()
        })
        .clone()
}

/// Starts `apache/kafka` through testcontainers. The container lives as long as the test
/// process (held by a parked thread). `None` when there is no Docker engine: it fails at once.
fn testcontainers_kafka() -> Option<String> {
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    use testcontainers_modules::kafka::apache;

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(_) => return,
        };
        runtime.block_on(async move {
            let started = apache::Kafka::default()
                .with_env_var("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                .start()
                .await;
            match started {
                Ok(container) => {
                    let port = container.get_host_port_ipv4(apache::KAFKA_PORT).await;
                    match port {
                        Ok(port) => {
                            let _ = tx.send(Some(format!("127.0.0.1:{port}")));
                            // Keep the container for the rest of the process.
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            eprintln!("testcontainers: no port: {e}");
                            let _ = tx.send(None);
                        }
                    }
                }
                Err(e) => {
                    eprintln!(
                        "testcontainers: no Docker engine ({e}); using scripts/kafka/kafka.sh"
                    );
                    let _ = tx.send(None);
                }
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(180)).ok().flatten()
}

fn project_broker() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka/kafka.sh");
    // flock: test binaries started side by side must not start two brokers; -o keeps the lock
    // out of the broker process, which outlives this one.
    let out = Command::new("flock")
        .args(["-o", "/tmp/activejob-karafka-kafka-up.lock", script, "up"])
        .output()
        .expect("running scripts/kafka/kafka.sh up");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kafka.sh up failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("KAFKA_BOOTSTRAP_SERVERS="))
        .map(str::to_string)
        .expect("kafka.sh up prints KAFKA_BOOTSTRAP_SERVERS=...")
}

/// `prefix` plus a short random suffix.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var("RUST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

/// Creates a topic and waits until its metadata shows every partition.
pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics");
    for r in results {
        if let Err((t, code)) = r {
            assert_eq!(
                code,
                rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                "creating {t}"
            );
        }
    }
    let consumer = metadata_consumer();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let name = name.to_string();
        let ok = consumer
            .fetch_metadata(Some(&name), Duration::from_secs(5))
            .ok()
            .and_then(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| t.error().is_none() && t.partitions().len() == partitions as usize)
            })
            .unwrap_or(false);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "topic {name} never appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metadata_consumer() -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("metadata consumer")
}

/// One message to produce.
#[derive(Debug, Clone, Default)]
pub struct Out {
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Out {
    /// A job payload for partition `partition`.
    pub fn job(id: u64, partition: i32) -> Self {
        Out {
            partition: Some(partition),
            payload: Some(job_payload("TestJob", id)),
            ..Out::default()
        }
    }
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Produces all messages in order (one at a time in flight per call of `send`, all awaited).
/// Returns (partition, offset) of each.
pub async fn produce(topic: &str, messages: Vec<Out>) -> Vec<(i32, i64)> {
    let producer = producer();
    let mut futures = Vec::with_capacity(messages.len());
    for m in &messages {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &m.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(p) = m.partition {
            record = record.partition(p);
        }
        if let Some(k) = m.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = m.payload.as_deref() {
            record = record.payload(v);
        }
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("enqueue");
        futures.push(delivery);
    }
    let mut placed = Vec::with_capacity(futures.len());
    for f in futures {
        let d = f.await.expect("delivery").expect("delivered");
        placed.push((d.partition, d.offset));
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
    placed
}

/// An ActiveJob-shaped payload whose first argument is `id`.
pub fn job_payload(class: &str, id: u64) -> Vec<u8> {
    serde_json::json!({
        "job_class": class,
        "job_id": uuid::Uuid::new_v4().to_string(),
        "provider_job_id": null,
        "queue_name": "default",
        "priority": null,
        "arguments": [id],
        "executions": 0,
        "exception_executions": {},
        "locale": "en",
        "timezone": "UTC",
        "enqueued_at": "2026-01-01T00:00:00.000000000Z",
        "scheduled_at": null
    })
    .to_string()
    .into_bytes()
}

/// What the registry will do, in miniature: tombstone / undecodable / unknown class are bad
/// messages, otherwise the job id (first argument).
pub fn parse_job(m: &InboundMessage) -> Result<u64, JobFailure> {
    let payload = m.payload.as_deref().ok_or(JobFailure::Tombstone)?;
    let v: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| JobFailure::Undecodable(e.to_string()))?;
    let class = v["job_class"]
        .as_str()
        .ok_or_else(|| JobFailure::Undecodable("no job_class".into()))?;
    if class != "TestJob" {
        return Err(JobFailure::UnknownJobClass(class.to_string()));
    }
    v["arguments"][0]
        .as_u64()
        .ok_or_else(|| JobFailure::Undecodable("arguments[0] is not an id".into()))
}

/// A builder with test-friendly settings: 100 ms base pause, 2 s cap, short shutdown.
pub fn config(group: &str, topics: &[TopicConfig]) -> WorkerConfigBuilder {
    let mut b = WorkerConfig::builder()
        .bootstrap_servers(bootstrap())
        .group_id(group)
        .client_id("worker-test")
        .shutdown_timeout(Duration::from_secs(20))
        .pause(PauseConfig {
            timeout: Duration::from_millis(100),
            max_timeout: Duration::from_millis(2_000),
            with_exponential_backoff: true,
        })
        .kafka("topic.metadata.refresh.interval.ms", "1000");
    for t in topics {
        b = b.topic(t.clone());
    }
    b
}

/// `builder` with `max.poll.interval.ms` at 10 s, so a test's job can outlive it: the session
/// timeout (the broker's minimum, 6 s) and the heartbeat stay below it, as librdkafka requires.
pub fn short_max_poll_interval(builder: WorkerConfigBuilder) -> WorkerConfigBuilder {
    builder
        .kafka("max.poll.interval.ms", "10000")
        .kafka("session.timeout.ms", "6000")
        .kafka("heartbeat.interval.ms", "1000")
}

/// Polls `f` every 20 ms until it is true; panics with `what` after `timeout`.
pub async fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The group's committed offsets for partitions `0..partitions` (-1: none), read by a separate
/// consumer that does not join the group.
pub fn committed(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .create()
        .expect("offset reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed_offsets");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

/// High watermarks of partitions `0..partitions`.
pub fn end_offsets(topic: &str, partitions: i32) -> Vec<i64> {
    let consumer = metadata_consumer();
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .collect()
}

/// Reads `count` messages of `topic` from the beginning (any partitions), waiting up to
/// `timeout`.
pub fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(m.detach());
        }
    }
    out
}

/// The header `name` of a read message as text.
pub fn header_str(m: &OwnedMessage, name: &str) -> Option<String> {
    use rdkafka::message::Headers;
    let hs = m.headers()?;
    hs.iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Asserts the group has committed every partition up to its end (an empty partition may have
/// no committed offset at all).
pub fn assert_fully_committed(group: &str, topic: &str, partitions: i32) {
    let committed = committed(group, topic, partitions);
    let ends = end_offsets(topic, partitions);
    for (p, (c, e)) in committed.iter().zip(&ends).enumerate() {
        if *e == 0 {
            assert!(
                *c <= 0,
                "partition {p}: committed {c} on an empty partition"
            );
        } else {
            assert_eq!(c, e, "partition {p}: committed {c}, end {e}");
        }
    }
}

impl Out {
    /// A job payload for partition `partition` with a message key.
    pub fn keyed(id: u64, partition: i32, key: &str) -> Self {
        Out {
            key: Some(key.as_bytes().to_vec()),
            ..Out::job(id, partition)
        }
    }
}

/// An ActiveJob-shaped payload whose first argument is `id`, with `scheduled_at` set to
/// `scheduled_at` (Rails 8.1's nine-digit UTC form).
pub fn scheduled_job_payload(class: &str, id: u64, scheduled_at: std::time::SystemTime) -> Vec<u8> {
    let at: chrono::DateTime<chrono::Utc> = scheduled_at.into();
    let mut v: serde_json::Value = serde_json::from_slice(&job_payload(class, id)).unwrap();
    v["scheduled_at"] = at.format("%Y-%m-%dT%H:%M:%S.%9fZ").to_string().into();
    v.to_string().into_bytes()
}
