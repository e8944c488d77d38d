//! Running a continuable job in Rust: `ActiveJob::Continuable`'s step API.
//!
//! A handler runs named steps in order. A resumed job skips the steps it completed and starts the
//! step it stopped in at its saved cursor. At each checkpoint (before every step but the first of
//! a run, and whenever a cursor is set or advanced) the job is interrupted if the worker is
//! stopping or its partition was revoked; the worker then re-enqueues the job with the payload
//! Rails 8.1 would write, so another run picks it up where this one stopped.
//!
//! ```
//! use activejob_karafka::continuation::{Steps, StepError};
//!
//! async fn perform(import_id: i64, steps: &mut Steps) -> Result<(), StepError> {
//!     steps.step("validate", async |_step| Ok(())).await?;
//!     steps
//!         .step_from("process_records", 0_i64, async |step| {
//!             while step.cursor::<i64>()? < 10 {
//!                 // ... process record number `step.cursor()` of `import_id` ...
//!                 step.advance()?; // a checkpoint: may interrupt the job here
//!             }
//!             Ok(())
//!         })
//!         .await?;
//!     steps.step("finalize", async |_step| Ok(())).await
//! }
//! # let _ = perform;
//! ```

use super::{Continuation, CurrentStep};
use crate::consumer::PartitionSignals;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a continuable job class behaves, as its Ruby class attributes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinuableOptions {
    /// `max_resumptions` (Rails default `nil`: unlimited).
    pub max_resumptions: Option<u64>,
    /// `resume_errors_after_advancing` (Rails default true): an error raised after the job made
    /// progress in this run re-enqueues it with that progress instead of failing it.
    pub resume_errors_after_advancing: bool,
    /// `resume_options[:wait]` (Rails default 5 s). Karafka OSS can only dispatch `wait: 0`;
    /// a longer wait goes through Scheduled Messages.
    pub resume_wait: Duration,
    /// `resume_options[:queue]`: re-enqueue to another queue (topic).
    pub resume_queue: Option<String>,
}

impl Default for ContinuableOptions {
    fn default() -> Self {
        ContinuableOptions {
            max_resumptions: None,
            resume_errors_after_advancing: true,
            resume_wait: Duration::from_secs(5),
            resume_queue: None,
        }
    }
}

impl ContinuableOptions {
    /// Sets `max_resumptions`.
    pub fn max_resumptions(mut self, max: u64) -> Self {
        self.max_resumptions = Some(max);
        self
    }

    /// Sets `resume_errors_after_advancing`.
    pub fn resume_errors_after_advancing(mut self, yes: bool) -> Self {
        self.resume_errors_after_advancing = yes;
        self
    }

    /// Sets `resume_options[:wait]` (`Duration::ZERO` is what Karafka OSS can run).
    pub fn resume_wait(mut self, wait: Duration) -> Self {
        self.resume_wait = wait;
        self
    }

    /// Sets `resume_options[:queue]`.
    pub fn resume_queue(mut self, queue: impl Into<String>) -> Self {
        self.resume_queue = Some(queue.into());
        self
    }
}

/// Why a job stopped at a checkpoint (the word Rails puts in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptReason {
    /// The worker is stopping or the partition was revoked (Rails' `queue_adapter.stopping?`).
    Stopping,
    /// An isolated step must run alone in its own execution.
    Isolating,
}

impl InterruptReason {
    fn as_str(self) -> &'static str {
        match self {
            InterruptReason::Stopping => "stopping",
            InterruptReason::Isolating => "isolating",
        }
    }
}

/// The job was interrupted at a checkpoint: return it from the handler (with `?`) and the worker
/// re-enqueues the job with its progress.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Interrupted {
    /// Rails' message, e.g. `Interrupted at 'process_records', cursor '3' (stopping)`; it is also
    /// the `exception_executions` key of the resumed payload.
    pub message: String,
    /// Why.
    pub reason: InterruptReason,
}

/// What can go wrong inside the step API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// Interrupted at a checkpoint; the job will be resumed.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// Steps ran in an order the saved progress does not match (Rails' `InvalidStepError`).
    #[error("{0}")]
    InvalidStep(String),
    /// The cursor has no successor (Rails' `UnadvanceableCursorError`).
    #[error("{0}")]
    UnadvanceableCursor(String),
    /// The cursor does not have the type the handler asked for.
    #[error("cursor of step '{step}': {message}")]
    Cursor {
        /// The step.
        step: String,
        /// What did not fit.
        message: String,
    },
    /// The step's own code failed.
    #[error("{0}")]
    Failed(String),
}

/// The interruption message Rails writes: `Interrupted at 'step', cursor '3' (stopping)`,
/// `Interrupted after 'a' (isolating)`, `Interrupted not started (stopping)`.
pub fn interrupt_message(continuation: &Continuation, reason: InterruptReason) -> String {
    let description = match (&continuation.current, continuation.completed.last()) {
        (Some(step), _) => format!(
            "at '{}', cursor '{}'",
            step.name,
            ruby_inspect(&step.cursor)
        ),
        (None, Some(last)) => format!("after '{last}'"),
        (None, None) => "not started".to_owned(),
    };
    format!("Interrupted {description} ({})", reason.as_str())
}

/// Ruby 3.3's `inspect` of a value as JSON hands it back (String keys, `=>`).
fn ruby_inspect(value: &Json) -> String {
    match value {
        Json::Null => "nil".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) if crate::error::is_integer_literal(n) => n.as_str().to_owned(),
        Json::Number(n) => crate::ruby::float::float_to_s(n.as_str().parse().unwrap_or(f64::NAN)),
        Json::String(s) => crate::ruby::string::inspect_str(s),
        Json::Array(items) => {
            let inner: Vec<String> = items.iter().map(ruby_inspect).collect();
            format!("[{}]", inner.join(", "))
        }
        Json::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}=>{}",
                        crate::ruby::string::inspect_str(k),
                        ruby_inspect(v)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// The shared record of one run: the worker reads it after the handler returns.
#[derive(Debug, Clone)]
pub struct StepsOutcome {
    /// Progress to write into a resumed payload.
    pub continuation: Continuation,
    /// Whether a step completed or a cursor moved during this run.
    pub advanced: bool,
    /// The interruption, when the run stopped at a checkpoint.
    pub interrupted: Option<Interrupted>,
}

#[derive(Debug)]
struct State {
    continuation: Continuation,
    /// Steps completed before this run, in the order they must be seen again.
    completed_on_entry: Vec<String>,
    /// The step this run must resume, from the payload.
    resume: Option<CurrentStep>,
    encountered: Vec<String>,
    running: Option<String>,
    advanced: bool,
    isolating: bool,
    interrupted: Option<Interrupted>,
}

/// A continuable job's steps, handed to its handler (see the module docs).
#[derive(Debug, Clone)]
pub struct Steps {
    state: Arc<Mutex<State>>,
    signals: PartitionSignals,
}

impl Steps {
    /// Steps resuming from `continuation` (fresh when it has no progress).
    pub fn new(continuation: Continuation, signals: PartitionSignals) -> Steps {
        let state = State {
            completed_on_entry: continuation.completed.clone(),
            resume: continuation.current.clone(),
            continuation: Continuation {
                completed: continuation.completed,
                current: continuation.current,
            },
            encountered: Vec::new(),
            running: None,
            advanced: false,
            isolating: false,
            interrupted: None,
        };
        Steps {
            state: Arc::new(Mutex::new(state)),
            signals,
        }
    }

    /// The state after the run, for the worker.
    pub fn outcome(&self) -> StepsOutcome {
        let state = self.lock();
        StepsOutcome {
            continuation: state.continuation.clone(),
            advanced: state.advanced,
            interrupted: state.interrupted.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking step poisons nothing the worker cannot still read.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a step without a cursor. Completed steps are skipped.
    pub async fn step<F>(&mut self, name: &str, f: F) -> Result<(), StepError>
    where
        F: AsyncFnOnce(&mut Step) -> anyhow::Result<()>,
    {
        self.run(name, Json::Null, false, f).await
    }

    /// Runs a step whose cursor starts at `start` (a resumed step starts at its saved cursor).
    pub async fn step_from<C, F>(&mut self, name: &str, start: C, f: F) -> Result<(), StepError>
    where
        C: Serialize,
        F: AsyncFnOnce(&mut Step) -> anyhow::Result<()>,
    {
        let start = serde_json::to_value(start).map_err(|e| StepError::Cursor {
            step: name.to_owned(),
            message: e.to_string(),
        })?;
        self.run(name, start, false, f).await
    }

    /// Runs a step alone in its own execution (`isolated: true`): if this run already made
    /// progress, the job is interrupted first and the step runs in the next execution.
    pub async fn isolated_step<F>(&mut self, name: &str, f: F) -> Result<(), StepError>
    where
        F: AsyncFnOnce(&mut Step) -> anyhow::Result<()>,
    {
        self.run(name, Json::Null, true, f).await
    }

    /// A checkpoint between steps: interrupts the job if the worker is stopping.
    pub fn checkpoint(&mut self) -> Result<(), StepError> {
        let mut state = self.lock();
        checkpoint(&mut state, &self.signals)
    }

    async fn run<F>(
        &mut self,
        name: &str,
        start: Json,
        isolated: bool,
        f: F,
    ) -> Result<(), StepError>
    where
        F: AsyncFnOnce(&mut Step) -> anyhow::Result<()>,
    {
        let mut step = match self.begin(name, start, isolated)? {
            Some(step) => step,
            None => return Ok(()),
        };
        let outcome = f(&mut step).await;
        let mut state = self.lock();
        state.running = None;
        state.advanced |= step.advanced;
        if let Some(interrupted) = step.interrupted.take() {
            state.continuation.current = Some(CurrentStep {
                name: name.to_owned(),
                cursor: step.cursor,
            });
            state.interrupted = Some(interrupted.clone());
            return Err(StepError::Interrupted(interrupted));
        }
        match outcome {
            Ok(()) => {
                state.continuation.completed.push(name.to_owned());
                state.continuation.current = None;
                state.advanced = true;
                if isolated {
                    state.isolating = true;
                }
                Ok(())
            }
            Err(e) => {
                state.continuation.current = Some(CurrentStep {
                    name: name.to_owned(),
                    cursor: step.cursor,
                });
                Err(match e.downcast::<StepError>() {
                    Ok(step_error) => step_error,
                    Err(other) => StepError::Failed(format!("{other:#}")),
                })
            }
        }
    }

    /// Validates the step's place, skips it if completed, checkpoints before it.
    fn begin(
        &mut self,
        name: &str,
        start: Json,
        isolated: bool,
    ) -> Result<Option<Step>, StepError> {
        let mut state = self.lock();
        validate(&state, name)?;
        state.encountered.push(name.to_owned());
        if state.completed_on_entry.iter().any(|c| c == name) {
            return Ok(None);
        }
        // Rails checkpoints before every step once the run has advanced; an isolated step (and
        // the one after it) interrupts instead so it runs in an execution of its own.
        if state.advanced && (isolated || state.isolating) {
            return Err(interrupt(&mut state, InterruptReason::Isolating).into());
        }
        if state.advanced {
            checkpoint(&mut state, &self.signals)?;
        }
        let resumed = state.resume.take().filter(|r| r.name == name);
        let cursor = resumed.as_ref().map_or(start, |r| r.cursor.clone());
        state.running = Some(name.to_owned());
        state.continuation.current = None;
        if isolated {
            state.isolating = true;
        }
        Ok(Some(Step {
            name: name.to_owned(),
            cursor,
            resumed: resumed.is_some(),
            advanced: false,
            interrupted: None,
            signals: self.signals.clone(),
        }))
    }
}

fn validate(state: &State, name: &str) -> Result<(), StepError> {
    let invalid = |message: String| Err(StepError::InvalidStep(message));
    if state.encountered.iter().any(|e| e == name) {
        return invalid(format!("Step '{name}' has already been encountered"));
    }
    if let Some(running) = &state.running {
        return invalid(format!("Step '{name}' is nested inside step '{running}'"));
    }
    let done = state.completed_on_entry.iter().any(|c| c == name);
    if let Some(resume) = &state.resume {
        if resume.name != name && !done {
            return invalid(format!(
                "Step '{name}' found, expected to resume from '{}'",
                resume.name
            ));
        }
    }
    let seen = state.encountered.len();
    if let Some(expected) = state.completed_on_entry.get(seen) {
        if expected != name {
            return invalid(format!("Step '{name}' found, expected to see '{expected}'"));
        }
    }
    Ok(())
}

fn checkpoint(state: &mut State, signals: &PartitionSignals) -> Result<(), StepError> {
    if signals.is_stopping() || signals.is_revoked() {
        return Err(interrupt(state, InterruptReason::Stopping).into());
    }
    Ok(())
}

fn interrupt(state: &mut State, reason: InterruptReason) -> Interrupted {
    let interrupted = Interrupted {
        message: interrupt_message(&state.continuation, reason),
        reason,
    };
    state.interrupted = Some(interrupted.clone());
    interrupted
}

/// The step being run, with its cursor.
#[derive(Debug)]
pub struct Step {
    name: String,
    cursor: Json,
    resumed: bool,
    advanced: bool,
    interrupted: Option<Interrupted>,
    signals: PartitionSignals,
}

impl Step {
    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when this run resumed the step from a saved cursor.
    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    /// The cursor as `T`. Rails 8.1 stores a cursor as raw JSON; Rails main serializes it
    /// through `ActiveJob::Arguments` (a Date as a `DateSerializer` object, a Symbol as a
    /// `SymbolSerializer` one, a Hash with `_aj_symbol_keys`). A cursor holding such markers
    /// is read as the argument it is, as main reads it; any other reads as the plain JSON it
    /// is, exactly as 8.1 reads it.
    pub fn cursor<T: DeserializeOwned>(&self) -> Result<T, StepError> {
        let failed = |message: String| StepError::Cursor {
            step: self.name.clone(),
            message,
        };
        if !holds_argument_markers(&self.cursor) {
            return serde_json::from_value(self.cursor.clone()).map_err(|e| failed(e.to_string()));
        }
        let zone = crate::ruby::time_zone::RailsZone::utc();
        let serializers = crate::serializers::SerializerRegistry::new();
        let ctx = crate::arguments::DecodeContext {
            zone: &zone,
            serializers: &serializers,
            zones: &crate::ruby::time_zone::ZoneDatabase::system(),
        };
        let path = crate::error::JsonPath::key("cursor");
        let value = crate::arguments::decode_argument(self.cursor.clone(), &ctx, &path)
            .map_err(|e| failed(e.to_string()))?;
        crate::arguments::from_value(&value).map_err(|e| failed(e.to_string()))
    }

    /// The cursor as raw JSON.
    pub fn cursor_json(&self) -> &Json {
        &self.cursor
    }

    /// Sets the cursor (`step.set!`), then checkpoints.
    pub fn set<T: Serialize>(&mut self, cursor: T) -> Result<(), StepError> {
        self.cursor = serde_json::to_value(cursor).map_err(|e| StepError::Cursor {
            step: self.name.clone(),
            message: e.to_string(),
        })?;
        self.advanced = true;
        self.checkpoint()
    }

    /// Moves an integer cursor to its successor (`step.advance!`), then checkpoints.
    pub fn advance(&mut self) -> Result<(), StepError> {
        let next: Option<num_bigint::BigInt> = match &self.cursor {
            Json::Number(n) if crate::error::is_integer_literal(n) => {
                crate::ruby::Integer::parse(n.as_str()).map(|i| match i {
                    crate::ruby::Integer::Small(v) => num_bigint::BigInt::from(v) + 1,
                    crate::ruby::Integer::Big(b) => b + 1,
                })
            }
            _ => None,
        };
        let Some(next) = next else {
            return Err(StepError::UnadvanceableCursor(format!(
                "Cursor class '{}' does not implement 'succ'",
                ruby_class_of(&self.cursor)
            )));
        };
        self.cursor = Json::Number(crate::json::number(&next.to_string()));
        self.advanced = true;
        self.checkpoint()
    }

    /// A checkpoint inside the step (`step.checkpoint!`): interrupts the job if the worker is
    /// stopping or the partition was revoked, saving the current cursor.
    pub fn checkpoint(&mut self) -> Result<(), StepError> {
        if self.signals.is_stopping() || self.signals.is_revoked() {
            let at = Continuation {
                completed: Vec::new(),
                current: Some(CurrentStep {
                    name: self.name.clone(),
                    cursor: self.cursor.clone(),
                }),
            };
            let interrupted = Interrupted {
                message: interrupt_message(&at, InterruptReason::Stopping),
                reason: InterruptReason::Stopping,
            };
            self.interrupted = Some(interrupted.clone());
            return Err(interrupted.into());
        }
        Ok(())
    }
}

fn ruby_class_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "NilClass",
        Json::Bool(true) => "TrueClass",
        Json::Bool(false) => "FalseClass",
        Json::Number(_) => "Float",
        Json::String(_) => "String",
        Json::Array(_) => "Array",
        Json::Object(_) => "Hash",
    }
}

/// Whether a cursor holds an `_aj_*` key somewhere: Rails main's argument form of a cursor.
fn holds_argument_markers(cursor: &Json) -> bool {
    match cursor {
        Json::Object(map) => {
            map.keys().any(|k| k.starts_with("_aj_")) || map.values().any(holds_argument_markers)
        }
        Json::Array(items) => items.iter().any(holds_argument_markers),
        _ => false,
    }
}
