//! Hand-written payloads probed against real Rails 8.1 (`fixtures/8.1/manifest.json`,
//! `decode_probes`): where Rails reads the payload, Rust reads the same; where Rails raises while
//! deserializing, Rust refuses the payload with a typed error.

use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeErrorKind, DecodeOptions, Job};
use serde_json::Value as Json;
use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

fn probes() -> Vec<Json> {
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(fixtures().join("8.1/manifest.json")).unwrap())
            .unwrap();
    manifest["decode_probes"].as_array().unwrap().clone()
}

#[test]
fn rails_8_1_probes_read_the_same() {
    let options = DecodeOptions::from_toml_file(fixtures().join("app.toml")).unwrap();
    let mut checked = 0;
    for probe in probes() {
        let name = probe["name"].as_str().unwrap();
        let payload = probe["json"].as_str().unwrap().as_bytes();
        let ruby = &probe["ruby_decoded"];
        let rust = Job::decode_with(payload, &options);
        checked += 1;
        if ruby.get("error").is_some() {
            let err = rust.expect_err(name);
            println!("{name}: Rails raised {}; Rust: {err}", ruby["error"]);
            continue;
        }
        let job = rust.unwrap_or_else(|e| panic!("{name}: Rails reads it, Rust refused: {e}"));
        if let Err(diff) = compare(&typed_dump(&job, &options), ruby) {
            panic!("{name}: {diff}");
        }
    }
    assert!(checked >= 20, "only {checked} probes");
}

#[test]
fn probe_errors_are_typed() {
    let options = DecodeOptions::from_toml_file(fixtures().join("app.toml")).unwrap();
    let kind = |json: &str| Job::decode_with(json.as_bytes(), &options).unwrap_err();
    let e = kind(r#"{"job_class":"NoSuchJob","arguments":[]}"#);
    assert_eq!(e.kind, DecodeErrorKind::UnknownJobClass);
    assert_eq!(
        e.to_string(),
        "job_class: Failed to instantiate job, class `NoSuchJob` doesn't exist"
    );
    let e = kind(
        r#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"NoSuchSerializer","value":1}]}"#,
    );
    assert_eq!(e.kind, DecodeErrorKind::UnknownSerializer);
    assert_eq!(
        e.to_string(),
        "arguments[0]: Serializer NoSuchSerializer is not known"
    );
    let e = kind(r#"{"job_class":"EchoJob","arguments":[],"enqueued_at":"yesterday"}"#);
    assert_eq!(
        e.to_string(),
        "enqueued_at: invalid xmlschema format: \"yesterday\""
    );
    let e = kind(
        r#"{"job_class":"ProcessImportJob","arguments":[1],"continuation":{"completed":["validate"],"current":null}}"#,
    );
    assert_eq!(e.path.as_str(), "continuation.current");
}
