//! The envelope read in place (`JobView::decode_with`) against the owned decoding
//! (`Job::decode_with`): for envelopes of every form, a continuable job's progress, repeated and
//! other keys, whitespace and bytes that are not UTF-8, both read the same fields and give the
//! same arguments or the same error.

#[path = "common/typed_agreement.rs"]
mod agreement;
mod common;

use activejob_karafka::view::JobView;
use activejob_karafka::{DecodeOptions, Job};
use agreement::{agree_on_all, assert_same_envelope, fixture_app};

/// The envelope fields of `payload` read in place are the owned job's, when both read it.
fn same_envelope(payload: &[u8], app: &DecodeOptions, what: &str) {
    let (Ok(job), Ok(view)) = (
        Job::decode_with(payload, app),
        JobView::decode_with(payload, app),
    ) else {
        return;
    };
    assert_same_envelope(&view, &job, what);
}

/// The envelope Rails 8.1 writes, one member per line, for [`envelope_forms`] to vary.
const ENVELOPE: [&str; 14] = [
    r#""job_class":"ProcessImportJob""#,
    r#""job_id":"d6009a5d-ee0a-40ec-ae83-75bcc9446424""#,
    r#""provider_job_id":null"#,
    r#""queue_name":"default""#,
    r#""priority":null"#,
    r#""arguments":[42,"x"]"#,
    r#""executions":0"#,
    r#""exception_executions":{}"#,
    r#""locale":"en""#,
    r#""timezone":"UTC""#,
    r#""enqueued_at":"2026-11-24T21:27:56.193991000Z""#,
    r#""scheduled_at":null"#,
    r#""continuation":{"completed":["validate"],"current":["process_records",3]}"#,
    r#""resumptions":1"#,
];

/// Envelope members in the forms Rails writes and in others, as `(index in ENVELOPE, member)`;
/// `None` for a member left out.
fn envelope_forms() -> Vec<(usize, Option<String>)> {
    let strings = |key: &str, values: &[&str]| -> Vec<Option<String>> {
        values
            .iter()
            .map(|v| Some(format!(r#""{key}":{v}"#)))
            .collect()
    };
    let integers = [
        "0",
        "null",
        "-1",
        "7",
        "1.5",
        "1e2",
        "-0",
        r#""1""#,
        "true",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "00",
        "-",
    ];
    let times = [
        r#""2026-11-24T21:27:56.193991000Z""#,
        r#""2026-11-24T21:27:56Z""#,
        r#""2026-11-24T21:27:56.5Z""#,
        r#""2026-11-24T22:27:56.193991000+01:00""#,
        r#""2024-02-29T00:00:00.000000000Z""#,
        r#""2023-02-29T00:00:00.000000000Z""#,
        r#""2026-11-24T24:00:00Z""#,
        r#""2026-13-24T21:27:56Z""#,
        r#""1500-11-24T21:27:56Z""#,
        r#""2026-11-24T21:27:56.1234567891Z""#,
        r#""2026-11-24t21:27:56z""#,
        r#""2026-11-24T21:27:56.193991000\u005a""#,
        r#""yesterday""#,
        "1732483676.19",
        "null",
    ];
    let continuations = [
        "{}",
        r#"{"completed":[]}"#,
        r#"{"completed":["a"],"current":["b",{"page":[1,"x"]}],"extra":null}"#,
        r#"{"completed":"a"}"#,
        r#"{"completed":[1]}"#,
        r#"{"current":["b"]}"#,
        r#"{"current":[1,2]}"#,
        r#"{"current":null}"#,
        r#"{"completed":[],"completed":["a"]}"#,
        "[]",
        "null",
    ];
    let mut forms: Vec<(usize, Vec<Option<String>>)> = vec![
        (
            0,
            strings(
                "job_class",
                &[
                    r#""EchoJob""#,
                    r#""NoSuchJob""#,
                    r#""Echo\u004aob""#,
                    "5",
                    "null",
                ],
            ),
        ),
        (
            1,
            strings("job_id", &[r#""a\"b""#, "null", "1", r#""\ud800""#]),
        ),
        (3, strings("queue_name", &[r#""""#, "null", "[]"])),
        (4, strings("priority", &integers)),
        (
            5,
            strings("arguments", &["[]", "null", "{}", r#"[1,"#, r#"[[[]]]"#]),
        ),
        (6, strings("executions", &integers)),
        (
            7,
            strings(
                "exception_executions",
                &["null", r#"{"a":1}"#, "[]", r#"{"a":}"#],
            ),
        ),
        (
            8,
            strings("locale", &[r#""de""#, r#""fr""#, "null", r#""p\u0074-BR""#]),
        ),
        (
            9,
            strings(
                "timezone",
                &[
                    r#""Berlin""#,
                    r#""Europe/Berlin""#,
                    r#""Eastern Time (US \u0026 Canada)""#,
                    r#""Nowhere""#,
                    r#""""#,
                    "null",
                    "3",
                ],
            ),
        ),
        (10, strings("enqueued_at", &times)),
        (11, strings("scheduled_at", &times)),
        (12, strings("continuation", &continuations)),
        (13, strings("resumptions", &integers)),
    ];
    for (_, values) in &mut forms {
        values.push(None);
    }
    forms
        .into_iter()
        .flat_map(|(at, values)| values.into_iter().map(move |v| (at, v)))
        .collect()
}

/// Envelopes of every form, for a continuable job and another, with other keys, repeated keys,
/// whitespace and bytes that are not UTF-8: both paths agree on each, envelope fields included,
/// and the forms Rails writes are read in place.
#[test]
fn typed_and_owned_paths_agree_on_envelopes_of_every_form() {
    let app = fixture_app();
    let mut payloads = Vec::new();
    for job_class in [
        r#""job_class":"ProcessImportJob""#,
        r#""job_class":"EchoJob""#,
    ] {
        for (at, member) in envelope_forms() {
            let mut members: Vec<String> = ENVELOPE.iter().map(|m| m.to_string()).collect();
            members[0] = job_class.to_owned();
            match member {
                Some(member) => members[at] = member,
                None => drop(members.remove(at)),
            }
            payloads.push(format!("{{{}}}", members.join(",")).into_bytes());
        }
    }
    let whole = ENVELOPE.join(",");
    for text in [
        format!("{{{whole}}}"),
        format!(" {{ {} }} ", ENVELOPE.join(" , ").replace(':', " : ")),
        format!("{{{whole},\"cattr_0\":[1,{{\"a\":null}}],\"cattr_1\":\"x\"}}"),
        format!("{{{whole},\"cattr_0\":1,\"cattr_0\":2}}"),
        format!("{{{whole},\"executions\":1}}"),
        format!("{{\"executions\":1,{whole}}}"),
        format!("{{{whole},\"$serde_json::private::Number\":1}}"),
        format!("{{{whole}}}x"),
        format!("{{{whole}"),
    ] {
        payloads.push(text.into_bytes());
    }
    // Bytes that are not UTF-8 (or are), in a string of the envelope, of the arguments, of
    // another key, and in a key.
    let spliced = |bytes: &[u8]| {
        let members = [
            (1, r#""job_id":"@""#),
            (5, r#""arguments":[1,"@"]"#),
            (13, r#""resumptions":1,"cattr_0":"@""#),
            (13, r#""resumptions":1,"cattr_@":0"#),
        ];
        members.map(|(at, member)| {
            let mut members: Vec<&str> = ENVELOPE.to_vec();
            members[at] = member;
            let text = format!("{{{}}}", members.join(","));
            let (before, after) = text.split_once('@').expect("marker");
            [before.as_bytes(), bytes, after.as_bytes()].concat()
        })
    };
    for bytes in [
        &b"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"[..],
        b"\xff",
        b"\xc3",
        b"\xc3(",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"\xe6\x97",
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\xe9",
    ] {
        payloads.extend(spliced(bytes));
    }
    let mut in_place = 0;
    for payload in &payloads {
        let what = String::from_utf8_lossy(payload).into_owned();
        agree_on_all(payload, &app, &what).unwrap_or_else(|e| panic!("{e}"));
        same_envelope(payload, &app, &what);
        in_place += usize::from(JobView::decode_with(payload, &app).is_ok_and(|v| v.is_in_place()));
    }
    // The forms Rails writes are read in place.
    let rails = format!("{{{whole}}}");
    let view = JobView::decode_with(rails.as_bytes(), &app).expect("decodes");
    assert!(view.is_in_place());
    assert!(
        in_place > payloads.len() / 3,
        "{in_place} of {} in place",
        payloads.len()
    );
}

/// Payloads that hold `],"executions":`, the text Rails writes right after the arguments,
/// elsewhere too: in a Hash of the arguments after an array, escaped in a string (not that
/// text), in the envelope's tail (a value after the arguments, another key's array, a repeated
/// `arguments` key; `]` in the tail's strings), and a string left open that swallows the real end
/// (invalid JSON). Both paths agree on each, envelope fields included, and the valid ones are
/// read in place with the arguments found whole.
#[test]
fn typed_and_owned_paths_agree_on_payloads_holding_the_text_after_the_arguments() {
    let app = fixture_app();
    let tails = [
        String::new(),
        r#","continuation":{"completed":[],"current":["step",{"a":[1],"executions":2}]}"#
            .to_owned(),
        r#","cattr_0":[{"b":[],"executions":[]}],"cattr_1":"]""#.to_owned(),
    ];
    let with_arguments = |arguments: &str, tail: &str| {
        let mut members: Vec<String> = ENVELOPE[..12].iter().map(|m| m.to_string()).collect();
        members[0] = r#""job_class":"EchoJob""#.to_owned();
        members[5] = format!(r#""arguments":{arguments}"#);
        members[7] = r#""exception_executions":{"[Net::ReadTimeout]":1}"#.to_owned();
        format!("{{{}{tail}}}", members.join(","))
    };
    let valid = [
        "[]",
        r#"[1,"]"]"#,
        r#"[{"ids":[1,2],"executions":3}]"#,
        r#"[{"ids":[1,2],"executions":3,"_aj_symbol_keys":["ids","executions"]}]"#,
        r#"[{"a":[1],"executions":3},{"b":[[]],"executions":{"c":[],"executions":[]}},7]"#,
        r#"["],\"executions\":1",{"x":"],\"executions\":"}]"#,
        r#"[[{"a":["]"],"executions":["],"]}]]"#,
    ];
    for (arguments, tail) in valid
        .iter()
        .flat_map(|a| tails.iter().map(move |t| (*a, t)))
    {
        let payload = with_arguments(arguments, tail);
        let view = JobView::decode_with(payload.as_bytes(), &app).expect("decodes");
        assert!(view.is_in_place(), "{payload}");
        let read =
            agree_on_all(payload.as_bytes(), &app, &payload).unwrap_or_else(|e| panic!("{e}"));
        assert!(read > 0, "{payload}");
        same_envelope(payload.as_bytes(), &app, &payload);
        let arguments_json: Vec<serde_json::Value> = view.arguments().expect("arguments");
        let written: serde_json::Value = serde_json::from_str(arguments).expect("JSON");
        assert_eq!(
            arguments_json.len(),
            written.as_array().expect("array").len(),
            "{payload}"
        );
    }
    // Valid JSON holding the text after a later array: a repeated `arguments` key (the last
    // one counts) and another key's array, with envelope keys in between.
    let whole = [
        concat!(
            r#"{"job_class":"EchoJob","arguments":["vip",1],"queue_name":"default","#,
            r#""arguments":[0],"executions":0,"exception_executions":{},"locale":"en","#,
            r#""timezone":"UTC","enqueued_at":"2026-11-24T21:27:50.368450134Z"}"#
        ),
        concat!(
            r#"{"job_class":"EchoJob","arguments":[1],"timezone":"Berlin","cattr_0":[2],"#,
            r#""executions":0,"locale":"de"}"#
        ),
    ];
    for payload in whole {
        agree_on_all(payload.as_bytes(), &app, payload).unwrap_or_else(|e| panic!("{e}"));
        same_envelope(payload.as_bytes(), &app, payload);
    }
    let invalid = [
        // The string opened in the arguments ends at the quote before `executions`.
        r#"["a]"#,
        r#"[{"a":[1],"executions":"#,
        r#"[["],"#,
        r#"[{"a":[1],"executions":3}"#,
    ];
    for (arguments, tail) in invalid
        .iter()
        .flat_map(|a| tails.iter().map(move |t| (*a, t)))
    {
        let payload = with_arguments(arguments, tail);
        assert!(
            Job::decode_with(payload.as_bytes(), &app).is_err(),
            "{payload}"
        );
        let read =
            agree_on_all(payload.as_bytes(), &app, &payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, 0, "{payload}");
    }
}
