//! Handlers by Ruby job class name, with typed arguments.
//!
//! ```
//! use activejob_karafka::registry::{JobContext, Registry};
//!
//! #[derive(serde::Deserialize)]
//! struct ImportOptions { mode: String, dry_run: bool }
//!
//! let registry = Registry::new()
//!     .register("ImportJob", |(import_id, options): (i64, ImportOptions), ctx: JobContext| async move {
//!         println!("import {import_id} mode={} dry_run={} at offset {}", options.mode, options.dry_run, ctx.offset());
//!         Ok(())
//!     });
//! assert!(registry.contains("ImportJob"));
//! ```

use crate::arguments::from_values;
use crate::consumer::{InboundMessage, JobFailure, MessageHandler, PartitionSignals};
use crate::continuation::{resume_limit_error, resumed_job, ContinuableOptions, StepError, Steps};
use crate::envelope::{EnvelopeTime, Job};
use crate::options::DecodeOptions;
use crate::payload_format::{job_json_in, PayloadFormat};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// What a handler returns: any error fails the job (it is retried, then dead-lettered).
pub type HandlerResult = anyhow::Result<()>;

/// Everything about the running job besides its arguments.
#[derive(Debug, Clone)]
pub struct JobContext {
    job: Arc<Job>,
    message: Arc<InboundMessage>,
    signals: PartitionSignals,
    shadow: bool,
}

impl JobContext {
    /// A context for `job` read from `message`.
    pub fn new(job: Arc<Job>, message: Arc<InboundMessage>, signals: PartitionSignals) -> Self {
        JobContext {
            job,
            message,
            signals,
            shadow: false,
        }
    }

    /// The same context with [`is_shadow`](Self::is_shadow) set to `shadow`: for testing how a
    /// handler behaves under [`crate::shadow::Shadow`].
    pub fn with_shadow(mut self, shadow: bool) -> Self {
        self.shadow = shadow;
        self
    }

    /// True when the job runs in shadow mode ([`crate::shadow::Shadow`], `consume --shadow`):
    /// the Ruby workers are still serving the topic, so a handler should skip side effects that
    /// must happen once (emails, payments, writes to shared stores, enqueueing other jobs) and
    /// only exercise what is safe to run twice.
    pub fn is_shadow(&self) -> bool {
        self.shadow
    }

    /// The whole decoded job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job's UUID (constant across retries).
    pub fn job_id(&self) -> Option<&str> {
        self.job.job_id.as_deref()
    }

    /// How many times Ruby ran the job before this payload was written.
    pub fn executions(&self) -> i64 {
        self.job.executions.unwrap_or(0)
    }

    /// When the payload was written.
    pub fn enqueued_at(&self) -> Option<&EnvelopeTime> {
        self.job.enqueued_at.as_ref()
    }

    /// When the job was meant to run (Karafka runs it when consumed).
    pub fn scheduled_at(&self) -> Option<&EnvelopeTime> {
        self.job.scheduled_at.as_ref()
    }

    /// The job's locale (`I18n.locale` at enqueue).
    pub fn locale(&self) -> Option<&str> {
        self.job.locale.as_deref()
    }

    /// The job's time zone name (`Time.zone.name` at enqueue).
    pub fn timezone(&self) -> Option<&str> {
        self.job.timezone.as_deref()
    }

    /// Karafka's persisted CurrentAttributes: the `cattr_0`, `cattr_1`, ... objects in order.
    pub fn current_attributes(&self) -> Vec<&Map<String, Json>> {
        (0..)
            .map_while(|i| self.job.extra.get(&format!("cattr_{i}")))
            .filter_map(Json::as_object)
            .collect()
    }

    /// The Kafka topic.
    pub fn topic(&self) -> &str {
        &self.message.topic
    }

    /// The Kafka partition.
    pub fn partition(&self) -> i32 {
        self.message.partition
    }

    /// The message offset.
    pub fn offset(&self) -> i64 {
        self.message.offset
    }

    /// The message key.
    pub fn key(&self) -> Option<&[u8]> {
        self.message.key.as_deref()
    }

    /// The message headers.
    pub fn headers(&self) -> &[(String, Option<Vec<u8>>)] {
        &self.message.headers
    }

    /// True once the partition was taken from this worker: a long job should stop early.
    pub fn is_revoked(&self) -> bool {
        self.signals.is_revoked()
    }

    /// True once the worker is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.signals.is_stopping()
    }

    /// The partition's signals, e.g. to `select!` on [`PartitionSignals::cancelled`].
    pub fn signals(&self) -> &PartitionSignals {
        &self.signals
    }
}

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
struct RunEnv {
    requeue: Option<Arc<dyn Requeue>>,
    shadow: bool,
}

/// The run of a job, or why it cannot start (its arguments do not fit the handler).
type Run = Result<BoxFuture<'static, Result<(), JobFailure>>, JobFailure>;

/// A job handler, its argument type erased.
trait ErasedHandler: Send + Sync {
    fn call(&self, job: Arc<Job>, ctx: JobContext, env: &RunEnv) -> Run;
}

fn decode_args<A: DeserializeOwned>(job: &Job) -> Result<A, JobFailure> {
    from_values::<A>(&job.arguments).map_err(|e| {
        JobFailure::Undecodable(format!(
            "arguments do not fit the {} handler: {e}",
            job.job_class
        ))
    })
}

struct TypedHandler<F, A> {
    f: F,
    _args: std::marker::PhantomData<fn() -> A>,
}

impl<F, A, Fut> ErasedHandler for TypedHandler<F, A>
where
    F: Fn(A, JobContext) -> Fut + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, job: Arc<Job>, ctx: JobContext, _env: &RunEnv) -> Run {
        let args = decode_args::<A>(&job)?;
        Ok((self.f)(args, ctx)
            .map(|outcome| outcome.map_err(|e| JobFailure::Failed(format!("{e:#}"))))
            .boxed())
    }
}

struct ContinuableHandler<F, A> {
    f: F,
    options: ContinuableOptions,
    _args: std::marker::PhantomData<fn() -> A>,
}

impl<F, A, Fut> ErasedHandler for ContinuableHandler<F, A>
where
    F: Fn(A, JobContext, Steps) -> Fut + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, job: Arc<Job>, ctx: JobContext, env: &RunEnv) -> Run {
        let args = decode_args::<A>(&job)?;
        let continuation = job.continuation.clone().unwrap_or_default();
        let steps = Steps::new(continuation, ctx.signals().clone());
        let key = ctx.key().map(<[u8]>::to_vec);
        let run = (self.f)(args, ctx, steps.clone());
        let options = self.options.clone();
        let requeue = env.requeue.clone();
        Ok(async move {
            let outcome = run.await;
            settle_continuation(&job, outcome, &steps, &options, requeue, key).await
        }
        .boxed())
    }
}

/// Decides what a continuable run's end means, as Rails' `Continuable#continue` does: done,
/// resumed (re-enqueued with its progress, then marked consumed), or failed.
async fn settle_continuation(
    job: &Job,
    outcome: HandlerResult,
    steps: &Steps,
    options: &ContinuableOptions,
    requeue: Option<Arc<dyn Requeue>>,
    key: Option<Vec<u8>>,
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
        (None, _) => return Err(JobFailure::Failed(format!("{error:#}"))),
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

/// Handlers by Ruby job class name. Register at start-up; the worker looks them up per message.
///
/// The handler table is read-only once the worker runs (a plain map behind an `Arc`, no lock
/// per lookup); a clone made before a `register` call does not see that registration.
#[derive(Clone)]
pub struct Registry {
    handlers: Arc<HashMap<String, Arc<dyn ErasedHandler>>>,
    options: Arc<DecodeOptions>,
    env: RunEnv,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("job_classes", &self.job_classes())
            .finish()
    }
}

impl Registry {
    /// An empty registry decoding with default [`DecodeOptions`].
    pub fn new() -> Self {
        Registry::with_options(DecodeOptions::default())
    }

    /// An empty registry with the application's decode options.
    pub fn with_options(options: DecodeOptions) -> Self {
        Registry {
            handlers: Arc::default(),
            options: Arc::new(options),
            env: RunEnv::default(),
        }
    }

    /// Sets how interrupted continuable jobs are re-enqueued (usually a
    /// [`crate::producer::JobProducer`]).
    ///
    /// Logs a warning when the registry reads a [`PayloadFormat`] and `requeue` writes none, or
    /// the other way round: the Ruby application, and this worker, could not read the resumed
    /// jobs.
    pub fn with_requeue(mut self, requeue: impl Requeue) -> Self {
        if let Some(problem) = self.format_mismatch(&requeue) {
            tracing::warn!("{problem}");
        }
        self.env.requeue = Some(Arc::new(requeue));
        self
    }

    /// Why the jobs `requeue` writes would not be read back, if they would not.
    fn format_mismatch(&self, requeue: &impl Requeue) -> Option<&'static str> {
        // A shadow worker re-enqueues nothing.
        if self.env.shadow {
            return None;
        }
        match (&self.options.payload_format, requeue.payload_format()) {
            (Some(_), None) => Some(
                "the registry reads a payload format but its requeue writes none: \
                 resumed continuations would be undecodable (set the JobProducer's payload_format)",
            ),
            (None, Some(_)) => Some(
                "the requeue writes a payload format the registry does not read: \
                 resumed continuations would be undecodable (set DecodeOptions::payload_format)",
            ),
            _ => None,
        }
    }

    /// The same handlers, running with [`JobContext::is_shadow`] true (see [`crate::shadow`]).
    pub(crate) fn shadowed(mut self) -> Self {
        self.env.shadow = true;
        self
    }

    /// Registers a handler for a continuable job class (`include ActiveJob::Continuable`).
    ///
    /// The handler gets the job's [`Steps`]: completed steps are skipped, the interrupted one
    /// resumes at its cursor, and a checkpoint on a stopping worker or revoked partition
    /// re-enqueues the job with its progress (then the original message is marked consumed).
    ///
    /// # Panics
    ///
    /// As [`register`](Self::register), when `job_class` cannot be a Ruby class name.
    pub fn register_continuable<A, F, Fut>(
        mut self,
        job_class: impl Into<String>,
        options: ContinuableOptions,
        handler: F,
    ) -> Self
    where
        F: Fn(A, JobContext, Steps) -> Fut + Send + Sync + 'static,
        A: DeserializeOwned + Send + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        Arc::make_mut(&mut self.handlers).insert(
            ruby_class_name(job_class.into()),
            Arc::new(ContinuableHandler {
                f: handler,
                options,
                _args: std::marker::PhantomData,
            }),
        );
        self
    }

    /// Registers `handler` for Ruby job class `job_class`: one line per job class.
    ///
    /// `A` is the argument list as a serde type: a tuple such as `(i64, ImportOptions)` takes the
    /// positional arguments in order (keyword arguments arrive as the last, a Hash).
    ///
    /// `job_class` is matched exactly against the payload's `job_class`, which Rails writes as
    /// the class's full constant path (`V1::StatisticsWorker`, not `StatisticsWorker`).
    ///
    /// # Panics
    ///
    /// When `job_class` cannot be a Ruby class name (`statistics_worker`, `::ImportJob`,
    /// `ImportJob `): no payload could ever match it. Like an invalid route in axum, this is
    /// a mistake in the program, found at start-up.
    pub fn register<A, F, Fut>(mut self, job_class: impl Into<String>, handler: F) -> Self
    where
        F: Fn(A, JobContext) -> Fut + Send + Sync + 'static,
        A: DeserializeOwned + Send + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        Arc::make_mut(&mut self.handlers).insert(
            ruby_class_name(job_class.into()),
            Arc::new(TypedHandler {
                f: handler,
                _args: std::marker::PhantomData,
            }),
        );
        self
    }

    /// Whether a handler is registered for `job_class`.
    pub fn contains(&self, job_class: &str) -> bool {
        self.handlers.contains_key(job_class)
    }

    /// A registered job class that `job_class` was probably meant to match, when there is no
    /// handler for `job_class` itself: one that differs only in letter case, or only in its
    /// namespace (`StatisticsWorker` registered, `V1::StatisticsWorker` enqueued).
    pub fn similar_job_class(&self, job_class: &str) -> Option<&str> {
        if self.contains(job_class) {
            return None;
        }
        // The first in name order, so that the answer does not depend on the map's order.
        self.handlers
            .keys()
            .map(String::as_str)
            .filter(|registered| {
                registered.eq_ignore_ascii_case(job_class)
                    || last_constant(registered) == last_constant(job_class)
            })
            .min()
    }

    /// The registered job class names, sorted.
    pub fn job_classes(&self) -> Vec<String> {
        let mut classes: Vec<String> = self.handlers.keys().cloned().collect();
        classes.sort();
        classes
    }

    /// The decode options in use.
    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// Decodes a message and runs its handler: what the worker does for each message.
    pub fn run(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        self.start(message, signals)
            .unwrap_or_else(|failure| futures::future::ready(Err(failure)).boxed())
    }

    /// The failure for a job with no handler to run it, with the reason in the log when a handler
    /// was probably meant for it.
    fn unknown_job_class(&self, job_class: String) -> JobFailure {
        if let Some(hint) = self.no_handler_hint(&job_class) {
            tracing::warn!(job_class, hint, "a job class without a handler");
        }
        JobFailure::UnknownJobClass(job_class)
    }

    /// Why a job of `job_class` reached no handler although one was probably meant for it: the
    /// application's `job_classes` do not list a registered class, or a similar class is
    /// registered.
    pub(crate) fn no_handler_hint(&self, job_class: &str) -> Option<String> {
        if self.contains(job_class) {
            return Some(
                "a handler is registered for it, but the application's job_classes \
                 (DecodeOptions, app.toml) do not list it"
                    .to_owned(),
            );
        }
        self.similar_job_class(job_class).map(|registered| {
            format!(
                "a handler is registered for {registered:?}: job classes are matched exactly, \
                 by Ruby's full constant path"
            )
        })
    }

    /// The run of a message's job, or why it cannot start (undecodable, no handler, arguments
    /// that do not fit).
    fn start(&self, message: Arc<InboundMessage>, signals: PartitionSignals) -> Run {
        let job = Arc::new(self.decode(&message)?);
        let handler = self
            .handlers
            .get(&job.job_class)
            .map(Arc::clone)
            .ok_or_else(|| self.unknown_job_class(job.job_class.clone()))?;
        let ctx = JobContext::new(Arc::clone(&job), message, signals).with_shadow(self.env.shadow);
        handler.call(job, ctx, &self.env)
    }

    fn decode(&self, message: &InboundMessage) -> Result<Job, JobFailure> {
        let payload = message.payload.as_deref().ok_or(JobFailure::Tombstone)?;
        Job::decode_with(payload, &self.options).map_err(|e| match e.kind {
            // The same failure as a class without a handler: it names the class.
            crate::DecodeErrorKind::UnknownJobClass => match self.job_class_of(payload) {
                Some(job_class) => self.unknown_job_class(job_class),
                None => JobFailure::UnknownJobClass(e.message),
            },
            _ => JobFailure::Undecodable(e.to_string()),
        })
    }

    /// The `job_class` string of a payload, read on its own (for the error of a class the
    /// application does not know).
    fn job_class_of(&self, payload: &[u8]) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct ClassOnly<'a> {
            #[serde(borrow)]
            job_class: std::borrow::Cow<'a, str>,
        }
        let job_json = job_json_in(self.options.payload_format.as_deref(), payload).ok()?;
        serde_json::from_slice::<ClassOnly<'_>>(&job_json)
            .ok()
            .map(|only| only.job_class.into_owned())
    }
}

impl MessageHandler for Registry {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        self.run(message, signals)
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.options.payload_format.clone()
    }
}

/// `job_class`, when it can be what Rails writes as `job_class`: a Ruby class's full name.
///
/// # Panics
///
/// Otherwise, saying why; see [`Registry::register`].
fn ruby_class_name(job_class: String) -> String {
    if let Err(why) = check_ruby_class_name(&job_class) {
        panic!(
            "cannot register job class {job_class:?}: {why}; Rails writes job_class as the \
             class's full constant path, such as \"ImportJob\" or \"V1::StatisticsWorker\""
        );
    }
    job_class
}

/// Whether `name` is a Ruby constant path: `::`-separated constants, each starting with a
/// capital letter and made of letters, digits and underscores (Ruby allows any non-ASCII
/// character in an identifier).
fn check_ruby_class_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".to_owned());
    }
    for constant in name.split("::") {
        let mut chars = constant.chars();
        match chars.next() {
            None => return Err("an empty part between `::`".to_owned()),
            Some(first)
                if !(first.is_ascii_uppercase() || !first.is_ascii() && first.is_uppercase()) =>
            {
                return Err(format!("{constant:?} does not start with a capital letter"))
            }
            Some(_) => {}
        }
        if let Some(bad) =
            chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()))
        {
            return Err(format!("{constant:?} contains {bad:?}"));
        }
    }
    Ok(())
}

/// The class's own name, without its namespace.
fn last_constant(job_class: &str) -> &str {
    job_class.rsplit("::").next().unwrap_or(job_class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn message(payload: &str) -> Arc<InboundMessage> {
        Arc::new(InboundMessage {
            topic: "default".into(),
            partition: 0,
            offset: 7,
            key: None,
            payload: Some(payload.as_bytes().to_vec()),
            headers: Vec::new(),
            timestamp_ms: None,
        })
    }

    fn outcome(registry: &Registry, payload: &str) -> Result<(), JobFailure> {
        registry
            .run(message(payload), PartitionSignals::detached())
            .now_or_never()
            .expect("a no-op job completes at once")
    }

    const BILLING: &str = r#"{"job_class":"BillingJob","job_id":"j1","arguments":[1]}"#;

    /// Writes in `format`, enqueues nothing.
    struct NullRequeue(Option<Arc<dyn PayloadFormat>>);

    impl Requeue for NullRequeue {
        fn requeue(
            &self,
            _job: Job,
            _at: DateTime<Utc>,
            _key: Option<Vec<u8>>,
        ) -> BoxFuture<'static, anyhow::Result<()>> {
            async { Ok(()) }.boxed()
        }

        fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
            self.0.clone()
        }
    }

    fn prefixed() -> Arc<dyn PayloadFormat> {
        Arc::new(crate::payload_format::testing::Prefixed("#"))
    }

    fn reading(format: Option<Arc<dyn PayloadFormat>>) -> Registry {
        Registry::with_options(DecodeOptions {
            payload_format: format,
            job_classes: Some(["ImportJob".to_owned()].into_iter().collect()),
            ..DecodeOptions::default()
        })
        .register("ImportJob", |_: (i64,), _ctx| async { Ok(()) })
    }

    #[test]
    fn a_registry_reads_through_its_payload_format() {
        let registry = reading(Some(prefixed()));
        let import = r#"#{"job_class":"ImportJob","arguments":[1]}"#;
        assert_eq!(outcome(&registry, import), Ok(()));
        // An unknown class is named from inside the format too.
        assert_eq!(
            outcome(&registry, &format!("#{BILLING}")),
            Err(JobFailure::UnknownJobClass("BillingJob".into()))
        );
        match outcome(&registry, BILLING) {
            Err(JobFailure::Undecodable(why)) => assert!(why.contains("payload format"), "{why}"),
            other => panic!("a payload not in the format: {other:?}"),
        }
    }

    #[test]
    fn a_requeue_writing_another_format_than_the_registry_reads_is_told() {
        let both = |read, write| reading(read).format_mismatch(&NullRequeue(write));
        assert_eq!(both(None, None), None);
        assert_eq!(both(Some(prefixed()), Some(prefixed())), None);
        assert!(both(Some(prefixed()), None).is_some_and(|w| w.contains("writes none")));
        assert!(both(None, Some(prefixed())).is_some_and(|w| w.contains("does not read")));
        let shadow = reading(Some(prefixed())).shadowed();
        assert_eq!(
            shadow.format_mismatch(&NullRequeue(None)),
            None,
            "shadow writes nothing"
        );
    }

    #[test]
    fn an_unknown_class_is_named_whether_the_app_or_the_registry_lacks_it() {
        let no_handler = Registry::new().register("ImportJob", |_: (i64,), _ctx| async { Ok(()) });
        assert_eq!(
            outcome(&no_handler, BILLING),
            Err(JobFailure::UnknownJobClass("BillingJob".into()))
        );

        let options = DecodeOptions {
            job_classes: Some(["ImportJob".to_owned()].into_iter().collect()),
            ..DecodeOptions::default()
        };
        let unknown_to_app = Registry::with_options(options)
            .register("ImportJob", |_: (i64,), _ctx| async { Ok(()) });
        assert_eq!(
            outcome(&unknown_to_app, BILLING),
            Err(JobFailure::UnknownJobClass("BillingJob".into()))
        );
    }

    #[test]
    fn a_registered_class_runs_with_typed_arguments() {
        let registry =
            Registry::new().register("BillingJob", |(id,): (i64,), ctx: JobContext| async move {
                anyhow::ensure!(id == 1 && ctx.job().job_id.as_deref() == Some("j1"));
                Ok(())
            });
        assert_eq!(outcome(&registry, BILLING), Ok(()));
        let wrong = r#"{"job_class":"BillingJob","arguments":["one"]}"#;
        assert!(
            matches!(outcome(&registry, wrong), Err(JobFailure::Undecodable(m)) if m.contains("arguments[0]"))
        );
    }

    fn noop(_: (), _: JobContext) -> futures::future::Ready<HandlerResult> {
        futures::future::ready(Ok(()))
    }

    #[test]
    fn ruby_class_names_are_accepted() {
        for name in [
            "ImportJob",
            "V1::StatisticsWorker",
            "A::B_2::C",
            "Ärger::Job",
        ] {
            assert_eq!(check_ruby_class_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_no_payload_can_carry_are_refused_with_the_reason() {
        for (name, why) in [
            ("", "empty"),
            ("statistics_worker", "capital"),
            ("::ImportJob", "empty part"),
            ("V1::", "empty part"),
            ("ImportJob ", "' '"),
            ("V1/StatisticsWorker", "'/'"),
            ("Import-Job", "'-'"),
        ] {
            let err = check_ruby_class_name(name).expect_err(name);
            assert!(err.contains(why), "{name}: {err}");
        }
    }

    #[test]
    #[should_panic(expected = "cannot register job class \"statistics_worker\"")]
    fn registering_a_name_no_payload_can_carry_panics() {
        let _ = Registry::new().register("statistics_worker", noop);
    }

    #[test]
    fn a_similar_registered_class_is_found_for_an_unknown_one() {
        let registry = Registry::new()
            .register("StatisticsWorker", noop)
            .register("Billing::InvoiceJob", noop);
        assert_eq!(
            registry.similar_job_class("V1::StatisticsWorker"),
            Some("StatisticsWorker")
        );
        assert_eq!(
            registry.similar_job_class("InvoiceJob"),
            Some("Billing::InvoiceJob")
        );
        assert_eq!(
            registry.similar_job_class("Billing::Invoicejob"),
            Some("Billing::InvoiceJob")
        );
        assert_eq!(registry.similar_job_class("StatisticsWorker"), None);
        assert_eq!(registry.similar_job_class("ReportJob"), None);
    }
}
