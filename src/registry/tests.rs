use super::names::check_ruby_class_name;
use super::*;
use chrono::{DateTime, Utc};
use futures::FutureExt;

fn message(payload: &str) -> Arc<InboundMessage> {
    Arc::new(InboundMessage {
        topic: "default".into(),
        partition: 0,
        offset: 7,
        key: None,
        payload: Some(payload.as_bytes().to_vec()),
        headers: Vec::new(),
        timestamp_ms: None,
    })
}

fn outcome(registry: &Registry, payload: &str) -> Result<(), JobFailure> {
    registry
        .run(message(payload), PartitionSignals::detached())
        .now_or_never()
        .expect("a no-op job completes at once")
}

const BILLING: &str = r#"{"job_class":"BillingJob","job_id":"j1","arguments":[1]}"#;

/// Writes in `format`, enqueues nothing.
struct NullRequeue(Option<Arc<dyn PayloadFormat>>);

impl Requeue for NullRequeue {
    fn requeue(
        &self,
        _job: Job,
        _at: DateTime<Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        async { Ok(()) }.boxed()
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.0.clone()
    }
}

fn prefixed() -> Arc<dyn PayloadFormat> {
    Arc::new(crate::payload_format::testing::Prefixed("#"))
}

fn reading(format: Option<Arc<dyn PayloadFormat>>) -> Registry {
    Registry::with_options(DecodeOptions {
        payload_format: format,
        job_classes: Some(["ImportJob".to_owned()].into_iter().collect()),
        ..DecodeOptions::default()
    })
    .register("ImportJob", |_: (i64,), _ctx| async { Ok(()) })
}

#[test]
fn a_registry_reads_through_its_payload_format() {
    let registry = reading(Some(prefixed()));
    let import = r#"#{"job_class":"ImportJob","arguments":[1]}"#;
    assert_eq!(outcome(&registry, import), Ok(()));
    // An unknown class is named from inside the format too.
    assert_eq!(
        outcome(&registry, &format!("#{BILLING}")),
        Err(JobFailure::UnknownJobClass("BillingJob".into()))
    );
    match outcome(&registry, BILLING) {
        Err(JobFailure::Undecodable(why)) => assert!(why.contains("payload format"), "{why}"),
        other => panic!("a payload not in the format: {other:?}"),
    }
}

#[test]
fn a_requeue_writing_another_format_than_the_registry_reads_is_told() {
    let both = |read, write| reading(read).format_mismatch(&NullRequeue(write));
    assert_eq!(both(None, None), None);
    assert_eq!(both(Some(prefixed()), Some(prefixed())), None);
    assert!(both(Some(prefixed()), None).is_some_and(|w| w.contains("writes none")));
    assert!(both(None, Some(prefixed())).is_some_and(|w| w.contains("does not read")));
    let shadow = reading(Some(prefixed())).shadowed();
    assert_eq!(
        shadow.format_mismatch(&NullRequeue(None)),
        None,
        "shadow writes nothing"
    );
}

#[test]
fn an_unknown_class_is_named_whether_the_app_or_the_registry_lacks_it() {
    let no_handler = Registry::new().register("ImportJob", |_: (i64,), _ctx| async { Ok(()) });
    assert_eq!(
        outcome(&no_handler, BILLING),
        Err(JobFailure::UnknownJobClass("BillingJob".into()))
    );

    let options = DecodeOptions {
        job_classes: Some(["ImportJob".to_owned()].into_iter().collect()),
        ..DecodeOptions::default()
    };
    let unknown_to_app =
        Registry::with_options(options).register("ImportJob", |_: (i64,), _ctx| async { Ok(()) });
    assert_eq!(
        outcome(&unknown_to_app, BILLING),
        Err(JobFailure::UnknownJobClass("BillingJob".into()))
    );
}

#[test]
fn a_registered_class_runs_with_typed_arguments() {
    let registry =
        Registry::new().register("BillingJob", |(id,): (i64,), ctx: JobContext| async move {
            anyhow::ensure!(id == 1 && ctx.job().job_id.as_deref() == Some("j1"));
            Ok(())
        });
    assert_eq!(outcome(&registry, BILLING), Ok(()));
    let wrong = r#"{"job_class":"BillingJob","arguments":["one"]}"#;
    assert!(
        matches!(outcome(&registry, wrong), Err(JobFailure::Undecodable(m)) if m.contains("arguments[0]"))
    );
}

fn noop(_: (), _: JobContext) -> futures::future::Ready<HandlerResult> {
    futures::future::ready(Ok(()))
}

#[test]
fn ruby_class_names_are_accepted() {
    for name in [
        "ImportJob",
        "V1::StatisticsWorker",
        "A::B_2::C",
        "Ärger::Job",
    ] {
        assert_eq!(check_ruby_class_name(name), Ok(()), "{name}");
    }
}

#[test]
fn names_no_payload_can_carry_are_refused_with_the_reason() {
    for (name, why) in [
        ("", "empty"),
        ("statistics_worker", "capital"),
        ("::ImportJob", "empty part"),
        ("V1::", "empty part"),
        ("ImportJob ", "' '"),
        ("V1/StatisticsWorker", "'/'"),
        ("Import-Job", "'-'"),
    ] {
        let err = check_ruby_class_name(name).expect_err(name);
        assert!(err.contains(why), "{name}: {err}");
    }
}

#[test]
#[should_panic(expected = "cannot register job class \"statistics_worker\"")]
fn registering_a_name_no_payload_can_carry_panics() {
    let _ = Registry::new().register("statistics_worker", noop);
}

#[test]
fn a_similar_registered_class_is_found_for_an_unknown_one() {
    let registry = Registry::new()
        .register("StatisticsWorker", noop)
        .register("Billing::InvoiceJob", noop);
    assert_eq!(
        registry.similar_job_class("V1::StatisticsWorker"),
        Some("StatisticsWorker")
    );
    assert_eq!(
        registry.similar_job_class("InvoiceJob"),
        Some("Billing::InvoiceJob")
    );
    assert_eq!(
        registry.similar_job_class("Billing::Invoicejob"),
        Some("Billing::InvoiceJob")
    );
    assert_eq!(registry.similar_job_class("StatisticsWorker"), None);
    assert_eq!(registry.similar_job_class("ReportJob"), None);
}
