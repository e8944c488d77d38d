//! The typed path against the owned path for a matrix of handler types: both give the same
//! arguments or the same error, path included (shared by the typed-path tests).

use activejob_karafka::arguments::from_values;
use activejob_karafka::ruby::time::RubyTime;
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

/// Every call serde's visitor receives while the arguments are read with `deserialize_any`
/// (keys with `deserialize_identifier`), in order: which method and with what, so that the typed
/// path must hand each value over as the owned one does (an integer as the same width and
/// sign). A text counts as a string however it comes: the typed path lends what the owned path
/// makes anew when it is the text written.
#[derive(Debug, PartialEq)]
pub struct Visits(Vec<String>);

impl<'de> Deserialize<'de> for Visits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut calls = Vec::new();
        serde::de::DeserializeSeed::deserialize(VisitSeed(&mut calls, false), d)?;
        Ok(Visits(calls))
    }
}

/// Records the calls for one value (a key when `.1`).
struct VisitSeed<'a>(&'a mut Vec<String>, bool);

impl<'de> serde::de::DeserializeSeed<'de> for VisitSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.1 {
            d.deserialize_identifier(self)
        } else {
            d.deserialize_any(self)
        }
    }
}

macro_rules! record {
    ($($method:ident($t:ty)),*) => {
        $(fn $method<E>(self, v: $t) -> Result<(), E> {
            self.0.push(format!("{} {v:?}", stringify!($method)));
            Ok(())
        })*
    };
}

impl<'de> serde::de::Visitor<'de> for VisitSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("anything")
    }

    record!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128),
        visit_f64(f64),
        visit_bytes(&[u8])
    );

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push(format!("string {v:?}"));
        Ok(())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<(), E> {
        self.visit_str(&v)
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push("visit_unit".to_owned());
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.0.push("visit_none".to_owned());
        Ok(())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.push("visit_some".to_owned());
        serde::de::DeserializeSeed::deserialize(VisitSeed(self.0, false), d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Size hints are only hints: the typed path gives none.
        self.0.push("visit_seq".to_owned());
        while seq
            .next_element_seed(VisitSeed(&mut *self.0, false))?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.push("visit_map".to_owned());
        while map.next_key_seed(VisitSeed(&mut *self.0, true))?.is_some() {
            map.next_value_seed(VisitSeed(&mut *self.0, false))?;
        }
        Ok(())
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
        agree::<Vec<RubyTime>>(payload, app, what)?,
        agree::<Vec<Option<RubyTime>>>(payload, app, what)?,
        agree::<(i64, Keywords)>(payload, app, what)?,
        agree::<(Keywords,)>(payload, app, what)?,
        agree::<Vec<HashMap<String, Json>>>(payload, app, what)?,
        agree::<Vec<BTreeMap<String, Skipped>>>(payload, app, what)?,
        agree::<Vec<Vec<Json>>>(payload, app, what)?,
        agree::<Vec<Option<Vec<String>>>>(payload, app, what)?,
        agree::<Vec<(String, Json)>>(payload, app, what)?,
        agree::<Visits>(payload, app, what)?,
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
