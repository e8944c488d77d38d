//! Enqueue → perform latency at a fixed offered load: a Rust producer in this process sends
//! `BillingJob`s (see `benches/support/billing_job.rs`) at a steady rate while the worker, in
//! the same process, performs them through the `Registry`.
//!
//! ```sh
//! make bench-latency    # or: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092 cargo run --release --example bench_latency
//! ```
//!
//! The enqueue time is the payload's `enqueued_at` (nine fraction digits, as Rails 7.1+
//! writes it), set from the wall clock just before the producer's `send`; the perform time is
//! the wall clock when the handler starts. The producer sends each message at once
//! (`linger.ms=0`), so the figure is the broker round trip plus the worker's fetch, hand-over
//! and decode, not the producer's batching. The first second is left out (group join, first
//! fetches).
//!
//! Environment: `BENCH_LATENCY_RATE` (jobs/s offered, 10 000), `BENCH_LATENCY_PARTITIONS` (6),
//! `BENCH_LATENCY_SECONDS` (10). The last line is `latency_p99_ms=<float>`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{TopicConfig, Worker, WorkerConfig};
use activejob_karafka::envelope::EnvelopeTime;
use activejob_karafka::registry::{JobContext, Registry};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

#[path = "../benches/support/billing_job.rs"]
mod billing_job;
use billing_job::{perform, BillingArgs, JOB_CLASS};

/// Samples taken in the first second are left out.
const WARM_UP: Duration = Duration::from_secs(1);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{} on {cores} cores", load.join(" "))
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for r in admin.create_topics([&t], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}

/// Sends `rate` jobs a second for `seconds`, round-robin over the partitions, each stamped
/// with its send time; returns how many were sent.
fn offer_load(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<u64> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()?;
    let total = rate * seconds;
    let started = Instant::now();
    for i in 0..total {
        // Steady pacing: job i is due at i / rate seconds.
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let body = billing_job::payload(i, &EnvelopeTime::now().to_wire());
        let record = BaseRecord::<(), str>::to(topic)
            .payload(&body)
            .partition((i % partitions as u64) as i32);
        producer.send(record).map_err(|(e, _)| e)?;
    }
    producer.flush(Duration::from_secs(30))?;
    Ok(total)
}

/// The `q`-quantile of sorted samples.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .map_err(|_| anyhow::anyhow!("set KAFKA_BOOTSTRAP_SERVERS (make bench-latency does)"))?;
    let rate = env_or("BENCH_LATENCY_RATE", 10_000).max(1);
    let partitions = env_or("BENCH_LATENCY_PARTITIONS", 6).max(1) as i32;
    let seconds = env_or("BENCH_LATENCY_SECONDS", 10).max(2);
    let topic = format!(
        "bench-latency-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    create_topic(&bootstrap, &topic, partitions).await?;

    // (perform time, latency in ms) per job.
    let samples: Arc<Mutex<Vec<(Instant, f64)>>> =
        Arc::new(Mutex::new(Vec::with_capacity((rate * seconds) as usize)));
    let s = samples.clone();
    let registry =
        Registry::new().register(JOB_CLASS, move |args: BillingArgs, ctx: JobContext| {
            let now = chrono::Utc::now();
            let outcome = perform(&args).map(std::hint::black_box);
            if let Some(enqueued) = ctx.enqueued_at() {
                let latency = now.signed_duration_since(enqueued.time.instant);
                let ms = latency.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
                s.lock().unwrap().push((Instant::now(), ms));
            }
            async move {
                outcome?;
                Ok(())
            }
        });
    let config = WorkerConfig::builder()
        .bootstrap_servers(&bootstrap)
        .group_id(format!("bench-latency-{}", uuid::Uuid::new_v4()))
        .topic(TopicConfig::new(&topic))
        .build()?;
    let worker = Worker::new(config, registry).handle_signals(false);
    let stats = worker.stats();
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let joined = Instant::now();
    while stats.snapshot().partitions_assigned < partitions as u64 {
        anyhow::ensure!(!running.is_finished(), "the worker stopped early");
        anyhow::ensure!(
            joined.elapsed() < Duration::from_secs(60),
            "no assignment in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    println!(
        "offering {rate} jobs/s on {partitions} partitions for {seconds} s; load average {}",
        load_average()
    );
    let offered_at = Instant::now();
    let sent = {
        let (b, t) = (bootstrap.clone(), topic.clone());
        tokio::task::spawn_blocking(move || offer_load(&b, &t, partitions, rate, seconds)).await??
    };
    let done = Instant::now();
    while stats.snapshot().jobs_succeeded < sent {
        anyhow::ensure!(!running.is_finished(), "the worker stopped early");
        anyhow::ensure!(
            done.elapsed() < Duration::from_secs(60),
            "only {} of {sent} jobs ran",
            stats.snapshot().jobs_succeeded
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.shutdown();
    running.await??;

    let mut latencies: Vec<f64> = samples
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| at.duration_since(offered_at) >= WARM_UP)
        .map(|(_, ms)| *ms)
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "{} jobs performed, {} measured (after the first second); load average {}",
        sent,
        latencies.len(),
        load_average()
    );
    println!("latency_p50_ms={:.3}", quantile(&latencies, 0.50));
    println!(
        "latency_max_ms={:.3}",
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!("latency_p99_ms={:.3}", quantile(&latencies, 0.99));
    Ok(())
}
