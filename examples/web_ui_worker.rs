//! A worker for the Karafka Web UI demonstration (`scripts/karafka-web/run.sh`): the project's
//! command line (`consume --config worker.toml`) with Rust handlers for the two job classes the
//! Ruby side enqueues there:
//!
//! * `SlowJob(seconds)` sleeps, so that it shows on Jobs → Running while it runs;
//! * `FailingJob(*args)` always fails, so that its error shows on Errors.
//!
//! With `[web_ui] enabled = true` in the configuration, the worker reports to the Web UI.

use std::process::ExitCode;
use std::time::Duration;

use activejob_karafka::registry::{JobContext, Registry};

fn main() -> ExitCode {
    let registry = Registry::new()
        .register(
            "SlowJob",
            |(seconds,): (u64,), ctx: JobContext| async move {
                // Ends early when the worker stops, so a shutdown does not wait for the whole sleep.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
                while tokio::time::Instant::now() < deadline && !ctx.is_stopping() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(())
            },
        )
        .register(
            "FailingJob",
            |args: Vec<serde_json::Value>, _ctx: JobContext| async move {
                anyhow::bail!(
                    "FailingJob always fails (args: {})",
                    serde_json::Value::Array(args)
                )
            },
        );
    activejob_karafka::cli::run(activejob_karafka::program!(), registry)
}
