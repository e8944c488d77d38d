use super::commands::app_options;
use super::*;
use crate::options::DecodeOptions;

#[test]
fn the_command_line_is_well_formed() {
    command("my-worker").debug_assert();
}

#[test]
fn an_app_file_on_the_command_line_keeps_the_workers_payload_format() {
    use crate::payload_format::testing::Prefixed;
    let worker = DecodeOptions {
        payload_format: Some(std::sync::Arc::new(Prefixed("#"))),
        ..DecodeOptions::default()
    };
    let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.toml");
    let options = app_options(&app, &worker).unwrap();
    assert!(options.payload_format.is_some());
    assert!(options.job_classes.is_some(), "and the file's facts");
}
