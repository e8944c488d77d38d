//! `shop-worker`: runs the shop's `ImportJob` and `EchoJob` in Rust.
//!
//! ```sh
//! cargo run -- consume --config worker.toml      # the worker (KAFKA_BOOTSTRAP_SERVERS also works)
//! cargo run -- replay tests/jobs                  # recorded jobs through the same handlers
//! cargo run -- --help
//! ```

use activejob_karafka::producer::{JobOptions, JobProducer};
use activejob_karafka::registry::{JobContext, JobPolicies, Registry, RetryOn, Wait};
use std::process::ExitCode;
use std::time::Duration;

/// `ImportJob#perform(import_id, mode: :normal, dry_run: false)`: keyword arguments arrive as
/// the last argument, a Hash.
#[derive(serde::Deserialize)]
struct ImportOptions {
    mode: String,
    #[serde(default)]
    dry_run: bool,
}

/// The import service did not answer in time: worth retrying later.
#[derive(Debug, thiserror::Error)]
#[error("the import service timed out after {0:?}")]
struct ServiceTimeout(Duration);

/// The import was deleted meanwhile: nothing left to do.
#[derive(Debug, thiserror::Error)]
#[error("import {0} no longer exists")]
struct ImportGone(i64);

async fn import(import_id: i64, options: &ImportOptions) -> anyhow::Result<()> {
    if import_id <= 0 {
        return Err(ImportGone(import_id).into());
    }
    if options.dry_run {
        return Ok(());
    }
    let limit = Duration::from_secs(30);
    tokio::time::timeout(limit, async {
        println!("importing {import_id} ({})", options.mode);
    })
    .await
    .map_err(|_| ServiceTimeout(limit))?;
    Ok(())
}

fn registry() -> Registry {
    Registry::new()
        .register(
            "ImportJob",
            |(import_id, options): (i64, ImportOptions), _ctx: JobContext| async move {
                import(import_id, &options).await
            },
        )
        // As `retry_on ServiceTimeout, wait: :polynomially_longer, attempts: 10` and
        // `discard_on ImportGone` in the Ruby class.
        .with_policies(
            "ImportJob",
            JobPolicies::new()
                .retry_on::<ServiceTimeout>(
                    RetryOn::new().wait(Wait::PolynomiallyLonger).attempts(10),
                )
                .discard_on::<ImportGone>(),
        )
        .register(
            "EchoJob",
            |_: serde::de::IgnoredAny, ctx: JobContext| async move {
                println!("echo {:?} at offset {}", ctx.job().arguments, ctx.offset());
                Ok(())
            },
        )
}

fn main() -> ExitCode {
    let mut registry = registry();
    // retry_on re-enqueues through a producer; waits go through Karafka Pro's Scheduled Messages
    // topic. Without KAFKA_BOOTSTRAP_SERVERS there is none, and a retry_on error follows the
    // topic's failure path instead (the log says so).
    if let Ok(producer) = JobProducer::builder()
        .defaults(JobOptions::new().scheduled_messages_topic("scheduled_messages"))
        .build()
    {
        registry = registry.with_requeue(producer);
    }
    activejob_karafka::cli::run(activejob_karafka::program!(), registry)
}
