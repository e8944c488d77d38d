//! Rails 8.1 continuations (`ActiveJob::Continuable`): which steps are done and where the current
//! one stopped.
//!
//! On the wire: `"continuation":{"completed":["validate"],"current":["process_records",3]}` plus
//! `"resumptions":N`. Rails 8.1 stores the cursor as raw JSON (`as_json`); Rails main stores it
//! through `ActiveJob::Arguments`. [`CurrentStep::cursor`] keeps the raw JSON, and
//! [`CurrentStep::cursor_value`] reads it as an argument, which gives the same value for 8.1's
//! primitives and understands main's serialized forms.
//!
//! Written for Rails 8.1 ([`Continuation::to_json`]) the cursor stays the raw JSON it is. Written
//! for main ([`Continuation::to_json_for`] with [`RailsVersion::V8_2`]) it is read as an argument
//! and written back through the argument writer, as main's `Arguments.serialize([cursor])` writes
//! it: an integer, string or list of them is unchanged, a Hash gains `_aj_symbol_keys` (empty
//! for the String keys of a raw JSON object), and a cursor already in main's form (a
//! `DateSerializer` or `SymbolSerializer` object) is written as it came.

use crate::arguments::{decode_argument, encode_argument_for, DecodeContext, Value};
use crate::error::{json_type_name, DecodeError, EncodeError, EncodeErrorKind, JsonPath};
use crate::rails_version::RailsVersion;
use crate::ruby::time_zone::{RailsZone, ZoneDatabase};
use crate::serializers::SerializerRegistry;
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

    /// The wire form Rails `target` writes: [`Self::to_json`] up to 8.1, the cursor through
    /// `ActiveJob::Arguments` for main (see the module docs); TimeWithZones in a cursor are
    /// looked up in `zones`. A cursor main could not serialize is refused.
    pub fn to_json_for(
        &self,
        target: RailsVersion,
        zones: &ZoneDatabase,
    ) -> Result<Json, EncodeError> {
        let mut json = self.to_json();
        let Some(current) = self
            .current
            .as_ref()
            .filter(|_| target.writes_cursor_as_argument())
        else {
            return Ok(json);
        };
        let path = JsonPath::key("continuation").field("current").index(1);
        let zone = RailsZone::utc();
        let serializers = SerializerRegistry::new();
        let ctx = DecodeContext {
            zone: &zone,
            serializers: &serializers,
            zones,
        };
        let value = current.cursor_value(&ctx).map_err(|e| {
            EncodeError::refused(&path, EncodeErrorKind::Unserializable, e.to_string())
        })?;
        let cursor = encode_argument_for(&value, &path, target)?;
        if let Some(Json::Array(pair)) = json.get_mut("current") {
            pair[1] = cursor;
        }
        Ok(json)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(cursor: Json) -> Continuation {
        Continuation {
            completed: vec!["validate".into()],
            current: Some(CurrentStep {
                name: "walk".into(),
                cursor,
            }),
        }
    }

    fn written(cursor: Json, target: RailsVersion) -> Json {
        let json = at(cursor)
            .to_json_for(target, &ZoneDatabase::system())
            .unwrap();
        json["current"][1].clone()
    }

    #[test]
    fn main_writes_the_cursor_through_arguments_and_81_writes_it_raw() {
        // Property: for main, a cursor is written as `Arguments.serialize([cursor]).first` writes
        // it (a Hash gains `_aj_symbol_keys`, markers stay as they are); for 8.1 and older the
        // raw JSON is written unchanged.
        let date = json!({"_aj_serialized": "ActiveJob::Serializers::DateSerializer", "value": "2026-07-06"});
        let symbol = json!({"_aj_serialized": "ActiveJob::Serializers::SymbolSerializer", "value": "next_page"});
        let with_symbols = json!({"page": 3, "token": "abc", "_aj_symbol_keys": ["page"]});
        for (raw, main) in [
            (json!(3), json!(3)),
            (json!("user_0042"), json!("user_0042")),
            (json!([1, 2]), json!([1, 2])),
            (Json::Null, Json::Null),
            (json!(0.5), json!(0.5)),
            (
                json!({"page": 3, "token": "abc"}),
                json!({"page": 3, "token": "abc", "_aj_symbol_keys": []}),
            ),
            (json!([{"a": 1}]), json!([{"a": 1, "_aj_symbol_keys": []}])),
            (date.clone(), date),
            (symbol.clone(), symbol),
            (with_symbols.clone(), with_symbols),
        ] {
            assert_eq!(written(raw.clone(), RailsVersion::V8_2), main, "{raw}");
            assert_eq!(written(raw.clone(), RailsVersion::V8_1), raw, "{raw}");
        }
    }

    #[test]
    fn main_reads_back_the_cursor_it_was_written_with() {
        // Property: a cursor written for main reads back (as an argument) as the same value the
        // raw cursor reads as.
        let zone = RailsZone::utc();
        let serializers = SerializerRegistry::new();
        let zones = ZoneDatabase::system();
        let ctx = DecodeContext {
            zone: &zone,
            serializers: &serializers,
            zones: &zones,
        };
        for raw in [
            json!({"page": 3, "token": "abc"}),
            json!([1, "x", {"k": [true, null]}]),
            json!("2026-07-06"),
        ] {
            let main = written(raw.clone(), RailsVersion::V8_2);
            let read =
                Continuation::decode(json!({"completed": [], "current": ["walk", main]})).unwrap();
            let read = read.current.unwrap().cursor_value(&ctx).unwrap();
            let want = at(raw).current.unwrap().cursor_value(&ctx).unwrap();
            assert_eq!(read, want);
        }
    }

    #[test]
    fn a_cursor_main_cannot_serialize_is_refused_for_main_only() {
        // Property: a cursor whose markers main cannot read back is refused with a path when
        // written for main, and written raw for 8.1, which reads it as a plain Hash.
        let bad = json!({"_aj_globalid": "not a gid"});
        let err = at(bad.clone())
            .to_json_for(RailsVersion::V8_2, &ZoneDatabase::system())
            .expect_err("refused");
        assert_eq!(err.path.as_str(), "continuation.current[1]");
        assert_eq!(written(bad.clone(), RailsVersion::V8_1), bad);
    }
}
