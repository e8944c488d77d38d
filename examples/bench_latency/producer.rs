//! The producer side: jobs sent at a steady rate, each stamped with its enqueue time, and what
//! the delivery reports tell of each (the broker's append time, the acknowledgement).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message, Statistics, Timestamp};

use crate::statistics::{statistics_lines, statistics_wanted};
use crate::{billing_job, wall_clock_us, Load};

/// `us` as Rails writes `enqueued_at` (`Time.now.utc.iso8601(9)`).
pub(crate) fn rails_time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

/// What the producer's delivery report told of one job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) job: usize,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) appended_ms: i64,
    pub(crate) acked_us: i64,
}

/// The producer's context: keeps every delivery report.
#[derive(Default)]
pub(crate) struct DeliveryLog {
    delivered: Mutex<Vec<Delivery>>,
    failed: Mutex<Vec<String>>,
    /// One line a second from librdkafka's statistics, with `BENCH_LATENCY_STATS=1`.
    statistics: Mutex<Vec<String>>,
}

impl ClientContext for DeliveryLog {
    fn stats(&self, statistics: Statistics) {
        self.statistics
            .lock()
            .unwrap()
            .extend(statistics_lines(&statistics, &["Produce"]));
    }
}

impl ProducerContext for DeliveryLog {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, job: usize) {
        let acked_us = wall_clock_us();
        match result {
            Ok(m) => {
                let appended_ms = match m.timestamp() {
                    Timestamp::LogAppendTime(ms) => ms,
                    _ => i64::MIN,
                };
                self.delivered.lock().unwrap().push(Delivery {
                    job,
                    partition: m.partition(),
                    offset: m.offset(),
                    appended_ms,
                    acked_us,
                });
            }
            Err((e, _)) => self.failed.lock().unwrap().push(e.to_string()),
        }
    }
}

/// What the producer side of one run recorded.
pub(crate) struct Offered {
    /// Enqueue time of job `i`, as written in its payload.
    pub(crate) enqueued_us: Vec<i64>,
    /// How far behind its due time each job was sent (the pacing loop's own lag), in ms.
    pub(crate) behind_ms: Vec<f64>,
    /// Every delivery report, in the order they came.
    pub(crate) delivered: Vec<Delivery>,
}

/// How the producer side sends.
#[derive(Debug, Clone)]
pub(crate) struct ProducerSettings {
    /// Producers, each with its own connection (as the processes of a Rails app have).
    pub(crate) count: usize,
    /// `linger.ms`.
    pub(crate) linger_ms: String,
}

/// Sends `rate` jobs a second for `seconds`, round-robin over the partitions and the
/// producers, each stamped with its send time.
pub(crate) fn offer_load(
    bootstrap: &str,
    topic: &str,
    load: Load,
    settings: &ProducerSettings,
) -> anyhow::Result<Offered> {
    let producers = (0..settings.count.max(1))
        .map(|_| {
            ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("linger.ms", &settings.linger_ms)
                .set("statistics.interval.ms", "1000")
                .create_with_context(DeliveryLog::default())
        })
        .collect::<Result<Vec<ThreadedProducer<DeliveryLog>>, _>>()?;
    let total = (load.rate * load.seconds) as usize;
    let mut enqueued_us = Vec::with_capacity(total);
    let mut behind_ms = Vec::with_capacity(total);
    let started = Instant::now();
    for i in 0..total {
        // Steady pacing: job i is due at i / rate seconds.
        let due = started + Duration::from_secs_f64(i as f64 / load.rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        behind_ms.push(Instant::now().duration_since(due).as_secs_f64() * 1000.0);
        let now = wall_clock_us();
        enqueued_us.push(now);
        let body = billing_job::payload(i as u64, &rails_time(now));
        let record = BaseRecord::<(), str, usize>::with_opaque_to(topic, i)
            .payload(&body)
            .partition((i % load.partitions as usize) as i32);
        producers[i % producers.len()]
            .send(record)
            .map_err(|(e, _)| e)?;
    }
    let mut delivered = Vec::with_capacity(total);
    for (n, producer) in producers.iter().enumerate() {
        producer.flush(Duration::from_secs(30))?;
        let log = producer.context();
        if let Some(e) = log.failed.lock().unwrap().first() {
            anyhow::bail!("a job was not delivered: {e}");
        }
        delivered.append(&mut log.delivered.lock().unwrap());
        if statistics_wanted() {
            for line in log.statistics.lock().unwrap().iter() {
                println!("producer {n} statistics: {line}");
            }
        }
    }
    Ok(Offered {
        enqueued_us,
        behind_ms,
        delivered,
    })
}
