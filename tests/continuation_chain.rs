//! Continuations run in Rust produce the payload chain real Rails 8.1 produced
//! (`fixtures/8.1/continuation_*.json`): same steps skipped, same cursors, same counters.

use activejob_karafka::consumer::{Bytes, InboundMessage, JobFailure, SignalSwitch};
use activejob_karafka::continuation::{ContinuableOptions, Steps};
use activejob_karafka::registry::{JobContext, Registry, Requeue};
use activejob_karafka::typed::{compare, typed_dump};
use activejob_karafka::{DecodeOptions, Job};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value as Json;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/8.1")
            .join(name),
    )
    .unwrap()
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.toml"))
        .unwrap()
}

/// Records what would be produced instead of producing it.
type Produced = Vec<(Job, DateTime<Utc>)>;

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Produced>>);

impl Requeue for Recorder {
    fn requeue(
        &self,
        job: Job,
        at: DateTime<Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        self.0.lock().unwrap().push((job, at));
        futures::future::ready(Ok(())).boxed()
    }
}

impl Recorder {
    fn take(&self) -> Produced {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// `ProcessImportJob`: steps validate, process_records (cursor 0..10 with advance), finalize.
/// The switch stops the worker right before the `stop_before_advance`-th advance of this run, so
/// the checkpoint inside that advance interrupts it, as Rails' recording adapter did.
fn process_import_registry(
    switch: SignalSwitch,
    stop_before_advance: Option<usize>,
    processed: Arc<Mutex<Vec<i64>>>,
    recorder: Recorder,
) -> Registry {
    let stop_at = stop_before_advance;
    Registry::with_options(app_options())
        .with_requeue(recorder)
        .register_continuable(
            "ProcessImportJob",
            ContinuableOptions::default().resume_wait(Duration::ZERO),
            move |(_import_id,): (i64,), _ctx: JobContext, mut steps: Steps| {
                let switch = switch.clone();
                let processed = processed.clone();
                async move {
                    let advances = AtomicUsize::new(0);
                    steps.step("validate", async |_| Ok(())).await?;
                    steps
                        .step_from("process_records", 0_i64, async |step| {
                            while step.cursor::<i64>()? < 10 {
                                processed.lock().unwrap().push(step.cursor::<i64>()?);
                                if Some(advances.fetch_add(1, Ordering::SeqCst) + 1) == stop_at {
                                    switch.stop();
                                }
                                step.advance()?;
                            }
                            Ok(())
                        })
                        .await?;
                    steps.step("finalize", async |_| Ok(())).await?;
                    Ok(())
                }
            },
        )
}

fn message(payload: Vec<u8>) -> Arc<InboundMessage> {
    Arc::new(InboundMessage {
        topic: "imports".into(),
        partition: 0,
        offset: 0,
        key: Some(Bytes::from_static(b"123")),
        payload: Some(payload.into()),
        headers: Vec::new(),
        timestamp_ms: None,
    })
}

/// The fresh payload a Rails fixture's job started from: same job, no progress yet.
fn fresh_from(name: &str) -> Vec<u8> {
    let mut job = Job::decode_with(&fixture(name), &app_options()).unwrap();
    job.executions = Some(0);
    job.exception_executions = Some(Default::default());
    job.continuation = Some(Default::default());
    job.resumptions = Some(0);
    job.scheduled_at = None;
    job.encode().unwrap()
}

/// Typed dumps equal apart from the two times each serialize stamps anew.
fn assert_same_but_times(rust: &Job, rails: &[u8]) {
    let options = app_options();
    let rails = Job::decode_with(rails, &options).unwrap();
    let strip = |job: &Job| {
        let mut dump = typed_dump(job, &options);
        let map = dump.as_object_mut().unwrap();
        map.remove("enqueued_at");
        map.remove("scheduled_at");
        dump
    };
    compare(&strip(rust), &strip(&rails)).unwrap();
    assert!(
        rust.scheduled_at.is_some(),
        "a resume is enqueued with scheduled_at"
    );
    // Same bytes apart from the times: key order, markers, counters.
    let mut a: Json = serde_json::from_slice(&rust.encode().unwrap()).unwrap();
    let mut b: Json = serde_json::from_slice(&rails.encode().unwrap()).unwrap();
    for v in [&mut a, &mut b] {
        v["enqueued_at"] = Json::Null;
        v["scheduled_at"] = Json::Null;
    }
    assert_eq!(a.to_string(), b.to_string());
}

#[tokio::test]
async fn interrupt_resume_interrupt_finish_matches_rails() {
    let recorder = Recorder::default();
    let processed = Arc::new(Mutex::new(Vec::new()));

    // Run 1: fresh payload, stop inside the 3rd advance (Rails: the 4th checkpoint).
    let (switch, signals) = SignalSwitch::new();
    let registry = process_import_registry(switch, Some(3), processed.clone(), recorder.clone());
    registry
        .run(message(fixture("continuation_0_fresh.json")), signals)
        .await
        .unwrap();
    let mut produced = recorder.take();
    assert_eq!(produced.len(), 1);
    let (first, _) = produced.remove(0);
    assert_same_but_times(&first, &fixture("continuation_1_interrupted.json"));

    // Run 2: Rails' own interrupted payload, stop inside the 3rd advance again.
    let (switch, signals) = SignalSwitch::new();
    let registry = process_import_registry(switch, Some(3), processed.clone(), recorder.clone());
    registry
        .run(message(fixture("continuation_1_interrupted.json")), signals)
        .await
        .unwrap();
    let (second, _) = recorder.take().remove(0);
    assert_same_but_times(
        &second,
        &fixture("continuation_2_resumed_and_interrupted.json"),
    );

    // Run 3: the payload Rust wrote, no stop: completes, nothing re-enqueued.
    let (switch, signals) = SignalSwitch::new();
    let registry = process_import_registry(switch, None, processed.clone(), recorder.clone());
    registry
        .run(message(second.encode().unwrap()), signals)
        .await
        .unwrap();
    assert!(recorder.take().is_empty());
    // Every record once: 0,1,2 in run 1; 3,4,5 in run 2; 6..9 in run 3.
    assert_eq!(*processed.lock().unwrap(), (0..10).collect::<Vec<i64>>());
}

#[tokio::test]
async fn stop_at_the_checkpoint_between_steps() {
    let recorder = Recorder::default();
    let (switch, signals) = SignalSwitch::new();
    switch.stop();
    let registry = Registry::with_options(app_options())
        .with_requeue(recorder.clone())
        .register_continuable(
            "DefaultResumeJob",
            ContinuableOptions::default(),
            |_: serde::de::IgnoredAny, _ctx, mut steps: Steps| async move {
                steps.step("a", async |_| Ok(())).await?;
                steps
                    .step_from("b", 10_i64, async |step| Ok(step.advance()?))
                    .await?;
                Ok(())
            },
        );
    let payload = fresh_from("continuation_default_resume_wait.json");
    registry.run(message(payload), signals).await.unwrap();
    let (job, at) = recorder.take().remove(0);
    assert_same_but_times(&job, &fixture("continuation_default_resume_wait.json"));
    // Default resume_options wait: 5 s.
    let enqueued = job.enqueued_at.as_ref().unwrap().time.instant;
    let scheduled = job.scheduled_at.as_ref().unwrap().time.instant;
    assert_eq!((scheduled - enqueued).num_seconds(), 5);
    assert_eq!(at, scheduled.to_utc());
}

#[tokio::test]
async fn isolated_step_runs_in_its_own_execution() {
    let recorder = Recorder::default();
    let runs = Arc::new(Mutex::new(Vec::<Vec<&'static str>>::new()));
    let registry = {
        let runs = runs.clone();
        Registry::with_options(app_options())
            .with_requeue(recorder.clone())
            .register_continuable(
                "IsolatedStepsJob",
                ContinuableOptions::default().resume_wait(Duration::ZERO),
                move |_: serde::de::IgnoredAny, _ctx, mut steps: Steps| {
                    let runs = runs.clone();
                    async move {
                        let ran = Arc::new(Mutex::new(Vec::new()));
                        let result: anyhow::Result<()> = async {
                            steps
                                .step("quick_step1", async |_| {
                                    ran.lock().unwrap().push("quick_step1");
                                    Ok(())
                                })
                                .await?;
                            steps
                                .isolated_step("slow_step", async |_| {
                                    ran.lock().unwrap().push("slow_step");
                                    Ok(())
                                })
                                .await?;
                            steps
                                .step("quick_step2", async |_| {
                                    ran.lock().unwrap().push("quick_step2");
                                    Ok(())
                                })
                                .await?;
                            Ok(())
                        }
                        .await;
                        runs.lock().unwrap().push(ran.lock().unwrap().clone());
                        result
                    }
                },
            )
    };
    let mut payload = Job::new("IsolatedStepsJob").continuable().encode().unwrap();
    for _ in 0..3 {
        let (_switch, signals) = SignalSwitch::new();
        registry
            .run(message(payload.clone()), signals)
            .await
            .unwrap();
        match recorder.take().pop() {
            Some((job, _)) => payload = job.encode().unwrap(),
            None => break,
        }
    }
    assert_eq!(
        *runs.lock().unwrap(),
        vec![vec!["quick_step1"], vec!["slow_step"], vec!["quick_step2"]]
    );
}

#[tokio::test]
async fn first_isolated_payload_matches_rails() {
    let recorder = Recorder::default();
    let registry = Registry::with_options(app_options())
        .with_requeue(recorder.clone())
        .register_continuable(
            "IsolatedStepsJob",
            ContinuableOptions::default().resume_wait(Duration::ZERO),
            |_: serde::de::IgnoredAny, _ctx, mut steps: Steps| async move {
                steps.step("quick_step1", async |_| Ok(())).await?;
                steps.isolated_step("slow_step", async |_| Ok(())).await?;
                steps.step("quick_step2", async |_| Ok(())).await?;
                Ok(())
            },
        );
    let (_switch, signals) = SignalSwitch::new();
    registry
        .run(message(fresh_from("continuation_isolated_1.json")), signals)
        .await
        .unwrap();
    let (job, _) = recorder.take().remove(0);
    assert_same_but_times(&job, &fixture("continuation_isolated_1.json"));
}

#[tokio::test]
async fn max_resumptions_exceeded_fails_the_job() {
    let recorder = Recorder::default();
    let registry = Registry::with_options(app_options())
        .with_requeue(recorder.clone())
        .register_continuable(
            "LimitedResumeJob",
            ContinuableOptions::default()
                .resume_wait(Duration::ZERO)
                .max_resumptions(1),
            |_: serde::de::IgnoredAny, _ctx, mut steps: Steps| async move {
                steps
                    .step_from("walk", 0_i64, async |step| {
                        for _ in 0..5 {
                            step.advance()?;
                        }
                        Ok(())
                    })
                    .await?;
                Ok(())
            },
        );
    // Rails' first interrupted payload (resumptions 0); this run is resumption 1 and stops too.
    let (switch, signals) = SignalSwitch::new();
    switch.stop();
    let outcome = registry
        .run(message(fixture("continuation_limited_1.json")), signals)
        .await;
    assert_eq!(
        outcome,
        Err(JobFailure::Failed(
            "Job was resumed a maximum of 1 times".into()
        ))
    );
    assert!(recorder.take().is_empty());
    // Without a stop it finishes from cursor 2.
    let (_switch, signals) = SignalSwitch::new();
    registry
        .run(message(fixture("continuation_limited_1.json")), signals)
        .await
        .unwrap();
}

#[tokio::test]
async fn error_after_advancing_resumes_with_progress() {
    let recorder = Recorder::default();
    let make = |resume_errors: bool, recorder: Recorder| {
        Registry::with_options(app_options())
            .with_requeue(recorder)
            .register_continuable(
                "ErrorAfterAdvanceJob",
                ContinuableOptions::default()
                    .resume_wait(Duration::ZERO)
                    .resume_errors_after_advancing(resume_errors),
                |_: serde::de::IgnoredAny, _ctx, mut steps: Steps| async move {
                    steps
                        .step_from("walk", 0_i64, async |step| {
                            step.advance()?;
                            step.advance()?;
                            let at: i64 = step.cursor()?;
                            anyhow::ensure!(at != 2, "boom at {at}");
                            Ok(())
                        })
                        .await?;
                    Ok(())
                },
            )
    };
    let payload = Job::new("ErrorAfterAdvanceJob")
        .continuable()
        .encode()
        .unwrap();
    let (_s, signals) = SignalSwitch::new();
    make(true, recorder.clone())
        .run(message(payload.clone()), signals)
        .await
        .unwrap();
    let (job, _) = recorder.take().remove(0);
    let c = job.continuation.as_ref().unwrap();
    assert_eq!(c.current.as_ref().unwrap().cursor, Json::from(2));
    assert_eq!(job.executions, Some(1));
    assert_eq!(job.exception_executions.as_ref().unwrap()["boom at 2"], 1);
    // resume_errors_after_advancing: false → the error propagates.
    let (_s, signals) = SignalSwitch::new();
    let outcome = make(false, recorder.clone())
        .run(message(payload), signals)
        .await;
    assert!(matches!(outcome, Err(JobFailure::Failed(m)) if m.contains("boom at 2")));
    assert!(recorder.take().is_empty());
}

#[tokio::test]
async fn steps_out_of_order_are_refused_as_rails_refuses_them() {
    let registry = process_import_registry(
        SignalSwitch::new().0,
        None,
        Arc::default(),
        Recorder::default(),
    );
    let cases = [
        (
            r#"{"completed":["bogus"]}"#,
            "Step 'validate' found, expected to see 'bogus'",
        ),
        (
            r#"{"current":["process_records",5]}"#,
            "Step 'validate' found, expected to resume from 'process_records'",
        ),
    ];
    for (continuation, expected) in cases {
        let payload = format!(
            r#"{{"job_class":"ProcessImportJob","arguments":[1],"continuation":{continuation},"resumptions":0}}"#
        );
        let (_s, signals) = SignalSwitch::new();
        let outcome = registry.run(message(payload.into_bytes()), signals).await;
        assert_eq!(outcome, Err(JobFailure::Failed(expected.into())));
    }
}
