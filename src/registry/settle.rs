//! What a handler's error becomes under its class's [`JobPolicies`]: a retry re-enqueued here,
//! or a [`JobFailure`] for the worker's failure path.

use super::handler::{Requeue, RunEnv};
use super::policy::{Decision, JobPolicies};
use crate::consumer::JobFailure;
use crate::envelope::Job;
use chrono::Utc;
use std::sync::Arc;

/// Everything needed to settle one run's error: the class's policies, the registry's requeue
/// and the key of the message the job came from.
pub(super) struct Settle {
    policies: Option<Arc<JobPolicies>>,
    requeue: Option<Arc<dyn Requeue>>,
    key: Option<Vec<u8>>,
}

impl Settle {
    pub(super) fn new(
        policies: Option<&Arc<JobPolicies>>,
        env: &RunEnv,
        key: Option<&[u8]>,
    ) -> Self {
        // Only a retry needs the requeue and the key: copy nothing for classes without policies.
        let retries = any_policy(policies);
        Settle {
            key: key.filter(|_| retries).map(<[u8]>::to_vec),
            requeue: env.retry_requeue().filter(|_| retries).cloned(),
            policies: policies.cloned(),
        }
    }

    /// Whether settling an error looks at the job: only a class's policies decide by it, so
    /// without them a run need not keep its context for the error path.
    pub(super) fn needs_job(&self) -> bool {
        any_policy(self.policies.as_ref())
    }

    /// An error no policy catches: the topic's failure path takes it.
    pub(super) fn unhandled(error: &anyhow::Error) -> JobFailure {
        JobFailure::Failed(format!("{error:#}"))
    }

    /// `error` ended `job`'s run: the first policy that catches it decides, otherwise the topic's
    /// failure path ([`JobFailure::Failed`]). A retry is re-enqueued here and, once acknowledged,
    /// is a success for the worker (the original message is marked consumed).
    pub(super) async fn error(self, job: &Job, error: anyhow::Error) -> Result<(), JobFailure> {
        let Some(policies) = self.policies else {
            return Err(Self::unhandled(&error));
        };
        let text = format!("{error:#}");
        let (kind, next, at, count) =
            match policies.decide(job, &error, Utc::now(), fastrand::f64()) {
                Decision::Unhandled => return Err(JobFailure::Failed(text)),
                Decision::Discard { kind } => {
                    return Err(JobFailure::DiscardOn(format!("{kind}: {text}")))
                }
                Decision::DeadLetter { kind } => {
                    return Err(JobFailure::DeadLetterOn(format!("{kind}: {text}")))
                }
                Decision::Exhausted { kind, count } => {
                    tracing::warn!(
                        job_class = %job.job_class,
                        job_id = ?job.job_id,
                        error_kind = %kind,
                        executions = count,
                        "retry_on: attempts used up; the topic's failure path takes over"
                    );
                    return Err(JobFailure::Failed(text));
                }
                Decision::Retry {
                    kind,
                    job,
                    at,
                    count,
                } => (kind, job, at, count),
            };
        let Some(requeue) = self.requeue else {
            return Err(JobFailure::Failed(format!(
                "{text}: retry_on {kind} needs a producer to re-enqueue the job \
                 (Registry::with_requeue)"
            )));
        };
        requeue.requeue(*next, at, self.key).await.map_err(|e| {
            JobFailure::Failed(format!("{text}; re-enqueueing for retry_on failed: {e:#}"))
        })?;
        tracing::info!(
            job_class = %job.job_class,
            job_id = ?job.job_id,
            error_kind = %kind,
            executions = count,
            scheduled_at = %at,
            error = %text,
            "retry_on: job re-enqueued"
        );
        Ok(())
    }
}

/// Whether a class has a policy that can decide one of its errors.
fn any_policy(policies: Option<&Arc<JobPolicies>>) -> bool {
    policies.is_some_and(|p| !p.is_empty())
}
