//! Single-core decode rate over a payload corpus, for `make bench-decode`.
//!
//! `cargo run --release --example bench_decode -- [--seconds N] [--passes N] [--app FILE]
//! [--skip FILE]... DIR...` decodes every payload (`*.json` but manifests) under the dirs in a
//! loop for about N seconds (after a warm-up of a fifth of that, as
//! `ruby_interop/bench_decode.rb` does) and prints `rust_decode_per_sec=<payloads per second>`
//! last. `--app` reads the application's facts from an `app.toml` (the Ruby side runs
//! `ruby_interop/app.rb`, the same app as `fixtures/app.toml`); `--skip FILE` leaves a payload
//! out (those the Ruby side cannot read, so both sides time the same set); `--passes N` runs
//! exactly N passes instead, for profilers. Heap allocations per payload are counted in one pass
//! outside the timed loop. Before its own rate it prints, for scale, how fast a JSON parser alone
//! goes over the same payloads: serde_json checking the syntax only and building a
//! `serde_json::Value`, and sonic-rs (a SIMD parser with an arena-allocated tree) building its
//! `sonic_rs::Value`. None of them applies any Rails rule.

use activejob_karafka::{DecodeOptions, Job};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting calls while [`COUNTING`] is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut seconds = 3.0_f64;
    let mut passes = None;
    let mut dirs = Vec::new();
    let mut skip = Vec::new();
    let mut app = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--passes" => passes = args.next().and_then(|s| s.parse::<u64>().ok()),
            "--skip" => skip.extend(args.next().map(PathBuf::from)),
            "--app" => app = args.next(),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    let (payloads, skipped) = load(&dirs, &skip);
    let options = match &app {
        Some(file) => DecodeOptions::from_toml_file(file).unwrap_or_else(|e| panic!("{e}")),
        None => DecodeOptions::default(),
    };
    let failures = payloads
        .iter()
        .filter(|p| Job::decode_with(p, &options).is_err())
        .count();
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    println!(
        "payloads={} skipped={skipped} undecodable={failures} avg_bytes={}",
        payloads.len(),
        bytes / payloads.len().max(1)
    );

    COUNTING.store(true, Ordering::Relaxed);
    for payload in &payloads {
        std::hint::black_box(Job::decode_with(std::hint::black_box(payload), &options).ok());
    }
    COUNTING.store(false, Ordering::Relaxed);
    let per_payload = |n: &AtomicU64| n.load(Ordering::Relaxed) as f64 / payloads.len() as f64;
    println!(
        "allocations_per_payload={:.1} allocated_bytes_per_payload={:.0}",
        per_payload(&ALLOCATIONS),
        per_payload(&ALLOCATED_BYTES)
    );

    if passes.is_none() {
        // What a JSON parser alone achieves on the same payloads, for scale: serde_json
        // checking the syntax and building nothing, serde_json building its generic tree, and
        // the fastest generic tree builder we know of (SIMD scanning, one arena per document).
        let reference = seconds / 3.0;
        let (n, secs) = timed(&payloads, reference, None, |p| {
            serde_json::from_slice::<serde::de::IgnoredAny>(p).is_ok()
        });
        println!(
            "reference_serde_json_validate_per_sec={:.1}",
            n as f64 / secs
        );
        let (n, secs) = timed(&payloads, reference, None, |p| {
            serde_json::from_slice::<serde_json::Value>(p).is_ok()
        });
        println!("reference_serde_json_value_per_sec={:.1}", n as f64 / secs);
        let (n, secs) = timed(&payloads, reference, None, |p| {
            sonic_rs::from_slice::<sonic_rs::Value>(p).is_ok()
        });
        println!("reference_sonic_rs_value_per_sec={:.1}", n as f64 / secs);
    }
    let (decoded, elapsed) = timed(&payloads, seconds, passes, |p| {
        Job::decode_with(p, &options).is_ok()
    });
    println!("seconds={elapsed:.3} decoded={decoded}");
    println!("rust_decode_per_sec={:.1}", decoded as f64 / elapsed);
}

/// Runs `work` over every payload, `passes` times or for about `seconds` after a warm-up of a
/// fifth of that: the payloads handled and the seconds taken.
fn timed(
    payloads: &[Vec<u8>],
    seconds: f64,
    passes: Option<u64>,
    work: impl Fn(&[u8]) -> bool,
) -> (u64, f64) {
    let pass = || {
        for payload in payloads {
            std::hint::black_box(work(std::hint::black_box(payload)));
        }
    };
    let mut done = 0_u64;
    let started;
    match passes {
        Some(n) => {
            started = Instant::now();
            for _ in 0..n {
                pass();
            }
            done = n * payloads.len() as u64;
        }
        None => {
            let warm_until = Instant::now() + Duration::from_secs_f64((seconds / 5.0).max(0.2));
            while Instant::now() < warm_until {
                pass();
            }
            let deadline = Duration::from_secs_f64(seconds);
            started = Instant::now();
            while started.elapsed() < deadline {
                pass();
                done += payloads.len() as u64;
            }
        }
    }
    (done, started.elapsed().as_secs_f64())
}

/// The payloads under `dirs`, less the files in `skip`, and how many were skipped.
fn load(dirs: &[PathBuf], skip: &[PathBuf]) -> (Vec<Vec<u8>>, usize) {
    let mut payloads = Vec::new();
    let mut skipped = 0;
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".json") && name != "manifest.json" && name != "rails81_decoded.json"
            })
            .collect();
        files.sort();
        for file in files {
            if skip.contains(&file) {
                skipped += 1;
                continue;
            }
            payloads.push(std::fs::read(&file).expect("payload"));
        }
    }
    (payloads, skipped)
}
