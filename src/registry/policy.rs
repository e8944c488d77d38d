//! Job policies per class: ActiveJob's `retry_on` and `discard_on`, and `dead_letter_on`, and
//! what each makes of a handler's error (a pure decision, [`JobPolicies::decide`]).

use crate::envelope::{EnvelopeTime, Job};
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which errors a policy catches: a type ([`ErrorKind::of`]) or a predicate
/// ([`ErrorKind::matching`]), with a name for logs and the `exception_executions` key.
#[derive(Clone)]
pub struct ErrorKind {
    name: String,
    catches: Arc<dyn Fn(&anyhow::Error) -> bool + Send + Sync>,
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorKind")
            .field("name", &self.name)
            .finish()
    }
}

impl ErrorKind {
    /// Errors of type `E` (found by [`anyhow::Error::downcast_ref`], so also under a
    /// `.context(..)`), named by the type's own name without its module path.
    pub fn of<E>() -> Self
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        ErrorKind {
            name: short_type_name(std::any::type_name::<E>()),
            catches: Arc::new(|error: &anyhow::Error| error.downcast_ref::<E>().is_some()),
        }
    }

    /// Errors for which `catches` is true, named `name`.
    pub fn matching(
        name: impl Into<String>,
        catches: impl Fn(&anyhow::Error) -> bool + Send + Sync + 'static,
    ) -> Self {
        ErrorKind {
            name: name.into(),
            catches: Arc::new(catches),
        }
    }

    /// The name in logs and, unless [`RetryOn::ruby_exceptions`] says otherwise, in the
    /// `exception_executions` key.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn catches(&self, error: &anyhow::Error) -> bool {
        (self.catches)(error)
    }
}

/// `std::any::type_name` without module paths: `my_app::errors::Timeout` is `Timeout`,
/// `my_app::Wrapped<std::io::Error>` is `Wrapped<Error>`.
fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            short.push_str(segment.rsplit("::").next().unwrap_or(&segment));
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(segment.rsplit("::").next().unwrap_or(&segment));
    short
}

/// How long `retry_on` waits before the retry runs, as Rails' `wait:` option.
#[derive(Clone)]
pub enum Wait {
    /// A fixed time, plus up to `jitter` of it at random (Rails' `wait: 5.seconds`). Rails
    /// truncates a duration to whole seconds (`to_i`); sub-second waits are kept here.
    Fixed(Duration),
    /// Rails' `:polynomially_longer` (`:exponentially_longer` before 7.1):
    /// `executions**4 + rand * executions**4 * jitter + 2` seconds, where `executions` is the
    /// error's count (about 3 s, 18 s, 83 s, 258 s, ...).
    PolynomiallyLonger,
    /// Computed from the error's count (Rails' `wait: ->(executions) { ... }`); no jitter is
    /// added, as in Rails. Build it with [`Wait::computed`].
    Computed(Arc<dyn Fn(u64) -> Duration + Send + Sync>),
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Fixed(wait) => f.debug_tuple("Fixed").field(wait).finish(),
            Wait::PolynomiallyLonger => f.write_str("PolynomiallyLonger"),
            Wait::Computed(_) => f.write_str("Computed(..)"),
        }
    }
}

impl Wait {
    /// A wait computed from the error's count, from 1 (Rails passes the same number).
    pub fn computed(wait: impl Fn(u64) -> Duration + Send + Sync + 'static) -> Self {
        Wait::Computed(Arc::new(wait))
    }

    /// The wait before a retry after the `executions`-th run that raised this error, with
    /// `random` in `[0, 1)` standing for Ruby's `Kernel.rand` (Rails' `determine_delay`).
    pub fn delay(&self, executions: u64, jitter: f64, random: f64) -> Duration {
        let seconds = |delay: f64| delay + jitter_for(delay, jitter, random);
        let total = match self {
            Wait::Fixed(wait) => seconds(wait.as_secs_f64()),
            Wait::PolynomiallyLonger => seconds((executions as f64).powi(4)) + 2.0,
            Wait::Computed(wait) => return wait(executions),
        };
        Duration::try_from_secs_f64(total).unwrap_or(Duration::MAX)
    }
}

/// Rails' `determine_jitter_for_delay`.
fn jitter_for(delay: f64, jitter: f64, random: f64) -> f64 {
    if jitter == 0.0 {
        0.0
    } else {
        random * delay * jitter
    }
}

/// How many runs `retry_on` allows, the first run included (Rails' `attempts:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    /// At most this many runs for this error, the original one included.
    Limited(u64),
    /// Retried until it succeeds (Rails' `attempts: :unlimited`, from 7.1).
    Unlimited,
}

/// The options of one `retry_on`, with Rails' defaults: 5 attempts, a 3 s wait, a jitter of
/// 0.15 (`config.active_job.retry_jitter` since Rails 6.1's defaults).
#[derive(Debug, Clone)]
pub struct RetryOn {
    attempts: Attempts,
    wait: Wait,
    jitter: f64,
    queue: Option<String>,
    priority: Option<i64>,
    ruby_exceptions: Option<String>,
}

impl Default for RetryOn {
    fn default() -> Self {
        RetryOn {
            attempts: Attempts::Limited(5),
            wait: Wait::Fixed(Duration::from_secs(3)),
            jitter: 0.15,
            queue: None,
            priority: None,
            ruby_exceptions: None,
        }
    }
}

impl RetryOn {
    /// Rails' defaults: `retry_on SomeError`.
    pub fn new() -> Self {
        RetryOn::default()
    }

    /// At most `attempts` runs, the first one included (`attempts: 10`).
    pub fn attempts(mut self, attempts: u64) -> Self {
        self.attempts = Attempts::Limited(attempts);
        self
    }

    /// Retried until it succeeds (`attempts: :unlimited`).
    pub fn unlimited(mut self) -> Self {
        self.attempts = Attempts::Unlimited;
        self
    }

    /// The wait before each retry (`wait:`).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// The random share of the wait added to a fixed or polynomial wait (`jitter:`; 0 for none).
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Re-enqueues on another queue (`queue:`), i.e. the topic the producer routes it to.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Re-enqueues with another priority (`priority:`).
    pub fn priority(mut self, priority: i64) -> Self {
        self.priority = Some(priority);
        self
    }

    /// The Ruby exception classes the same job's Ruby `retry_on` names, so that both count the
    /// same `exception_executions` entry. Ruby keys it by the list's `to_s`:
    /// `retry_on Net::OpenTimeout, Timeout::Error` counts under
    /// `"[Net::OpenTimeout, Timeout::Error]"`. Default: the [`ErrorKind`]'s name, as `"[Name]"`.
    pub fn ruby_exceptions<I, S>(mut self, classes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let classes: Vec<String> = classes.into_iter().map(Into::into).collect();
        self.ruby_exceptions = Some(format!("[{}]", classes.join(", ")));
        self
    }

    fn counter_key(&self, kind: &ErrorKind) -> String {
        self.ruby_exceptions
            .clone()
            .unwrap_or_else(|| format!("[{}]", kind.name))
    }
}

/// What a policy does with the errors it catches.
#[derive(Debug, Clone)]
enum Action {
    Retry(RetryOn),
    Discard,
    DeadLetter,
}

/// The error policies of one job class: ActiveJob's `retry_on` and `discard_on`, and
/// `dead_letter_on`, set with [`Registry::with_policies`](super::Registry::with_policies).
///
/// A Ruby job class says what happens when `perform` raises:
///
/// ```ruby
/// class ImportJob < ApplicationJob
///   retry_on Net::OpenTimeout, wait: :polynomially_longer, attempts: 10
///   discard_on ActiveRecord::RecordNotFound
/// end
/// ```
///
/// A Rust handler says the same at registration, naming its own error types:
///
/// ```
/// use activejob_karafka::registry::{JobPolicies, Registry, RetryOn, Wait};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the import service timed out")]
/// struct ServiceTimeout;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("import {0} no longer exists")]
/// struct ImportGone(i64);
///
/// let registry = Registry::new()
///     .register("ImportJob", |(id,): (i64,), _ctx| async move {
///         if id < 0 {
///             return Err(ImportGone(id).into());
///         }
///         Ok(())
///     })
///     .with_policies(
///         "ImportJob",
///         JobPolicies::new()
///             .retry_on::<ServiceTimeout>(RetryOn::new().wait(Wait::PolynomiallyLonger).attempts(10))
///             .discard_on::<ImportGone>(),
///     );
/// # let _ = registry;
/// ```
///
/// # Which errors a policy catches
///
/// A handler returns `anyhow::Result<()>`; a policy names an error *type* and catches an error
/// whose [`anyhow::Error::downcast_ref`] to that type succeeds: the error itself, also when it was
/// wrapped with `.context(..)` on the way up (as Ruby's `rescue_from` catches an exception by
/// `is_a?`). An error that merely has one of that type among its `source()`s is not caught: a
/// `reqwest::Error` caused by an `io::Error` is not an `io::Error`. For anything else,
/// [`ErrorKind::matching`] takes a predicate. As in Rails, the policies are searched from the
/// last declared to the first, and the first that catches the error is applied.
///
/// # What each policy does
///
/// - **`retry_on`** does what Rails' `retry_on` does: the job is re-enqueued as a new message,
///   through the registry's [`Requeue`](super::Requeue) (usually a
///   [`JobProducer`](crate::producer::JobProducer)), with `executions` counting this run,
///   `exception_executions["[ErrorName]"]` incremented (the key Ruby's `retry_on` uses, see
///   [`RetryOn::ruby_exceptions`]), `enqueued_at` now and `scheduled_at` now + the wait. A wait
///   that is not zero goes through Karafka Pro's Scheduled Messages proxy (the class's
///   `scheduled_messages_topic`); a zero wait is a plain enqueue, as Karafka OSS allows. Once the
///   broker acknowledged the new message the original is marked consumed, so a Ruby worker that
///   picks the retry up sees the counters Rails would have written. When the attempts have run
///   out, the error goes on to the topic's normal failure path (pause and retry in place, then
///   the dead letter queue), as Rails lets the exception bubble up to Karafka.
/// - **`discard_on`**: the message is marked consumed, counted (`discarded`) and logged; it is
///   never retried nor dead-lettered.
/// - **`dead_letter_on`**: the message goes straight to the topic's dead letter queue, without
///   the retries in place (Karafka Pro's DLQ `strategy` answering `:dispatch`). On a topic with
///   no dead letter queue the error follows the topic's normal failure path.
///
/// Errors no policy catches follow the topic's policy, as before: pause and retry in place.
#[derive(Debug, Clone, Default)]
pub struct JobPolicies {
    /// In declaration order; searched from the last.
    rules: Vec<(ErrorKind, Action)>,
}

impl JobPolicies {
    /// No policies: every error follows the topic's failure path.
    pub fn new() -> Self {
        JobPolicies::default()
    }

    /// `retry_on E`: re-enqueue the job after a wait, up to `retry`'s attempts.
    pub fn retry_on<E>(self, retry: RetryOn) -> Self
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.retry_on_kind(ErrorKind::of::<E>(), retry)
    }

    /// `discard_on E`: mark the message consumed, count and log it; never retry it.
    pub fn discard_on<E>(self) -> Self
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.discard_on_kind(ErrorKind::of::<E>())
    }

    /// `dead_letter_on E`: send the message straight to the topic's dead letter queue.
    pub fn dead_letter_on<E>(self) -> Self
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.dead_letter_on_kind(ErrorKind::of::<E>())
    }

    /// [`retry_on`](Self::retry_on) for the errors `kind` catches.
    pub fn retry_on_kind(mut self, kind: ErrorKind, retry: RetryOn) -> Self {
        self.rules.push((kind, Action::Retry(retry)));
        self
    }

    /// [`discard_on`](Self::discard_on) for the errors `kind` catches.
    pub fn discard_on_kind(mut self, kind: ErrorKind) -> Self {
        self.rules.push((kind, Action::Discard));
        self
    }

    /// [`dead_letter_on`](Self::dead_letter_on) for the errors `kind` catches.
    pub fn dead_letter_on_kind(mut self, kind: ErrorKind) -> Self {
        self.rules.push((kind, Action::DeadLetter));
        self
    }

    /// True when no policy is declared.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What to do after `job`'s run failed with `error`: the last declared policy that catches
    /// it decides. `random` in `[0, 1)` is the jitter's `Kernel.rand`.
    pub(crate) fn decide(
        &self,
        job: &Job,
        error: &anyhow::Error,
        now: DateTime<Utc>,
        random: f64,
    ) -> Decision {
        let Some((kind, action)) = self
            .rules
            .iter()
            .rev()
            .find(|(kind, _)| kind.catches(error))
        else {
            return Decision::Unhandled;
        };
        let name = kind.name.clone();
        match action {
            Action::Discard => Decision::Discard { kind: name },
            Action::DeadLetter => Decision::DeadLetter { kind: name },
            Action::Retry(retry) => retried(job, kind, retry, now, random),
        }
    }
}

/// What a failed run leads to under a class's policies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// No policy catches the error: the topic's failure path.
    Unhandled,
    /// `retry_on`: enqueue `job` (the counters already updated) to run at `at`.
    Retry {
        kind: String,
        job: Box<Job>,
        at: DateTime<Utc>,
        count: u64,
    },
    /// `retry_on`, with its attempts used up: the topic's failure path.
    Exhausted { kind: String, count: u64 },
    /// `discard_on`.
    Discard { kind: String },
    /// `dead_letter_on`.
    DeadLetter { kind: String },
}

/// Rails' `retry_on` handler: `executions_for` counts the error (or falls back to `executions`
/// for a payload without `exception_executions`), then `retry_job` or give up.
fn retried(
    job: &Job,
    kind: &ErrorKind,
    retry: &RetryOn,
    now: DateTime<Utc>,
    random: f64,
) -> Decision {
    let mut next = job.clone();
    // `perform_now` counted this run before `perform` raised.
    let executions = job.executions.unwrap_or(0).saturating_add(1);
    next.executions = Some(executions);
    let key = retry.counter_key(kind);
    let count = match next.exception_executions.as_mut() {
        Some(counters) => {
            let count = counters.get(&key).and_then(Json::as_i64).unwrap_or(0) + 1;
            counters.insert(key, Json::from(count));
            count
        }
        None => executions,
    };
    let count = u64::try_from(count).unwrap_or(0);
    let name = kind.name.clone();
    if matches!(retry.attempts, Attempts::Limited(max) if count >= max) {
        return Decision::Exhausted { kind: name, count };
    }
    let wait = retry.wait.delay(count, retry.jitter, random);
    let at = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    next.enqueued_at = Some(EnvelopeTime::new(now));
    next.scheduled_at = Some(EnvelopeTime::new(at));
    if let Some(queue) = &retry.queue {
        next.queue_name = Some(queue.clone());
    }
    if let Some(priority) = retry.priority {
        next.priority = Some(priority);
    }
    Decision::Retry {
        kind: name,
        job: Box::new(next),
        at,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, thiserror::Error)]
    #[error("timed out")]
    struct Timeout;

    #[derive(Debug, thiserror::Error)]
    #[error("gone")]
    struct Gone;

    fn job(payload: serde_json::Value) -> Job {
        Job::decode(payload.to_string().as_bytes()).expect("a job")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T03:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn polynomially_longer_is_rails_formula() {
        // Rails: executions**4 + Kernel.rand * executions**4 * jitter + 2.
        let wait = Wait::PolynomiallyLonger;
        assert_eq!(wait.delay(1, 0.15, 0.0), Duration::from_secs(3));
        assert_eq!(wait.delay(2, 0.15, 0.0), Duration::from_secs(18));
        assert_eq!(wait.delay(3, 0.0, 0.9), Duration::from_secs(83));
        // 3**4 = 81, jitter 0.15 * 0.5 * 81 = 6.075, + 2.
        assert_eq!(wait.delay(3, 0.15, 0.5), Duration::from_secs_f64(89.075));
        let fixed = Wait::Fixed(Duration::from_secs(10));
        assert_eq!(fixed.delay(7, 0.15, 0.5), Duration::from_secs_f64(10.75));
        assert_eq!(fixed.delay(7, 0.0, 0.5), Duration::from_secs(10));
        let computed = Wait::computed(|n| Duration::from_secs(n * 2));
        assert_eq!(computed.delay(4, 0.15, 0.9), Duration::from_secs(8));
    }

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("my_app::errors::Timeout"), "Timeout");
        assert_eq!(
            short_type_name("my_app::Wrapped<std::io::Error>"),
            "Wrapped<Error>"
        );
        assert_eq!(ErrorKind::of::<Timeout>().name(), "Timeout");
    }

    #[test]
    fn retry_counts_as_rails_retry_on_does() {
        let policies = JobPolicies::new().retry_on::<Timeout>(
            RetryOn::new()
                .attempts(3)
                .wait(Wait::PolynomiallyLonger)
                .ruby_exceptions(["Net::OpenTimeout", "Timeout::Error"]),
        );
        let first = job(
            json!({"job_class": "ImportJob", "arguments": [1], "executions": 0,
            "exception_executions": {"[Other]": 4}}),
        );
        let error = anyhow::Error::new(Timeout).context("calling the service");
        let Decision::Retry {
            job: next,
            at,
            count,
            ..
        } = policies.decide(&first, &error, now(), 0.0)
        else {
            panic!("a retry")
        };
        assert_eq!(count, 1);
        assert_eq!(next.executions, Some(1));
        assert_eq!(
            Json::Object(next.exception_executions.clone().unwrap()),
            json!({"[Other]": 4, "[Net::OpenTimeout, Timeout::Error]": 1})
        );
        assert_eq!(at, now() + chrono::Duration::seconds(3));
        assert_eq!(
            next.scheduled_at.as_ref().unwrap().time.instant.to_utc(),
            at
        );

        let second = policies.decide(&next, &anyhow::Error::new(Timeout), now(), 0.0);
        let Decision::Retry {
            job: next,
            count: 2,
            at,
            ..
        } = second
        else {
            panic!("a second retry: {second:?}")
        };
        assert_eq!(at, now() + chrono::Duration::seconds(18));
        // The third run is the last of three attempts.
        assert_eq!(
            policies.decide(&next, &anyhow::Error::new(Timeout), now(), 0.0),
            Decision::Exhausted {
                kind: "Timeout".into(),
                count: 3
            }
        );
    }

    #[test]
    fn a_payload_without_exception_executions_counts_executions() {
        // Rails' executions_for: jobs persisted before per-error counters use `executions`.
        let policies = JobPolicies::new().retry_on::<Timeout>(RetryOn::new().attempts(3));
        let old = job(json!({"job_class": "ImportJob", "arguments": [], "executions": 2}));
        assert_eq!(
            policies.decide(&old, &anyhow::Error::new(Timeout), now(), 0.0),
            Decision::Exhausted {
                kind: "Timeout".into(),
                count: 3
            }
        );
        let unlimited = JobPolicies::new().retry_on::<Timeout>(RetryOn::new().unlimited());
        assert!(matches!(
            unlimited.decide(&old, &anyhow::Error::new(Timeout), now(), 0.0),
            Decision::Retry { count: 3, .. }
        ));
    }

    #[test]
    fn the_last_declared_policy_that_catches_the_error_decides() {
        let policies = JobPolicies::new()
            .discard_on::<Timeout>()
            .dead_letter_on::<Gone>()
            .discard_on_kind(ErrorKind::matching("Quota", |e| {
                e.to_string().contains("quota")
            }));
        let job = job(json!({"job_class": "ImportJob", "arguments": []}));
        let decide = |error: anyhow::Error| policies.decide(&job, &error, now(), 0.0);
        assert_eq!(
            decide(Timeout.into()),
            Decision::Discard {
                kind: "Timeout".into()
            }
        );
        assert_eq!(
            decide(Gone.into()),
            Decision::DeadLetter {
                kind: "Gone".into()
            }
        );
        assert_eq!(
            decide(anyhow::anyhow!("over quota")),
            Decision::Discard {
                kind: "Quota".into()
            }
        );
        assert_eq!(decide(anyhow::anyhow!("other")), Decision::Unhandled);
        // A cause deeper in the chain is not the error itself.
        let caused = anyhow::Error::new(std::io::Error::other(Gone));
        assert_eq!(decide(caused), Decision::Unhandled);
        let later = JobPolicies::new()
            .discard_on::<Timeout>()
            .dead_letter_on::<Timeout>();
        assert_eq!(
            later.decide(&job, &Timeout.into(), now(), 0.0),
            Decision::DeadLetter {
                kind: "Timeout".into()
            }
        );
    }
}
