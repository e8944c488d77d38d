//! Bad payloads never panic: each is a typed error that names where and why.

use activejob_karafka::arguments::{HashKey, Value};
use activejob_karafka::{DecodeErrorKind, DecodeOptions, Job};

fn err(payload: &[u8]) -> activejob_karafka::DecodeError {
    Job::decode(payload).expect_err("payload must be refused")
}

#[test]
fn not_json() {
    let e = err(b"{\"job_class\": ");
    assert_eq!(e.kind, DecodeErrorKind::InvalidJson);
    assert_eq!(e.path.as_str(), "$");
}

#[test]
fn tombstone_and_empty_payloads() {
    assert_eq!(err(b"").kind, DecodeErrorKind::InvalidJson);
    assert_eq!(err(b"null").kind, DecodeErrorKind::WrongShape);
}

#[test]
fn not_an_object() {
    let e = err(b"[1,2]");
    assert_eq!(e.kind, DecodeErrorKind::WrongShape);
    assert_eq!(
        e.to_string(),
        "$: a job payload is a JSON object, found an array"
    );
}

#[test]
fn no_job_class() {
    let e = err(br#"{"arguments":[]}"#);
    assert_eq!(e.kind, DecodeErrorKind::MissingKey);
    assert_eq!(e.path.as_str(), "job_class");
    assert_eq!(err(br#"{"job_class":5}"#).kind, DecodeErrorKind::WrongShape);
}

#[test]
fn arguments_not_an_array() {
    let e = err(br#"{"job_class":"EchoJob","arguments":{"a":1}}"#);
    assert_eq!(
        e.to_string(),
        "arguments: expected an array, found an object"
    );
}

#[test]
fn envelope_fields_of_the_wrong_type() {
    let e = err(br#"{"job_class":"EchoJob","arguments":[],"executions":"3"}"#);
    assert_eq!(
        e.to_string(),
        "executions: expected an integer, found a string"
    );
    let e = err(br#"{"job_class":"EchoJob","arguments":[],"scheduled_at":1893499200.0}"#);
    assert_eq!(e.path.as_str(), "scheduled_at");
}

#[test]
fn known_serializer_with_a_wrong_shape() {
    let e = err(br#"{"job_class":"EchoJob","arguments":[1,{"window":{"from":{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-02-30"},"_aj_symbol_keys":["from"]},"_aj_symbol_keys":[]}]}"#);
    assert_eq!(e.kind, DecodeErrorKind::InvalidValue);
    assert_eq!(
        e.to_string(),
        "arguments[1].window.from.value: DateSerializer value \"2024-02-30\" is not a date"
    );
    let e = err(br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":5}]}"#);
    assert_eq!(
        e.to_string(),
        "arguments[0].value: SymbolSerializer value must be a string, found an integer"
    );
    let e = err(br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::DurationSerializer","value":60,"parts":"1 minute"}]}"#);
    assert_eq!(e.path.as_str(), "arguments[0].parts");
    let e = err(br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"not a gid"}]}"#);
    assert_eq!(e.path.as_str(), "arguments[0]._aj_globalid");
    let e = err(br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":7}]}"#);
    assert_eq!(e.path.as_str(), "arguments[0]._aj_serialized");
}

#[test]
fn reserved_keys_are_refused_when_writing() {
    for key in [
        "_aj_globalid",
        "_aj_symbol_keys",
        "_aj_ruby2_keywords",
        "_aj_serialized",
        "_aj_hash_with_indifferent_access",
    ] {
        let job = Job::new("EchoJob").arg(Value::string_hash([(key, Value::from(1))]));
        let e = job.encode().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("arguments[0]: Can't serialize a Hash with reserved key {key:?}")
        );
        let job = Job::new("EchoJob").arg(Value::symbol_hash([(key, Value::from(1))]));
        let e = job.encode().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("arguments[0]: Can't serialize a Hash with reserved key :{key}")
        );
    }
}

#[test]
fn reserved_keys_read_as_rails_reads_them() {
    // Two keys: not a GlobalID but a plain Hash with a "_aj_globalid" String key.
    let job = Job::decode(
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"gid://shop/User/1","x":1}]}"#,
    )
    .unwrap();
    let Value::Hash(hash) = &job.arguments[0] else {
        panic!("{:?}", job.arguments)
    };
    assert_eq!(hash.entries[0].0, HashKey::String("_aj_globalid".into()));
}

#[test]
fn nesting_ten_thousand_deep_does_not_overflow() {
    let deep = format!(
        "{{\"job_class\":\"EchoJob\",\"arguments\":[{}{}]}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = err(deep.as_bytes());
    assert_eq!(e.kind, DecodeErrorKind::InvalidJson);
    let deep_hashes = format!(
        "{{\"job_class\":\"EchoJob\",\"arguments\":[{}1{}]}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(
        err(deep_hashes.as_bytes()).kind,
        DecodeErrorKind::InvalidJson
    );
}

#[test]
fn ten_megabyte_payload_decodes_and_a_limit_refuses_it() {
    let big = "x".repeat(10 * 1024 * 1024);
    let payload = format!("{{\"job_class\":\"EchoJob\",\"arguments\":[\"{big}\"]}}");
    let job = Job::decode(payload.as_bytes()).unwrap();
    assert_eq!(job.arguments[0].as_str().map(str::len), Some(big.len()));
    let options = DecodeOptions {
        max_payload_bytes: 1024 * 1024,
        ..DecodeOptions::default()
    };
    let e = Job::decode_with(payload.as_bytes(), &options).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooLarge);
}

#[test]
fn invalid_utf8() {
    let e = err(b"{\"job_class\":\"Echo\xffJob\",\"arguments\":[]}");
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8);
}

#[test]
fn invalid_job_timezone() {
    let e = err(br#"{"job_class":"EchoJob","timezone":"Mars/Olympus","arguments":[]}"#);
    assert_eq!(e.to_string(), "timezone: Invalid Timezone: Mars/Olympus");
}
