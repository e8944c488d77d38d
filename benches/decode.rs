//! Decoding the whole golden-payload corpus (`fixtures/{6.1,7.1,8.1}`), the way a worker decodes
//! each message: parse, envelope, every argument.

use activejob_karafka::{DecodeOptions, Job};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut payloads = Vec::new();
    for version in ["6.1", "7.1", "8.1"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(version))
            .expect("fixture dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".json") && name != "manifest.json" && name != "rails81_decoded.json"
            })
            .collect();
        files.sort();
        payloads.extend(files.iter().map(|p| std::fs::read(p).expect("fixture")));
    }
    payloads
}

fn decode_corpus(c: &mut Criterion) {
    let payloads = corpus();
    let options = DecodeOptions::default();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("fixture_corpus", |b| {
        b.iter(|| {
            for payload in &payloads {
                let job = Job::decode_with(std::hint::black_box(payload), &options);
                std::hint::black_box(job.ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode_corpus);
criterion_main!(benches);
