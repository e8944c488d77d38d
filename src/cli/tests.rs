use super::commands::app_options;
use super::*;
use crate::options::DecodeOptions;

#[test]
fn the_command_line_is_well_formed() {
    command(&Program::new("my-worker", "2.3.4")).debug_assert();
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

#[test]
fn a_worker_binary_shows_its_own_name_and_version() {
    // Property: --version, --help and usage errors name the user's binary, not this library.
    let program = Program::new("shop-worker", "2.3.4");
    let render = |args: &[&str]| {
        command(&program)
            .try_get_matches_from(args)
            .map(|_| String::new())
            .unwrap_or_else(|e| e.render().to_string())
    };
    assert_eq!(render(&["x", "--version"]).trim(), "shop-worker 2.3.4");
    assert_eq!(
        render(&["x", "consume", "--version"]).trim(),
        "shop-worker-consume 2.3.4"
    );
    let help = render(&["x", "--help"]);
    assert!(help.contains("Usage: shop-worker <COMMAND>"), "{help}");
    assert!(help.contains("shop-worker consume --config"), "{help}");
    assert!(!help.contains("activejob-karafka "), "{help}");
    let usage = render(&["x", "consume"]);
    assert!(usage.contains("Usage: shop-worker consume"), "{usage}");
    let app = render(&["x", "consume", "--config", "w.toml", "--app", "app.toml"]);
    assert_eq!(app, "", "consume takes --app");
}

#[test]
fn the_program_macro_names_the_calling_crate() {
    let program = crate::program!();
    assert_eq!(program.name(), env!("CARGO_PKG_NAME"));
    assert_eq!(program.version(), env!("CARGO_PKG_VERSION"));
}
