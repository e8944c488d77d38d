//! The typed path against the owned path for a matrix of handler types: both give the same
//! arguments or the same error, path included (shared by the typed-path tests).

use activejob_karafka::arguments::from_values;
use activejob_karafka::view::{ArgumentsError, JobView};
use activejob_karafka::{DecodeOptions, Job};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

pub fn fixture_app() -> DecodeOptions {
    DecodeOptions::from_toml_file(super::common::crate_root().join("fixtures/app.toml"))
        .expect("app.toml")
}

/// A keyword-argument Hash as handlers declare one.
#[derive(Debug, PartialEq, Deserialize)]
pub struct Keywords {
    pub mode: Option<Mode>,
    #[serde(default)]
    pub dry_run: bool,
}

/// A Symbol or String argument read as an enum.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Fast,
    Slow,
}

/// An argument that accepts anything and keeps nothing: the reading must still apply every rule.
#[derive(Debug, PartialEq)]
pub struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skipped)
    }
}

/// What the owned path gives for `T`: the decode error, or `from_values`' answer.
pub fn owned<T: DeserializeOwned>(
    payload: &[u8],
    app: &DecodeOptions,
) -> Result<T, ArgumentsError> {
    let job = Job::decode_with(payload, app)?;
    Ok(from_values(&job.arguments)?)
}

/// What the typed path gives for `T`.
pub fn typed<T: DeserializeOwned>(
    payload: &[u8],
    app: &DecodeOptions,
) -> Result<T, ArgumentsError> {
    JobView::decode_with(payload, app)?.arguments()
}

/// Both paths agree on `T` for `payload`; returns whether they read it.
pub fn agree<T: DeserializeOwned + PartialEq + Debug>(
    payload: &[u8],
    app: &DecodeOptions,
    what: &str,
) -> Result<bool, String> {
    let (owned, typed) = (owned::<T>(payload, app), typed::<T>(payload, app));
    if owned != typed {
        return Err(format!(
            "{what} as {}:\n  owned {owned:?}\n  typed {typed:?}",
            std::any::type_name::<T>()
        ));
    }
    Ok(owned.is_ok())
}

/// Every handler type of the matrix agrees on `payload`; how many read it.
pub fn agree_on_all(payload: &[u8], app: &DecodeOptions, what: &str) -> Result<usize, String> {
    let read = [
        agree::<Vec<Json>>(payload, app, what)?,
        agree::<Vec<Skipped>>(payload, app, what)?,
        agree::<(Skipped,)>(payload, app, what)?,
        agree::<()>(payload, app, what)?,
        agree::<Vec<String>>(payload, app, what)?,
        agree::<Vec<Option<String>>>(payload, app, what)?,
        agree::<Vec<i64>>(payload, app, what)?,
        agree::<Vec<u8>>(payload, app, what)?,
        agree::<Vec<i128>>(payload, app, what)?,
        agree::<Vec<f64>>(payload, app, what)?,
        agree::<Vec<bool>>(payload, app, what)?,
        agree::<Vec<Mode>>(payload, app, what)?,
        agree::<(i64, Keywords)>(payload, app, what)?,
        agree::<(Keywords,)>(payload, app, what)?,
        agree::<Vec<HashMap<String, Json>>>(payload, app, what)?,
        agree::<Vec<BTreeMap<String, Skipped>>>(payload, app, what)?,
        agree::<Vec<Vec<Json>>>(payload, app, what)?,
        agree::<Vec<Option<Vec<String>>>>(payload, app, what)?,
        agree::<Vec<(String, Json)>>(payload, app, what)?,
    ];
    Ok(read.iter().filter(|r| **r).count())
}

/// The envelope fields `view` read in place are those of `job`, the owned decoding of the same
/// payload.
pub fn assert_same_envelope(view: &JobView<'_>, job: &Job, what: &str) {
    assert_eq!(view.job_class(), job.job_class, "{what}");
    assert_eq!(view.job_id(), job.job_id.as_deref(), "{what}");
    assert_eq!(view.queue_name(), job.queue_name.as_deref(), "{what}");
    assert_eq!(view.executions(), job.executions, "{what}");
    assert_eq!(view.locale(), job.locale.as_deref(), "{what}");
    assert_eq!(view.timezone(), job.timezone.as_deref(), "{what}");
    assert_eq!(view.enqueued_at(), job.enqueued_at.as_ref(), "{what}");
    assert_eq!(view.scheduled_at(), job.scheduled_at.as_ref(), "{what}");
}
