//! The writer's rule, over generated jobs of every value kind, edge values and deep nesting:
//! `encode` either refuses with a typed error naming where, or writes bytes that read back
//! exactly as what was meant, up to the documented normalisations (`generated::read_back`),
//! both as `Value`s and as the typed dump a Ruby worker's job would hold.
//!
//! The values include what no Rails worker reads as written (GlobalIDs GlobalID cannot parse,
//! Ranges Ruby cannot build, BigDecimal texts, offsets with seconds, names that are no
//! constants, nesting past 100 levels, unknown zones and locales), so both outcomes are
//! exercised; the test also checks that both happen. `PROPTEST_CASES=5000` searches harder.

#[path = "generated/values.rs"]
mod generated;

use activejob_karafka::arguments::Value;
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, EncodeErrorKind, EnvelopeTime, Job};
use generated::{deep_value, read_back, value, AVAILABLE_LOCALES, LOCALES, TIMEZONES};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// The fixture app's facts that matter here: its locales and its `MoneySerializer`.
fn app() -> DecodeOptions {
    let mut app = DecodeOptions {
        available_locales: Some(AVAILABLE_LOCALES.iter().map(|l| l.to_string()).collect()),
        ..DecodeOptions::default()
    };
    app.serializers.register("MoneySerializer", "Money");
    app
}

fn job() -> impl Strategy<Value = Job> {
    let arguments = prop_oneof![
        6 => prop::collection::vec(value(false, 3), 0..4),
        1 => prop::collection::vec(deep_value(), 1..2),
    ];
    (
        arguments,
        prop::sample::select(LOCALES.to_vec()),
        prop::sample::select(TIMEZONES.to_vec()),
    )
        .prop_map(|(arguments, locale, timezone)| {
            let mut job = Job::new("EchoJob").locale(locale).timezone(timezone);
            job.arguments = arguments;
            job
        })
}

/// What happened to one job.
#[derive(Debug, PartialEq)]
enum Outcome {
    Refused(EncodeErrorKind),
    ReadBack,
}

/// The rule for one job; `Err` names what broke it.
fn check(job: &Job, app: &DecodeOptions) -> Result<Outcome, String> {
    let bytes = match job.encode_for_app(app) {
        Err(refused) => {
            // A refusal names a place in the payload: an argument, or the envelope key.
            let path = refused.path.as_str();
            let named = path.starts_with("arguments[") || path == "locale" || path == "timezone";
            return if named {
                Ok(Outcome::Refused(refused.kind))
            } else {
                Err(format!("refusal without a path: {refused}"))
            };
        }
        Ok(bytes) => bytes,
    };
    let shown = || String::from_utf8_lossy(&bytes).into_owned();
    let mut decoded = Job::decode_with(&bytes, app)
        .map_err(|e| format!("written but not read back: {e}\n{}", shown()))?;
    let written = decoded
        .enqueued_at
        .as_ref()
        .map(|t| t.time.instant.to_utc());
    decoded.enqueued_at = written.map(EnvelopeTime::new);
    let mut want = job.clone();
    want.arguments = job.arguments.iter().map(read_back).collect();
    if decoded != want {
        return Err(format!(
            "read back otherwise\n  read: {:?}\n  want: {:?}\n{}",
            decoded.arguments,
            want.arguments,
            shown()
        ));
    }
    // `==` on times compares instants; the typed dump also compares offsets and texts.
    compare(&typed_dump(&decoded, app), &typed_dump(&want, app))
        .map_err(|diff| format!("typed dump differs: {diff}\n{}", shown()))?;
    Ok(Outcome::ReadBack)
}

proptest! {
    #![proptest_config(Config { failure_persistence: None, ..Config::with_cases(256) })]

    /// encode refuses with a typed error naming where, or decode(encode(job)) is the job.
    #[test]
    fn encode_refuses_or_reads_back_exactly(job in job()) {
        let app = app();
        if let Err(problem) = check(&job, &app) {
            return Err(TestCaseError::fail(problem));
        }
    }
}

/// The generated jobs reach both outcomes and every refusal rule of the writer, so the property
/// above is not passing on one side only.
#[test]
fn generated_jobs_reach_every_outcome() {
    let app = app();
    let mut runner = TestRunner::deterministic();
    let strategy = job();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..600 {
        let job = strategy.new_tree(&mut runner).expect("a job").current();
        let outcome = check(&job, &app).unwrap_or_else(|problem| panic!("{problem}"));
        seen.insert(format!("{outcome:?}"));
    }
    for want in [
        "ReadBack",
        "Refused(GlobalId)",
        "Refused(Range)",
        "Refused(BigDecimal)",
        "Refused(Module)",
        "Refused(TooDeep)",
        "Refused(Locale)",
        "Refused(TimeZone)",
    ] {
        assert!(seen.contains(want), "{want} never happened: {seen:?}");
    }
}

/// Each escaping and refusal rule on one value, by hand: what is written and how it reads.
#[test]
fn each_rule_by_example() {
    use activejob_karafka::arguments::{GlobalId, Range};
    use activejob_karafka::ruby::time::RubyTime;
    use chrono::{FixedOffset, TimeZone};
    let app = app();
    let written = |value: Value| {
        let bytes = Job::new("EchoJob").arg(value).encode().expect("written");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        json["arguments"][0].clone()
    };
    // An id with `/` is one id, escaped as GlobalID escapes it.
    assert_eq!(
        written(GlobalId::new("shop", "Billing::Invoice", "2024/05/7").into())["_aj_globalid"],
        "gid://shop/Billing::Invoice/2024%2F05%2F7"
    );
    // Local mean time: the instant in the offset Ruby prints.
    let lmt = FixedOffset::east_opt(21_208).unwrap();
    let time = lmt.with_ymd_and_hms(1800, 1, 1, 0, 0, 0).unwrap();
    let value = Value::Time(RubyTime {
        instant: time,
        utc: false,
    });
    assert_eq!(
        written(value.clone())["value"],
        "1799-12-31T23:59:32.000000000+05:53"
    );
    assert_eq!(
        written(Value::DateTime(time))["value"],
        "1799-12-31T23:59:32.000000000+05:53"
    );
    assert_eq!(
        check(&Job::new("EchoJob").arg(value), &app),
        Ok(Outcome::ReadBack)
    );
    // `::String` is `String`.
    assert_eq!(written(Value::Module("::String".into()))["value"], "String");
    // BigDecimal is written as Ruby's `to_s`.
    assert_eq!(
        written(Value::BigDecimal(" 1_000.50 ".into()))["value"],
        "1000.5"
    );
    // Refusals name the argument.
    let refused = |value: Value| {
        Job::new("EchoJob")
            .arg(1)
            .arg(Value::Array(vec![value]))
            .encode()
            .expect_err("refused")
    };
    let range = |begin: Value, end: Value| {
        Value::Range(Box::new(Range {
            begin,
            end,
            exclude_end: false,
        }))
    };
    for (value, kind) in [
        (range(1.into(), "a".into()), EncodeErrorKind::Range),
        (
            GlobalId::new("shop", "User", "").into(),
            EncodeErrorKind::GlobalId,
        ),
        (
            GlobalId::new("my shop", "User", "1").into(),
            EncodeErrorKind::GlobalId,
        ),
        (
            GlobalId::new("shop", "Bad Model", "1").into(),
            EncodeErrorKind::GlobalId,
        ),
        (
            Value::BigDecimal("1e99999999999999999999".into()),
            EncodeErrorKind::BigDecimal,
        ),
        (Value::BigDecimal("abc".into()), EncodeErrorKind::BigDecimal),
        (Value::Module("string".into()), EncodeErrorKind::Module),
    ] {
        let err = refused(value);
        assert_eq!(err.kind, kind, "{err}");
        assert!(err.path.as_str().starts_with("arguments[1][0]"), "{err}");
    }
    let err = Job::new("EchoJob")
        .timezone("Mars/Olympus")
        .encode()
        .expect_err("zone");
    assert_eq!(
        (err.kind, err.path.as_str()),
        (EncodeErrorKind::TimeZone, "timezone")
    );
    let err = Job::new("EchoJob")
        .locale("xx")
        .encode_for_app(&app)
        .expect_err("locale");
    assert_eq!(
        (err.kind, err.path.as_str()),
        (EncodeErrorKind::Locale, "locale")
    );
    Job::new("EchoJob")
        .locale("xx")
        .encode()
        .expect("no app, no locale rule");
}

/// The reader refuses, with Rails, what Rails refuses when it runs the job, and reads the rest
/// as Rails does: a Range whose ends Ruby cannot compare (`bad value for range`), a
/// `ModuleSerializer` name that is no constant (`NameError`), a locale outside the app's
/// `available_locales` (`I18n::InvalidLocale`); `::String` is `String`, `a%2Fb` the id "a/b".
#[test]
fn the_reader_follows_rails_on_the_same_rules() {
    use activejob_karafka::arguments::{GlobalId, ModelId};
    use activejob_karafka::DecodeErrorKind;
    let app = app();
    let payload = |arguments: &str, locale: &str| {
        format!(r#"{{"job_class":"EchoJob","arguments":{arguments},"locale":"{locale}"}}"#)
    };
    let range = r#"[{"_aj_serialized":"ActiveJob::Serializers::RangeSerializer","begin":1,"end":"a","exclude_end":false}]"#;
    let module = |name: &str| {
        format!(
            r#"[{{"_aj_serialized":"ActiveJob::Serializers::ModuleSerializer","value":"{name}"}}]"#
        )
    };
    for (arguments, locale, path) in [
        (range.to_owned(), "en", "arguments[0]"),
        (module("string"), "en", "arguments[0].value"),
        (module("String::"), "en", "arguments[0].value"),
        ("[]".to_owned(), "xx", "locale"),
    ] {
        let err = Job::decode_with(payload(&arguments, locale).as_bytes(), &app)
            .expect_err("Rails refuses it");
        assert_eq!(err.kind, DecodeErrorKind::InvalidValue, "{err}");
        assert_eq!(err.path.as_str(), path, "{err}");
    }
    let job = Job::decode_with(payload(&module("::String"), "en").as_bytes(), &app).expect("read");
    assert_eq!(job.arguments, vec![Value::Module("String".into())]);
    let gids = r#"[{"_aj_globalid":"gid://shop/Billing::Invoice/a%2Fb"},{"_aj_globalid":"gid://shop/Order/3/17"}]"#;
    let job = Job::decode_with(payload(gids, "en").as_bytes(), &app).expect("read");
    assert_eq!(
        job.arguments,
        vec![
            GlobalId::new("shop", "Billing::Invoice", "a/b").into(),
            GlobalId::composite("shop", "Order", ["3", "17"]).into(),
        ]
    );
    let Value::GlobalId(gid) = &job.arguments[1] else {
        panic!("a GlobalID")
    };
    assert_eq!(
        gid.model_id,
        ModelId::Composite(vec!["3".into(), "17".into()])
    );
    // Written back as read: one id stays one id, a composite key stays composite.
    let again = Job::decode_with(&job.encode().expect("written"), &app).expect("read again");
    assert_eq!(again.arguments, job.arguments);
}
