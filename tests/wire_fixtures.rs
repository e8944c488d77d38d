//! The golden payloads made by real Rails 6.1, 7.1 and 8.1 (fixtures/): every one decodes to the
//! typed dump a Rails 8.1 worker produced (`rails81_decoded.json`), and writing a decoded job back
//! gives the exact bytes Rails wrote.

mod common;

use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, Job};
use common::{golden_payloads, style_for};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const VERSIONS: [&str; 3] = ["6.1", "7.1", "8.1"];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_file(fixtures_dir().join("app.toml")).expect("fixtures/app.toml")
}

#[test]
fn every_fixture_decodes_as_rails_8_1_reads_it() {
    let options = app_options();
    let mut failures = Vec::new();
    let mut checked = 0;
    for version in VERSIONS {
        let expected: serde_json::Map<String, Json> = serde_json::from_slice(
            &std::fs::read(fixtures_dir().join(version).join("rails81_decoded.json")).unwrap(),
        )
        .unwrap();
        for file in golden_payloads(version) {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            let want = expected
                .get(&name)
                .unwrap_or_else(|| panic!("{version}/{name} has no rails81_decoded entry"));
            checked += 1;
            let outcome = Job::decode_with(&std::fs::read(&file).unwrap(), &options)
                .map_err(|e| format!("decode error: {e}"))
                .and_then(|job| compare(&typed_dump(&job, &options), want));
            if let Err(why) = outcome {
                failures.push(format!("{version}/{name}: {why}"));
            }
        }
    }
    println!("typed dumps: {checked} fixtures, {} differ", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decode_then_encode_gives_back_rails_bytes() {
    let options = app_options();
    let mut failures = Vec::new();
    for version in VERSIONS {
        for file in golden_payloads(version) {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            let original = std::fs::read(&file).unwrap();
            let job = Job::decode_with(&original, &options).unwrap();
            let written = job.encode_with(style_for(&name)).unwrap();
            if written != original {
                failures.push(format!(
                    "{version}/{name}:\n  rails: {}\n  rust:  {}",
                    String::from_utf8_lossy(&original),
                    String::from_utf8_lossy(&written)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_top_level_keys_survive_a_round_trip() {
    let payload =
        br#"{"job_class":"EchoJob","arguments":[],"foo":{"b":[1,2.50]},"cattr_0":{"user_id":7}}"#;
    let job = Job::decode(payload).unwrap();
    let again = Job::decode(&job.encode().unwrap()).unwrap();
    assert_eq!(again.extra, job.extra);
    assert_eq!(job.extra["cattr_0"]["user_id"], 7);
    assert_eq!(job.extra["foo"]["b"][1].to_string(), "2.50");
}
