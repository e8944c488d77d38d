//! Arbitrary bytes through the payload decoder, with default options and with the fixture
//! application's options (strict serializers, known job classes, continuable jobs).
//!
//! Nothing may panic. A payload that decodes must read the same through serde_json's tree
//! (`Job::from_json`), and it must also survive the way back: encoding it and
//! decoding the result gives the same job and the same typed dump, so a worker that re-enqueues
//! a job (retry, continuation) hands the next run exactly what the first one saw.
//!
//! The typed path the worker runs (`JobView`: the envelope read in place, a handler's arguments
//! deserialized from the payload) must give the owned path's answer on every input: the same
//! envelope, the same arguments or the same error, so a payload the owned decoding refuses is
//! never run.

#![no_main]

use activejob_karafka::arguments::{from_values, Value};
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::view::{ArgumentsError, JobView};
use activejob_karafka::{DecodeOptions, Job};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const APP_TOML: &str = include_str!("../../fixtures/app.toml");

fn app_options() -> &'static DecodeOptions {
    static APP: OnceLock<DecodeOptions> = OnceLock::new();
    APP.get_or_init(|| DecodeOptions::from_toml_str(APP_TOML).expect("fixtures/app.toml parses"))
}

fn default_options() -> &'static DecodeOptions {
    static DEFAULT: OnceLock<DecodeOptions> = OnceLock::new();
    DEFAULT.get_or_init(DecodeOptions::default)
}

fuzz_target!(|data: &[u8]| {
    check(data, default_options());
    check(data, app_options());
});

fn check(data: &[u8], options: &DecodeOptions) {
    check_typed_path(data, options);
    let Ok(job) = Job::decode_with(data, options) else {
        return;
    };
    // The bytes path scans payloads itself and falls back to serde_json: what it decodes,
    // serde_json must parse, and the job read from serde_json's tree must be the same.
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(tree) => assert_eq!(Job::from_json(tree, options).as_ref(), Ok(&job)),
        Err(e) => panic!("decoded a payload serde_json refuses ({e})"),
    }
    // The serde path handlers use: it may refuse a value, never panic.
    let _ = from_values::<Vec<serde_json::Value>>(&job.arguments);
    let _ = job.args::<(i64, String)>();
    let _ = typed_dump(&job, options);
    // Encoding refuses what Rails refuses to serialize (a Hash left holding a reserved `_aj_*`
    // key, an anonymous Module) and what no worker could read back (an infinite Duration), so
    // an encode error is an answer, not a failure.
    let Ok(bytes) = job.encode() else {
        return;
    };
    let again = Job::decode_with(&bytes, options).unwrap_or_else(|e| {
        panic!(
            "re-decoding an encoded job failed: {e}\nencoded: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    if any_value(
        &job.arguments,
        &|v| matches!(v, Value::Float(f) if !f.is_finite()),
    ) {
        // A literal such as 1e400 reads as Infinity, which JSON (and ActiveSupport) writes as
        // null: the job changes on the way back in Ruby too. It must settle after one trip.
        let bytes_again = again.encode().expect("a re-decoded job encodes");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&bytes_again),
            "encoding is not stable after one round trip"
        );
        return;
    }
    // Rails writes a TimeWithZone's `time_zone.tzinfo.name`, so one read in a zone named the
    // Rails way ("Bratislava") comes back in its IANA zone ("Europe/Bratislava"), in Ruby too.
    let mut job = job;
    job.arguments = job.arguments.iter().map(with_iana_zones).collect();
    let dump = typed_dump(&job, options);
    assert_eq!(
        job,
        again,
        "decode(encode(job)) differs\nencoded: {}",
        String::from_utf8_lossy(&bytes)
    );
    if let Err(diff) = compare(&dump, &typed_dump(&again, options)) {
        panic!(
            "typed dump changed by a round trip: {diff}\nencoded: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

/// The typed path agrees with the owned one: for a handler type that asks for every value as it
/// is and for narrower ones, the same arguments or the same error (a refused envelope included),
/// and the same envelope fields.
fn check_typed_path(data: &[u8], options: &DecodeOptions) {
    agree::<Vec<serde_json::Value>>(data, options);
    agree::<(i64, String)>(data, options);
    agree::<Vec<Option<String>>>(data, options);
    agree::<Vec<Option<RubyTime>>>(data, options);
    let (Ok(job), Ok(view)) = (
        Job::decode_with(data, options),
        JobView::decode_with(data, options),
    ) else {
        return;
    };
    assert_eq!(view.job_class(), job.job_class);
    assert_eq!(view.job_id(), job.job_id.as_deref());
    assert_eq!(view.queue_name(), job.queue_name.as_deref());
    assert_eq!(view.executions(), job.executions);
    assert_eq!(view.locale(), job.locale.as_deref());
    assert_eq!(view.timezone(), job.timezone.as_deref());
    assert_eq!(view.enqueued_at(), job.enqueued_at.as_ref());
    assert_eq!(view.scheduled_at(), job.scheduled_at.as_ref());
    assert_eq!(view.to_job().as_ref(), Ok(&job));
}

/// `T` read by the typed path (`JobView`) is `T` read from the owned job's values, or the same
/// error.
fn agree<T>(data: &[u8], options: &DecodeOptions)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let owned = Job::decode_with(data, options)
        .map_err(ArgumentsError::from)
        .and_then(|job| Ok(from_values::<T>(&job.arguments)?));
    let typed = JobView::decode_with(data, options)
        .map_err(ArgumentsError::from)
        .and_then(|view| view.arguments::<T>());
    assert_eq!(
        typed,
        owned,
        "typed and owned paths differ as {}",
        std::any::type_name::<T>()
    );
}

/// Whether `found` holds for any value, however deeply nested.
fn any_value(values: &[Value], found: &dyn Fn(&Value) -> bool) -> bool {
    values.iter().any(|value| {
        found(value)
            || match value {
                Value::Array(items) => any_value(items, found),
                Value::Hash(hash) => hash
                    .entries
                    .iter()
                    .any(|(_, v)| any_value(std::slice::from_ref(v), found)),
                Value::Range(r) => any_value(&[r.begin.clone(), r.end.clone()], found),
                _ => false,
            }
    })
}

fn with_iana_zones(value: &Value) -> Value {
    use activejob_karafka::arguments::{Hash, Range, TimeWithZone, TimeWithZoneWire};
    use activejob_karafka::ruby::time_zone;
    match value {
        Value::TimeWithZone(twz) if twz.wire == TimeWithZoneWire::WithTimeZone => {
            Value::TimeWithZone(TimeWithZone {
                zone: time_zone::lookup(twz.zone.tzinfo_name()).expect("an IANA zone"),
                ..twz.clone()
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(with_iana_zones).collect()),
        Value::Hash(hash) => Value::Hash(Hash {
            entries: hash
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), with_iana_zones(v)))
                .collect(),
            kind: hash.kind,
        }),
        Value::Range(range) => Value::Range(Box::new(Range {
            begin: with_iana_zones(&range.begin),
            end: with_iana_zones(&range.end),
            exclude_end: range.exclude_end,
        })),
        other => other.clone(),
    }
}
