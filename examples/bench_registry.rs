//! What the `Registry` costs per job beyond decoding, without a broker: `make bench-e2e`'s
//! `BillingJob` payloads, already in memory as the worker hands them over, run two ways on one
//! thread.
//!
//! - `decode`: what any typed handler needs, [`JobView::decode_with`] then
//!   [`JobView::arguments`] into the handler's tuple, then the handler's work
//!   ([`billing_job::perform`]);
//! - `registry`: [`MessageHandler::handle`] on a `Registry` holding the same handler, its future
//!   polled once with a no-op waker (the handler never waits, so it completes on that poll, as in
//!   the worker).
//!
//! The difference is the registry's own per-job work: finding the handler and the class's
//! policies, building the [`JobContext`], boxing and polling the future.
//!
//! ```sh
//! make bench-registry   # or: cargo run --release --example bench_registry -- --seconds 3
//! ```
//!
//! `--seconds N` (default 2) times each side for about N seconds after a warm-up, alternating the
//! sides twice, and prints ns per job for each, the best of the two, then `registry_overhead_ns=`
//! last. `--passes N --mode decode|registry` runs exactly N passes over the 1 000 messages of
//! one side instead, for profilers: the instructions per job of the registry's own work are
//! `(Ir(registry) - Ir(decode)) / (N * 1000)` under `valgrind --tool=callgrind` (run each side
//! at two pass counts and subtract to leave the set-up out). Heap allocations per job are
//! counted for each side in one pass outside the timed loop.

#[path = "../benches/support/counting_alloc.rs"]
mod counting_alloc;

use activejob_karafka::consumer::{InboundMessage, MessageHandler, PartitionSignals};
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::view::JobView;
use activejob_karafka::DecodeOptions;
use futures::task::noop_waker_ref;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use counting_alloc::{Counting, ALLOCATIONS, COUNTING};

#[path = "../benches/support/billing_job.rs"]
mod billing_job;
use billing_job::{perform, BillingArgs, JOB_CLASS};

/// How many distinct messages one pass runs.
const MESSAGES: u64 = 1000;

/// `enqueued_at` of every job, as `make bench-e2e` writes it.
const ENQUEUED_AT: &str = "2026-11-24T21:27:56.175007000Z";

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One side of the comparison.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Decode,
    Registry,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Decode => "decode",
            Side::Registry => "registry",
        }
    }
}

/// The messages and what runs them.
struct Bench {
    messages: Vec<Arc<InboundMessage>>,
    options: DecodeOptions,
    registry: Registry,
    signals: PartitionSignals,
}

impl Bench {
    fn new() -> Self {
        let messages = (0..MESSAGES)
            .map(|i| {
                Arc::new(InboundMessage {
                    topic: "billing".into(),
                    partition: 0,
                    offset: i as i64,
                    key: None,
                    payload: Some(
                        billing_job::payload(i * 7919, ENQUEUED_AT)
                            .into_bytes()
                            .into(),
                    ),
                    headers: Vec::new(),
                    timestamp_ms: None,
                })
            })
            .collect();
        let registry =
            Registry::new().register(JOB_CLASS, |args: BillingArgs, _ctx: JobContext| {
                let performed = perform(&args).map(std::hint::black_box);
                async move {
                    performed?;
                    Ok(())
                }
            });
        Bench {
            messages,
            options: DecodeOptions::default(),
            registry,
            signals: PartitionSignals::detached(),
        }
    }

    /// One pass over every message.
    fn pass(&self, side: Side) {
        match side {
            Side::Decode => self.messages.iter().for_each(|m| self.decode(m)),
            Side::Registry => self.messages.iter().for_each(|m| self.run(m)),
        }
    }

    fn decode(&self, message: &InboundMessage) {
        let payload = message.payload.as_deref().unwrap_or_default();
        let view = JobView::decode_with(std::hint::black_box(payload), &self.options)
            .expect("the bench payload decodes");
        let args: BillingArgs = view.arguments().expect("the bench arguments fit");
        std::hint::black_box(perform(&args).expect("the bench job runs"));
    }

    fn run(&self, message: &Arc<InboundMessage>) {
        let mut run = self
            .registry
            .handle(Arc::clone(message), self.signals.clone());
        let mut cx = Context::from_waker(noop_waker_ref());
        match run.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(failure)) => panic!("the bench job failed: {failure:?}"),
            Poll::Pending => panic!("the bench job waited"),
        }
    }

    /// Heap allocations per job of one side.
    fn allocations_per_job(&self, side: Side) -> f64 {
        ALLOCATIONS.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        self.pass(side);
        COUNTING.store(false, Ordering::Relaxed);
        ALLOCATIONS.load(Ordering::Relaxed) as f64 / MESSAGES as f64
    }

    /// Nanoseconds per job of one side, over about `seconds`.
    fn ns_per_job(&self, side: Side, seconds: f64) -> f64 {
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let mut passes = 0u64;
        while start.elapsed() < budget {
            self.pass(side);
            passes += 1;
        }
        start.elapsed().as_nanos() as f64 / (passes * MESSAGES) as f64
    }
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{} on {cores} cores", load.join(" "))
}

fn main() {
    let mut seconds = 2.0_f64;
    let mut passes = None;
    let mut mode = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--passes" => passes = args.next().and_then(|s| s.parse::<u64>().ok()),
            "--mode" => {
                mode = match args.next().as_deref() {
                    Some("decode") => Some(Side::Decode),
                    Some("registry") => Some(Side::Registry),
                    other => panic!("--mode takes decode or registry, not {other:?}"),
                }
            }
            other => panic!("unknown argument {other:?}"),
        }
    }
    let bench = Bench::new();
    if let Some(passes) = passes {
        let side = mode.unwrap_or(Side::Registry);
        for _ in 0..passes {
            bench.pass(side);
        }
        println!("{}: {passes} passes of {MESSAGES} jobs", side.name());
        return;
    }
    println!("load average: {}", load_average());
    let sides = [Side::Decode, Side::Registry];
    for side in sides {
        println!(
            "{}_allocations_per_job={:.2}",
            side.name(),
            bench.allocations_per_job(side)
        );
    }
    for side in sides {
        bench.ns_per_job(side, seconds / 5.0);
    }
    let mut best = [f64::INFINITY; 2];
    for _ in 0..2 {
        for (i, side) in sides.into_iter().enumerate() {
            best[i] = best[i].min(bench.ns_per_job(side, seconds / 2.0));
        }
    }
    for (side, ns) in sides.into_iter().zip(best) {
        println!("{}_ns_per_job={ns:.0}", side.name());
    }
    println!("registry_overhead_ns={:.0}", best[1] - best[0]);
}
