//! The typed path (`JobView`: the envelope read in place, a handler's arguments deserialized
//! straight from the payload) against the owned path (`Job::decode_with`, then `from_values`):
//! for every golden payload, generated job and corrupted payload, and for handler types that ask
//! serde for every kind of value, both give the same arguments or the same error, path included.

mod common;
#[path = "generated/values.rs"]
mod generated;

use activejob_karafka::view::JobView;
use activejob_karafka::{DecodeOptions, Job};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

#[path = "common/typed_agreement.rs"]
mod agreement;

use agreement::{agree, agree_on_all, assert_same_envelope, fixture_app, owned, typed, Keywords};

/// Every golden payload of Rails 6.1, 7.1 and 8.1: the same arguments or the same error for each
/// type of the matrix, and the same envelope fields.
#[test]
fn typed_and_owned_paths_agree_on_every_golden_payload() {
    let app = fixture_app();
    let (mut payloads, mut reads) = (0, 0);
    for version in ["6.1", "7.1", "8.1"] {
        for file in common::golden_payloads(version) {
            let payload = std::fs::read(&file).expect("fixture");
            let what = file.display().to_string();
            reads += agree_on_all(&payload, &app, &what).unwrap_or_else(|e| panic!("{e}"));
            payloads += 1;
            let Ok(job) = Job::decode_with(&payload, &app) else {
                assert!(JobView::decode_with(&payload, &app).is_err(), "{what}");
                continue;
            };
            let view = JobView::decode_with(&payload, &app).expect(&what);
            assert_same_envelope(&view, &job, &what);
            assert_eq!(view.to_job().as_ref(), Ok(&job), "{what}");
        }
    }
    // Not vacuous: most payloads fit several types.
    assert!(
        payloads > 100 && reads > payloads * 3,
        "{payloads} payloads, {reads} reads"
    );
}

/// Wrong argument types give the owned path's error, path and words included.
#[test]
fn a_wrong_argument_type_gives_the_owned_error() {
    let app = fixture_app();
    let payload = std::fs::read(common::crate_root().join("fixtures/8.1/kwargs.json")).unwrap();
    let error = typed::<(String, Keywords)>(&payload, &app).unwrap_err();
    assert_eq!(
        Err(error.clone()),
        owned::<(String, Keywords)>(&payload, &app)
    );
    assert_eq!(
        error.to_string(),
        "arguments[0]: expected a symbol or string, found an integer"
    );
    let error = typed::<(i64, BTreeMap<String, i64>)>(&payload, &app).unwrap_err();
    assert_eq!(
        error.to_string(),
        "arguments[1].mode: expected an integer, found a symbol"
    );
}

fn app_with_money() -> DecodeOptions {
    let mut app = DecodeOptions::default();
    app.serializers.register("MoneySerializer", "Money");
    app
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Jobs of every argument kind Rails writes (generated): both paths agree.
    #[test]
    fn typed_and_owned_paths_agree_on_generated_jobs(
        arguments in prop::collection::vec(generated::value(false, 3), 0..4),
        timezone in prop::sample::select(generated::TIMEZONES.to_vec()),
    ) {
        let mut job = Job::new("EchoJob").timezone(timezone);
        job.arguments = arguments;
        let app = app_with_money();
        if let Ok(payload) = job.encode() {
            agree_on_all(&payload, &app, "generated job").map_err(TestCaseError::fail)?;
        }
    }

    /// TimeWithZones in the form Rails writes a UTC time in, with any digits (days past the
    /// month's end, hours past 23, years before 1583 among them), in zones that show every
    /// instant as UTC and in one that does not: both paths agree (the typed path checks such a
    /// text in a UTC zone without parsing it).
    #[test]
    fn typed_and_owned_paths_agree_on_utc_times_with_any_digits(
        time in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]\\.[0-9]{9}Z",
        zone in prop::sample::select(vec![r#","time_zone":"UTC""#, r#","time_zone":"Etc/UTC""#, r#","time_zone":"Europe/London""#, ""]),
        job_zone in prop::sample::select(vec!["UTC", "Europe/London"]),
    ) {
        let argument = format!(
            r#"{{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"{time}"{zone}}}"#
        );
        let payload = echo_job(&format!("[{argument}]"), job_zone);
        agree_on_all(&payload, &fixture_app(), &argument).map_err(TestCaseError::fail)?;
    }

    /// A golden payload with a byte changed, inserted or removed: both paths agree, so the typed
    /// path never takes what the owned path refuses.
    #[test]
    fn typed_and_owned_paths_agree_on_corrupted_payloads(
        index in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"\\{}[]:,0-e.n_ a\x01".to_vec()),
        edit in 0..3_u8,
    ) {
        let files: Vec<_> = ["6.1", "7.1", "8.1"].iter().flat_map(|v| common::golden_payloads(v)).collect();
        let mut payload = std::fs::read(index.get(&files)).unwrap();
        let at = at.index(payload.len());
        match edit {
            0 => payload[at] = byte,
            1 => payload.insert(at, byte),
            _ => { payload.remove(at); }
        }
        agree_on_all(&payload, &fixture_app(), "corrupted payload").map_err(TestCaseError::fail)?;
    }
}

/// A job of `EchoJob` in zone `timezone` with the given `arguments` JSON.
fn echo_job(arguments: &str, timezone: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"job_class":"EchoJob","job_id":"d6009a5d-ee0a-40ec-ae83-75bcc9446424","#,
            r#""provider_job_id":null,"queue_name":"default","priority":null,"arguments":{},"#,
            r#""executions":0,"exception_executions":{{}},"locale":"en","timezone":"{}","#,
            r#""enqueued_at":"2026-11-24T21:27:56.193991000Z","scheduled_at":null}}"#
        ),
        arguments, timezone
    )
    .into_bytes()
}

/// An application object that names its serializer twice (the fuzz target found it): Ruby's
/// JSON keeps the last `_aj_serialized`, so the typed path must not take the first name and the
/// second as a field. Both paths agree, in place or built, known serializer or not.
#[test]
fn typed_and_owned_paths_agree_on_a_repeated_serializer_name() {
    let objects = [
        r#"{"_aj_serialized":"ActiveJob::YeingJob","_aj_serialized":"Ac12345678901234567890.123456789"}"#,
        r#"{"_aj_serialized":"MoneySerializer","cents":1,"_aj_serialized":"MoneySerializer"}"#,
        r#"{"_aj_serialized":"MoneySerializer","cents":[1],"_aj_serialized":"OtherSerializer"}"#,
        r#"{"_aj_serialized":"OtherSerializer","_aj_serialized":"MoneySerializer","cents":1}"#,
    ];
    for object in objects {
        for app in [fixture_app(), app_with_money()] {
            let payload = echo_job(&format!("[1,{object}]"), "UTC");
            agree_on_all(&payload, &app, object).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// `_aj_serialized` objects of the core serializers, in the forms Rails writes and in others
/// (fewer fraction digits, other offsets, fields out of range, unknown zones, extra or repeated
/// keys, values of the wrong type, whitespace): both paths agree on each.
#[test]
fn typed_and_owned_paths_agree_on_serialized_objects_of_every_form() {
    let serialized = |name: &str, rest: &str| {
        format!(r#"{{"_aj_serialized":"ActiveJob::Serializers::{name}Serializer",{rest}}}"#)
    };
    let mut arguments = Vec::new();
    let times = [
        r#""2024-03-15T12:30:45.123456789Z""#,
        r#""2024-03-15T12:30:45Z""#,
        r#""2024-03-15T12:30:45.5Z""#,
        r#""2024-03-15T14:30:45.500000000+02:00""#,
        r#""2024-03-15T08:30:45.123456789-04:00""#,
        r#""2024-03-15T12:30:45.123456789-00:00""#,
        r#""2024-03-15T12:30:45.123456789+00:00""#,
        r#""2024-01-15T08:30:45.123456789-05:00""#,
        r#""2024-03-15T18:00:45.123456789+05:30""#,
        r#""2024-03-15T18:00:45.123456789+05:31""#,
        r#""2024-03-15T18:00:45.123456789+05:60""#,
        r#""2024-03-15T18:00:45.123456789+24:00""#,
        r#""2024-03-15T18:00:45.12345678+05:30""#,
        r#""1583-01-01T00:30:00.000000000+01:00""#,
        r#""1582-12-31T23:30:00.000000000-01:00""#,
        r#""9999-12-31T23:59:59.999999999-01:00""#,
        r#""1850-06-01T12:00:00.000000000+00:00""#,
        r#""2024-02-30T12:30:45.123456789Z""#,
        r#""2024-03-15T24:00:00.000000000Z""#,
        r#""2024-12-31T23:59:60.000000000Z""#,
        r#""1500-03-15T12:30:45.123456789Z""#,
        r#""2024-03-15t12:30:45.123456789z""#,
        r#""2024-03-15T12:30:45.1234567891Z""#,
        r#""yesterday""#,
        r#""2024-03-15T12:30:45.123456789\u005a""#,
        "12",
        "null",
    ];
    for time in times {
        arguments.push(serialized("Time", &format!(r#""value":{time}"#)));
        arguments.push(serialized("DateTime", &format!(r#""value":{time}"#)));
        for zone in [
            r#","time_zone":"UTC""#,
            r#","time_zone":"Etc/UTC""#,
            r#","time_zone":"America/New_York""#,
            r#","time_zone":"Asia/Kolkata""#,
            r#","time_zone":"Europe/London""#,
            r#","time_zone":"Eastern Time (US & Canada)""#,
            r#","time_zone":"Nowhere/Zone""#,
            r#","time_zone":null"#,
            r#","time_zone":7"#,
            "",
        ] {
            arguments.push(serialized(
                "TimeWithZone",
                &format!(r#""value":{time}{zone}"#),
            ));
        }
    }
    for date in [
        "2024-02-29",
        "2024-02-30",
        "2023-02-29",
        "2024-060",
        "2024-W09-4",
        "20240229",
        "1500-02-29",
        "1582-10-10",
        "2024-02-29T10:00:00Z",
        "nope",
    ] {
        arguments.push(serialized("Date", &format!(r#""value":"{date}""#)));
    }
    for module in [
        "String",
        "::String",
        "string",
        "Billing::Invoice",
        "Réporting",
        "A::",
        "",
    ] {
        arguments.push(serialized("Module", &format!(r#""value":"{module}""#)));
    }
    for decimal in [
        "123.456",
        "-0.5",
        "0.10",
        "1e5",
        "abc",
        "12345678901234567890.1",
        "",
    ] {
        arguments.push(serialized("BigDecimal", &format!(r#""value":"{decimal}""#)));
    }
    let minutes = serialized("Symbol", r#""value":"minutes""#);
    for duration in [
        format!(r#""value":300,"parts":[[{minutes},5]]"#),
        format!(r#""parts":[[{minutes},5]],"value":300"#),
        format!(r#""value":5400.0,"parts":[[{minutes},90.0]]"#),
        format!(r#""value":93600,"parts":[[{minutes},1],[{minutes},2],[{minutes},3]]"#),
        format!(r#""value":300,"parts":[[{minutes},5]],"value":1"#),
        format!(r#""value":300,"parts":[[{minutes},5]] "#),
        format!(r#""value":300,"parts":[[{minutes},5],]"#),
        format!(r#""value":300,"parts":[[{minutes},5] ]"#),
        format!(r#""value":300,"parts":[[{minutes},123456789012345678901234567890]]"#),
        format!(r#""value":300,"parts":[[{minutes},-0]]"#),
        format!(r#""value":-0,"parts":[[{minutes},5]]"#),
        format!(
            r#""value":300,"parts":[[{},5]]"#,
            serialized("Symbol", r#""value":"min\u0075tes""#)
        ),
        format!(
            r#""value":300,"parts":[[{},5]]"#,
            serialized("Symbol", r#""value":5"#)
        ),
        r#""value":300,"parts":[["minutes",5]]"#.to_owned(),
        r#""value":300,"parts":[]"#.to_owned(),
        r#""value":300,"parts":[[5,5]]"#.to_owned(),
        r#""value":300,"parts":[["minutes"]]"#.to_owned(),
        r#""value":300,"parts":[["minutes",5,6]]"#.to_owned(),
        format!(r#""value":300,"parts":[[{minutes},"5"]]"#),
        r#""value":300"#.to_owned(),
        r#""value":"300","parts":[]"#.to_owned(),
        r#""value":1e400,"parts":[]"#.to_owned(),
        r#""value":123456789012345678901234567890,"parts":[]"#.to_owned(),
        r#""value":300,"parts":[],"extra":1"#.to_owned(),
        r#""value":300,"parts":[],"value":301"#.to_owned(),
        r#""value":300,"parts":{}"#.to_owned(),
    ] {
        arguments.push(serialized("Duration", &duration));
    }
    arguments.push(serialized("Symbol", r#""value":"fast","extra":1"#));
    arguments.push(serialized("Symbol", r#""value":5"#));
    arguments.push(serialized(
        "Time",
        r#""value":"2024-03-15T12:30:45.123456789Z","value":"x""#,
    ));
    arguments.push(serialized(
        "Time",
        r#""value":"2024-03-15T12:30:45.123456789Z","extra":1"#,
    ));
    arguments.push(
        r#"{ "_aj_serialized" : "ActiveJob::Serializers::TimeSerializer" , "value" : "2024-03-15T12:30:45.123456789Z" }"#
            .to_owned(),
    );
    arguments.push(
        r#"{"value":"2024-03-15T12:30:45.123456789Z","_aj_serialized":"ActiveJob::Serializers::TimeSerializer"}"#
            .to_owned(),
    );
    let app = fixture_app();
    let mut read = 0;
    for argument in &arguments {
        for timezone in [
            "UTC",
            "America/New_York",
            "Eastern Time (US \\u0026 Canada)",
        ] {
            for list in [
                format!("[{argument}]"),
                format!(r#"[1,{{"at":{argument},"_aj_ruby2_keywords":["at"]}}]"#),
            ] {
                let payload = echo_job(&list, timezone);
                let what = String::from_utf8_lossy(&payload).into_owned();
                read += agree_on_all(&payload, &app, &what).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    // Not vacuous: many of the forms are read.
    assert!(
        read > arguments.len() * 3,
        "{read} reads of {} forms",
        arguments.len()
    );
}

/// A Range argument as a handler declares one.
#[derive(Debug, PartialEq, Deserialize)]
struct RangeOf {
    begin: Json,
    end: Json,
    exclude_end: bool,
}

/// An application object as a handler declares one.
#[derive(Debug, PartialEq, Deserialize)]
struct Money {
    amount_cents: i64,
    currency: String,
}

/// Ranges, application serializers' objects and GlobalIDs, in the forms Rails writes and in
/// others (ends of every kind, ends Ruby cannot order, missing, extra and repeated keys, fields
/// that are not plain values, unknown serializers, URIs GlobalID rewrites or refuses): both
/// paths agree on each, for handler types that take them as maps and as strings.
#[test]
fn typed_and_owned_paths_agree_on_ranges_app_objects_and_global_ids() {
    let range = |rest: &str| {
        format!(r#"{{"_aj_serialized":"ActiveJob::Serializers::RangeSerializer",{rest}}}"#)
    };
    let date =
        r#"{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-01-01"}"#;
    let time = r#"{"_aj_serialized":"ActiveJob::Serializers::TimeSerializer","value":"2024-01-01T00:00:00.000000000Z"}"#;
    let later = r#"{"_aj_serialized":"ActiveJob::Serializers::TimeSerializer","value":"2024-01-01T02:30:00.000000000+02:00"}"#;
    let mut arguments = Vec::new();
    let ends = [
        time,
        later,
        r#"{"_aj_serialized":"ActiveJob::Serializers::TimeSerializer","value":"2024-01-01T00:00:00.5Z"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::TimeSerializer","value":"nope"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-02-30"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-060"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-01-01","x":1}"#,
        r#"{"value":"2024-01-01","_aj_serialized":"ActiveJob::Serializers::DateSerializer"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"2024-01-01T00:00:00.000000000Z","time_zone":"Etc/UTC"}"#,
        r#"{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"a"}"#,
        "1",
        "10",
        "-3",
        "1.5",
        "2.5e3",
        "1e400",
        "123456789012345678901234567890",
        r#""a""#,
        r#""z\u0021""#,
        "null",
        "true",
        "false",
        "[1]",
        r#"{"a":1}"#,
        date,
    ];
    for begin in ends {
        for end in ["10", r#""z""#, "null", "2.5", date, time, later] {
            arguments.push(range(&format!(
                r#""begin":{begin},"end":{end},"exclude_end":false"#
            )));
        }
    }
    for rest in [
        r#""begin":1,"end":10,"exclude_end":true"#,
        r#""begin":1,"end":10,"exclude_end":null"#,
        r#""begin":1,"end":10,"exclude_end":"yes""#,
        r#""begin":1,"end":10,"exclude_end":0"#,
        r#""begin":1,"end":10"#,
        r#""end":10"#,
        r#""begin":1"#,
        "",
        r#""end":10,"begin":1,"exclude_end":false"#,
        r#""begin":1,"end":10,"exclude_end":false,"extra":1"#,
        r#""begin":1,"end":10,"exclude_end":false,"begin":2"#,
        r#""begin":1,"end":10,"exclude_end":false,"exclude_end":true"#,
        r#""beg\u0069n":1,"end":10,"exclude_end":false"#,
    ] {
        arguments.push(range(rest));
    }
    let money = |name: &str, rest: &str| format!(r#"{{"_aj_serialized":"{name}",{rest}}}"#);
    for rest in [
        r#""amount_cents":1999,"currency":"EUR""#,
        r#""currency":"EUR","amount_cents":1999"#,
        r#""amount_cents":-5,"currency":"PL\u004e""#,
        r#""amount_cents":1999.5,"currency":"EUR""#,
        r#""amount_cents":123456789012345678901234567890,"currency":"EUR""#,
        r#""amount_cents":1999,"currency":null"#,
        r#""amount_cents":true,"currency":"EUR""#,
        r#""amount_cents":1999,"currency":["EUR"]"#,
        r#""amount_cents":1999,"currency":{"code":"EUR"}"#,
        r#""amount_cents":1999,"currency":"EUR","amount_cents":5"#,
        r#""amount_cents":1999,"currency":"EUR","note":{"_aj_globalid":"gid://shop/User/7"}"#,
        r#""amount_\u0063ents":1999,"currency":"EUR""#,
        r#""amount_cents":1999"#,
    ] {
        arguments.push(money("MoneySerializer", rest));
        arguments.push(money("UnknownSerializer", rest));
    }
    arguments.push(
        money("MoneySerializer", r#""amount_cents":1999,"currency":"EUR""#).replace(',', " , "),
    );
    // As many fields as are handed over in place, and one more.
    for count in [16, 17] {
        let fields: Vec<String> = (0..count).map(|i| format!(r#""f{i}":{}"#, i - 3)).collect();
        arguments.push(money("MoneySerializer", &fields.join(",")));
    }
    arguments.push(
        r#"{"_aj_serialized":"ActiveJob::Serializers::ActionControllerParametersSerializer","value":{}}"#
            .to_owned(),
    );
    for uri in [
        "gid://shop/User/7",
        "gid://shop/Billing::Invoice/3f1b9c1e-5b6d-4d6e-9c55-7f0d2a8b1c11",
        "gid://shop/User/a%2Fb",
        "gid://shop/User/a+b",
        "gid://shop/Order/3/17",
        "gid://shop/User/7?database=replica",
        "gid://shop/User/7#frag",
        "gid://user@shop:3000/User/7",
        "gid://shop/User/",
        "gid://shop/User/%zz",
        "gid:///User/7",
        "gid://shop/User/\u{e9}",
        r"gid:\/\/shop\/User\/7",
        "http://shop/User/7",
    ] {
        arguments.push(format!(r#"{{"_aj_globalid":"{uri}"}}"#));
        arguments.push(format!(r#"{{"_aj_globalid":"{uri}","other":1}}"#));
    }
    arguments.push(r#"{"_aj_globalid":7}"#.to_owned());
    let app = fixture_app();
    let mut lenient = fixture_app();
    lenient.serializers.set_strict(false);
    let mut checked = fixture_app();
    checked
        .serializers
        .register_checked("MoneySerializer", "Money", |fields| {
            match fields.get("currency").and_then(Json::as_str) {
                Some(code) if code.len() == 3 => Ok(()),
                _ => Err("currency must be a three-letter code".to_owned()),
            }
        });
    let mut read = 0;
    for argument in &arguments {
        for list in [
            format!("[{argument}]"),
            format!(r#"[1,{{"at":{argument},"_aj_ruby2_keywords":["at"]}}]"#),
        ] {
            let payload = echo_job(&list, "UTC");
            let what = String::from_utf8_lossy(&payload).into_owned();
            for app in [&app, &lenient, &checked] {
                read += agree_on_all(&payload, app, &what).unwrap_or_else(|e| panic!("{e}"));
                for result in [
                    agree::<(RangeOf,)>(&payload, app, &what),
                    agree::<(Money,)>(&payload, app, &what),
                    agree::<(Option<Money>,)>(&payload, app, &what),
                    agree::<(String,)>(&payload, app, &what),
                ] {
                    read += usize::from(result.unwrap_or_else(|e| panic!("{e}")));
                }
            }
        }
    }
    // Not vacuous: many of the forms are read.
    assert!(
        read > arguments.len() * 6,
        "{read} reads of {} forms",
        arguments.len()
    );
}

/// Integers at the edges of `i64`, `u64`, `i128` and `u128`, and beyond: both paths agree on
/// each, whatever integer or float type the handler asks for.
#[test]
fn typed_and_owned_paths_agree_on_integers_of_every_width() {
    let app = fixture_app();
    let integers = [
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "170141183460469231731687303715884105727",
        "170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105729",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "123456789012345678901234567890123456789012",
        "-0",
    ];
    let mut read = 0;
    let lists = integers
        .iter()
        .map(|i| format!("[{i}]"))
        .chain([format!("[{}]", integers.join(","))]);
    for list in lists {
        let payload = echo_job(&list, "UTC");
        let what = String::from_utf8_lossy(&payload).into_owned();
        read += agree_on_all(&payload, &app, &what).unwrap_or_else(|e| panic!("{e}"));
        for result in [
            agree::<Vec<u64>>(&payload, &app, &what),
            agree::<Vec<u128>>(&payload, &app, &what),
            agree::<Vec<i32>>(&payload, &app, &what),
            agree::<Vec<f32>>(&payload, &app, &what),
        ] {
            read += usize::from(result.unwrap_or_else(|e| panic!("{e}")));
        }
    }
    assert!(read > integers.len() * 4, "{read} reads");
}

/// A handler's `RubyTime` argument: a Time, a DateTime and a TimeWithZone (in a zone with an
/// offset) each read as the instant and offset Rails wrote, on both paths; a Date is not a time,
/// and the error names the argument.
#[test]
fn a_time_argument_reads_as_ruby_time_on_both_paths() {
    use activejob_karafka::ruby::time::RubyTime;
    let serialized = |name: &str, rest: &str| {
        format!(r#"{{"_aj_serialized":"ActiveJob::Serializers::{name}Serializer",{rest}}}"#)
    };
    let arguments = [
        serialized("Time", r#""value":"2026-11-24T21:27:56.175007000Z""#),
        serialized(
            "DateTime",
            r#""value":"2026-11-24T23:27:56.175007000+02:00""#,
        ),
        serialized(
            "TimeWithZone",
            r#""value":"2026-07-01T21:27:56.175007000Z","time_zone":"Europe/London""#,
        ),
    ];
    let payload = echo_job(&format!("[{}]", arguments.join(",")), "UTC");
    let app = fixture_app();
    let times = agreement::typed::<(RubyTime, RubyTime, RubyTime)>(&payload, &app).unwrap();
    assert_eq!(Ok(&times), agreement::owned(&payload, &app).as_ref());
    let (time, date_time, in_london) = times;
    assert_eq!(
        time.instant.to_rfc3339(),
        "2026-11-24T21:27:56.175007+00:00"
    );
    assert!(time.utc);
    assert_eq!(date_time.instant, time.instant);
    assert_eq!(date_time.utc_offset(), 7200);
    assert_eq!(
        in_london.instant.to_rfc3339(),
        "2026-07-01T22:27:56.175007+01:00"
    );

    let date = serialized("Date", r#""value":"2024-02-29""#);
    let payload = echo_job(&format!("[{date}]"), "UTC");
    let error = agreement::typed::<(RubyTime,)>(&payload, &app).unwrap_err();
    assert_eq!(
        Err(error.clone()),
        agreement::owned::<(RubyTime,)>(&payload, &app)
    );
    assert_eq!(
        error.to_string(),
        r#"arguments[0]: invalid xmlschema format: "2024-02-29""#
    );
}
