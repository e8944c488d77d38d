//! The reading in place takes the payloads Rails writes (the agreement with the owned path,
//! fallback included, is tested in `tests/wire_typed_view.rs`).

use super::*;
use serde_json::Value as Json;
use std::path::PathBuf;

fn golden_payloads() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for version in ["6.1", "7.1", "8.1"] {
        for entry in std::fs::read_dir(root.join(version)).expect("fixtures") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && name != "manifest.json" && name != "rails81_decoded.json"
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Which golden payloads that decode are not read in place, envelope or arguments (as a
/// generic value, which asks for every value as it is).
fn not_in_place() -> Vec<String> {
    let app = DecodeOptions::from_toml_file(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.toml"),
    )
    .expect("app.toml");
    let mut missed = Vec::new();
    for file in golden_payloads() {
        let payload = std::fs::read(&file).expect("fixture");
        let Ok(job) = Job::decode_with(&payload, &app) else {
            continue;
        };
        let view = JobView::decode_with(&payload, &app).expect("decodes");
        let name = file.display().to_string();
        let in_place = match &view.read {
            Read::InPlace { text, envelope, .. } => {
                let owned = from_values::<Vec<Json>>(&job.arguments).ok();
                owned.is_none()
                    || view.arguments_in_place::<Vec<Json>>(text, envelope).ok() == owned
            }
            Read::Owned(_) => false,
        };
        if !in_place {
            missed.push(name);
        }
    }
    missed
}

/// Every golden payload that decodes is read in place, continuable jobs included.
#[test]
fn golden_payloads_are_read_in_place() {
    let missed = not_in_place();
    assert!(missed.is_empty(), "not read in place: {missed:#?}");
}

proptest::proptest! {
    /// An envelope time the digit check passes is one `EnvelopeTime::from_text` reads (it is
    /// parsed only when asked for), and every such text in range passes it.
    #[test]
    fn plain_envelope_times_that_pass_the_check_parse(
        text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,9})?Z",
    ) {
        let parsed = crate::envelope::EnvelopeTime::from_text(&text, "enqueued_at");
        if crate::ruby::time::is_plain_utc(text.as_bytes()) {
            proptest::prop_assert!(matches!(parsed, Ok(Some(_))), "{text}: {parsed:?}");
        } else if let Ok(Some(time)) = parsed {
            // Refused by the check but read: a year before the reform, or a field that rolls
            // over (Ruby's reading), never a plain time in range.
            let year: i32 = text[..4].parse().unwrap();
            let reformatted = crate::ruby::time::format_iso8601_9(&time.time);
            proptest::prop_assert!(year < 1583 || reformatted[..19] != text[..19], "{text}");
        }
    }
}

/// An envelope time read in place is the owned job's, whether it was checked by its digits and
/// parsed when asked for or parsed when read.
#[test]
fn envelope_times_read_in_place_are_the_owned_ones() {
    let options = DecodeOptions::default();
    for (enqueued_at, scheduled_at) in [
        ("2026-11-24T21:27:56.193991000Z", "null"),
        ("2026-11-24T21:27:56Z", "\"2026-11-24T21:27:56.5Z\""),
        (
            "2026-11-24T22:27:56.193991000+01:00",
            "\"2024-02-29T00:00:00.000000000Z\"",
        ),
    ] {
        let payload = format!(
            r#"{{"job_class":"EchoJob","arguments":[],"enqueued_at":"{enqueued_at}","scheduled_at":{scheduled_at}}}"#
        );
        let job = Job::decode_with(payload.as_bytes(), &options).expect("decodes");
        let view = JobView::decode_with(payload.as_bytes(), &options).expect("decodes");
        assert!(view.is_in_place(), "{payload}");
        assert_eq!(view.enqueued_at(), job.enqueued_at.as_ref(), "{payload}");
        assert_eq!(view.scheduled_at(), job.scheduled_at.as_ref(), "{payload}");
    }
}
