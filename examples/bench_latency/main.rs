//! Enqueue → perform latency at a fixed offered load: Rust producers in this process send
//! `BillingJob`s (see `benches/support/billing_job.rs`) at a steady rate while the worker, in
//! the same process, performs them through the `Registry`.
//!
//! ```sh
//! make bench-latency    # or: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092 cargo run --release --example bench_latency
//! ```
//!
//! The enqueue time is the payload's `enqueued_at` (nine fraction digits, as Rails 7.1+
//! writes it), read from the wall clock just before the producer's `send`; the perform time is
//! the wall clock when the handler starts. Jobs enqueued in the first second are left out
//! (group join, first fetches).
//!
//! **The producers.** Each job is sent at once (`linger.ms=0`), as a Rails app enqueuing one
//! job at a time does, so each is a produce request of its own. The broker serves one
//! connection's requests one at a time, in order, so a single producer connection tops out at
//! one request per broker round trip: on the 2-core machine with the broker on the same cores
//! that was 7–9 k requests a second, and at 10 000 jobs/s its requests queued for hundreds of
//! milliseconds before the broker read them, whatever consumed them (librdkafka's statistics
//! show it: `BENCH_LATENCY_STATS=1`). A Rails app has many processes, each with its own
//! producer and connection, so the load is spread over `BENCH_LATENCY_PRODUCERS` producers
//! (12). At 10 000 jobs/s on that machine, busy with other work, the producer → broker p99 was
//! 455–635 ms with 3 producers, 153–212 ms with 6, 19–43 ms with 12 and 16–21 ms with 24.
//!
//! **The parts.** The topic stamps records with the broker's append time
//! (`message.timestamp.type=LogAppendTime`), which the delivery report carries back, so each
//! job has four instants: enqueued, appended by the broker, acknowledged to the producer,
//! performed. Printed per part: enqueue → append (the producer's queueing and its produce
//! request), append → perform (the consumer's side: the broker answering a fetch, librdkafka,
//! and the worker's hand-over, decode and dispatch), enqueue → ack (the producer's round trip),
//! and how far behind schedule the pacing loop sent. The append time has millisecond
//! resolution: it is taken as the middle of its millisecond, so the two parts around it are
//! each off by up to half a millisecond either way (the total is exact).
//!
//! **The warm-up.** A broker just started (as `make bench-latency` starts one) answers slowly
//! until the JVM has compiled its hot paths: on the 2-core machine the first ten seconds at
//! 10 000 jobs/s left the producers up to two seconds behind, and the broker's CPU for the same
//! load went from 1.3–1.4 cores in the first seconds to 0.85 after about thirty (on two cores
//! shared with the producers and the consumer, whatever runs in that time waits for CPU). So
//! the same load is first offered for `BENCH_LATENCY_WARM_UP_SECONDS` (30) to a topic of its
//! own, with a bare consumer, and nothing of it is measured.
//!
//! **The floor.** Before the worker, a bare rdkafka consumer (the worker's librdkafka
//! settings, one thread polling) takes the same load on a topic of its own: its latency is what
//! the producers, the broker and librdkafka leave, and the worker's figure above it is the
//! worker's own.
//!
//! Environment: `BENCH_LATENCY_RATE` (jobs/s offered, 10 000), `BENCH_LATENCY_PARTITIONS` (6),
//! `BENCH_LATENCY_SECONDS` (10), `BENCH_LATENCY_PRODUCERS` (12), `BENCH_LATENCY_LINGER_MS` (0),
//! `BENCH_LATENCY_WARM_UP_SECONDS` (30; 0 skips the warm-up), `BENCH_LATENCY_BARE` (1; 0 skips the bare consumer), `BENCH_LATENCY_STATS` (0; 1 prints
//! librdkafka's statistics each second: requests and round trips, per producer and for the
//! consumer side), `BENCH_LATENCY_KAFKA` (`key=value,...`: librdkafka properties for the
//! consumer side, to see what a setting does to latency), `BENCH_COMMIT_INTERVAL_MS` (the
//! worker's `commit_interval`). Summary lines `bare_latency_p50_ms=`, `bare_latency_p99_ms=`,
//! `latency_p50_ms=`, `latency_max_ms=`; the last line is the worker's `latency_p99_ms=<float>`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use activejob_karafka::consumer::{TopicConfig, WorkerConfig};

#[path = "../../benches/support/billing_job.rs"]
mod billing_job;
mod consumers;
#[path = "../../benches/support/kafka_bench.rs"]
mod kafka_bench;
mod producer;
mod statistics;

use consumers::{BareSide, ConsumerSide, Probe, WorkerSide};
use kafka_bench::{create_topic, env_or, load_average};
use producer::{offer_load, Offered, ProducerSettings};
use statistics::statistics_wanted;

/// Jobs enqueued in the first second are left out.
const WARM_UP: Duration = Duration::from_secs(1);
/// How long the consumer side may take to get every partition.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the consumer side may take to catch up after the producer's last job.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Microseconds since the Unix epoch: the one clock both ends read.
pub(crate) fn wall_clock_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// librdkafka properties for the consumer side, from `BENCH_LATENCY_KAFKA` (`key=value,...`):
/// to see what a setting does to latency.
fn consumer_properties() -> Vec<(String, String)> {
    std::env::var("BENCH_LATENCY_KAFKA")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The consumer side's configuration: the worker's defaults, then the bench's knobs.
fn consumer_config(bootstrap: &str, topic: &str, prefix: &str) -> anyhow::Result<WorkerConfig> {
    let mut config = WorkerConfig::builder()
        .bootstrap_servers(bootstrap)
        .group_id(format!("{prefix}-{}", uuid::Uuid::new_v4()))
        .topic(TopicConfig::new(topic));
    if statistics_wanted() {
        config = config.kafka("statistics.interval.ms", "1000");
    }
    for (key, value) in consumer_properties() {
        config = config.kafka(key, value);
    }
    if let Ok(ms) = std::env::var("BENCH_COMMIT_INTERVAL_MS") {
        config = config.commit_interval(Duration::from_millis(ms.parse()?));
    }
    Ok(config.build()?)
}

/// The offered load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    rate: u64,
    partitions: i32,
    seconds: u64,
}

/// Latencies of one run, in ms, per part (each sorted).
#[derive(Default)]
struct Parts {
    total: Vec<f64>,
    to_append: Vec<f64>,
    from_append: Vec<f64>,
    to_ack: Vec<f64>,
    behind: Vec<f64>,
}

/// One run: a fresh topic, `side` consuming it, the load offered, every job waited for.
async fn run<S: ConsumerSide>(
    bootstrap: &str,
    load: Load,
    producer: &ProducerSettings,
    prefix: &str,
    start: impl FnOnce(WorkerConfig, Probe) -> anyhow::Result<S>,
) -> anyhow::Result<Parts> {
    let topic = kafka_bench::fresh_topic_name(prefix);
    let configs = BTreeMap::from([("message.timestamp.type", "LogAppendTime")]);
    create_topic(bootstrap, &topic, load.partitions, &configs).await?;
    let config = consumer_config(bootstrap, &topic, prefix)?;
    let probe = Probe::default();
    probe
        .arrivals
        .lock()
        .unwrap()
        .reserve((load.rate * load.seconds) as usize);
    let side = start(config, probe.clone())?;
    let arrivals = probe.arrivals;
    wait_until(&side, JOIN_TIMEOUT, || {
        side.assigned(load.partitions as usize)
            .then_some(())
            .ok_or_else(|| "no assignment".to_owned())
    })
    .await?;
    println!("load average before: {}", load_average());
    let offered = {
        let (b, t) = (bootstrap.to_owned(), topic.clone());
        let settings = producer.clone();
        tokio::task::spawn_blocking(move || offer_load(&b, &t, load, &settings)).await??
    };
    let sent = offered.enqueued_us.len();
    wait_until(&side, DRAIN_TIMEOUT, || {
        match arrivals.lock().unwrap().len() {
            n if n >= sent => Ok(()),
            n => Err(format!("only {n} of {sent} jobs arrived")),
        }
    })
    .await?;
    side.stop().await?;
    println!("load average after:  {}", load_average());
    for line in probe.statistics.lines.lock().unwrap().iter() {
        println!("consumer statistics: {line}");
    }
    let arrivals = std::mem::take(&mut *arrivals.lock().unwrap());
    Ok(parts(
        &offered,
        &arrivals,
        (load.rate * WARM_UP.as_secs()) as usize,
    ))
}

/// Waits until `done` is `Ok`, failing if the side stops or `timeout` passes (with what
/// `done` last said).
async fn wait_until(
    side: &impl ConsumerSide,
    timeout: Duration,
    done: impl Fn() -> Result<(), String>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let Err(not_yet) = done() else {
            return Ok(());
        };
        anyhow::ensure!(!side.failed(), "the consumer stopped early");
        anyhow::ensure!(started.elapsed() < timeout, "{not_yet} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Joins the producer's and the consumer's records by (partition, offset), leaving out the
/// first `skip` jobs.
fn parts(offered: &Offered, arrivals: &[(i32, i64, i64)], skip: usize) -> Parts {
    let arrived: HashMap<(i32, i64), i64> =
        arrivals.iter().map(|&(p, o, at)| ((p, o), at)).collect();
    let ms = |us: i64| us as f64 / 1000.0;
    let mut parts = Parts::default();
    for d in &offered.delivered {
        if d.job < skip {
            continue;
        }
        let enqueued = offered.enqueued_us[d.job];
        let Some(&at) = arrived.get(&(d.partition, d.offset)) else {
            continue;
        };
        parts.total.push(ms(at - enqueued));
        parts.to_ack.push(ms(d.acked_us - enqueued));
        if d.appended_ms != i64::MIN {
            // The middle of the millisecond the broker stamped: off by at most half of it.
            let appended = d.appended_ms * 1000 + 500;
            parts.to_append.push(ms(appended - enqueued));
            parts.from_append.push(ms(at - appended));
        }
    }
    parts.behind = offered.behind_ms[skip.min(offered.behind_ms.len())..].to_vec();
    for v in [
        &mut parts.total,
        &mut parts.to_append,
        &mut parts.from_append,
        &mut parts.to_ack,
        &mut parts.behind,
    ] {
        v.sort_by(f64::total_cmp);
    }
    parts
}

/// The `q`-quantile of sorted samples.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

/// Prints p50, p99 and max of each part of one run.
fn print_parts(what: &str, parts: &Parts) {
    println!(
        "{what}: {} jobs measured (after the first second)",
        parts.total.len()
    );
    let rows = [
        ("enqueue → perform (total)", &parts.total),
        ("  enqueue → broker append", &parts.to_append),
        ("  broker append → perform", &parts.from_append),
        ("  enqueue → producer's ack", &parts.to_ack),
        ("  producer's send behind schedule", &parts.behind),
    ];
    for (name, v) in rows {
        println!(
            "  {name:<34} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
            quantile(v, 0.50),
            quantile(v, 0.99),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bootstrap = kafka_bench::bootstrap_servers("bench-latency")?;
    let load = Load {
        rate: env_or("BENCH_LATENCY_RATE", 10_000).max(1),
        partitions: env_or("BENCH_LATENCY_PARTITIONS", 6).max(1) as i32,
        seconds: env_or("BENCH_LATENCY_SECONDS", 10).max(WARM_UP.as_secs() + 1),
    };
    let producer = ProducerSettings {
        count: env_or("BENCH_LATENCY_PRODUCERS", 12).max(1) as usize,
        linger_ms: std::env::var("BENCH_LATENCY_LINGER_MS").unwrap_or_else(|_| "0".into()),
    };
    println!(
        "offering {} jobs/s on {} partitions for {} s from {} producer(s) with linger.ms={}; \
         load average {}",
        load.rate,
        load.partitions,
        load.seconds,
        producer.count,
        producer.linger_ms,
        load_average()
    );
    let warm_up_seconds = env_or("BENCH_LATENCY_WARM_UP_SECONDS", 30);
    if warm_up_seconds > 0 {
        let warm_up = Load {
            seconds: warm_up_seconds.max(WARM_UP.as_secs() + 1),
            ..load
        };
        run(
            &bootstrap,
            warm_up,
            &producer,
            "bench-latency-warm-up",
            |config, probe| BareSide::start(&config, load.partitions as usize, probe),
        )
        .await?;
        println!(
            "warmed the broker up with {} s of the same load (not measured)",
            warm_up.seconds
        );
    }
    if env_or("BENCH_LATENCY_BARE", 1) != 0 {
        let bare = run(
            &bootstrap,
            load,
            &producer,
            "bench-latency-bare",
            |config, probe| BareSide::start(&config, load.partitions as usize, probe),
        )
        .await?;
        print_parts(
            "bare rdkafka consumer (the worker's librdkafka settings; perform = poll returned it)",
            &bare,
        );
        println!("bare_latency_p50_ms={:.3}", quantile(&bare.total, 0.50));
        println!("bare_latency_p99_ms={:.3}", quantile(&bare.total, 0.99));
    }
    let worker = run(
        &bootstrap,
        load,
        &producer,
        "bench-latency",
        |config, probe| Ok(WorkerSide::start(config, probe)),
    )
    .await?;
    print_parts(
        "worker, Registry + typed BillingJob (perform = the handler's start)",
        &worker,
    );
    println!("latency_p50_ms={:.3}", quantile(&worker.total, 0.50));
    println!(
        "latency_max_ms={:.3}",
        worker.total.last().copied().unwrap_or(f64::NAN)
    );
    println!("latency_p99_ms={:.3}", quantile(&worker.total, 0.99));
    Ok(())
}
