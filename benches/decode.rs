//! Decoding the whole golden-payload corpus (`fixtures/{6.1,7.1,8.1}`), the way a worker decodes
//! each message: parse, envelope, every argument.
//!
//! Two references run beside it on the same payloads: the tree path (`serde_json::Value`, then
//! `Job::from_json`), and serde_json checking the JSON without building anything (`IgnoredAny`),
//! the floor for any decoder built on serde_json.
//!
//! A second group times what the worker does per job besides reading it from Kafka: a
//! `Registry` decoding `make bench-e2e`'s small payload and running its no-op handler.

use activejob_karafka::consumer::{InboundMessage, PartitionSignals};
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::{json, DecodeOptions, Job};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::FutureExt;
use std::path::Path;
use std::sync::Arc;

mod support {
    pub mod noop_job;
}
use support::noop_job;

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
    group.bench_function("tree_path", |b| {
        b.iter(|| {
            for payload in &payloads {
                let job = json::parse(std::hint::black_box(payload), options.max_payload_bytes)
                    .and_then(|raw| Job::from_json(raw, &options));
                std::hint::black_box(job.ok());
            }
        })
    });
    group.bench_function("serde_json_ignored_any", |b| {
        b.iter(|| {
            for payload in &payloads {
                let parsed =
                    serde_json::from_slice::<serde::de::IgnoredAny>(std::hint::black_box(payload));
                std::hint::black_box(parsed.ok());
            }
        })
    });
    group.finish();
}

/// `make bench-e2e`'s job as the worker hands it to the registry.
fn noop_message(i: u64) -> Arc<InboundMessage> {
    let payload = noop_job::payload(i);
    Arc::new(InboundMessage {
        topic: "bench".into(),
        partition: 0,
        offset: i as i64,
        key: None,
        payload: Some(payload.into_bytes().into()),
        headers: Vec::new(),
        timestamp_ms: None,
    })
}

fn registry_dispatch(c: &mut Criterion) {
    let messages: Vec<_> = (0..64).map(|i| noop_message(i * 7919)).collect();
    let registry = Registry::new().register("NoopJob", |(_id,): (u64,), _ctx: JobContext| async {
        Ok(())
    });
    let signals = PartitionSignals::detached();
    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("decode_and_run_noop_job", |b| {
        b.iter(|| {
            for message in &messages {
                let run = registry.run(Arc::clone(message), signals.clone());
                std::hint::black_box(run.now_or_never());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode_corpus, registry_dispatch);
criterion_main!(benches);
