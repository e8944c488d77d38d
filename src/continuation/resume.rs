//! The payload Rails 8.1 writes when a continuable job is interrupted and re-enqueued.

use super::steps::{ContinuableOptions, StepsOutcome};
use crate::envelope::{EnvelopeTime, Job};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};

/// Whether this run counts as a resumption: Rails' `around_perform :continue` adds one to
/// `resumptions` before running a job whose continuation already started.
pub fn is_resumption(job: &Job) -> bool {
    job.continuation.as_ref().is_some_and(|c| c.is_started())
}

/// The resumption count during this run (after Rails' increment at the start of the run).
pub fn resumptions_during_run(job: &Job) -> i64 {
    job.resumptions.unwrap_or(0) + i64::from(is_resumption(job))
}

/// Builds the payload that resumes `job` after a run that stopped with `outcome`.
///
/// As Rails' `resume_job` + `retry_job(**resume_options)`: `executions` counts this run,
/// `resumptions` is the count during this run, `exception_executions[reason] += 1`,
/// `enqueued_at` is now and `scheduled_at` is now + the resume wait; the job id stays.
/// `reason` is the interruption message, or for an error after advancing the error's message,
/// for every target that reads continuations: Rails main and 8-1-stable after 8.1.3.1 count
/// `resume_job(e)` under `e.to_s`; 8.1.0 to 8.1.3.1 used the text of `{exception: e}`, a key
/// nothing reads back (it only counts), which depends on the Ruby version's `Hash#inspect`.
pub fn resumed_job(
    job: &Job,
    outcome: &StepsOutcome,
    reason: &str,
    options: &ContinuableOptions,
    now: DateTime<Utc>,
) -> Job {
    let mut resumed = job.clone();
    resumed.executions = Some(job.executions.unwrap_or(0) + 1);
    resumed.resumptions = Some(resumptions_during_run(job));
    resumed.continuation = Some(outcome.continuation.clone());
    let counters = resumed.exception_executions.get_or_insert_with(Map::new);
    let count = counters.get(reason).and_then(Json::as_i64).unwrap_or(0) + 1;
    counters.insert(reason.to_owned(), Json::from(count));
    if let Some(queue) = &options.resume_queue {
        resumed.queue_name = Some(queue.clone());
    }
    resumed.enqueued_at = Some(EnvelopeTime::new(now));
    let wait = chrono::Duration::from_std(options.resume_wait).unwrap_or_default();
    resumed.scheduled_at = Some(EnvelopeTime::new(now + wait));
    resumed
}

/// Rails' `ResumeLimitError` message, when a run would exceed `max_resumptions`.
pub fn resume_limit_error(job: &Job, options: &ContinuableOptions) -> Option<String> {
    let max = options.max_resumptions?;
    (resumptions_during_run(job) >= i64::try_from(max).unwrap_or(i64::MAX))
        .then(|| format!("Job was resumed a maximum of {max} times"))
}
