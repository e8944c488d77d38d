//! Producing copies of consumed messages: dead letters and forwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use thiserror::Error;

use super::config::WorkerConfig;
use super::message::InboundMessage;
use crate::kafka::log::LogContext;

/// The headers Karafka Pro (≥ 2.5) adds to a dead letter, in the order it adds them.
pub const SOURCE_HEADERS: [&str; 6] = [
    "source_topic",
    "source_partition",
    "source_offset",
    "source_consumer_group",
    "source_attempts",
    "source_trace_id",
];

/// How long a known partition count is trusted (rdkafka-ruby caches it for 30 s too).
const PARTITION_COUNT_TTL: Duration = Duration::from_secs(30);

/// A produce that did not reach the broker.
#[derive(Debug, Error)]
pub enum DispatchError {
    /// The broker refused the message or it timed out.
    #[error("producing to {topic} failed: {source}")]
    Produce {
        /// Target topic.
        topic: String,
        /// librdkafka's error.
        source: KafkaError,
    },
}

/// The partition a dead letter goes to: Karafka Pro sets `partition_key: source_partition.to_s`
/// and rdkafka-ruby turns a `partition_key` into a partition with librdkafka's own
/// `consistent_random` partitioner (CRC-32 of the key modulo the partition count; random for an
/// empty key). This calls that same librdkafka function.
pub fn dead_letter_partition(source_partition: i32, partition_count: i32) -> i32 {
    partition_for_key(source_partition.to_string().as_bytes(), partition_count)
}

/// librdkafka's `consistent_random` partitioner applied to `key`.
pub fn partition_for_key(key: &[u8], partition_count: i32) -> i32 {
    if partition_count <= 0 {
        return -1;
    }
    // SAFETY: the function only reads `keylen` bytes of `key` and ignores the topic and opaque
    // pointers (rdkafka-ruby calls it with NULL for them too).
    unsafe {
        rdkafka::bindings::rd_kafka_msg_partitioner_consistent_random(
            std::ptr::null(),
            key.as_ptr().cast(),
            key.len(),
            partition_count,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// The headers of a dead letter: the original ones (minus any of the six `source_*` names, which
/// Ruby's `Hash#merge` would have replaced) followed by Karafka Pro's `source_*` headers.
pub fn dead_letter_headers(
    message: &InboundMessage,
    consumer_group: &str,
    attempts: u32,
    trace_id: &str,
) -> Vec<(String, Option<Vec<u8>>)> {
    let mut headers: Vec<(String, Option<Vec<u8>>)> = message
        .headers
        .iter()
        .filter(|(k, _)| !SOURCE_HEADERS.contains(&k.as_str()))
        .cloned()
        .collect();
    let values = [
        message.topic.to_string(),
        message.partition.to_string(),
        message.offset.to_string(),
        consumer_group.to_string(),
        attempts.to_string(),
        trace_id.to_string(),
    ];
    for (name, value) in SOURCE_HEADERS.iter().zip(values) {
        headers.push(((*name).to_string(), Some(value.into_bytes())));
    }
    headers
}

/// Where a copy landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

/// The producer behind dead letters and forwards, with a partition-count cache.
pub(crate) struct Dispatcher {
    producer: FutureProducer<LogContext>,
    group_id: String,
    partition_counts: DashMap<String, (i32, Instant)>,
}

impl Dispatcher {
    pub(crate) fn new(config: &WorkerConfig) -> Result<Arc<Self>, KafkaError> {
        let producer = config
            .producer_config()
            .create_with_context::<_, FutureProducer<LogContext>>(LogContext("producer"))?;
        Ok(Arc::new(Dispatcher {
            producer,
            group_id: config.group_id.clone(),
            partition_counts: DashMap::new(),
        }))
    }

    /// Sends `message` to `dlq_topic` as Karafka Pro does and waits for the broker's ack.
    pub(crate) async fn dead_letter(
        &self,
        dlq_topic: &str,
        message: &InboundMessage,
        attempts: u32,
    ) -> Result<Delivered, DispatchError> {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let headers = dead_letter_headers(message, &self.group_id, attempts, &trace_id);
        // With an unknown partition count rdkafka-ruby leaves the choice to librdkafka (by key).
        let partition = self
            .partition_count(dlq_topic)
            .await
            .map(|count| dead_letter_partition(message.partition, count));
        self.produce(dlq_topic, message, headers, partition).await
    }

    /// Sends `message` unchanged (payload, key, headers) to `topic` and waits for the ack.
    pub(crate) async fn forward(
        &self,
        topic: &str,
        message: &InboundMessage,
    ) -> Result<Delivered, DispatchError> {
        self.produce(topic, message, message.headers.clone(), None)
            .await
    }

    async fn produce(
        &self,
        topic: &str,
        message: &InboundMessage,
        headers: Vec<(String, Option<Vec<u8>>)>,
        partition: Option<i32>,
    ) -> Result<Delivered, DispatchError> {
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (key, value) in &headers {
            owned = owned.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(owned);
        if let Some(payload) = message.payload.as_deref() {
            record = record.payload(payload);
        }
        if let Some(key) = message.key.as_deref() {
            record = record.key(key);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        match self.producer.send(record, Duration::from_secs(10)).await {
            Ok(d) => Ok(Delivered {
                partition: d.partition,
                offset: d.offset,
            }),
            Err((source, _)) => Err(DispatchError::Produce {
                topic: topic.to_string(),
                source,
            }),
        }
    }

    /// The topic's partition count, from a cache or a metadata request. `None` when the topic
    /// stays unknown (it may be auto-created by the produce itself).
    async fn partition_count(&self, topic: &str) -> Option<i32> {
        if let Some(entry) = self.partition_counts.get(topic) {
            if entry.1.elapsed() < PARTITION_COUNT_TTL {
                return Some(entry.0);
            }
        }
        for _ in 0..10 {
            let producer = self.producer.clone();
            let name = topic.to_string();
            let count = tokio::task::spawn_blocking(move || {
                let md = producer
                    .client()
                    .fetch_metadata(Some(&name), Duration::from_secs(5))
                    .ok()?;
                let t = md.topics().iter().find(|t| t.name() == name)?;
                if t.error().is_some() || t.partitions().is_empty() {
                    return None;
                }
                i32::try_from(t.partitions().len()).ok()
            })
            .await
            .ok()
            .flatten();
            if let Some(count) = count {
                self.partition_counts
                    .insert(topic.to_string(), (count, Instant::now()));
                return Some(count);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tracing::warn!(
            topic,
            "partition count unknown: librdkafka will choose the partition"
        );
        None
    }

    /// The producer itself, for the Web UI reports (a clone shares the same librdkafka client).
    pub(crate) fn producer(&self) -> FutureProducer<LogContext> {
        self.producer.clone()
    }

    /// Waits for anything still queued in the producer.
    pub(crate) fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "dead letter producer did not flush");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::Bytes;

    #[test]
    fn dead_letter_partition_is_crc32_of_the_partition_number() {
        // zlib's crc32("0") = 0xf4dbdf21, crc32("1") = 0x83dcefb7, crc32("2") = 0x1ad5be0d.
        assert_eq!(dead_letter_partition(0, 7), (0xf4db_df21u32 % 7) as i32);
        assert_eq!(dead_letter_partition(1, 5), (0x83dc_efb7u32 % 5) as i32);
        assert_eq!(dead_letter_partition(2, 3), (0x1ad5_be0du32 % 3) as i32);
        assert_eq!(dead_letter_partition(9, 1), 0);
        assert_eq!(dead_letter_partition(3, 0), -1);
    }

    #[test]
    fn dead_letter_headers_keep_the_original_and_add_the_source() {
        let m = InboundMessage {
            topic: "jobs".into(),
            partition: 2,
            offset: 41,
            key: Some(Bytes::from_static(b"k")),
            payload: Some(Bytes::from_static(b"{}")),
            headers: vec![
                ("trace".into(), Some(b"abc".to_vec())),
                ("source_topic".into(), Some(b"older".to_vec())),
                ("empty".into(), None),
            ],
            timestamp_ms: None,
        };
        let h = dead_letter_headers(&m, "app", 4, "0c6f0a3e-0000-4000-8000-000000000000");
        let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "trace",
                "empty",
                "source_topic",
                "source_partition",
                "source_offset",
                "source_consumer_group",
                "source_attempts",
                "source_trace_id"
            ]
        );
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| k == n)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(get("source_topic").as_deref(), Some("jobs"));
        assert_eq!(get("source_partition").as_deref(), Some("2"));
        assert_eq!(get("source_offset").as_deref(), Some("41"));
        assert_eq!(get("source_attempts").as_deref(), Some("4"));
        assert_eq!(get("empty"), None);
    }
}
