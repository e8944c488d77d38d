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
