//! Single-core decode rate over a payload corpus, for `make bench-decode`.
//!
//! `cargo run --release --example bench_decode -- [--seconds N] [--passes N] [--app FILE]
//! [--skip FILE]... DIR...` decodes every payload (`*.json` but manifests) under the dirs in a
//! loop for about N seconds (after a warm-up of a fifth of that, as
//! `ruby_interop/bench_decode.rb` does) and prints `rust_decode_per_sec=<payloads per second>`
//! last. `--app` reads the application's facts from an `app.toml` (the Ruby side runs
//! `ruby_interop/app.rb`, the same app as `fixtures/app.toml`); `--skip FILE` leaves a payload
//! out (those the Ruby side cannot read, so both sides time the same set); `--passes N` runs
//! exactly N passes instead, for profilers (of the owned decode, or with `--typed` of the typed
//! path). Heap allocations per payload are counted in one pass
//! outside the timed loop. Before its own rate it prints, for scale, how fast a JSON parser alone
//! goes over the same payloads: serde_json checking the syntax only and building a
//! `serde_json::Value`, and sonic-rs (a SIMD parser with an arena-allocated tree) building its
//! `sonic_rs::Value`. None of them applies any Rails rule.
//!
//! Then the typed path, what the worker does per job for a handler with typed arguments:
//! [`JobView::decode_with`] (the envelope read in place) and [`JobView::arguments`] into the
//! handler's serde type, printed as `rust_typed_decode_per_sec=`. No single handler type fits
//! all 132 payloads, and one struct per fixture would measure 50 hand-written types, so the
//! bench uses [`Leaves`]: a serde type that, like a derived struct of `String`/`i64`/`f64`/
//! `bool` fields, copies every leaf of every argument into an owned Rust value (strings
//! allocated, times as their ISO text, Symbols as their names) and matches Hash keys without
//! copying them, keeping the leaves in one flat `Vec` rather than a tree. It asks serde for
//! every value as it is (`deserialize_any`), so every payload's every argument is read by the
//! rules. The same type read from an owned `Job` (`Job::decode_with` then `from_values`) is
//! printed for scale as `rust_owned_typed_per_sec=`.

#[path = "../benches/support/counting_alloc.rs"]
mod counting_alloc;

use activejob_karafka::arguments::from_values;
use activejob_karafka::view::JobView;
use activejob_karafka::{DecodeOptions, Job};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use counting_alloc::{Counting, ALLOCATED_BYTES, ALLOCATIONS, COUNTING};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut seconds = 3.0_f64;
    let mut passes = None;
    let mut typed_passes = false;
    let mut dirs = Vec::new();
    let mut skip = Vec::new();
    let mut app = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--passes" => passes = args.next().and_then(|s| s.parse::<u64>().ok()),
            "--typed" => typed_passes = true,
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
    let typed = |p: &[u8]| {
        JobView::decode_with(p, &options)
            .map(|view| view.arguments::<Leaves>().is_ok())
            .unwrap_or(false)
    };
    let typed_failures = payloads.iter().filter(|p| !typed(p)).count();
    COUNTING.store(true, Ordering::Relaxed);
    let before = (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    );
    for payload in &payloads {
        std::hint::black_box(typed(std::hint::black_box(payload)));
    }
    COUNTING.store(false, Ordering::Relaxed);
    println!(
        "typed_unreadable={typed_failures} typed_allocations_per_payload={:.1} typed_allocated_bytes_per_payload={:.0}",
        (ALLOCATIONS.load(Ordering::Relaxed) - before.0) as f64 / payloads.len() as f64,
        (ALLOCATED_BYTES.load(Ordering::Relaxed) - before.1) as f64 / payloads.len() as f64,
    );
    if typed_passes {
        let (n, secs) = timed(&payloads, seconds, passes, typed);
        println!("rust_typed_decode_per_sec={:.1}", n as f64 / secs);
        return;
    }
    if passes.is_none() {
        let (n, secs) = timed(&payloads, seconds / 3.0, None, |p| {
            Job::decode_with(p, &options)
                .map(|job| from_values::<Leaves>(&job.arguments).is_ok())
                .unwrap_or(false)
        });
        println!("rust_owned_typed_per_sec={:.1}", n as f64 / secs);
        let (n, secs) = timed(&payloads, seconds, None, typed);
        println!("rust_typed_decode_per_sec={:.1}", n as f64 / secs);
    }
    let (decoded, elapsed) = timed(&payloads, seconds, passes, |p| {
        Job::decode_with(p, &options).is_ok()
    });
    println!("seconds={elapsed:.3} decoded={decoded}");
    println!("rust_decode_per_sec={:.1}", decoded as f64 / elapsed);
}

/// What a typed handler keeps of its arguments: every leaf copied into an owned Rust value, in
/// argument order, Hash keys matched but not kept (as a derived struct matches field names).
#[derive(Debug, Default)]
struct Leaves(#[allow(dead_code)] Vec<Leaf>);

#[derive(Debug)]
#[allow(dead_code)]
enum Leaf {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl<'de> serde::Deserialize<'de> for Leaves {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // One allocation, as a handler's struct would take at most.
        let mut leaves = Vec::with_capacity(16);
        LeafSeed(&mut leaves).deserialize(deserializer)?;
        Ok(Leaves(leaves))
    }
}

/// Appends the leaves of one value.
struct LeafSeed<'a>(&'a mut Vec<Leaf>);

impl<'de> DeserializeSeed<'de> for LeafSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeafSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any argument")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push(Leaf::Nil);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(Leaf::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(Leaf::Int(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(Leaf::Text(v.to_string()));
        Ok(())
    }

    fn visit_i128<E>(self, v: i128) -> Result<(), E> {
        self.0.push(Leaf::Text(v.to_string()));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.push(Leaf::Float(v));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push(Leaf::Text(v.to_owned()));
        Ok(())
    }

    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.0.push(Leaf::Text(v));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(LeafSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(KeyName)?.is_some() {
            map.next_value_seed(LeafSeed(&mut *self.0))?;
        }
        Ok(())
    }
}

/// A Hash key, looked at as a derived struct looks at a field name, and not kept.
struct KeyName;

impl<'de> DeserializeSeed<'de> for KeyName {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KeyName {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        std::hint::black_box(v.len());
        Ok(())
    }
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
