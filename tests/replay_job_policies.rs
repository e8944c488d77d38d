//! `replay` and job policies: a job whose error its class discards (`discard_on`) or retries
//! (`retry_on`) is reported as discarded / retried, as the worker handles it, not as failed;
//! an error no policy names is still a failure.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use activejob_karafka::registry::{JobPolicies, Registry, Requeue, RetryOn, Wait};
use activejob_karafka::replay::{Outcome, Replay};
use activejob_karafka::Job;
use futures::future::BoxFuture;
use futures::FutureExt;

#[derive(Debug, thiserror::Error)]
#[error("import {0} is gone")]
struct ImportGone(i64);

#[derive(Debug, thiserror::Error)]
#[error("the import service timed out")]
struct Timeout;

/// `ImportJob(1)` is discarded, `ImportJob(2)` retried, `ImportJob(3)` fails with an error no
/// policy names, any other id succeeds.
fn registry() -> Registry {
    Registry::new()
        .register("ImportJob", |(id,): (i64,), _ctx| async move {
            match id {
                1 => Err(ImportGone(id).into()),
                2 => Err(Timeout.into()),
                3 => Err(anyhow::anyhow!("import {id}: disk full")),
                _ => Ok(()),
            }
        })
        .with_policies(
            "ImportJob",
            JobPolicies::new()
                .discard_on::<ImportGone>()
                .retry_on::<Timeout>(
                    RetryOn::new()
                        .wait(Wait::Fixed(Duration::from_secs(30)))
                        .attempts(3),
                ),
        )
}

/// Writes `ImportJob(id)` payloads as `<id>.json` into a new directory.
fn payloads(ids: &[i64]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for id in ids {
        let job = Job::new("ImportJob").queue("imports").arg(*id);
        std::fs::write(dir.path().join(format!("{id}.json")), job.encode().unwrap()).unwrap();
    }
    dir
}

/// Counts the jobs re-enqueued through it.
#[derive(Clone, Default)]
struct CountingRequeue(Arc<AtomicUsize>);

impl Requeue for CountingRequeue {
    fn requeue(
        &self,
        _job: Job,
        _at: chrono::DateTime<chrono::Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }.boxed()
    }
}

// Each job's outcome follows its class's policy: discarded, retried (with the counters the
// retry carries), failed for an unnamed error, ok; the table shows the policy columns and the
// failure list holds only the real failure.
#[tokio::test]
async fn discarded_and_retried_jobs_are_reported_as_such() {
    let dir = payloads(&[1, 2, 3, 4]);
    let report = Replay::new(registry())
        .path(dir.path())
        .run()
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = report.jobs().iter().map(|j| j.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Discarded,
            Outcome::Retried,
            Outcome::Failed,
            Outcome::Ok
        ]
    );
    let counts = report.class("ImportJob");
    assert_eq!(
        (counts.ok, counts.failed, counts.discarded, counts.retried),
        (1, 1, 1, 1)
    );
    assert!(
        report.jobs()[0].reason.contains("ImportGone"),
        "{}",
        report.jobs()[0].reason
    );
    assert!(
        report.jobs()[1]
            .reason
            .starts_with("re-enqueued by retry_on (executions 1, to run at "),
        "{}",
        report.jobs()[1].reason
    );
    assert!(!report.all_ok(), "the unnamed error is a failure");
    let text = report.render(20);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("bad payload  discarded  retried"),
        "{text}"
    );
    assert!(text.contains("1 of 4 jobs did not succeed:\n"), "{text}");
    assert!(
        text.contains("2 of 4 jobs were taken by a job policy:\n"),
        "{text}"
    );
}

// A replay whose only errors are taken by policies passes, from a worker binary too (exit 0),
// and a retry goes through the registry's own requeue when it has one, as in the worker.
#[tokio::test]
async fn policy_outcomes_do_not_fail_a_replay() {
    let dir = payloads(&[1, 2, 4]);
    let requeues = CountingRequeue::default();
    let report = Replay::new(registry().with_requeue(requeues.clone()))
        .path(dir.path())
        .run()
        .await
        .unwrap();
    report.assert_all_ok();
    assert_eq!(requeues.0.load(Ordering::SeqCst), 1);

    let path = dir.path().to_str().unwrap().to_owned();
    let code = tokio::task::spawn_blocking(move || {
        activejob_karafka::cli::run_from(
            activejob_karafka::program!(),
            registry(),
            ["my-worker", "replay", "--no-progress", &path],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
}
