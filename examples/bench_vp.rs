//! Virtual partitions: how one Kafka partition's throughput grows with the number of groups.
//!
//! ```sh
//! make bench-vp        # or: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092 cargo run --release --example bench_vp
//! ```
//!
//! * **I/O-bound**: one partition of `BENCH_JOBS` (20 000) jobs, each awaiting
//!   `BENCH_JOB_MS` (1 ms), run through the `Registry` with 1, 4, 16 and 32 virtual partitions
//!   (`BENCH_VPS`), keyed by the message key. Each key is a random 8-hex-digit id, so the
//!   groups get uneven shares under Karafka's reducer (`key.to_s.sum % n`): the "balance"
//!   column is the speed-up the grouping allows at most (jobs ÷ the largest group's jobs).
//! * **CPU-bound**: one partition of `BENCH_CPU_JOBS` (2 000) jobs that each compute about
//!   `BENCH_CPU_MS` (2 ms) on the blocking pool with `consumer::blocking`, with 1, 2, 4 and 8
//!   virtual partitions, and once with the same work done inline on the runtime (no
//!   `blocking`) at 8: on the blocking pool it scales to the cores there are; inline, a
//!   partition's groups share one task and do not scale.
//!
//! Each run uses a fresh consumer group on the same topic; rates are from the first job's start
//! to the last job's end. The last line is `vp32_speedup=<jobs/s at 32 ÷ jobs/s at 1>`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{
    blocking, TopicConfig, VirtualPartitioner, VirtualPartitions, Worker, WorkerConfig,
};
use activejob_karafka::registry::{JobContext, Registry};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// What `<class>.perform_later(i)` looks like when Rails 8.1 dispatches it through Karafka.
fn payload(class: &str, i: u64) -> String {
    format!(
        concat!(
            r#"{{"job_class":"{}","job_id":"{:08x}-7c1e-4b5d-9f3a-6a2b8c4d0e1f","provider_job_id":null,"#,
            r#""queue_name":"bench","priority":null,"arguments":[{}],"executions":0,"exception_executions":{{}},"#,
            r#""locale":"en","timezone":"UTC","enqueued_at":"2026-11-24T21:27:56.175007000Z","scheduled_at":null}}"#
        ),
        class, i, i
    )
}

/// A random-looking but reproducible 8-hex-digit key for job `i`.
fn key(i: u64) -> String {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:08x}", (x ^ (x >> 31)) as u32)
}

async fn create_topic(bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let t = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for r in admin.create_topics([&t], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}

fn produce(bootstrap: &str, topic: &str, class: &str, n: u64) -> anyhow::Result<()> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    for i in 0..n {
        let (body, k) = (payload(class, i), key(i));
        let mut record = BaseRecord::to(topic).payload(&body).key(&k).partition(0);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    if e.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::QueueFull) {
                        anyhow::bail!("produce: {e}");
                    }
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

/// The speed-up the grouping allows at most: jobs ÷ the largest group's share.
fn balance(n: u64, groups: usize) -> f64 {
    if groups <= 1 {
        return 1.0;
    }
    let vp = VirtualPartitions::new(VirtualPartitioner::Key, groups);
    let mut counts = vec![0u64; groups];
    for i in 0..n {
        let m = activejob_karafka::consumer::InboundMessage {
            topic: "".into(),
            partition: 0,
            offset: i as i64,
            key: Some(key(i).into_bytes().into()),
            payload: None,
            headers: Vec::new(),
            timestamp_ms: None,
        };
        counts[vp.group_of(&m)] += 1;
    }
    n as f64 / *counts.iter().max().unwrap_or(&1) as f64
}

/// About `ms` of arithmetic on one core, calibrated once.
fn cpu_work(iterations: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn calibrate(ms: u64) -> u64 {
    let mut iterations = 100_000u64;
    loop {
        let start = Instant::now();
        std::hint::black_box(cpu_work(iterations, 7));
        let took = start.elapsed();
        if took >= Duration::from_millis(50) {
            return (iterations as f64 * ms as f64 / took.as_secs_f64() / 1_000.0) as u64;
        }
        iterations *= 2;
    }
}

#[derive(Clone, Copy)]
enum Work {
    Io(Duration),
    CpuBlocking(u64),
    CpuInline(u64),
}

/// CPU time this process has used (user + system), from `/proc/self/stat` (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Runs every job of the topic with `groups` virtual partitions; returns jobs/s and the cores
/// this process kept busy meanwhile.
async fn run(
    bootstrap: &str,
    topic: &str,
    class: &'static str,
    n: u64,
    groups: usize,
    work: Work,
) -> anyhow::Result<(f64, f64)> {
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let last: Arc<OnceLock<Instant>> = Arc::default();
    let done = Arc::new(AtomicU64::new(0));
    let (f, l, d) = (first.clone(), last.clone(), done.clone());
    let registry = Registry::new().register(class, move |(i,): (u64,), _ctx: JobContext| {
        f.get_or_init(Instant::now);
        let (l, d) = (l.clone(), d.clone());
        async move {
            match work {
                Work::Io(wait) => tokio::time::sleep(wait).await,
                Work::CpuBlocking(iterations) => {
                    std::hint::black_box(blocking(move || cpu_work(iterations, i)).await?);
                }
                Work::CpuInline(iterations) => {
                    std::hint::black_box(cpu_work(iterations, i));
                }
            }
            if d.fetch_add(1, Ordering::Relaxed) + 1 == n {
                l.get_or_init(Instant::now);
            }
            Ok(())
        }
    });
    let group = format!("bench-vp-{}", uuid::Uuid::new_v4());
    let mut topic_config = TopicConfig::new(topic);
    if groups > 1 {
        topic_config = topic_config.virtual_partitions(VirtualPartitioner::Key, groups);
    }
    let config = WorkerConfig::builder()
        .bootstrap_servers(bootstrap)
        .group_id(group)
        .topic(topic_config)
        .build()?;
    let worker = Worker::new(config, registry).handle_signals(false);
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let mut cpu_at_first = None;
    while last.get().is_none() {
        anyhow::ensure!(!running.is_finished(), "the worker stopped early");
        if cpu_at_first.is_none() && first.get().is_some() {
            cpu_at_first = Some(cpu_time());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu = cpu_time().saturating_sub(cpu_at_first.unwrap_or_default());
    stop.shutdown();
    running.await??;
    let (a, b) = (first.get().copied(), last.get().copied());
    match (a, b) {
        (Some(a), Some(b)) => {
            let wall = (b - a).as_secs_f64();
            Ok((n as f64 / wall, cpu.as_secs_f64() / wall))
        }
        _ => anyhow::bail!("no jobs ran"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .map_err(|_| anyhow::anyhow!("set KAFKA_BOOTSTRAP_SERVERS (make bench-vp does)"))?;
    let n = env_or("BENCH_JOBS", 20_000);
    let job_ms = env_or("BENCH_JOB_MS", 1);
    let vps = env_list("BENCH_VPS", &[1, 4, 16, 32]);
    let cpu_n = env_or("BENCH_CPU_JOBS", 2_000);
    let cpu_ms = env_or("BENCH_CPU_MS", 2);
    let cpu_vps = env_list("BENCH_CPU_VPS", &[1, 2, 4, 8]);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];

    let io_topic = format!("bench-vp-io-{suffix}");
    create_topic(&bootstrap, &io_topic).await?;
    {
        let (b, t) = (bootstrap.clone(), io_topic.clone());
        tokio::task::spawn_blocking(move || produce(&b, &t, "IoJob", n)).await??;
    }
    println!("I/O-bound: {n} jobs awaiting {job_ms} ms each, one partition ({io_topic})");
    println!(
        "{:>4}  {:>10}  {:>8}  {:>8}",
        "vps", "jobs/s", "speed-up", "balance"
    );
    let mut base = None;
    let mut at32 = None;
    for &g in &vps {
        let (rate, _) = run(
            &bootstrap,
            &io_topic,
            "IoJob",
            n,
            g,
            Work::Io(Duration::from_millis(job_ms)),
        )
        .await?;
        let base_rate = *base.get_or_insert(rate);
        println!(
            "{g:>4}  {rate:>10.0}  {:>7.2}x  {:>7.2}x",
            rate / base_rate,
            balance(n, g)
        );
        if g == 32 {
            at32 = Some(rate / base_rate);
        }
    }

    let iterations = calibrate(cpu_ms);
    let cpu_topic = format!("bench-vp-cpu-{suffix}");
    create_topic(&bootstrap, &cpu_topic).await?;
    {
        let (b, t) = (bootstrap.clone(), cpu_topic.clone());
        tokio::task::spawn_blocking(move || produce(&b, &t, "CpuJob", cpu_n)).await??;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "CPU-bound: {cpu_n} jobs of ~{cpu_ms} ms of computation, one partition, {cores} cores \
         shared with the broker and anything else running (load average before: {})",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:>4}  {:>10}  {:>8}  {:>10}  where",
        "vps", "jobs/s", "speed-up", "cores used"
    );
    let mut cpu_base = None;
    for &g in &cpu_vps {
        let (rate, used) = run(
            &bootstrap,
            &cpu_topic,
            "CpuJob",
            cpu_n,
            g,
            Work::CpuBlocking(iterations),
        )
        .await?;
        let b = *cpu_base.get_or_insert(rate);
        println!(
            "{g:>4}  {rate:>10.0}  {:>7.2}x  {used:>10.2}  blocking pool",
            rate / b
        );
    }
    if let (Some(&g), Some(b)) = (cpu_vps.last(), cpu_base) {
        let (rate, used) = run(
            &bootstrap,
            &cpu_topic,
            "CpuJob",
            cpu_n,
            g,
            Work::CpuInline(iterations),
        )
        .await?;
        println!(
            "{g:>4}  {rate:>10.0}  {:>7.2}x  {used:>10.2}  inline on the runtime",
            rate / b
        );
    }
    match at32 {
        Some(s) => println!("vp32_speedup={s:.2}"),
        None => println!("vp32_speedup=n/a (32 not in BENCH_VPS)"),
    }
    Ok(())
}
