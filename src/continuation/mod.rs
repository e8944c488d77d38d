//! Rails 8.1 continuations (`ActiveJob::Continuable`): which steps are done and where the current
//! one stopped.
//!
//! On the wire: `"continuation":{"completed":["validate"],"current":["process_records",3]}` plus
//! `"resumptions":N`. Rails 8.1 stores the cursor as raw JSON (`as_json`); Rails main stores it
//! through `ActiveJob::Arguments`. [`CurrentStep::cursor`] keeps the raw JSON, and
//! [`CurrentStep::cursor_value`] reads it as an argument, which gives the same value for 8.1's
//! primitives and understands main's serialized forms.

use crate::arguments::{decode_argument, DecodeContext, Value};
use crate::error::{json_type_name, DecodeError, JsonPath};
use serde_json::{Map, Value as Json};

/// The progress of a continuable job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Continuation {
    /// Names of the fully finished steps, in execution order.
    pub completed: Vec<String>,
    /// The step in progress and its cursor, when the job stopped inside a step.
    pub current: Option<CurrentStep>,
}

/// A step in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentStep {
    /// The step's name (a Symbol in Ruby).
    pub name: String,
    /// The cursor as raw JSON, exactly as the payload holds it.
    pub cursor: Json,
}

impl CurrentStep {
    /// The cursor read as an ActiveJob argument (Rails main's form; identical for 8.1 primitives).
    pub fn cursor_value(&self, ctx: &DecodeContext<'_>) -> Result<Value, DecodeError> {
        decode_argument(
            self.cursor.clone(),
            ctx,
            &JsonPath::key("continuation").field("current").index(1),
        )
    }
}

impl Continuation {
    /// True once a step finished or one is in progress (Rails' `started?`): resuming such a job
    /// counts a resumption.
    pub fn is_started(&self) -> bool {
        !self.completed.is_empty() || self.current.is_some()
    }

    /// Reads the `continuation` object the way Rails 8.1's `Continuation#initialize` does.
    pub fn decode(raw: Json) -> Result<Continuation, DecodeError> {
        let path = JsonPath::key("continuation");
        let mut map = match raw {
            Json::Object(map) => map,
            other => {
                return Err(DecodeError::shape(
                    &path,
                    format!("expected an object, found {}", json_type_name(&other)),
                ))
            }
        };
        Ok(Continuation {
            completed: decode_completed(map.shift_remove("completed"), &path.field("completed"))?,
            current: decode_current(&mut map, &path.field("current"))?,
        })
    }

    /// The wire form Rails 8.1 writes (`current` omitted when no step is in progress).
    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert(
            "completed".into(),
            Json::Array(self.completed.iter().cloned().map(Json::String).collect()),
        );
        if let Some(current) = &self.current {
            map.insert(
                "current".into(),
                Json::Array(vec![
                    Json::String(current.name.clone()),
                    current.cursor.clone(),
                ]),
            );
        }
        Json::Object(map)
    }
}

fn decode_completed(raw: Option<Json>, path: &JsonPath) -> Result<Vec<String>, DecodeError> {
    let items = match raw {
        None => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(DecodeError::shape(
                path,
                format!(
                    "expected a list of step names, found {}",
                    json_type_name(&other)
                ),
            ))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::String(name) => Ok(name),
            other => Err(DecodeError::shape(
                &path.index(i),
                format!("expected a step name, found {}", json_type_name(&other)),
            )),
        })
        .collect()
}

fn decode_current(
    map: &mut Map<String, Json>,
    path: &JsonPath,
) -> Result<Option<CurrentStep>, DecodeError> {
    // Rails omits `current` when no step is in progress and never writes null: a null or a
    // one-element list makes Rails raise ArgumentError, so both are errors here too.
    let Some(raw) = map.shift_remove("current") else {
        return Ok(None);
    };
    match raw {
        Json::Array(pair) if pair.len() == 2 => {
            let mut pair = pair.into_iter();
            let name = pair.next().unwrap_or(Json::Null);
            let cursor = pair.next().unwrap_or(Json::Null);
            match name {
                Json::String(name) => Ok(Some(CurrentStep { name, cursor })),
                other => Err(DecodeError::shape(
                    &path.index(0),
                    format!("expected a step name, found {}", json_type_name(&other)),
                )),
            }
        }
        other => Err(DecodeError::shape(
            path,
            format!(
                "expected [step, cursor], found {}",
                describe_current(&other)
            ),
        )),
    }
}

fn describe_current(raw: &Json) -> String {
    match raw {
        Json::Array(items) => format!("an array of {} element(s)", items.len()),
        other => json_type_name(other).to_owned(),
    }
}

mod resume;
mod steps;

pub use resume::{is_resumption, resume_limit_error, resumed_job, resumptions_during_run};
pub use steps::{
    interrupt_message, ContinuableOptions, InterruptReason, Interrupted, Step, StepError, Steps,
    StepsOutcome,
};
