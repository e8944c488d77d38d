//! The demo worker: Ruby-enqueued jobs, run in Rust.
//!
//! Produces golden payloads made by real Rails 8.1 (`fixtures/8.1`) to their topics exactly as
//! Karafka's dispatcher sends them (payload bytes, the key where the job's partitioner gives one,
//! no headers), then runs a worker with a Rust handler per Ruby job class and prints each job it
//! performs. It stops once every produced job has run.
//!
//! `make demo` starts a local broker and runs this; `KAFKA_BOOTSTRAP_SERVERS` points it at
//! another cluster.

use activejob_karafka::consumer::{TopicConfig, Worker, WorkerConfig};
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::{arguments::GlobalId, DecodeOptions};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde::de::IgnoredAny;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `ImportJob#perform(import_id, mode: :normal, dry_run: false)`'s keyword arguments.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // read through Debug in the printout only
struct ImportOptions {
    #[serde(default = "normal")]
    mode: String,
    #[serde(default)]
    dry_run: bool,
}

fn normal() -> String {
    "normal".to_owned()
}

/// One payload to send: what Karafka would produce for one `perform_later`.
struct Enqueued {
    topic: String,
    key: Option<String>,
    payload: Vec<u8>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bootstrap =
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:39092".to_owned());
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/8.1");
    let jobs = golden_jobs(&fixtures)?;
    produce(&bootstrap, &jobs).await?;
    println!("enqueued {} Ruby jobs; running them in Rust:", jobs.len());

    let performed = Arc::new(AtomicUsize::new(0));
    let registry = registry(performed.clone());
    let topics: BTreeSet<&str> = jobs.iter().map(|j| j.topic.as_str()).collect();
    let mut config = WorkerConfig::builder().bootstrap_servers(&bootstrap);
    for topic in topics {
        config = config.topic(TopicConfig::new(topic));
    }
    let worker = Worker::new(config.build()?, registry);
    let shutdown = worker.shutdown_handle();
    let expected = jobs.len();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while performed.load(Ordering::SeqCst) < expected && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.shutdown();
    });
    let stats = worker.stats();
    worker.run().await?;
    let s = stats.snapshot();
    println!(
        "done: {} jobs performed, {} failed runs, topics drained and offsets committed",
        s.jobs_succeeded, s.job_failures
    );
    anyhow::ensure!(s.jobs_succeeded as usize >= expected, "not every job ran");
    Ok(())
}

/// Prints each performed job and counts it, so the demo knows when every job ran.
#[derive(Clone)]
struct Performed(Arc<AtomicUsize>);

impl Performed {
    fn report(&self, ctx: &JobContext) -> anyhow::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let args: Vec<String> = ctx.job().arguments.iter().map(|a| a.to_string()).collect();
        println!(
            "  performed {}({}) topic={} partition={} offset={}",
            ctx.job().job_class,
            args.join(", "),
            ctx.topic(),
            ctx.partition(),
            ctx.offset()
        );
        Ok(())
    }
}

/// The handlers, one line per Ruby job class.
fn registry(performed: Arc<AtomicUsize>) -> Registry {
    let options = DecodeOptions::from_toml_file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.toml"),
    )
    .expect("fixtures/app.toml");
    let p = Performed(performed);
    let (p1, p2, p3, p4, p5, p6, p7) = (
        p.clone(),
        p.clone(),
        p.clone(),
        p.clone(),
        p.clone(),
        p.clone(),
        p,
    );
    Registry::with_options(options)
        // `EchoJob#perform(*args, **kwargs)` takes anything: read the decoded values directly.
        .register("EchoJob", move |_: IgnoredAny, ctx| {
            std::future::ready(p1.report(&ctx))
        })
        .register("ImportJob", move |(id, opts): (i64, ImportOptions), ctx| {
            let outcome = if opts.mode.is_empty() {
                Err(anyhow::anyhow!("import {id}: empty mode"))
            } else {
                p2.report(&ctx)
            };
            std::future::ready(outcome)
        })
        .register("CriticalJob", move |(_name,): (String,), ctx| {
            std::future::ready(p3.report(&ctx))
        })
        .register(
            "PrefixedMailerJob",
            move |(_template, _user): (String, GlobalId), ctx| std::future::ready(p4.report(&ctx)),
        )
        .register("DynamicQueueJob", move |(_tier, _n): (String, i64), ctx| {
            std::future::ready(p5.report(&ctx))
        })
        .register("SchedulingJob", move |(_n,): (i64,), ctx| {
            std::future::ready(p6.report(&ctx))
        })
        .register("AttemptNumberJob", {
            let p = p7.clone();
            move |(_x,): (String,), ctx| std::future::ready(p.report(&ctx))
        })
        .register("RetryingJob", move |(_n,): (i64,), ctx| {
            std::future::ready(p7.report(&ctx))
        })
}

/// Every non-continuable 8.1 fixture with the topic and key its manifest gives.
fn golden_jobs(dir: &Path) -> anyhow::Result<Vec<Enqueued>> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let mut jobs = Vec::new();
    for fixture in manifest["fixtures"].as_array().into_iter().flatten() {
        let file = fixture["file"].as_str().unwrap_or_default();
        if file.starts_with("continuation_") {
            continue;
        }
        jobs.push(Enqueued {
            topic: fixture["kafka"]["topic"]
                .as_str()
                .unwrap_or("default")
                .to_owned(),
            key: fixture["kafka"]["key"].as_str().map(str::to_owned),
            payload: std::fs::read(dir.join(file))?,
        });
    }
    Ok(jobs)
}

async fn produce(bootstrap: &str, jobs: &[Enqueued]) -> anyhow::Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "true")
        .create()?;
    for job in jobs {
        let mut record = FutureRecord::to(&job.topic).payload(&job.payload);
        if let Some(key) = &job.key {
            record = record.key(key);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing to {}: {e}", job.topic))?;
    }
    Ok(())
}
