use super::names::check_ruby_class_name;
use super::*;
use crate::consumer::Bytes;
use crate::envelope::Job;
use chrono::{DateTime, Utc};
use futures::FutureExt;

fn message(payload: &str) -> Arc<InboundMessage> {
    Arc::new(InboundMessage {
        topic: "default".into(),
        partition: 0,
        offset: 7,
        key: None,
        payload: Some(Bytes::copy_from_slice(payload.as_bytes())),
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
    // Typos: one or two edits in a long name, one in a short one.
    assert_eq!(
        registry.similar_job_class("StatisticWorker"),
        Some("StatisticsWorker")
    );
    assert_eq!(
        registry.similar_job_class("Billing::InvoiecJob"),
        Some("Billing::InvoiceJob")
    );
    let short = Registry::new()
        .register("ImportJob", noop)
        .register("MailJob", noop);
    assert_eq!(short.similar_job_class("ImporJob"), Some("ImportJob"));
    assert_eq!(short.similar_job_class("MailJb"), Some("MailJob"));
    assert_eq!(short.similar_job_class("PostJob"), None);
    assert_eq!(registry.similar_job_class("ReportJob"), None);
}

#[derive(Debug, thiserror::Error)]
#[error("the service timed out")]
struct ServiceTimeout;

#[derive(Debug, thiserror::Error)]
#[error("the record is gone")]
struct RecordGone;

/// A job and when it was asked to run.
type Enqueued = (Job, DateTime<Utc>);

/// Keeps what it is asked to enqueue.
#[derive(Clone, Default)]
struct RecordingRequeue(Arc<std::sync::Mutex<Vec<Enqueued>>>);

impl Requeue for RecordingRequeue {
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        self.0.lock().unwrap().push((job, at));
        async { Ok(()) }.boxed()
    }
}

/// `BillingJob` fails with the error its first argument names.
fn failing_billing() -> Registry {
    Registry::new().register("BillingJob", |(what,): (String,), _ctx| async move {
        match what.as_str() {
            "timeout" => Err(anyhow::Error::new(ServiceTimeout).context("charging")),
            "gone" => Err(RecordGone.into()),
            _ => Err(anyhow::anyhow!("something else")),
        }
    })
}

fn billing(what: &str, executions: i64) -> String {
    format!(
        r#"{{"job_class":"BillingJob","job_id":"j1","arguments":["{what}"],"executions":{executions},"exception_executions":{{}}}}"#
    )
}

#[test]
fn an_error_of_a_class_without_policies_fails_the_job_with_its_chain() {
    let failed = |m: &str| Err(JobFailure::Failed(m.to_owned()));
    assert_eq!(
        outcome(&failing_billing(), &billing("timeout", 0)),
        failed("charging: the service timed out")
    );
    assert_eq!(
        outcome(&failing_billing(), &billing("other", 0)),
        failed("something else")
    );
}

#[test]
fn retry_on_re_enqueues_with_rails_counters_and_the_original_is_done() {
    // Property: a caught error is re-enqueued (Ok for the worker: the original is consumed)
    // with executions and exception_executions["[Net::OpenTimeout]"] counting this run.
    let requeue = RecordingRequeue::default();
    let registry = failing_billing()
        .with_requeue(requeue.clone())
        .with_policies(
            "BillingJob",
            JobPolicies::new().retry_on::<ServiceTimeout>(
                RetryOn::new()
                    .attempts(2)
                    .wait(Wait::Fixed(std::time::Duration::ZERO))
                    .ruby_exceptions(["Net::OpenTimeout"]),
            ),
        );
    let before = Utc::now();
    assert_eq!(outcome(&registry, &billing("timeout", 0)), Ok(()));
    let (job, at) = requeue.0.lock().unwrap().pop().expect("one retry enqueued");
    assert_eq!(job.executions, Some(1));
    assert_eq!(
        job.exception_executions.unwrap().get("[Net::OpenTimeout]"),
        Some(&serde_json::json!(1))
    );
    assert!(at >= before && at <= Utc::now(), "a zero wait is now: {at}");
    // The second run of two attempts gives up: the topic's failure path, nothing enqueued.
    let last = r#"{"job_class":"BillingJob","arguments":["timeout"],"executions":1,"exception_executions":{"[Net::OpenTimeout]":1}}"#;
    assert!(
        matches!(outcome(&registry, last), Err(JobFailure::Failed(m)) if m.contains("timed out"))
    );
    assert!(requeue.0.lock().unwrap().is_empty());
    // Errors no policy names fail as before.
    assert_eq!(
        outcome(&registry, &billing("other", 0)),
        Err(JobFailure::Failed("something else".into()))
    );
}

#[test]
fn discard_on_and_dead_letter_on_tell_the_worker() {
    let registry = failing_billing().with_policies(
        "BillingJob",
        JobPolicies::new()
            .discard_on::<RecordGone>()
            .dead_letter_on::<ServiceTimeout>(),
    );
    assert!(
        matches!(outcome(&registry, &billing("gone", 0)), Err(JobFailure::DiscardOn(m)) if m.starts_with("RecordGone: "))
    );
    assert!(
        matches!(outcome(&registry, &billing("timeout", 0)), Err(JobFailure::DeadLetterOn(m)) if m.contains("charging"))
    );
}

#[test]
fn retry_on_without_a_requeue_fails_saying_so() {
    let registry = failing_billing().with_policies(
        "BillingJob",
        JobPolicies::new().retry_on::<ServiceTimeout>(RetryOn::new()),
    );
    assert!(
        matches!(outcome(&registry, &billing("timeout", 0)), Err(JobFailure::Failed(m)) if m.contains("Registry::with_requeue"))
    );
}

#[test]
#[should_panic(expected = "a handler is registered for \"BillingJob\"")]
fn policies_for_a_class_without_a_handler_panic() {
    let _ = failing_billing().with_policies("BilingJob", JobPolicies::new());
}

#[test]
fn registering_a_class_again_replaces_its_handler_and_keeps_its_policies() {
    let registry = failing_billing()
        .with_policies("BillingJob", JobPolicies::new().discard_on::<RecordGone>())
        .register("BillingJob", |_: (String,), _ctx| async {
            Err(anyhow::Error::new(RecordGone).context("the second handler"))
        });
    assert_eq!(registry.job_classes(), ["BillingJob"]);
    assert!(registry.policies("BillingJob").is_some());
    assert_eq!(
        outcome(&registry, &billing("timeout", 0)),
        Err(JobFailure::DiscardOn(
            "RecordGone: the second handler: the record is gone".into()
        ))
    );
}

/// Every envelope field a context tells, against the owned job's, and the message's facts.
fn context_facts(ctx: &JobContext) -> anyhow::Result<()> {
    let job = ctx.job();
    anyhow::ensure!(ctx.job_id() == job.job_id.as_deref(), "job_id");
    anyhow::ensure!(
        ctx.executions() == job.executions.unwrap_or(0),
        "executions"
    );
    anyhow::ensure!(ctx.enqueued_at() == job.enqueued_at.as_ref(), "enqueued_at");
    anyhow::ensure!(
        ctx.scheduled_at() == job.scheduled_at.as_ref(),
        "scheduled_at"
    );
    anyhow::ensure!(ctx.locale() == job.locale.as_deref(), "locale");
    anyhow::ensure!(ctx.timezone() == job.timezone.as_deref(), "timezone");
    anyhow::ensure!(
        ctx.job_id() == Some("j-9") && ctx.executions() == 3,
        "values"
    );
    anyhow::ensure!(
        ctx.locale() == Some("de") && ctx.timezone() == Some("UTC"),
        "values"
    );
    anyhow::ensure!(
        ctx.enqueued_at().is_some() && ctx.scheduled_at().is_some(),
        "times"
    );
    anyhow::ensure!(ctx.topic() == "billing" && ctx.partition() == 2 && ctx.offset() == 41);
    anyhow::ensure!(ctx.key() == Some(&b"customer-9"[..]), "key");
    anyhow::ensure!(!ctx.is_shadow() && !ctx.is_revoked() && !ctx.is_stopping());
    Ok(())
}

#[test]
fn a_context_read_in_place_tells_what_the_owned_job_says() {
    let payload = concat!(
        r#"{"job_class":"BillingJob","job_id":"j-9","queue_name":"billing","arguments":[9],"#,
        r#""executions":3,"exception_executions":{},"locale":"de","timezone":"UTC","#,
        r#""enqueued_at":"2026-11-24T21:27:56.175007000Z","#,
        r#""scheduled_at":"2026-11-24T22:00:00.000000000Z"}"#
    );
    let message = Arc::new(InboundMessage {
        topic: "billing".into(),
        partition: 2,
        offset: 41,
        key: Some(Bytes::from_static(b"customer-9")),
        payload: Some(Bytes::copy_from_slice(payload.as_bytes())),
        headers: Vec::new(),
        timestamp_ms: None,
    });
    let registry = Registry::new().register("BillingJob", |(id,): (i64,), ctx: JobContext| {
        // Asked before and after the owned job is decoded, on the context and on a clone,
        // which shares the decoded job.
        let clone = ctx.clone();
        let checked = context_facts(&clone)
            .and_then(|()| context_facts(&ctx))
            .and_then(|()| {
                anyhow::ensure!(std::ptr::eq(ctx.job(), clone.job()), "one decoded job");
                anyhow::ensure!(id == 9, "arguments");
                Ok(())
            });
        async move { checked }
    });
    let run = registry.run(message, PartitionSignals::detached());
    assert_eq!(run.now_or_never().expect("completes at once"), Ok(()));
}
