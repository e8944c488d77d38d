//! The bytes path (`Job::decode_with`, reading the tape) and the tree path (`json::parse` then
//! `Job::from_json`, reading a `serde_json::Value`) must give the same job or the same error for
//! every input: the golden payloads, Rails' decode probes, hand-picked bad inputs, and generated
//! payloads full of markers, serializer names and repeated keys.

use crate::json::{self, DEFAULT_MAX_PAYLOAD_BYTES};
use crate::{DecodeError, DecodeOptions, Job};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_file(fixtures().join("app.toml")).expect("fixtures/app.toml")
}

fn tree_path(bytes: &[u8], options: &DecodeOptions) -> Result<Job, DecodeError> {
    Job::from_json(json::parse(bytes, options.max_payload_bytes)?, options)
}

/// Both paths agree on `bytes` under every set of options; panics with the payload if not.
fn agree(bytes: &[u8]) {
    let small = DecodeOptions {
        max_payload_bytes: 64,
        ..DecodeOptions::default()
    };
    for options in [&DecodeOptions::default(), &app_options(), &small] {
        let fast = Job::decode_with(bytes, options);
        let tree = tree_path(bytes, options);
        assert_eq!(
            fast,
            tree,
            "paths differ on {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn payload_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for version in ["6.1", "7.1", "8.1"] {
        for entry in std::fs::read_dir(fixtures().join(version)).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
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

#[test]
fn every_golden_payload_and_probe_reads_the_same_both_ways() {
    let files = payload_files();
    assert!(files.len() >= 135, "{} fixtures", files.len());
    for file in &files {
        let bytes = std::fs::read(file).expect("fixture");
        assert!(Job::decode_with(&bytes, &app_options()).is_ok(), "{file:?}");
        agree(&bytes);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("8.1/manifest.json")).unwrap())
            .unwrap();
    let probes = manifest["decode_probes"].as_array().expect("decode_probes");
    for probe in probes {
        agree(probe["json"].as_str().expect("probe json").as_bytes());
    }
}

#[test]
fn every_golden_payload_takes_the_keyed_envelope_reading() {
    for file in payload_files() {
        let text = std::fs::read_to_string(&file).expect("fixture");
        let keyed = super::Tape::parse_keyed(&text, &crate::envelope::FIELD_KEYS);
        assert!(keyed.is_some(), "{file:?} was read the general way");
    }
}

#[test]
fn bad_and_odd_inputs_read_the_same_both_ways() {
    let deep_arrays = format!(
        r#"{{"job_class":"EchoJob","arguments":[{}{}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_hashes = format!(
        r#"{{"job_class":"EchoJob","arguments":[{}1{}]}}"#,
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    let nested_128 = format!(r#"{}1{}"#, "[".repeat(128), "]".repeat(128));
    let many_keys: String = (0..80).map(|i| format!(r#""k{}":{i},"#, i % 70)).collect();
    let many_keys = format!(
        r#"{{"job_class":"EchoJob","arguments":[{{{many_keys}"_aj_symbol_keys":["k3","k75"]}}]}}"#
    );
    let late_value: String = (0..70).map(|i| format!(r#""f{i}":{i},"#)).collect();
    let late_value = format!(
        r#"{{"job_class":"EchoJob","arguments":[{{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer",{late_value}"value":"late"}},{{"_aj_serialized":"MoneySerializer",{late_value}"cents":1}}]}}"#
    );
    let inputs: Vec<&[u8]> = vec![
        b"",
        b" ",
        b"null",
        b"[1,2]",
        b"\"job\"",
        b"{\"job_class\": ",
        b"{\"job_class\":\"EchoJob\"} x",
        b"{\"job_class\":\"EchoJob\",}",
        b"{\"job_class\":\"Echo\xffJob\",\"arguments\":[]}",
        b"\xef\xbb\xbf{\"job_class\":\"EchoJob\"}",
        br#"{}"#,
        br#"{"job_class":null}"#,
        br#"{"job_class":5}"#,
        br#"{"job_class":"NoSuchJob","arguments":[]}"#,
        br#"{"job_class":"EchoJob"}"#,
        br#"{"job_class":"EchoJob","arguments":{"a":1}}"#,
        br#"{"job_class":"EchoJob","arguments":null}"#,
        br#"{"job_class":"EchoJob","arguments":[],"executions":"3"}"#,
        br#"{"job_class":"EchoJob","executions":1.0,"priority":-0}"#,
        br#"{"job_class":"EchoJob","executions":9223372036854775808}"#,
        br#"{"job_class":"EchoJob","executions":-9223372036854775808,"priority":1e2}"#,
        br#"{"job_class":"EchoJob","arguments":[],"scheduled_at":1893499200.0}"#,
        br#"{"job_class":"EchoJob","enqueued_at":"yesterday","arguments":[{"_aj_serialized":"x"}]}"#,
        br#"{"job_class":"EchoJob","enqueued_at":null,"scheduled_at":null}"#,
        br#"{"job_class":"EchoJob","timezone":"Mars/Olympus","arguments":[]}"#,
        br#"{"job_class":"EchoJob","timezone":"Mars/Olympus"}"#,
        br#"{"job_class":"EchoJob","timezone":"","arguments":[]}"#,
        br#"{"job_class":"EchoJob","timezone":"Berlin","arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"2024-03-15T08:30:45.123456789+01:00"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"2024-03-15T08:30:45Z","time_zone":7}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"2024-03-15T08:30:45Z","time_zone":"Nowhere"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[1,{"window":{"from":{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-02-30"},"_aj_symbol_keys":["from"]},"_aj_symbol_keys":[]}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":5}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"value":"late","_aj_serialized":"ActiveJob::Serializers::SymbolSerializer"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"a","value":"b"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":7}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::DurationSerializer","value":60,"parts":"1 minute"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::DurationSerializer","value":90.5,"parts":[["minutes",1],["seconds",30.5],["hours"]]}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::RangeSerializer","begin":1,"end":{"_aj_serialized":"nope"},"exclude_end":"yes"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::BigDecimalSerializer","value":"1.2e3"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"ActiveJob::Serializers::ActionControllerParametersSerializer","value":{}}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"MoneySerializer","cents":100,"currency":"EUR","nested":{"_aj_symbol_keys":[],"x":[1.50,-0]}}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"not a gid"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":5}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"gid://shop/User/1","x":1}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"gid://shop/User/1","_aj_globalid":"gid://shop/User/2"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_globalid":"bad","_aj_globalid":"gid://shop/User/%41"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_\u0067lobalid":"gid://shop/User/3"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"a":1,"b":2,"a":3,"_aj_symbol_keys":["a"],"_aj_symbol_keys":"b"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"a":1,"_aj_symbol_keys":5}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_symbol_keys":5}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"a":1,"_aj_symbol_keys":false,"_aj_ruby2_keywords":"abc"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"a":{"b":[{"c":1,"_aj_symbol_keys":["c"]}]},"_aj_hash_with_indifferent_access":true}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"a":1,"_aj_hash_with_indifferent_access":null,"_aj_symbol_keys":{"a":1}}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"$serde_json::private::Number":"1.5"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"$serde_json::private::Number":5}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"$serde_json::private::Number":"x"}]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"$serde_json::private::Number":"1","b":2}]}"#,
        br#"{"job_class":"EchoJob","arguments":[18446744073709551616,-18446744073709551617,18446744073709551615,-0,1.0e+20,1E400,-1e-400,0.1,"\u00e9\n\"",[]]}"#,
        br#"{"job_class":"EchoJob","arguments":[],"foo":{"b":[1,2.50]},"cattr_0":{"user_id":7},"foo":3}"#,
        br#"{"job_class":"EchoJob","job_class":"ImportJob","arguments":[1],"arguments":[2]}"#,
        br#"{"job_class":"EchoJob","arguments":[{"_aj_serialized":"nope"}],"arguments":[]}"#,
        br#"{"job_class":"ProcessImportJob","arguments":[1],"continuation":{"completed":["validate"],"current":null}}"#,
        br#"{"job_class":"ProcessImportJob","arguments":[],"continuation":{"completed":["a"],"current":["b",{"x":[1,2.5]}]},"resumptions":2}"#,
        br#"{"job_class":"EchoJob","resumptions":"x","continuation":5}"#,
        br#"{"job_class":"EchoJob","exception_executions":{"[RuntimeError]":2,"x":1.5},"locale":7}"#,
        br#"{"job_class":"EchoJob","exception_executions":[]}"#,
        br#"{"job_class":"EchoJob","job_id":"a","job_id":null,"queue_name":["q"]}"#,
        br#"{"job_class":"ImportJob","job_id":"a","queue_name":"q","job_class":"EchoJob"}"#,
        br#"{"queue_name":"q","job_id":"a","job_class":"EchoJob","arguments":[]}"#,
        br#"{"job_class":"EchoJob","arguments":[]}"#,
        br#"{"job_class":"EchoJob","job_class":"ImportJob"}"#,
        br#"{"job_class":"EchoJob","cattr_0":1,"continuation":{},"cattr_0":2}"#,
        br#"{"job_class":"EchoJob","$serde_json::private::Number":"1"}"#,
        br#"{"$serde_json::private::Number":"1","job_class":"EchoJob"}"#,
        br#" { "job_class" : "EchoJob" , "arguments" : [ 1 ] , "x" : { } } "#,
        br#"{"job_class":"EchoJob","arguments":[]"#,
        br#"{"job_class":"EchoJob","arguments":[]}}"#,
        br#"{"job_class""EchoJob"}"#,
        br#"{"job_class":"EchoJob",,"arguments":[]}"#,
        br#"{"job_class":"EchoJob","job_classy":1,"job_clas":2}"#,
        deep_arrays.as_bytes(),
        deep_hashes.as_bytes(),
        nested_128.as_bytes(),
        many_keys.as_bytes(),
        late_value.as_bytes(),
    ];
    for input in inputs {
        agree(input);
    }
}

#[test]
fn deep_nesting_is_refused_as_json_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"job_class":"EchoJob","arguments":[{}{}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = Job::decode_with(deep.as_bytes(), &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.kind, crate::DecodeErrorKind::InvalidJson);
    assert!(e.message.contains("recursion limit"), "{}", e.message);
    assert_eq!(
        Some(e),
        json::parse(deep.as_bytes(), DEFAULT_MAX_PAYLOAD_BYTES).err()
    );
}

/// Keys that change how an object reads, serializer names, and plain keys.
fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "_aj_globalid",
        "_aj_serialized",
        "_aj_symbol_keys",
        "_aj_ruby2_keywords",
        "_aj_hash_with_indifferent_access",
        "_aj_\\u0073erialized",
        "$serde_json::private::Number",
        "value",
        "time_zone",
        "parts",
        "begin",
        "end",
        "exclude_end",
        "cents",
        "a",
        "b",
        "mode",
        "",
    ])
}

fn scalar() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "-0",
        "7",
        "-7",
        "9223372036854775808",
        "18446744073709551616",
        "1.5",
        "2.50",
        "1E2",
        "1e400",
        "\"\"",
        "\"a\"",
        "\"mode\"",
        "\"a\\u0062\"",
        "\"gid://shop/User/1\"",
        "\"gid://shop/User\"",
        "\"UTC\"",
        "\"Berlin\"",
        "\"Mars\"",
        "\"2024-02-29\"",
        "\"2024-02-30\"",
        "\"2024-03-15T08:30:45.123456789Z\"",
        "\"2024-03-15T08:30:45+01:00\"",
        "\"minutes\"",
        "\"1.5\"",
        "\"ActiveJob::Serializers::SymbolSerializer\"",
        "\"ActiveJob::Serializers::DurationSerializer\"",
        "\"ActiveJob::Serializers::DateSerializer\"",
        "\"ActiveJob::Serializers::DateTimeSerializer\"",
        "\"ActiveJob::Serializers::TimeSerializer\"",
        "\"ActiveJob::Serializers::TimeWithZoneSerializer\"",
        "\"ActiveJob::Serializers::ModuleSerializer\"",
        "\"ActiveJob::Serializers::RangeSerializer\"",
        "\"ActiveJob::Serializers::BigDecimalSerializer\"",
        "\"MoneySerializer\"",
        "\"NoSuchSerializer\"",
    ])
    .prop_map(str::to_owned)
}

/// JSON text of an argument-like value: arrays and objects (with repeated keys allowed).
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key(), inner), 0..5).prop_map(|entries| {
                let body: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

fn envelope_key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "job_class",
        "job_id",
        "queue_name",
        "priority",
        "arguments",
        "executions",
        "exception_executions",
        "locale",
        "timezone",
        "enqueued_at",
        "scheduled_at",
        "continuation",
        "resumptions",
        "cattr_0",
        "provider_job_id",
        "job_\\u0069d",
        "$serde_json::private::Number",
    ])
}

/// JSON text of a payload: a job class, arguments, and envelope keys in any order, repeated or
/// of any type.
fn payload() -> impl Strategy<Value = String> {
    let class = prop::sample::select(vec![
        "\"EchoJob\"",
        "\"ProcessImportJob\"",
        "\"NoSuchJob\"",
        "null",
        "3",
    ]);
    let arguments = prop::collection::vec(value(), 0..4).prop_map(|items| items.join(","));
    let others = prop::collection::vec((envelope_key(), value()), 0..4);
    (class, arguments, others, any::<prop::sample::Index>()).prop_map(
        |(class, arguments, others, at)| {
            let mut entries = vec![
                format!("\"job_class\":{class}"),
                format!("\"arguments\":[{arguments}]"),
            ];
            for (k, v) in others {
                entries.insert(at.index(entries.len() + 1), format!("\"{k}\":{v}"));
            }
            format!("{{{}}}", entries.join(","))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_payloads_read_the_same_both_ways(payload in payload()) {
        agree(payload.as_bytes());
    }

    #[test]
    fn generated_values_read_the_same_both_ways(value in value()) {
        agree(format!(r#"{{"job_class":"EchoJob","arguments":[{value}]}}"#).as_bytes());
        agree(value.as_bytes());
    }
}

// The direct scan against serde_json's parser, token by token: where the scan takes a text,
// serde_json accepts it and puts the same tokens on the tape.

use super::{scan, Tape, Tok};

/// A token with its contents as text, so that the scan's `Int(7)` and serde_json's
/// arbitrary-precision `"7"` compare equal.
fn token_text(tape: &Tape<'_>, i: usize) -> String {
    match tape.toks[i] {
        Tok::Null => "null".into(),
        Tok::Bool(b) => b.to_string(),
        Tok::Int(v) => format!("number {v}"),
        Tok::UInt(v) => format!("number {v}"),
        Tok::Number(k) => format!("number {}", tape.owned[k as usize]),
        Tok::Str(_) | Tok::Escaped(_) => format!("string {:?}", tape.text(i)),
        Tok::Array { len, end } => format!("array {len} {end}"),
        Tok::Object { len, end, flags } => format!("object {len} {end} {flags}"),
    }
}

fn tokens(tape: &Tape<'_>) -> Vec<String> {
    (0..tape.toks.len()).map(|i| token_text(tape, i)).collect()
}

/// Whether the scan took `text`; panics if it took something serde_json refuses or reads
/// differently.
fn scan_agrees(text: &str) -> bool {
    let mut scanned = Tape {
        toks: Vec::new(),
        owned: Vec::new(),
    };
    let took = scan::scan(text, &mut scanned).is_some();
    let mut parsed = Tape {
        toks: Vec::new(),
        owned: Vec::new(),
    };
    let serde = parsed.parse_with_serde(text);
    if took {
        assert!(
            serde.is_ok(),
            "scan took what serde_json refuses ({serde:?}): {text}"
        );
        assert_eq!(tokens(&scanned), tokens(&parsed), "tokens differ on {text}");
    }
    took
}

#[test]
fn the_scan_reads_every_golden_payload_as_serde_json_does() {
    let files = payload_files();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("fixture");
        assert!(scan_agrees(&text), "the scan gave up on {}", file.display());
    }
}

#[test]
fn the_scan_reads_escapes_numbers_and_odd_shapes_as_serde_json_does_or_gives_up() {
    let taken = [
        r#"{"a":"x\"y\\z\/\b\f\n\r\t","b\u0041":"\u00e9\u20ac\ud83d\ude00","c":"\u003cb\u003e"}"#,
        r#"[0,-0,7,-7,9223372036854775807,-9223372036854775808,9223372036854775808]"#,
        r#"[18446744073709551616,1.5,2.50,-0.0,1E2,1e+2,1e-2,1e400,-1.25E-7]"#,
        " \n\t\r{ \"a\" : [ 1 , { } , [ ] , \"\" ] }\n ",
        r#"{"a":1,"b":2,"a":3,"_aj_serialized":"x"}"#,
        r#""just a string""#,
        "null",
        "true",
        "-12",
    ];
    for text in taken {
        assert!(scan_agrees(text), "the scan gave up on {text}");
    }
    let left_to_serde = [
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[+1]",
        "[NaN]",
        "[Infinity]",
        "nul",
        "truex",
        "[1] [2]",
        "\"unterminated",
        "\"tab\tinside\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud83d\"",
        "\"\\ud83d\\u0041\"",
        "\"\\ude00\"",
        "{\"$serde_json::private::Number\":\"1.5\"}",
        "[1,2",
    ];
    for text in left_to_serde {
        assert!(!scan_agrees(text), "the scan took {text:?}");
    }
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(scan_agrees(&deep(100)));
    assert!(!scan_agrees(&deep(102)));
    assert!(!scan_agrees(&deep(10_000)));
    let many_keys: Vec<String> = (0..70).map(|i| format!("\"k{}\":{i}", i % 66)).collect();
    assert!(scan_agrees(&format!("{{{}}}", many_keys.join(","))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_scan_takes_generated_payloads_as_serde_json_reads_them(payload in payload()) {
        // serde_json reads an object under its private number key as a number: left to it.
        let taken = scan_agrees(&payload);
        prop_assert!(taken || payload.contains(super::NUMBER_TOKEN));
    }

    /// One byte changed, dropped or added anywhere: the scan gives up or agrees.
    #[test]
    fn the_scan_never_takes_a_broken_payload_serde_json_refuses(
        payload in payload(),
        at in any::<prop::sample::Index>(),
        edit in 0..3_u8,
        byte in prop::sample::select(b"\"\\{}[],:0-.eE+ \tnu\x01x".to_vec()),
    ) {
        let mut bytes = payload.into_bytes();
        let i = at.index(bytes.len() + 1);
        match edit {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            scan_agrees(text);
        }
    }
}
