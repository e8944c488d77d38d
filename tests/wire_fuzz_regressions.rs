//! Inputs the decoder fuzz target (fuzz/fuzz_targets/decode.rs) found, minimised, each kept as a
//! plain test so the suite holds the line without a fuzzer. Every test checks the target's
//! property for its input: decoding does not panic, and a decoded job survives
//! encode → decode unchanged, typed dump included.

use activejob_karafka::arguments::{from_values, Value};
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, EncodeErrorKind, Job};

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_str(include_str!("../fixtures/app.toml")).expect("fixtures/app.toml")
}

/// The fuzz target's check for one payload and one set of options.
fn round_trips(payload: &str, options: &DecodeOptions) {
    let job = Job::decode_with(payload.as_bytes(), options).expect("the payload decodes");
    let _ = from_values::<Vec<serde_json::Value>>(&job.arguments);
    let bytes = job.encode().expect("a decoded job encodes");
    let encoded = String::from_utf8_lossy(&bytes);
    let again = Job::decode_with(&bytes, options)
        .unwrap_or_else(|e| panic!("re-decoding failed: {e}\nencoded: {encoded}"));
    assert_eq!(job, again, "encoded: {encoded}");
    compare(&typed_dump(&job, options), &typed_dump(&again, options))
        .unwrap_or_else(|diff| panic!("typed dump changed: {diff}\nencoded: {encoded}"));
}

/// A payload without `arguments` must be refused for a `timezone` Rails does not know, as the
/// same payload with `"arguments":[]` is (`timezone: Invalid Timezone: x`: Rails'
/// `Time.use_zone` raises around `perform` whatever the arguments); otherwise the encoded job,
/// which always has `arguments`, would not decode.
#[test]
fn unknown_timezone_without_arguments() {
    let payload = r#"{"job_class":"EchoJob","timezone":"x"}"#;
    let with_arguments = r#"{"job_class":"EchoJob","timezone":"x","arguments":[]}"#;
    let refused = Job::decode(with_arguments.as_bytes()).expect_err("Rails refuses the zone");
    assert_eq!(refused.path.as_str(), "timezone");
    assert_eq!(
        Job::decode(payload.as_bytes()).map_err(|e| e.to_string()),
        Err(refused.to_string()),
        "the same zone must be refused whether or not `arguments` is present"
    );
}

/// A TimeWithZone in a zone whose offset then had seconds (Asia/Kolkata's local mean time,
/// +05:53:28) was written as `05:53:28+05:53`, Rails' text with the offset's seconds dropped,
/// which reads back 28 seconds later. It is now written as the UTC instant, which Ruby reads
/// back exactly and shows in the same zone.
#[test]
fn time_with_zone_in_local_mean_time() {
    let payload = r#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"1141-01-01T05:30:00+05:30","time_zone":"Asia/Kolkata"}]}"#;
    round_trips(payload, &DecodeOptions::default());
    let job = Job::decode(payload.as_bytes()).unwrap();
    let Value::TimeWithZone(twz) = &job.arguments[0] else {
        panic!("a TimeWithZone: {:?}", job.arguments[0]);
    };
    assert_eq!(twz.instant.to_rfc3339(), "1141-01-01T00:00:00+00:00");
    let encoded = String::from_utf8(job.encode().unwrap()).unwrap();
    assert!(
        encoded.contains(r#""value":"1141-01-01T00:00:00.000000000Z","time_zone":"Asia/Kolkata""#),
        "{encoded}"
    );
    // What Ruby shows for it is unchanged: the local time with Rails' printed offset.
    assert_eq!(
        typed_dump(&job, &DecodeOptions::default())["arguments"][0]["iso8601"],
        "1141-01-01T05:53:28.000000000+05:53"
    );
}

/// Zones whose offsets are whole minutes keep Rails' own text.
#[test]
fn time_with_zone_in_standard_time_keeps_rails_text() {
    let payload = r#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"2024-03-15T08:30:45.123456789-04:00","time_zone":"America/New_York"}]}"#;
    round_trips(payload, &app_options());
    let job = Job::decode(payload.as_bytes()).unwrap();
    let encoded = String::from_utf8(job.encode().unwrap()).unwrap();
    assert!(
        encoded.contains(r#""value":"2024-03-15T08:30:45.123456789-04:00""#),
        "{encoded}"
    );
}

/// A Duration total written as `1e400` reads as Infinity (Ruby's JSON parser does the same).
/// Encoding wrote it as `"value":null`, which the decoder refuses (`DurationSerializer value
/// must be a number, found null`), and Rails reads as a Duration without a total; in a part,
/// null cannot be read by Rails at all (`nil.zero?`). Such a Duration is now refused when
/// encoding.
#[test]
fn non_finite_duration_is_refused_when_encoding() {
    let options = DecodeOptions::default();
    for (value, amount) in [("1e400", "1"), ("60", "-1e400"), ("1e400", "1e400")] {
        let payload = format!(
            r#"{{"job_class":"EchoJob","arguments":[{{"_aj_serialized":"ActiveJob::Serializers::DurationSerializer","value":{value},"parts":[[{{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"seconds"}},{amount}]]}}]}}"#
        );
        let job = Job::decode_with(payload.as_bytes(), &options).expect("Ruby reads it too");
        let err = job
            .encode()
            .expect_err("no JSON carries an infinite Duration");
        assert_eq!(err.path.as_str(), "arguments[0]", "{err}");
        assert!(err.to_string().contains("not finite"), "{err}");
    }
    // A finite one is written and read back unchanged.
    round_trips(
        r#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::DurationSerializer","value":1.0e+300,"parts":[[{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"seconds"},1.0e+300]]}]}"#,
        &options,
    );
}

/// GlobalID unescapes a URI's model id but not its model name (`URI::GID` keeps `model_name`
/// as written). Unescaping the model name too turned `gid://shop/+ser/1` into model `" ser"`,
/// written back as `gid://shop/ ser/1` (not a URI), and `gid://shop/a%2Fb/1` into
/// `gid://shop/a/b/1`, a reference to another record. Such names are read as written; as they
/// are no constant names (Rails' `constantize` raises), the writer refuses them.
#[test]
fn global_id_model_name_is_not_unescaped() {
    for (uri, model) in [
        ("gid://shop/+ser/1", "+ser"),
        ("gid://shop/a%2Fb/1", "a%2Fb"),
        ("gid://shop/%55ser/1", "%55ser"),
    ] {
        let payload =
            format!(r#"{{"job_class":"EchoJob","arguments":[{{"_aj_globalid":"{uri}"}}]}}"#);
        let job = Job::decode(payload.as_bytes()).expect("the payload decodes");
        let Value::GlobalId(gid) = &job.arguments[0] else {
            panic!("a GlobalID: {:?}", job.arguments[0]);
        };
        assert_eq!(gid.model_name, model);
        assert_eq!(gid.uri(), uri, "written back as read");
        let refused = job.encode().expect_err("not a constant name");
        assert_eq!(refused.kind, EncodeErrorKind::GlobalId);
    }
    round_trips(
        r#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"gid://shop/Billing::Invoice/2024%2F05%2F7"}]}"#,
        &DecodeOptions::default(),
    );
}
