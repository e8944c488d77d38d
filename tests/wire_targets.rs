//! Writing for an older Rails (`rails_version`, `Job::encode_for`): each target version gets the forms that
//! version writes, checked against the golden payloads real Rails 6.1, 7.1 and 8.1 wrote and against the
//! version table of `src/rails_version.rs` (read from Rails' own `core.rb`, `arguments.rb` and serializers per
//! tag); what a version cannot read at all is refused with `EncodeErrorKind::NotReadableBy`.

mod common;

use activejob_karafka::arguments::{GlobalId, Range, Value};
use activejob_karafka::continuation::{Continuation, CurrentStep};
use activejob_karafka::rails_version::ALL_RAILS_VERSIONS;
use activejob_karafka::ruby::time_zone;
use activejob_karafka::{DecodeOptions, EncodeErrorKind, Job, RailsVersion};
use chrono::{TimeZone, Utc};
use common::{crate_root, golden_payloads, style_for};
use serde_json::{json, Value as Json};

fn app_options(version: RailsVersion) -> DecodeOptions {
    DecodeOptions {
        rails_version: version,
        ..DecodeOptions::from_toml_file(crate_root().join("fixtures/app.toml")).unwrap()
    }
}

/// Property: a payload real Rails N wrote, read by Rust and written back for Rails N, is byte for byte what
/// Rails N wrote (envelope keys, enqueued_at precision, BigDecimal and TimeWithZone forms).
#[test]
fn golden_payloads_are_written_back_as_their_version_wrote_them() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (dir, version) in [
        ("6.1", RailsVersion::V6_1),
        ("7.1", RailsVersion::V7_1),
        ("8.1", RailsVersion::V8_1),
    ] {
        let options = app_options(version);
        for file in golden_payloads(dir) {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            let original = std::fs::read(&file).unwrap();
            let job = Job::decode_with(&original, &options).unwrap();
            checked += 1;
            match job.encode_for_with(version, style_for(&name)) {
                Ok(written) if written == original => {}
                Ok(written) => failures.push(format!(
                    "{dir}/{name}:\n  rails: {}\n  rust:  {}",
                    String::from_utf8_lossy(&original),
                    String::from_utf8_lossy(&written)
                )),
                Err(e) => failures.push(format!("{dir}/{name}: refused: {e}")),
            }
        }
    }
    common::say(&format!(
        "wire_targets: {checked} golden payloads written back for their own Rails version, {} differ",
        failures.len()
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn sample_job() -> Job {
    let at = Utc.with_ymd_and_hms(2026, 11, 24, 21, 27, 56).unwrap()
        + chrono::Duration::nanoseconds(123_456_789);
    let mut job = Job::new("EchoJob")
        .arg(Value::BigDecimal("123.456".into()))
        .arg(Value::time_with_zone(
            at,
            time_zone::lookup("Eastern Time (US & Canada)").unwrap(),
        ))
        .arg(Value::symbol("fast"));
    job.enqueued_at = Some(activejob_karafka::EnvelopeTime::new(at));
    job
}

fn written(job: &Job, version: RailsVersion) -> Json {
    serde_json::from_slice(&job.encode_for(version).unwrap()).unwrap()
}

/// Property: the envelope and argument forms of each target follow the version table (Rails' `core.rb`:
/// `iso8601` before 7.1 and no `scheduled_at`; `arguments.rb`: BigDecimal a permitted raw type before 7.1;
/// `TimeWithZoneSerializer`: `time_zone` from 7.0.9), and every other form is the same for all targets.
#[test]
fn each_target_writes_the_forms_of_its_version() {
    let job = sample_job();
    let latest = written(&job, RailsVersion::V8_1);
    assert_eq!(latest, written(&job, RailsVersion::LATEST));
    assert_eq!(
        latest,
        serde_json::from_slice::<Json>(&job.encode().unwrap()).unwrap()
    );
    let big_decimal_serializer = json!({
        "_aj_serialized": "ActiveJob::Serializers::BigDecimalSerializer", "value": "123.456"
    });
    let twz = json!({
        "_aj_serialized": "ActiveJob::Serializers::TimeWithZoneSerializer",
        "value": "2026-11-24T16:27:56.123456789-05:00", "time_zone": "America/New_York"
    });
    for version in ALL_RAILS_VERSIONS {
        let payload = written(&job, version);
        let keys: Vec<&str> = payload
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want_keys = vec![
            "job_class",
            "job_id",
            "provider_job_id",
            "queue_name",
            "priority",
            "arguments",
            "executions",
            "exception_executions",
            "locale",
            "timezone",
            "enqueued_at",
        ];
        let old = version < RailsVersion::V7_1;
        if !old {
            want_keys.push("scheduled_at");
        }
        assert_eq!(keys, want_keys, "{version}");
        let enqueued_at = if old {
            "2026-11-24T21:27:56Z"
        } else {
            "2026-11-24T21:27:56.123456789Z"
        };
        assert_eq!(payload["enqueued_at"], enqueued_at, "{version}");
        let big_decimal = if old {
            json!("123.456")
        } else {
            big_decimal_serializer.clone()
        };
        assert_eq!(payload["arguments"][0], big_decimal, "{version}");
        let mut want_twz = twz.clone();
        if version == RailsVersion::V6_1 {
            want_twz.as_object_mut().unwrap().remove("time_zone");
        }
        assert_eq!(payload["arguments"][1], want_twz, "{version}");
        assert_eq!(payload["arguments"][2], latest["arguments"][2], "{version}");
    }
}

/// Property: what a target cannot read at all is refused with a typed error naming the path and the version,
/// and every newer target writes it.
#[test]
fn what_a_version_cannot_read_is_refused() {
    let range = Value::Range(Box::new(Range {
        begin: Value::from(1),
        end: Value::from(5),
        exclude_end: false,
    }));
    let nested_range = Job::new("EchoJob").arg(Value::string_hash([("window", range)]));
    let nan = Job::new("EchoJob").arg(Value::BigDecimal("NaN".into()));
    let continuable = {
        let mut job = Job::new("ProcessImportJob").continuable();
        job.continuation = Some(Continuation {
            completed: vec!["validate".into()],
            current: Some(CurrentStep {
                name: "process".into(),
                cursor: json!(3),
            }),
        });
        job
    };
    let composite = Job::new("EchoJob").arg(vec![Value::GlobalId(GlobalId::composite(
        "shop",
        "Order",
        ["3", "17"],
    ))]);
    let cases: [(&str, &Job, RailsVersion, &str); 4] = [
        (
            "composite GlobalID",
            &composite,
            RailsVersion::V7_1,
            "arguments[0][0]",
        ),
        (
            "range",
            &nested_range,
            RailsVersion::V7_0,
            "arguments[0].window",
        ),
        ("bigdecimal NaN", &nan, RailsVersion::V7_1, "arguments[0]"),
        (
            "continuation",
            &continuable,
            RailsVersion::V8_1,
            "continuation",
        ),
    ];
    for (what, job, first_readable, path) in cases {
        for version in ALL_RAILS_VERSIONS {
            let outcome = job.encode_for(version);
            if version >= first_readable {
                assert!(outcome.is_ok(), "{what} for {version}: {outcome:?}");
                continue;
            }
            let error = outcome.expect_err(what);
            assert_eq!(
                error.kind,
                EncodeErrorKind::NotReadableBy(version),
                "{what}"
            );
            assert_eq!(error.path.to_string(), path, "{what}");
            assert!(
                error
                    .message
                    .starts_with(&format!("Rails {version} cannot read")),
                "{what}: {error}"
            );
        }
    }
}

/// Property: Rust, told the application runs Rails N, reads a payload written for N as that version does: a
/// BigDecimal written before 7.1 is the String the job receives; a 6.1 TimeWithZone is the same instant in the
/// worker's `Time.zone` (default_timezone), not in the job's; everything else reads back as written.
#[test]
fn rust_reads_back_what_it_wrote_for_each_version() {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    let berlin = time_zone::lookup("Berlin").unwrap();
    let job = Job::new("EchoJob")
        .timezone("Tokyo")
        .arg(Value::BigDecimal("0.00000000000000000001".into()))
        .arg(Value::time_with_zone(at, berlin.clone()))
        .arg(Value::kwargs([("mode", Value::symbol("fast"))]));
    for version in ALL_RAILS_VERSIONS {
        let options = app_options(version);
        let read = Job::decode_with(&job.encode_for(version).unwrap(), &options).unwrap();
        let want_decimal = if version < RailsVersion::V7_1 {
            Value::from("0.00000000000000000001")
        } else {
            Value::BigDecimal("0.00000000000000000001".into())
        };
        assert_eq!(read.arguments[0], want_decimal, "{version}");
        let Value::TimeWithZone(twz) = &read.arguments[1] else {
            panic!("{version}: {:?}", read.arguments[1]);
        };
        assert_eq!(twz.instant, at, "{version}");
        let want_zone = if version == RailsVersion::V6_1 {
            "Etc/UTC"
        } else {
            "Europe/Berlin"
        };
        assert_eq!(twz.zone.tzinfo_name(), want_zone, "{version}");
        assert_eq!(read.arguments[2], job.arguments[2], "{version}");
        assert_eq!(read.timezone.as_deref(), Some("Tokyo"));
        // Written back for the same version, the bytes do not change.
        assert_eq!(
            read.encode_for(version).unwrap(),
            job.encode_for(version).unwrap(),
            "{version}"
        );
    }
}

/// Property: `rails_version` in app.toml reaches `DecodeOptions` (default 8.1) and a wrong value is refused.
#[test]
fn app_toml_names_the_rails_version() {
    let options = DecodeOptions::from_toml_str("rails_version = \"6.1\"").unwrap();
    assert_eq!(options.rails_version, RailsVersion::V6_1);
    let options = DecodeOptions::from_toml_str("").unwrap();
    assert_eq!(options.rails_version, RailsVersion::V8_1);
    let error = DecodeOptions::from_toml_str("rails_version = \"6.0\"").unwrap_err();
    assert!(
        error.to_string().contains("unknown Rails version"),
        "{error}"
    );
}

/// A continuable job as Rails main (8.2.0.alpha) writes it, with the `attributes` key of `ActiveJob::Attributes`
/// before `continuation` and a cursor serialized through `ActiveJob::Arguments` (reference §8).
const RAILS_MAIN_PAYLOAD: &str = r#"{"job_class":"ProcessImportJob","job_id":"0c0b3d5e-8b0a-4d47-9d3c-6f1f5c3c2a11","provider_job_id":null,"queue_name":"default","priority":null,"arguments":[7],"executions":1,"exception_executions":{"Interrupted at 'walk', cursor 'Mon, 06 Jul 2026' (stopping)":1},"locale":"en","timezone":"UTC","enqueued_at":"2026-11-24T21:27:56.123456789Z","scheduled_at":"2026-11-24T21:27:56.123456789Z","attributes":{"payment_token":"tok_123","started_on":{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2026-07-06"},"_aj_symbol_keys":[]},"continuation":{"completed":["validate"],"current":["walk",{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2026-07-06"}]},"resumptions":0}"#;

/// Property: Rails main's `attributes` key is read as main reads it (through `ActiveJob::Arguments`), kept, and
/// written back in main's place, before `continuation`; the cursor reads as the argument it is; a payload of 8.1
/// has no attributes.
#[test]
fn rails_main_attributes_are_read_and_written_back_in_place() {
    let options = app_options(RailsVersion::V8_1);
    let job = Job::decode_with(RAILS_MAIN_PAYLOAD.as_bytes(), &options).unwrap();
    let attributes = job
        .attributes(&options)
        .expect("an attributes key")
        .unwrap();
    let Value::Hash(attributes) = attributes else {
        panic!("{attributes:?}");
    };
    assert_eq!(
        attributes.get("payment_token"),
        Some(&Value::from("tok_123"))
    );
    let started_on = chrono::NaiveDate::from_ymd_opt(2026, 7, 6).unwrap();
    assert_eq!(attributes.get("started_on"), Some(&Value::Date(started_on)));
    let cursor = job.continuation.as_ref().unwrap().current.as_ref().unwrap();
    let zone = time_zone::lookup("UTC").unwrap();
    let ctx = activejob_karafka::arguments::DecodeContext {
        zone: &zone,
        serializers: &options.serializers,
        zones: &options.time_zones,
    };
    assert_eq!(cursor.cursor_value(&ctx).unwrap(), Value::Date(started_on));
    assert_eq!(
        String::from_utf8(job.encode_for(RailsVersion::V8_1).unwrap()).unwrap(),
        RAILS_MAIN_PAYLOAD
    );
    let rails81 = Job::decode_with(
        &std::fs::read(crate_root().join("fixtures/8.1/kwargs.json")).unwrap(),
        &options,
    )
    .unwrap();
    assert!(rails81.attributes(&options).is_none());
}

/// Property: a handler reads a cursor Rails main serialized through `ActiveJob::Arguments` as the value it is
/// (a Date, a Hash with Symbol keys), and an 8.1 raw cursor as before.
#[tokio::test]
async fn rails_main_cursors_read_as_the_arguments_they_are() {
    use activejob_karafka::consumer::SignalSwitch;
    use activejob_karafka::continuation::Steps;
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Page {
        page: i64,
        token: String,
    }
    let (_switch, signals) = SignalSwitch::new();
    let mut read = 0;
    let cases = [
        (
            json!({"_aj_serialized": "ActiveJob::Serializers::DateSerializer", "value": "2026-07-06"}),
            "date",
        ),
        (
            json!({"page": 3, "token": "abc", "_aj_symbol_keys": ["page"]}),
            "hash",
        ),
        (json!({"page": 3, "token": "abc"}), "raw 8.1 hash"),
    ];
    for (cursor, what) in cases {
        let continuation = Continuation {
            completed: vec![],
            current: Some(CurrentStep {
                name: "walk".into(),
                cursor,
            }),
        };
        let mut steps = Steps::new(continuation, signals.clone());
        steps
            .step_from("walk", 0, async |step| {
                if what == "date" {
                    let day: String = step.cursor()?;
                    assert_eq!(day, "2026-07-06");
                } else {
                    let page: Page = step.cursor()?;
                    assert_eq!(
                        page,
                        Page {
                            page: 3,
                            token: "abc".into()
                        },
                        "{what}"
                    );
                }
                read += 1;
                Ok(())
            })
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    assert_eq!(read, 3, "every cursor was handed to the step");
}

/// Property: a cursor a Rust step sets is written, in the resumed payload, as each target writes it: through
/// `ActiveJob::Arguments` for Rails main (a Hash with `_aj_symbol_keys`, a main-form Date cursor kept as its
/// `DateSerializer` object), raw JSON for 8.1, unchanged from before; Rust reads both back as the same cursor,
/// with main's `attributes` key kept in main's place.
#[tokio::test]
async fn cursors_set_in_rust_are_written_as_each_target_writes_them() {
    use activejob_karafka::consumer::SignalSwitch;
    use activejob_karafka::continuation::{resumed_job, ContinuableOptions, Steps};
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Page {
        page: i64,
        token: String,
    }
    let main_job = Job::decode_with(
        RAILS_MAIN_PAYLOAD.as_bytes(),
        &app_options(RailsVersion::V8_2),
    )
    .unwrap();
    let (switch, signals) = SignalSwitch::new();
    let mut steps = Steps::new(main_job.continuation.clone().unwrap(), signals);
    steps.step("validate", async |_| Ok(())).await.unwrap();
    let interrupted = steps
        .step_from("walk", 0, async |step| {
            switch.stop();
            step.set(Page {
                page: 3,
                token: "abc".into(),
            })?;
            Ok(())
        })
        .await;
    assert!(
        matches!(
            interrupted,
            Err(activejob_karafka::continuation::StepError::Interrupted(_))
        ),
        "the stop interrupts the step at set: {interrupted:?}"
    );
    let outcome = steps.outcome();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
    let resumed = resumed_job(
        &main_job,
        &outcome,
        "stopping",
        &ContinuableOptions::default(),
        now,
    );

    let main = written(&resumed, RailsVersion::V8_2);
    assert_eq!(
        main["continuation"]["current"],
        json!(["walk", {"page": 3, "token": "abc", "_aj_symbol_keys": []}])
    );
    let keys: Vec<&str> = main
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let at = keys
        .iter()
        .position(|k| *k == "attributes")
        .expect("attributes kept");
    assert_eq!(
        keys[at + 1],
        "continuation",
        "attributes written before continuation"
    );
    let rails81 = written(&resumed, RailsVersion::V8_1);
    assert_eq!(
        rails81["continuation"]["current"],
        json!(["walk", {"page": 3, "token": "abc"}])
    );
    assert_eq!(
        resumed.encode_for(RailsVersion::V8_1).unwrap(),
        resumed.encode().unwrap(),
        "8.1 is the default and writes as before"
    );

    for (version, payload) in [(RailsVersion::V8_2, main), (RailsVersion::V8_1, rails81)] {
        let options = app_options(version);
        let back = Job::decode_with(payload.to_string().as_bytes(), &options).unwrap();
        let (_switch, signals) = SignalSwitch::new();
        let mut steps = Steps::new(back.continuation.clone().unwrap(), signals);
        steps.step("validate", async |_| Ok(())).await.unwrap();
        steps
            .step_from("walk", 0, async |step| {
                assert_eq!(
                    step.cursor::<Page>()?,
                    Page {
                        page: 3,
                        token: "abc".into()
                    },
                    "{version}"
                );
                Ok(())
            })
            .await
            .unwrap();
        assert!(back.attributes(&options).is_some(), "{version}");
    }

    // A cursor read in main's form and not moved is written back as main wrote it.
    assert_eq!(
        String::from_utf8(main_job.encode_for(RailsVersion::V8_2).unwrap()).unwrap(),
        RAILS_MAIN_PAYLOAD
    );
}
