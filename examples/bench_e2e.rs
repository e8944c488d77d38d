//! End-to-end throughput on one topic, in one run: a bare rdkafka consumer that only reads the
//! messages (the ceiling) against the worker with full semantics (per-job offset store,
//! commits), once with a no-op `MessageHandler` (the runtime alone) and once with the
//! `Registry` and a realistic job: `BillingJob.perform_later(id, "customer-#{id}",
//! priority: :high, at: Time.current)` as Rails 8.1 writes it (an Integer, a String, keyword
//! arguments with a Symbol and a TimeWithZone), whose handler takes typed arguments and reads
//! the time (decode + dispatch by `job_class` + deserialization: what an application runs).
//!
//! ```sh
//! make bench-e2e        # or: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092 cargo run --release --example bench_e2e
//! ```
//!
//! Environment: `BENCH_MESSAGES` (1 000 000), `BENCH_PARTITIONS` (6), `BENCH_ROUNDS` (3),
//! `BENCH_COMMIT_INTERVAL_MS` (the worker's `commit_interval`, 100; 5000 commits as often as
//! librdkafka's auto-commit, which Karafka keeps, for a comparison), `BENCH_MAX_BUFFERED_MIB`
//! (the worker's `max_buffered_mib`, its default when unset; the bare consumer gets the
//! librdkafka settings it implies), `BENCH_KAFKA` (librdkafka settings for both the worker and
//! the bare consumer, `key=value` pairs separated by commas, as `.kafka(key, value)` sets them:
//! `BENCH_KAFKA=fetch.queue.backoff.ms=10`). Each
//! measurement runs in a fresh child process (so peak RSS is its own) with a fresh consumer
//! group; the sides alternate for `BENCH_ROUNDS` rounds and the best run of each side counts,
//! since the broker shares the cores and single runs vary. Rates are from the first message to
//! the last. Summary lines: `<side>_msgs_per_s=` and `<side>_peak_rss_mib=` for each side
//! (`ceiling`, `runtime`, `registry`), then `registry_runtime_ratio=<registry worker / no-op
//! worker>` and `runtime_ratio=<no-op worker / ceiling>`; the last line is
//! `e2e_ratio=<registry worker / ceiling>`.
//!
//! Each run also prints the CPU time its process used per job over the same span (all threads,
//! user and system; the broker's own CPU is not in it), the lowest of the rounds summed up as
//! `<side>_cpu_us_per_job=` and `registry_cpu_ratio=<runtime's CPU per job / registry's>`: what
//! the Registry costs beside the no-op handler, which varies less than the rates do when the
//! machine is busy.
//!
//! Each run also reads the whole machine's busy and idle CPU time over its span (`/proc/stat`:
//! the broker's share is in it, when it runs here). `<side>_machine_cpu_us_per_job=` is the
//! lowest busy time per job of the rounds, and `<side>_machine_bound_msgs_per_s=` the highest
//! rate the machine's cores would allow at a run's CPU time per job (its rate divided by its
//! busy share). `registry_runtime_ratio_machine_bound=` and `e2e_ratio_machine_bound=` set the
//! Registry side's bound against the no-op side's and the ceiling's best rates: the most those
//! ratios could be on this machine without spending less CPU per job.
//! `scripts/bench-table.sh` runs it at 1, 6, 32 and 128 partitions.

use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{handler_fn, TopicConfig, Worker, WorkerConfig};
use activejob_karafka::registry::{JobContext, Registry};
use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

#[path = "../benches/support/billing_job.rs"]
mod billing_job;
#[path = "../benches/support/kafka_bench.rs"]
mod kafka_bench;
use billing_job::{perform, BillingArgs, JOB_CLASS};
use kafka_bench::{create_topic, env_or, load_average};

/// `enqueued_at` of every produced job (the rate does not depend on it).
const ENQUEUED_AT: &str = "2026-11-24T21:27:56.175007000Z";

fn payload(i: u64) -> String {
    billing_job::payload(i, ENQUEUED_AT)
}

/// Peak resident set size of this process, in MiB (Linux: VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time this process has used so far, all threads, user and system (Linux: `/proc/self/stat`,
/// in ticks of 10 ms; USER_HZ is 100 on every Linux target).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces: utime and
    // stime are the 14th and 15th of the line, the 12th and 13th after the name.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Busy and idle CPU time of the whole machine so far, all cores (Linux: the `cpu` line of
/// `/proc/stat`, in ticks of 10 ms): the broker's share and any idle share included.
#[derive(Clone, Copy)]
struct MachineCpu {
    busy: Duration,
    idle: Duration,
}

impl MachineCpu {
    fn now() -> MachineCpu {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .find_map(|l| l.strip_prefix("cpu "))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        let tick = |i: usize| ticks.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal: guest time is counted in user already.
        let busy = tick(0) + tick(1) + tick(2) + tick(5) + tick(6) + tick(7);
        let idle = tick(3) + tick(4);
        MachineCpu {
            busy: Duration::from_millis(busy * 10),
            idle: Duration::from_millis(idle * 10),
        }
    }

    fn since(self, start: MachineCpu) -> MachineCpu {
        MachineCpu {
            busy: self.busy.saturating_sub(start.busy),
            idle: self.idle.saturating_sub(start.idle),
        }
    }
}

/// A point of a side's run: when, and the CPU time used by then.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    cpu: Duration,
    machine: MachineCpu,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            at: Instant::now(),
            cpu: process_cpu(),
            machine: MachineCpu::now(),
        }
    }

    /// What was spent from `first` to this mark.
    fn since(self, first: Mark) -> Measured {
        Measured {
            elapsed: self.at - first.at,
            cpu: self.cpu.saturating_sub(first.cpu),
            machine: self.machine.since(first.machine),
        }
    }
}

/// A side's measured span: wall-clock time, the process's CPU time and the machine's from the
/// first job to the last.
struct Measured {
    elapsed: Duration,
    cpu: Duration,
    machine: MachineCpu,
}

fn produce(bootstrap: &str, topic: &str, partitions: i32, n: u64) -> anyhow::Result<Duration> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create()?;
    let start = Instant::now();
    for i in 0..n {
        let body = payload(i);
        let mut record = BaseRecord::<(), str>::to(topic)
            .payload(&body)
            .partition((i % partitions as u64) as i32);
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
    Ok(start.elapsed())
}

fn worker_config(bootstrap: &str, topic: &str, group: &str) -> anyhow::Result<WorkerConfig> {
    let mut builder = WorkerConfig::builder()
        .bootstrap_servers(bootstrap)
        .group_id(group)
        .commit_interval(Duration::from_millis(env_or(
            "BENCH_COMMIT_INTERVAL_MS",
            100,
        )))
        .topic(TopicConfig::new(topic));
    let overrides = std::env::var("BENCH_KAFKA").unwrap_or_default();
    for pair in overrides.split(',').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("BENCH_KAFKA wants key=value pairs: {pair:?}"))?;
        builder = builder.kafka(key, value);
    }
    if let Ok(mib) = std::env::var("BENCH_MAX_BUFFERED_MIB") {
        builder = builder.max_buffered_bytes(mib.parse::<usize>()? * 1024 * 1024);
    }
    Ok(builder.build()?)
}

/// Reads all `n` messages with a bare `BaseConsumer` (the worker's librdkafka settings, one
/// thread polling): returns the span from the first message to the last.
fn ceiling(config: &WorkerConfig, n: u64) -> anyhow::Result<Measured> {
    let consumer: BaseConsumer = config.consumer_config().create()?;
    consumer.subscribe(&config.topic_names())?;
    let mut seen = 0u64;
    let mut bytes = 0usize;
    let mut first = None;
    while seen < n {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                first.get_or_insert_with(Mark::now);
                bytes += m.payload().map_or(0, <[u8]>::len);
                seen += 1;
            }
            Some(Err(e)) => eprintln!("ceiling consumer: {e}"),
            None => {}
        }
    }
    std::hint::black_box(bytes);
    let last = Mark::now();
    Ok(last.since(first.unwrap_or(last)))
}

/// Runs the worker until all `n` jobs are done: returns the span from the first job to the
/// last. Completion is read from the worker's own counters, so the handler does nothing
/// shared per job; after a clean shutdown every job must be committed.
async fn worker(config: WorkerConfig, n: u64, with_registry: bool) -> anyhow::Result<Measured> {
    let first: Arc<OnceLock<Mark>> = Arc::default();
    let f = first.clone();
    let group = config.group_id.clone();
    let topic = config.topics[0].name.clone();
    let bootstrap = config.bootstrap_servers.clone();
    let worker = if with_registry {
        let registry =
            Registry::new().register(JOB_CLASS, move |args: BillingArgs, _ctx: JobContext| {
                f.get_or_init(Mark::now);
                let performed = perform(&args).map(std::hint::black_box);
                async move {
                    performed?;
                    Ok(())
                }
            });
        Worker::new(config, registry)
    } else {
        Worker::new(
            config,
            handler_fn(move |_message, _signals| {
                f.get_or_init(Mark::now);
                async { Ok(()) }.boxed()
            }),
        )
    }
    .handle_signals(false);
    let stats = worker.stats();
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    while stats.snapshot().jobs_succeeded < n {
        anyhow::ensure!(!running.is_finished(), "the worker stopped early");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let last = Mark::now();
    stop.shutdown();
    running.await??;
    let span = match first.get() {
        Some(first) => last.since(*first),
        None => anyhow::bail!("the worker ran no job"),
    };
    let committed = committed_total(&bootstrap, &group, &topic)?;
    anyhow::ensure!(committed == n as i64, "committed {committed} of {n}");
    Ok(span)
}

fn committed_total(bootstrap: &str, group: &str, topic: &str) -> anyhow::Result<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()?;
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = md.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
    Ok(got
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}

/// Child process: one measurement, printed as `seconds=<s> cpu_seconds=<s> rss_mib=<MiB>
/// machine_busy_seconds=<s> machine_idle_seconds=<s>`.
async fn child(side: &str, bootstrap: &str, topic: &str, n: u64) -> anyhow::Result<()> {
    let group = format!("bench-{side}-{}", uuid::Uuid::new_v4());
    let config = worker_config(bootstrap, topic, &group)?;
    let span = match side {
        "ceiling" => tokio::task::spawn_blocking(move || ceiling(&config, n)).await??,
        "runtime" => worker(config, n, false).await?,
        "registry" => worker(config, n, true).await?,
        other => anyhow::bail!("unknown side {other}"),
    };
    println!(
        "seconds={} cpu_seconds={} rss_mib={:.0} machine_busy_seconds={} machine_idle_seconds={}",
        span.elapsed.as_secs_f64(),
        span.cpu.as_secs_f64(),
        peak_rss_mib(),
        span.machine.busy.as_secs_f64(),
        span.machine.idle.as_secs_f64(),
    );
    Ok(())
}

/// One side's run, per job where it is a cost.
struct SideRun {
    msgs_per_s: f64,
    peak_rss_mib: f64,
    /// This process's CPU time per job, all its threads.
    cpu_us_per_job: f64,
    /// The whole machine's busy CPU time per job: the process's, the broker's and anything
    /// else running meanwhile.
    machine_cpu_us_per_job: f64,
    /// The share of the machine's cores that stayed idle.
    idle_share: f64,
}

impl SideRun {
    /// The rate the machine's cores would allow at this run's CPU time per job, all of it
    /// busy: the rate divided by the busy share.
    fn machine_bound_msgs_per_s(&self) -> f64 {
        self.msgs_per_s / (1.0 - self.idle_share)
    }
}

fn run_child(side: &str, topic: &str, n: u64) -> anyhow::Result<SideRun> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--side", side, "--topic", topic])
        .env("BENCH_MESSAGES", n.to_string())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "{side} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> anyhow::Result<f64> {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no {name} in {stdout:?}"))
    };
    let (busy, idle) = (
        field("machine_busy_seconds=")?,
        field("machine_idle_seconds=")?,
    );
    Ok(SideRun {
        msgs_per_s: n as f64 / field("seconds=")?,
        peak_rss_mib: field("rss_mib=")?,
        cpu_us_per_job: field("cpu_seconds=")? * 1e6 / n as f64,
        machine_cpu_us_per_job: busy * 1e6 / n as f64,
        idle_share: if busy + idle > 0.0 {
            idle / (busy + idle)
        } else {
            0.0
        },
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_or("BENCH_MESSAGES", 1_000_000);
    let bootstrap = kafka_bench::bootstrap_servers("bench-e2e")?;
    let args: Vec<String> = std::env::args().collect();
    if let (Some(side), Some(topic)) = (
        args.iter()
            .position(|a| a == "--side")
            .and_then(|i| args.get(i + 1)),
        args.iter()
            .position(|a| a == "--topic")
            .and_then(|i| args.get(i + 1)),
    ) {
        return child(side, &bootstrap, topic, n).await;
    }

    let partitions = env_or("BENCH_PARTITIONS", 6) as i32;
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    let topic = kafka_bench::fresh_topic_name("bench-e2e");
    create_topic(&bootstrap, &topic, partitions, &Default::default()).await?;
    let size = payload(n / 2).len();
    let took = {
        let (b, t) = (bootstrap.clone(), topic.clone());
        tokio::task::spawn_blocking(move || produce(&b, &t, partitions, n)).await??
    };
    println!(
        "produced {n} jobs of ~{size} bytes to {topic} ({partitions} partitions) in {:.2} s; \
         load average {}",
        took.as_secs_f64(),
        load_average()
    );

    let sides = [
        ("ceiling", "bare BaseConsumer, reads only"),
        ("runtime", "worker, no-op MessageHandler"),
        ("registry", "worker, Registry + typed BillingJob"),
    ];
    let mut best = [(0f64, 0f64); 3];
    let mut least_cpu = [f64::INFINITY; 3];
    let mut least_machine_cpu = [f64::INFINITY; 3];
    let mut bound = [0f64; 3];
    for round in 1..=rounds {
        for (i, (side, what)) in sides.iter().enumerate() {
            let run = run_child(side, &topic, n)?;
            println!(
                "round {round}: {what:<38} {:>10.0} msg/s  peak RSS {:>4.0} MiB  \
                 CPU {:>5.2} µs/job  machine {:>5.2} µs/job, {:>3.0} % idle",
                run.msgs_per_s,
                run.peak_rss_mib,
                run.cpu_us_per_job,
                run.machine_cpu_us_per_job,
                run.idle_share * 100.0,
            );
            if run.msgs_per_s > best[i].0 {
                best[i] = (run.msgs_per_s, run.peak_rss_mib);
            }
            least_cpu[i] = least_cpu[i].min(run.cpu_us_per_job);
            least_machine_cpu[i] = least_machine_cpu[i].min(run.machine_cpu_us_per_job);
            bound[i] = bound[i].max(run.machine_bound_msgs_per_s());
        }
    }
    for ((side, _), (rate, rss)) in sides.iter().zip(best) {
        println!("{side}_msgs_per_s={rate:.0} {side}_peak_rss_mib={rss:.0}");
    }
    for ((side, _), cpu) in sides.iter().zip(least_cpu) {
        println!("{side}_cpu_us_per_job={cpu:.3}");
    }
    for (((side, _), cpu), bound) in sides.iter().zip(least_machine_cpu).zip(bound) {
        println!(
            "{side}_machine_cpu_us_per_job={cpu:.3} {side}_machine_bound_msgs_per_s={bound:.0}"
        );
    }
    println!("registry_cpu_ratio={:.3}", least_cpu[1] / least_cpu[2]);
    // The most the Registry side could reach on this machine's cores at the CPU time per job it
    // took (its own and the broker's), against the other sides' best rates.
    println!(
        "registry_runtime_ratio_machine_bound={:.3}",
        bound[2] / best[1].0
    );
    println!("e2e_ratio_machine_bound={:.3}", bound[2] / best[0].0);
    println!("registry_runtime_ratio={:.3}", best[2].0 / best[1].0);
    println!("runtime_ratio={:.3}", best[1].0 / best[0].0);
    println!("e2e_ratio={:.3}", best[2].0 / best[0].0);
    Ok(())
}
