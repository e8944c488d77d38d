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

mod context;
mod handler;
mod names;
mod policy;
mod settle;
mod table;
#[cfg(test)]
mod tests;

use context::ContextParts;
pub use context::{HandlerResult, JobContext};
pub use handler::Requeue;
pub use policy::{Attempts, ErrorKind, JobPolicies, RetryOn, Wait};

use crate::consumer::{InboundMessage, JobFailure, MessageHandler, PartitionSignals};
use crate::continuation::{ContinuableOptions, Steps};
use crate::options::DecodeOptions;
use crate::payload_format::{job_json_in, PayloadFormat};
use crate::view::JobView;
use futures::future::BoxFuture;
use futures::FutureExt;
use handler::{ContinuableHandler, Run, RunEnv, TypedHandler};
use names::{resemblance, ruby_class_name};
use serde::de::DeserializeOwned;
use settle::Settle;
use std::future::Future;
use std::sync::Arc;
use table::JobTable;

/// Handlers by Ruby job class name. Register at start-up; the worker looks them up per message.
///
/// The table of job classes is read-only once the worker runs (a plain map behind an `Arc`, no
/// lock per lookup, one lookup per message for the handler and the policies together); a clone
/// made before a `register` call does not see that registration.
#[derive(Clone)]
pub struct Registry {
    jobs: Arc<JobTable>,
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
            jobs: Arc::default(),
            options: Arc::new(options),
            env: RunEnv::default(),
        }
    }

    /// The same handlers, decoding with `options` instead (e.g. an `app.toml` read at start-up:
    /// `consume --app`).
    pub fn with_decode_options(mut self, options: DecodeOptions) -> Self {
        self.options = Arc::new(options);
        self
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

    /// The same handlers with `retry_on` re-enqueueing through `requeue` instead of the
    /// registry's requeue (continuations keep that one): a replay records the retries.
    pub(crate) fn with_retry_requeue(mut self, requeue: Arc<dyn Requeue>) -> Self {
        self.env.retry_requeue = Some(requeue);
        self
    }

    /// The requeue set by [`with_requeue`](Self::with_requeue), if any.
    pub(crate) fn requeue(&self) -> Option<Arc<dyn Requeue>> {
        self.env.requeue.clone()
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
        Arc::make_mut(&mut self.jobs).set_handler(
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
        Arc::make_mut(&mut self.jobs).set_handler(
            ruby_class_name(job_class.into()),
            Arc::new(TypedHandler {
                f: handler,
                _args: std::marker::PhantomData,
            }),
        );
        self
    }

    /// Sets what happens when `job_class`'s handler returns an error: ActiveJob's `retry_on`
    /// and `discard_on`, and `dead_letter_on` (see [`JobPolicies`]). Replaces the class's
    /// earlier policies. A `retry_on` needs [`with_requeue`](Self::with_requeue) to
    /// re-enqueue the job; without it the error follows the topic's failure path, saying so.
    ///
    /// # Panics
    ///
    /// When no handler is registered for `job_class` yet: policies for a class no handler runs
    /// would never apply (register the handler first).
    pub fn with_policies(mut self, job_class: &str, policies: JobPolicies) -> Self {
        if !self.contains(job_class) {
            let hint = self
                .similar_job_class(job_class)
                .map(|similar| format!(" (a handler is registered for {similar:?})"))
                .unwrap_or_default();
            panic!(
                "cannot set policies for job class {job_class:?}: no handler is registered \
                 for it{hint}; register the handler first"
            );
        }
        Arc::make_mut(&mut self.jobs).set_policies(job_class, policies);
        self
    }

    /// The policies set for `job_class`, if any.
    pub fn policies(&self, job_class: &str) -> Option<&JobPolicies> {
        self.jobs.get(job_class)?.policies.as_deref()
    }

    /// Whether a handler is registered for `job_class`.
    pub fn contains(&self, job_class: &str) -> bool {
        self.jobs.get(job_class).is_some()
    }

    /// A registered job class that `job_class` was probably meant to match, when there is no
    /// handler for `job_class` itself: one that differs only in letter case, only in its
    /// namespace (`StatisticsWorker` registered, `V1::StatisticsWorker` enqueued), or by a typo
    /// (`ImporJob` for `ImportJob`: an edit distance of at most a quarter of the shorter name,
    /// and at least 1).
    pub fn similar_job_class(&self, job_class: &str) -> Option<&str> {
        if self.contains(job_class) {
            return None;
        }
        // The closest, then the first in name order: the answer does not depend on the map.
        self.jobs
            .names()
            .filter_map(|registered| {
                resemblance(registered, job_class).map(|distance| (distance, registered))
            })
            .min()
            .map(|(_, registered)| registered)
    }

    /// The registered job class names, sorted.
    pub fn job_classes(&self) -> Vec<String> {
        let mut classes: Vec<String> = self.jobs.names().map(str::to_owned).collect();
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
    ///
    /// The envelope is read in place and a typed handler's arguments straight from the
    /// payload ([`crate::view`]); the failures, and their order, are those of decoding the
    /// owned [`Job`](crate::Job) first.
    fn start(&self, message: Arc<InboundMessage>, signals: PartitionSignals) -> Run {
        let payload = message.payload.as_deref().ok_or(JobFailure::Tombstone)?;
        let view = match JobView::decode_with(payload, &self.options) {
            Ok(view) => view,
            Err(e) => return Err(self.decode_failure(e, payload)),
        };
        let Some(job) = self.jobs.get(view.job_class()) else {
            // An argument Rails cannot read fails the job before its missing handler does.
            view.to_job().map_err(|e| self.decode_failure(e, payload))?;
            return Err(self.unknown_job_class(view.job_class().to_owned()));
        };
        let parts = ContextParts {
            message: Arc::clone(&message),
            options: &self.options,
            signals,
            shadow: self.env.shadow,
        };
        let settle = Settle::new(job.policies.as_ref(), &self.env, parts.key());
        job.handler.call(view, parts, &self.env, settle)
    }

    /// The failure of a payload that does not decode.
    fn decode_failure(&self, e: crate::DecodeError, payload: &[u8]) -> JobFailure {
        match e.kind {
            // The same failure as a class without a handler: it names the class.
            crate::DecodeErrorKind::UnknownJobClass => match self.job_class_of(payload) {
                Some(job_class) => self.unknown_job_class(job_class),
                None => JobFailure::UnknownJobClass(e.message),
            },
            _ => JobFailure::Undecodable(e.to_string()),
        }
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
