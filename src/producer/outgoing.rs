//! From a prepared job to a Kafka message: the partitioner's details, the Scheduled Messages
//! proxy, WaterDrop's topic rules, producing and the partition count cache.

use super::*;

/// The partitioner's result placed as `partition_key_type` says (Karafka Pro's
/// `dispatch_details`), validated as WaterDrop validates a message.
pub(crate) fn details(job: &Job, options: &Resolved) -> Result<Details, ProduceError> {
    let Some(partitioner) = &options.partitioner else {
        return Ok(Details::None);
    };
    let value = partitioner(job);
    let empty = |kind| ProduceError::EmptyKey {
        job_class: job.job_class.clone(),
        kind,
    };
    match options.partition_key_type {
        PartitionKeyType::Key => match value {
            None => Ok(Details::None),
            Some(v) if v.is_empty() => Err(empty("key")),
            Some(v) => Ok(Details::Key(v)),
        },
        PartitionKeyType::PartitionKey => match value {
            None => Ok(Details::None),
            Some(v) if v.is_empty() => Err(empty("partition_key")),
            Some(v) => Ok(Details::PartitionKey(v)),
        },
        PartitionKeyType::Partition => match value.as_deref().map(str::trim).map(str::parse) {
            Some(Ok(n)) if n >= -1 => Ok(Details::Partition(n)),
            _ => Err(ProduceError::InvalidPartition {
                job_class: job.job_class.clone(),
                value,
            }),
        },
    }
}

/// The proxy message of `Karafka::Pro::ScheduledMessages::Proxy.schedule` for a target message
/// built by the ActiveJob dispatcher (no headers of its own, no envelope key).
pub(crate) struct Proxy {
    pub(crate) key: String,
    pub(crate) partition_key: Option<String>,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
}

pub(crate) fn proxy_message(target_topic: &str, details: &Details, epoch: i64) -> Proxy {
    let mut headers = vec![
        text_header(sh::SCHEMA_VERSION, sh::CURRENT_SCHEMA_VERSION),
        text_header(sh::TARGET_EPOCH, &epoch.to_string()),
        text_header(sh::SOURCE_TYPE, "schedule"),
        text_header(sh::TARGET_TOPIC, target_topic),
    ];
    // Exported in Karafka's order (topic, partition, key, partition_key); at most one applies.
    let partition_key = match details {
        Details::None => None,
        Details::Partition(n) => {
            headers.push(text_header(sh::TARGET_PARTITION, &n.to_string()));
            Some(n.to_string())
        }
        Details::Key(k) => {
            headers.push(text_header(sh::TARGET_KEY, k));
            // A target key does not route the proxy message (only partition / partition_key).
            None
        }
        Details::PartitionKey(k) => {
            headers.push(text_header(sh::TARGET_PARTITION_KEY, k));
            Some(k.clone())
        }
    };
    Proxy {
        key: format!("{target_topic}-{}", uuid::Uuid::new_v4()),
        partition_key,
        headers,
    }
}

/// WaterDrop's topic contract: `\A(\w|-|\.)+\z`.
pub(crate) fn check_topic(topic: &str) -> Result<(), ProduceError> {
    let ok = !topic.is_empty()
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ProduceError::InvalidTopic {
            topic: topic.to_string(),
        })
    }
}

pub(crate) fn text_header(name: &str, value: &str) -> (String, Option<Vec<u8>>) {
    (name.to_string(), Some(value.as_bytes().to_vec()))
}

/// A message to produce: partition `None` lets librdkafka's partitioner choose by key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Outgoing {
    pub(crate) fn record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic);
        if !self.headers.is_empty() {
            let mut owned = OwnedHeaders::new_with_capacity(self.headers.len());
            for (key, value) in &self.headers {
                owned = owned.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            record = record.headers(owned);
        }
        if let Some(p) = self.partition.filter(|p| *p >= 0) {
            record = record.partition(p);
        }
        if let Some(k) = self.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = self.payload.as_deref() {
            record = record.payload(v);
        }
        record
    }
}

/// Hands the message to librdkafka, waiting for room while its queue is full (WaterDrop's
/// `wait_on_queue_full`).
pub(crate) async fn send_waiting<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
) -> Result<DeliveryFuture, ProduceError> {
    let deadline = Instant::now() + QUEUE_FULL_TIMEOUT;
    loop {
        match try_enqueue(producer, out, deadline) {
            Some(Ok(f)) => return Ok(f),
            Some(Err(source)) => {
                return Err(ProduceError::Kafka {
                    topic: out.topic.clone(),
                    source,
                })
            }
            None => tokio::time::sleep(QUEUE_FULL_PAUSE).await,
        }
    }
}

/// One attempt to hand `out` to librdkafka: `None` while its queue is full and `deadline` has
/// not passed (the caller waits [`QUEUE_FULL_PAUSE`] and tries again, blocking or not).
pub(crate) fn try_enqueue<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
    deadline: Instant,
) -> Option<Result<DeliveryFuture, KafkaError>> {
    match producer.send_result(out.record()) {
        Ok(f) => Some(Ok(f)),
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
            if Instant::now() < deadline =>
        {
            None
        }
        Err((e, _)) => Some(Err(e)),
    }
}

/// Produces one message; with `Sync` waits for the ack and returns (partition, offset).
pub(crate) async fn produce<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    out: &Outgoing,
    method: DispatchMethod,
) -> Result<Option<(i32, i64)>, ProduceError> {
    let future = send_waiting(producer, out).await?;
    match method {
        DispatchMethod::Async => {
            log_failure(out.topic.clone(), future);
            Ok(None)
        }
        DispatchMethod::Sync => match future.await {
            Ok(Ok(d)) => Ok(Some((d.partition, d.offset))),
            Ok(Err((source, _))) => Err(ProduceError::Kafka {
                topic: out.topic.clone(),
                source,
            }),
            Err(_) => Err(ProduceError::Kafka {
                topic: out.topic.clone(),
                source: KafkaError::Canceled,
            }),
        },
    }
}

/// Fire and forget, but a failed delivery is still reported (WaterDrop's `error.occurred`).
pub(crate) fn log_failure(topic: String, future: DeliveryFuture) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            if let Ok(Err((error, _))) = future.await {
                tracing::error!(topic, %error, "async job dispatch was not delivered");
            }
        });
    }
}

/// Partition counts with rdkafka-ruby's 30 s cache.
#[derive(Default)]
pub(crate) struct PartitionCounts {
    map: Mutex<HashMap<String, (i32, Instant)>>,
}

impl PartitionCounts {
    pub(crate) fn cached(&self, topic: &str) -> Option<i32> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(topic)
            .filter(|(_, at)| at.elapsed() < PARTITION_COUNT_TTL)
            .map(|(n, _)| *n)
    }

    /// The count from the cache or a metadata request (blocking). `None` when the topic stays
    /// unknown: rdkafka-ruby then leaves the partition to librdkafka too. A metadata request
    /// may auto-create the topic, so an unknown topic is asked about a few times.
    pub(crate) fn fetch<C: ClientContext>(
        &self,
        client: &Client<C>,
        topic: &str,
        timeout: Duration,
    ) -> Option<i32> {
        if let Some(n) = self.cached(topic) {
            return Some(n);
        }
        for attempt in 0..5 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
            let Ok(md) = client.fetch_metadata(Some(topic), timeout) else {
                continue;
            };
            let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
                continue;
            };
            if t.error().is_some() || t.partitions().is_empty() {
                continue;
            }
            let n = i32::try_from(t.partitions().len()).ok()?;
            self.map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.to_string(), (n, Instant::now()));
            return Some(n);
        }
        tracing::warn!(
            topic,
            "partition count unknown: librdkafka chooses the partition"
        );
        None
    }
}
