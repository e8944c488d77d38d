//! The typed path (`JobView`: the envelope read in place, a handler's arguments deserialized
//! straight from the payload) against the owned path (`Job::decode_with`, then `from_values`):
//! for every golden payload, generated job and corrupted payload, and for handler types that ask
//! serde for every kind of value, both give the same arguments or the same error, path included.

mod common;
#[path = "generated/values.rs"]
mod generated;

use activejob_karafka::arguments::from_values;
use activejob_karafka::view::{ArgumentsError, JobView};
use activejob_karafka::{DecodeOptions, Job};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

fn fixture_app() -> DecodeOptions {
    DecodeOptions::from_toml_file(common::crate_root().join("fixtures/app.toml")).expect("app.toml")
}

/// A keyword-argument Hash as handlers declare one.
#[derive(Debug, PartialEq, Deserialize)]
struct Keywords {
    mode: Option<Mode>,
    #[serde(default)]
    dry_run: bool,
}

/// A Symbol or String argument read as an enum.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Fast,
    Slow,
}

/// An argument that accepts anything and keeps nothing: the reading must still apply every rule.
#[derive(Debug, PartialEq)]
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skipped)
    }
}

/// What the owned path gives for `T`: the decode error, or `from_values`' answer.
fn owned<T: DeserializeOwned>(payload: &[u8], app: &DecodeOptions) -> Result<T, ArgumentsError> {
    let job = Job::decode_with(payload, app)?;
    Ok(from_values(&job.arguments)?)
}

/// What the typed path gives for `T`.
fn typed<T: DeserializeOwned>(payload: &[u8], app: &DecodeOptions) -> Result<T, ArgumentsError> {
    JobView::decode_with(payload, app)?.arguments()
}

/// Both paths agree on `T` for `payload`; returns whether they read it.
fn agree<T: DeserializeOwned + PartialEq + Debug>(
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
fn agree_on_all(payload: &[u8], app: &DecodeOptions, what: &str) -> Result<usize, String> {
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

/// Every golden payload of Rails 6.1, 7.1 and 8.1: the same arguments or the same error for each
/// type of the matrix, and the same envelope fields.
#[test]
fn typed_and_owned_paths_agree_on_every_golden_payload() {
    let app = fixture_app();
    let (mut payloads, mut reads) = (0, 0);
    for version in ["6.1", "7.1", "8.1"] {
        for file in common::golden_payloads(version) {
            let payload = std::fs::read(&file).expect("fixture");
            let what = file.display().to_string();
            reads += agree_on_all(&payload, &app, &what).unwrap_or_else(|e| panic!("{e}"));
            payloads += 1;
            let Ok(job) = Job::decode_with(&payload, &app) else {
                assert!(JobView::decode_with(&payload, &app).is_err(), "{what}");
                continue;
            };
            let view = JobView::decode_with(&payload, &app).expect(&what);
            assert_eq!(view.job_class(), job.job_class, "{what}");
            assert_eq!(view.job_id(), job.job_id.as_deref(), "{what}");
            assert_eq!(view.queue_name(), job.queue_name.as_deref(), "{what}");
            assert_eq!(view.executions(), job.executions, "{what}");
            assert_eq!(view.locale(), job.locale.as_deref(), "{what}");
            assert_eq!(view.timezone(), job.timezone.as_deref(), "{what}");
            assert_eq!(view.enqueued_at(), job.enqueued_at.as_ref(), "{what}");
            assert_eq!(view.scheduled_at(), job.scheduled_at.as_ref(), "{what}");
            assert_eq!(view.to_job().as_ref(), Ok(&job), "{what}");
        }
    }
    // Not vacuous: most payloads fit several types.
    assert!(
        payloads > 100 && reads > payloads * 3,
        "{payloads} payloads, {reads} reads"
    );
}

/// Wrong argument types give the owned path's error, path and words included.
#[test]
fn a_wrong_argument_type_gives_the_owned_error() {
    let app = fixture_app();
    let payload = std::fs::read(common::crate_root().join("fixtures/8.1/kwargs.json")).unwrap();
    let error = typed::<(String, Keywords)>(&payload, &app).unwrap_err();
    assert_eq!(
        Err(error.clone()),
        owned::<(String, Keywords)>(&payload, &app)
    );
    assert_eq!(
        error.to_string(),
        "arguments[0]: expected a symbol or string, found an integer"
    );
    let error = typed::<(i64, BTreeMap<String, i64>)>(&payload, &app).unwrap_err();
    assert_eq!(
        error.to_string(),
        "arguments[1].mode: expected an integer, found a symbol"
    );
}

fn app_with_money() -> DecodeOptions {
    let mut app = DecodeOptions::default();
    app.serializers.register("MoneySerializer", "Money");
    app
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Jobs of every argument kind Rails writes (generated): both paths agree.
    #[test]
    fn typed_and_owned_paths_agree_on_generated_jobs(
        arguments in prop::collection::vec(generated::value(false, 3), 0..4),
        timezone in prop::sample::select(generated::TIMEZONES.to_vec()),
    ) {
        let mut job = Job::new("EchoJob").timezone(timezone);
        job.arguments = arguments;
        let app = app_with_money();
        if let Ok(payload) = job.encode() {
            agree_on_all(&payload, &app, "generated job").map_err(TestCaseError::fail)?;
        }
    }

    /// A golden payload with a byte changed, inserted or removed: both paths agree, so the typed
    /// path never takes what the owned path refuses.
    #[test]
    fn typed_and_owned_paths_agree_on_corrupted_payloads(
        index in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"\\{}[]:,0-e.n_ a\x01".to_vec()),
        edit in 0..3_u8,
    ) {
        let files: Vec<_> = ["6.1", "7.1", "8.1"].iter().flat_map(|v| common::golden_payloads(v)).collect();
        let mut payload = std::fs::read(index.get(&files)).unwrap();
        let at = at.index(payload.len());
        match edit {
            0 => payload[at] = byte,
            1 => payload.insert(at, byte),
            _ => { payload.remove(at); }
        }
        agree_on_all(&payload, &fixture_app(), "corrupted payload").map_err(TestCaseError::fail)?;
    }
}
