//! Handlers with their argument type erased, and how a continuable run ends.

use super::context::{ContextParts, HandlerResult, JobContext};
use super::settle::Settle;
use crate::consumer::JobFailure;
use crate::continuation::{resume_limit_error, resumed_job, ContinuableOptions, StepError, Steps};
use crate::envelope::Job;
use crate::payload_format::PayloadFormat;
use crate::view::{ArgumentsError, JobView};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// Re-enqueues a job: how an interrupted continuable job is resumed.
///
/// [`crate::producer::JobProducer`] implements it with Karafka's dispatch rules. The future
/// resolves once the broker acknowledged the payload: only then is the original message marked
/// consumed.
pub trait Requeue: Send + Sync + 'static {
    /// Enqueues `job` to run at `at` (now or earlier: at once). `key` is the key of the message
    /// the job came from, for keeping per-key order when no partitioner is configured.
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>>;

    /// The [`PayloadFormat`] the jobs are written in (a [`crate::producer::JobProducer`]'s), so
    /// that the registry can tell a worker that reads one format and re-enqueues in another.
    /// Default: none, the job's JSON as Karafka writes it.
    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        None
    }
}

/// What a handler run may need from the registry besides the job.
#[derive(Clone, Default)]
pub(super) struct RunEnv {
    pub(super) requeue: Option<Arc<dyn Requeue>>,
    /// Where `retry_on` re-enqueues when not through `requeue` (a replay records them).
    pub(super) retry_requeue: Option<Arc<dyn Requeue>>,
    pub(super) shadow: bool,
}

impl RunEnv {
    /// Where `retry_on` re-enqueues a job.
    pub(super) fn retry_requeue(&self) -> Option<&Arc<dyn Requeue>> {
        self.retry_requeue.as_ref().or(self.requeue.as_ref())
    }
}

/// The run of a job, or why it cannot start (its arguments do not fit the handler).
pub(super) type Run = Result<BoxFuture<'static, Result<(), JobFailure>>, JobFailure>;

/// A job handler, its argument type erased.
pub(super) trait ErasedHandler: Send + Sync {
    /// Starts a run of the job in `view`, with a context made of `parts` and the view (once the
    /// arguments are read from it); an error the handler returns goes through `settle`.
    fn call(&self, view: JobView<'_>, parts: ContextParts<'_>, env: &RunEnv, settle: Settle)
        -> Run;
}

/// The handler's arguments, read from the payload in place.
fn decode_args<A: DeserializeOwned>(view: &JobView<'_>) -> Result<A, JobFailure> {
    view.arguments::<A>().map_err(|e| match e {
        ArgumentsError::Fit(e) => JobFailure::Undecodable(format!(
            "arguments do not fit the {} handler: {e}",
            view.job_class()
        )),
        e => JobFailure::Undecodable(e.to_string()),
    })
}

/// The owned job, for what needs it (policies, continuations).
fn owned_job(ctx: &JobContext) -> Result<Arc<Job>, JobFailure> {
    ctx.shared_job()
        .map_err(|e| JobFailure::Undecodable(e.to_string()))
}

pub(super) struct TypedHandler<F, A> {
    pub(super) f: F,
    pub(super) _args: std::marker::PhantomData<fn() -> A>,
}

impl<F, A, Fut> ErasedHandler for TypedHandler<F, A>
where
    F: Fn(A, JobContext) -> Fut + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, view: JobView<'_>, parts: ContextParts<'_>, _: &RunEnv, settle: Settle) -> Run {
        let args = decode_args::<A>(&view)?;
        let ctx = parts.with_job(view.into_kept());
        // A clone of the context (one more reference count to take and give back per job) only
        // where a policy will decide an error by the job.
        let settling = settle.needs_job().then(|| (settle, ctx.clone()));
        let run = (self.f)(args, ctx);
        Ok(async move {
            match (run.await, settling) {
                (Ok(()), _) => Ok(()),
                // Boxed: deciding an error by the policies is a future much larger than the
                // run's, and every run's future would otherwise be that large and copied so.
                (Err(error), Some((settle, held))) => {
                    settle_error(settle, held, error).boxed().await
                }
                (Err(error), None) => Err(Settle::unhandled(&error)),
            }
        }
        .boxed())
    }
}

pub(super) struct ContinuableHandler<F, A> {
    pub(super) f: F,
    pub(super) options: ContinuableOptions,
    pub(super) _args: std::marker::PhantomData<fn() -> A>,
}

impl<F, A, Fut> ErasedHandler for ContinuableHandler<F, A>
where
    F: Fn(A, JobContext, Steps) -> Fut + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(
        &self,
        view: JobView<'_>,
        parts: ContextParts<'_>,
        env: &RunEnv,
        settle: Settle,
    ) -> Run {
        let args = decode_args::<A>(&view)?;
        let ctx = parts.with_job(view.into_kept());
        let job = owned_job(&ctx)?;
        let continuation = job.continuation.clone().unwrap_or_default();
        let steps = Steps::new(continuation, ctx.signals().clone());
        let key = ctx.key().map(<[u8]>::to_vec);
        let run = (self.f)(args, ctx, steps.clone());
        let options = self.options.clone();
        let requeue = env.requeue.clone();
        Ok(async move {
            let outcome = run.await;
            settle_continuation(&job, outcome, &steps, &options, requeue, key, settle).await
        }
        .boxed())
    }
}

/// What an error of a typed handler's run comes to, decided by its class's policies.
async fn settle_error(
    settle: Settle,
    held: JobContext,
    error: anyhow::Error,
) -> Result<(), JobFailure> {
    settle.error(&*owned_job(&held)?, error).await
}

/// Decides what a continuable run's end means, as Rails' `Continuable#continue` does: done,
/// resumed (re-enqueued with its progress, then marked consumed), or failed (then the class's
/// policies apply, as Rails' `rescue_from` handlers see what `continue` lets through).
#[allow(clippy::too_many_arguments)]
async fn settle_continuation(
    job: &Job,
    outcome: HandlerResult,
    steps: &Steps,
    options: &ContinuableOptions,
    requeue: Option<Arc<dyn Requeue>>,
    key: Option<Vec<u8>>,
    settle: Settle,
) -> Result<(), JobFailure> {
    let error = match outcome {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let state = steps.outcome();
    let reason = match (&state.interrupted, error.downcast_ref::<StepError>()) {
        (Some(interrupted), _) => interrupted.message.clone(),
        // Errors of the step API itself always propagate, as Continuation::Error does in Rails.
        (None, Some(step_error)) if !matches!(step_error, StepError::Failed(_)) => {
            return Err(JobFailure::Failed(step_error.to_string()));
        }
        (None, _) if options.resume_errors_after_advancing && state.advanced => {
            format!("{error:#}")
        }
        (None, _) => return settle.error(job, error).await,
    };
    if let Some(limit) = resume_limit_error(job, options) {
        return Err(JobFailure::Failed(limit));
    }
    let Some(requeue) = requeue else {
        return Err(JobFailure::Failed(format!(
            "{reason}: no producer is configured to re-enqueue the job (Registry::with_requeue)"
        )));
    };
    let now = Utc::now();
    let resumed = resumed_job(job, &state, &reason, options, now);
    let at = resumed
        .scheduled_at
        .as_ref()
        .map_or(now, |t| t.time.instant.to_utc());
    requeue
        .requeue(resumed, at, key)
        .await
        .map_err(|e| JobFailure::Failed(format!("{reason}; re-enqueueing failed: {e:#}")))?;
    tracing::info!(job_class = %job.job_class, job_id = ?job.job_id, %reason, "continuation re-enqueued");
    Ok(())
}
