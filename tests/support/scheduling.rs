//! Helpers for the producer and Scheduled Messages tests: a CRC-32 written independently of
//! librdkafka, a background reader that notes when each message arrived, and a dispatcher
//! running in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use activejob_karafka::producer::{JobProducer, JobProducerBuilder};
use activejob_karafka::scheduled::{
    ScheduledConfig, ScheduledConfigBuilder, ScheduledDispatcher, ScheduledError,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message};

/// zlib's CRC-32 (reflected, polynomial 0xEDB88320), which librdkafka's `consistent`
/// partitioners use.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Karafka's rule for a key or partition key: CRC-32 modulo the partition count.
pub fn karafka_partition(key: &str, partitions: i32) -> i32 {
    (crc32(key.as_bytes()) % partitions as u32) as i32
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A message as read back, with when the reader got it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<String>)>,
    /// Broker/producer timestamp (ms).
    pub timestamp_ms: Option<i64>,
    /// Unix ms when the reader received it.
    pub received_ms: i64,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The payload's `job_id`.
    pub fn job_id(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(self.payload.as_deref()?).ok()?;
        v["job_id"].as_str().map(str::to_string)
    }
}

/// Reads topics from the beginning on a thread of its own until dropped.
pub struct Watcher {
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Starts reading and waits until the reader has its partitions.
    pub fn start(topics: &[&str]) -> Watcher {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", super::bootstrap())
            .set("group.id", super::unique("watcher"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .set("fetch.wait.max.ms", "20")
            .create()
            .expect("watcher");
        consumer.subscribe(topics).expect("subscribe");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let seen = seen.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut ready = Some(ready_tx);
                while !stop.load(Ordering::SeqCst) {
                    let polled = consumer.poll(Duration::from_millis(20));
                    if ready.is_some()
                        && consumer
                            .assignment()
                            .map(|a| a.count() > 0)
                            .unwrap_or(false)
                    {
                        let _ = ready.take().unwrap().send(());
                    }
                    if let Some(Ok(m)) = polled {
                        let headers = m
                            .headers()
                            .map(|hs| {
                                hs.iter()
                                    .map(|h| {
                                        (
                                            h.key.to_string(),
                                            h.value
                                                .map(|v| String::from_utf8_lossy(v).into_owned()),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        seen.lock().unwrap().push(Seen {
                            topic: m.topic().to_string(),
                            partition: m.partition(),
                            offset: m.offset(),
                            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                            payload: m.payload().map(<[u8]>::to_vec),
                            headers,
                            timestamp_ms: m.timestamp().to_millis(),
                            received_ms: now_ms(),
                        });
                    }
                }
            })
        };
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("watcher never got its partitions");
        Watcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn seen_on(&self, topic: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.topic == topic)
            .collect()
    }

    /// Waits until `topic` has at least `count` messages; returns them.
    pub async fn wait_for(&self, topic: &str, count: usize, timeout: Duration) -> Vec<Seen> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.seen_on(topic);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{topic}: {} of {count} messages after {timeout:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A job producer on the tests' broker.
pub fn job_producer() -> JobProducerBuilder {
    JobProducer::builder().bootstrap_servers(super::bootstrap())
}

/// Test-friendly dispatcher settings: 200 ms ticks, its own group.
pub fn dispatcher_config(proxy_topic: &str, group: &str) -> ScheduledConfigBuilder {
    ScheduledConfig::builder(proxy_topic)
        .bootstrap_servers(super::bootstrap())
        .group_id(group)
        .interval(Duration::from_millis(200))
        .kafka("topic.metadata.refresh.interval.ms", "1000")
        .kafka("fetch.wait.max.ms", "50")
}

/// A dispatcher running in the background until [`Running::stop`].
pub struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), ScheduledError>>,
}

impl Running {
    pub fn start(config: ScheduledConfig) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(ScheduledDispatcher::new(config).run(async move {
            let _ = rx.await;
        }));
        Running {
            stop: Some(tx),
            handle,
        }
    }

    /// Asks for a graceful stop and waits for it.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), &mut self.handle)
            .await
            .expect("dispatcher did not stop within 30 s")
            .expect("dispatcher task")
            .expect("dispatcher run");
    }
}
