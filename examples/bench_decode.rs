//! Single-core decode rate over a payload corpus, for `make bench-decode`.
//!
//! `cargo run --release --example bench_decode -- [--seconds N] DIR...` decodes every payload
//! (`*.json` but manifests) under the dirs in a loop for about N seconds and prints
//! `rust_decode_per_sec=<payloads per second>` last.

use activejob_karafka::{DecodeOptions, Job};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let mut seconds = 3.0_f64;
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds);
        } else {
            dirs.push(PathBuf::from(arg));
        }
    }
    let payloads = load(&dirs);
    let options = DecodeOptions::default();
    let failures = payloads
        .iter()
        .filter(|p| Job::decode_with(p, &options).is_err())
        .count();
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut decoded = 0_u64;
    while started.elapsed() < deadline {
        for payload in &payloads {
            std::hint::black_box(Job::decode_with(std::hint::black_box(payload), &options).ok());
        }
        decoded += payloads.len() as u64;
    }
    let rate = decoded as f64 / started.elapsed().as_secs_f64();
    println!("payloads={} undecodable={failures}", payloads.len());
    println!("rust_decode_per_sec={rate:.1}");
}

fn load(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
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
            payloads.push(std::fs::read(&file).expect("payload"));
        }
    }
    payloads
}
