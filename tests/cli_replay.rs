//! `replay`: golden payloads through handlers like the demo worker's, typed dumps against Rails'
//! own, failing runs that must exit non-zero, NDJSON and recorded inputs, per-key order in
//! parallel runs. No broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::arguments::GlobalId;
use activejob_karafka::consumer::InboundMessage;
use activejob_karafka::continuation::ContinuableOptions;
use activejob_karafka::record::{RecordedBytes, RecordedMessage};
use activejob_karafka::registry::{JobContext, Registry, Requeue};
use activejob_karafka::replay::{Outcome, Replay};
use activejob_karafka::{DecodeOptions, Job};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::de::IgnoredAny;
use serde_json::{json, Value as Json};

const VERSIONS: [&str; 3] = ["6.1", "7.1", "8.1"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(version: &str) -> PathBuf {
    root().join("fixtures").join(version)
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_file(root().join("fixtures/app.toml")).expect("fixtures/app.toml")
}

/// One handled job as the handler saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    class: String,
    job_id: Option<String>,
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn note(&self, ctx: &JobContext) -> anyhow::Result<()> {
        self.0.lock().unwrap().push(Seen {
            class: ctx.job().job_class.clone(),
            job_id: ctx.job_id().map(str::to_owned),
            topic: ctx.topic().to_owned(),
            partition: ctx.partition(),
            offset: ctx.offset(),
            key: ctx.key().map(<[u8]>::to_vec),
        });
        Ok(())
    }

    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

/// Counts re-enqueued continuations instead of producing them.
#[derive(Clone, Default)]
struct CountingRequeue(Arc<AtomicUsize>);

impl Requeue for CountingRequeue {
    fn requeue(
        &self,
        _job: Job,
        _at: chrono::DateTime<chrono::Utc>,
        _key: Option<Vec<u8>>,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }.boxed()
    }
}

/// `ImportJob#perform(import_id, mode: :normal, dry_run: false)`'s keyword arguments.
#[derive(Debug, serde::Deserialize)]
struct ImportOptions {
    #[serde(default = "normal")]
    mode: String,
    #[serde(default)]
    dry_run: bool,
}

fn normal() -> String {
    "normal".to_owned()
}

/// The fixture application's handlers, as in examples/worker.rs, plus its continuable jobs
/// written with the step API the way their Ruby classes define their steps.
fn registry(log: Log, requeues: CountingRequeue) -> Registry {
    let l = |log: &Log| log.clone();
    let (l1, l2, l3, l4, l5, l6, l7, l8) = (
        l(&log),
        l(&log),
        l(&log),
        l(&log),
        l(&log),
        l(&log),
        l(&log),
        l(&log),
    );
    let (c1, c2, c3, c4, c5, c6) = (l(&log), l(&log), l(&log), l(&log), l(&log), l(&log));
    Registry::with_options(app_options())
        .with_requeue(requeues)
        .register("EchoJob", move |_: IgnoredAny, ctx| {
            std::future::ready(l1.note(&ctx))
        })
        .register("ImportJob", move |(id, opts): (i64, ImportOptions), ctx| {
            let outcome = if id <= 0 || opts.mode.is_empty() {
                Err(anyhow::anyhow!("import {id}: no such import"))
            } else {
                let _ = opts.dry_run;
                l2.note(&ctx)
            };
            std::future::ready(outcome)
        })
        .register("CriticalJob", move |(_name,): (String,), ctx| {
            std::future::ready(l3.note(&ctx))
        })
        .register(
            "PrefixedMailerJob",
            move |(_template, _user): (String, GlobalId), ctx| std::future::ready(l4.note(&ctx)),
        )
        .register("DynamicQueueJob", move |(_tier, _n): (String, i64), ctx| {
            std::future::ready(l5.note(&ctx))
        })
        .register("SchedulingJob", move |(_n,): (i64,), ctx| {
            std::future::ready(l6.note(&ctx))
        })
        .register("AttemptNumberJob", move |(_x,): (String,), ctx| {
            std::future::ready(l7.note(&ctx))
        })
        .register("RetryingJob", move |(_n,): (i64,), ctx| {
            std::future::ready(l8.note(&ctx))
        })
        .register("PanicJob", |_: IgnoredAny, _ctx| async move {
            if true {
                panic!("handler blew up");
            }
            Ok(())
        })
        .register_continuable(
            "ProcessImportJob",
            ContinuableOptions::default(),
            move |(_id,): (i64,), ctx, mut steps| {
                let log = c1.clone();
                async move {
                    steps.step("validate", async |_| Ok(())).await?;
                    steps
                        .step_from("process_records", 0_i64, async |step| {
                            while step.cursor::<i64>()? < 10 {
                                step.advance()?;
                            }
                            Ok(())
                        })
                        .await?;
                    steps.step("finalize", async |_| Ok(())).await?;
                    log.note(&ctx)
                }
            },
        )
        .register_continuable(
            "NestedCursorJob",
            ContinuableOptions::default(),
            move |_: IgnoredAny, ctx, mut steps| {
                let log = c2.clone();
                async move {
                    steps
                        .step_from("process_nested", [0_i64, 0], async |step| loop {
                            let [account, record]: [i64; 2] = step.cursor()?;
                            if account >= 3 {
                                return Ok(());
                            }
                            if record < 4 {
                                step.set([account, record + 1])?;
                            } else {
                                step.set([account + 1, 0])?;
                            }
                        })
                        .await?;
                    log.note(&ctx)
                }
            },
        )
        .register_continuable(
            "IsolatedStepsJob",
            ContinuableOptions::default(),
            move |_: IgnoredAny, ctx, mut steps| {
                let log = c3.clone();
                async move {
                    steps.step("quick_step1", async |_| Ok(())).await?;
                    steps.isolated_step("slow_step", async |_| Ok(())).await?;
                    steps.step("quick_step2", async |_| Ok(())).await?;
                    log.note(&ctx)
                }
            },
        )
        .register_continuable(
            "CursorTypesJob",
            ContinuableOptions::default(),
            move |(_kind,): (String,), ctx, mut steps| {
                let log = c4.clone();
                async move {
                    steps
                        .step("walk", async |step| {
                            step.set("done")?;
                            Ok(())
                        })
                        .await?;
                    log.note(&ctx)
                }
            },
        )
        .register_continuable(
            "DefaultResumeJob",
            ContinuableOptions::default(),
            move |_: IgnoredAny, ctx, mut steps| {
                let log = c5.clone();
                async move {
                    steps.step("a", async |_| Ok(())).await?;
                    steps
                        .step_from("b", 10_i64, async |step| {
                            step.advance()?;
                            Ok(())
                        })
                        .await?;
                    log.note(&ctx)
                }
            },
        )
        .register_continuable(
            "LimitedResumeJob",
            ContinuableOptions::default().max_resumptions(2),
            move |_: IgnoredAny, ctx, mut steps| {
                let log = c6.clone();
                async move {
                    steps
                        .step_from("walk", 0_i64, async |step| {
                            for _ in 0..5 {
                                step.advance()?;
                            }
                            Ok(())
                        })
                        .await?;
                    log.note(&ctx)
                }
            },
        )
}

/// job_class => number of golden payloads of `version`.
fn classes_of(version: &str) -> BTreeMap<String, usize> {
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(fixtures(version).join("manifest.json")).unwrap())
            .unwrap();
    let mut counts = BTreeMap::new();
    for fixture in manifest["fixtures"].as_array().unwrap() {
        *counts
            .entry(fixture["job_class"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_activejob-karafka"));
    command.current_dir(root()).env_remove("RUST_LOG");
    command
}

fn run_bin(args: &[&str]) -> Output {
    bin()
        .args(args)
        .output()
        .expect("running activejob-karafka")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs the command line of a worker binary with the test's handlers, in this process.
fn run_worker_cli(registry: Registry, args: &[&str]) -> ExitCode {
    let argv = std::iter::once("my-worker").chain(args.iter().copied());
    activejob_karafka::cli::run_from(activejob_karafka::program!(), registry, argv)
}

#[tokio::test]
async fn every_golden_payload_runs_through_its_handler() {
    for version in VERSIONS {
        for jobs in [1, 4] {
            let log = Log::default();
            let requeues = CountingRequeue::default();
            let report = Replay::new(registry(log.clone(), requeues.clone()))
                .path(fixtures(version))
                .jobs(jobs)
                .run()
                .await
                .expect("replay");
            report.assert_all_ok();
            let expected = classes_of(version);
            let total: usize = expected.values().sum();
            assert_eq!(report.totals().ok, total, "{version}");
            for (class, n) in &expected {
                assert_eq!(report.class(class).ok, *n, "{version} {class}");
            }
            assert_eq!(report.classes().len(), expected.len(), "{version}");
            // Every handler ran once per payload. continuation_isolated_1 is the one job that
            // stops early: its isolated step runs alone, then the job is re-enqueued (as Rails
            // does) and counts as ok, like a worker marking the message consumed.
            let resumed = usize::from(version == "8.1");
            assert_eq!(log.seen().len(), total - resumed, "{version}");
            assert_eq!(requeues.0.load(Ordering::SeqCst), resumed, "{version}");
            // Bare payloads run with their queue as the topic.
            let first = &report.jobs()[0];
            assert_eq!(
                first.source,
                fixtures(version)
                    .join("action_controller_parameters.json")
                    .display()
                    .to_string()
            );
            assert_eq!((first.topic.as_str(), first.partition), ("default", 0));
        }
    }
}

#[test]
fn a_worker_binary_replays_the_golden_payloads_and_exits_0() {
    for version in VERSIONS {
        let dir = fixtures(version).display().to_string();
        let code = run_worker_cli(
            registry(Log::default(), CountingRequeue::default()),
            &["replay", "--no-progress", "-j", "3", &dir],
        );
        assert_eq!(code, ExitCode::SUCCESS, "{version}");
    }
}

#[test]
fn typed_dumps_match_rails_8_1s_for_every_version() {
    for version in VERSIONS {
        let dir = format!("fixtures/{version}");
        let expected = format!("{dir}/rails81_decoded.json");
        let out = run_bin(&[
            "replay",
            "--typed-expect",
            &expected,
            "--app",
            "fixtures/app.toml",
            "-j",
            "4",
            &dir,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let total: usize = classes_of(version).values().sum();
        assert!(
            stdout.contains(&format!("{total} jobs in")) && stdout.contains("all ok"),
            "{}",
            text(&out)
        );
        assert!(stdout.contains("mismatch"), "typed table header: {stdout}");
    }
}

#[tokio::test]
async fn typed_dumps_in_ndjson_are_compared_in_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    let map: serde_json::Map<String, Json> = serde_json::from_slice(
        &std::fs::read(fixtures("8.1").join("rails81_decoded.json")).unwrap(),
    )
    .unwrap();
    // The input order of a directory: file names in natural order.
    let report = Replay::new(Registry::with_options(app_options()))
        .path(fixtures("8.1"))
        .typed_expect(fixtures("8.1").join("rails81_decoded.json"))
        .run()
        .await
        .unwrap();
    report.assert_all_ok();
    let mut ndjson = String::new();
    for job in report.jobs() {
        let name = Path::new(&job.source)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        ndjson.push_str(&serde_json::to_string(&map[name]).unwrap());
        ndjson.push('\n');
    }
    let expected = tmp.path().join("expected.ndjson");
    std::fs::write(&expected, &ndjson).unwrap();
    let out = run_bin(&[
        "replay",
        "--typed-expect",
        expected.to_str().unwrap(),
        "--app",
        "fixtures/app.toml",
        "fixtures/8.1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Swap two lines: both jobs now mismatch, each naming the first differing path.
    let mut lines: Vec<&str> = ndjson.lines().collect();
    lines.swap(0, 1);
    std::fs::write(&expected, lines.join("\n")).unwrap();
    let out = run_bin(&[
        "replay",
        "--typed-expect",
        expected.to_str().unwrap(),
        "--app",
        "fixtures/app.toml",
        "fixtures/8.1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 of 53 jobs did not succeed"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("action_controller_parameters.json [EchoJob] mismatch: typed dump differs (ours vs expected) at $.job_id"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_typed_difference_names_the_first_differing_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut map: serde_json::Map<String, Json> = serde_json::from_slice(
        &std::fs::read(fixtures("8.1").join("rails81_decoded.json")).unwrap(),
    )
    .unwrap();
    map["kwargs.json"]["arguments"][0]["value"] = json!("43");
    map.remove("primitives.json");
    let expected = tmp.path().join("expected.json");
    std::fs::write(&expected, serde_json::to_vec(&map).unwrap()).unwrap();
    let out = run_bin(&[
        "replay",
        "--typed-expect",
        expected.to_str().unwrap(),
        "--app",
        "fixtures/app.toml",
        "fixtures/8.1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#"kwargs.json [ImportJob] mismatch: typed dump differs (ours vs expected) at $.arguments[0].value: "42" vs "43""#),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(
            "primitives.json [EchoJob] mismatch: no expected typed dump for primitives.json"
        ),
        "{}",
        text(&out)
    );
}

/// A directory with one job of each outcome.
fn mixed_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let kwargs = std::fs::read_to_string(fixtures("8.1").join("kwargs.json")).unwrap();
    std::fs::write(dir.join("1_ok.json"), &kwargs).unwrap();
    std::fs::write(
        dir.join("2_fails.json"),
        kwargs.replace(r#""arguments":[42,"#, r#""arguments":[-1,"#),
    )
    .unwrap();
    std::fs::write(
        dir.join("3_unknown.json"),
        kwargs.replace(r#""job_class":"ImportJob""#, r#""job_class":"GhostJob""#),
    )
    .unwrap();
    std::fs::write(dir.join("4_not_json.json"), b"{\"job_class\": ").unwrap();
    let primitives = std::fs::read_to_string(fixtures("8.1").join("primitives.json")).unwrap();
    std::fs::write(
        dir.join("5_bad_date.json"),
        primitives.replace(
            r#""arguments":["hello","#,
            r#""arguments":[{"_aj_serialized":"ActiveJob::Serializers::DateSerializer","value":"2024-02-30"},"#,
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("6_panics.json"),
        primitives.replace(r#""job_class":"EchoJob""#, r#""job_class":"PanicJob""#),
    )
    .unwrap();
    // Not jobs: skipped in a directory.
    std::fs::write(dir.join("manifest.json"), b"{}").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a job").unwrap();
    tmp
}

#[tokio::test]
async fn failing_unknown_and_bad_jobs_are_counted_by_class() {
    let tmp = mixed_dir();
    let mut options = app_options();
    // The app defines PanicJob too; GhostJob stays unknown.
    options
        .job_classes
        .as_mut()
        .unwrap()
        .insert("PanicJob".into());
    let log = Log::default();
    let base = registry(log.clone(), CountingRequeue::default());
    let report = Replay::new(base.clone())
        .path(tmp.path())
        .jobs(2)
        .run()
        .await
        .unwrap();
    assert!(!report.all_ok());
    let import = report.class("ImportJob");
    assert_eq!((import.ok, import.failed), (1, 1));
    assert_eq!(report.class("GhostJob").no_handler, 1);
    assert_eq!(report.class("(unreadable)").bad_payload, 1);
    assert_eq!(report.class("EchoJob").bad_payload, 1);
    let panics = report.class("PanicJob");
    // fixtures/app.toml does not list PanicJob: Rails' UnknownJobClassError, before any handler.
    assert_eq!(panics.no_handler, 1);
    let totals = report.totals();
    assert_eq!(
        (
            totals.ok,
            totals.failed,
            totals.no_handler,
            totals.bad_payload
        ),
        (1, 1, 2, 2)
    );
    let outcomes: Vec<(String, Outcome)> = report
        .jobs()
        .iter()
        .map(|j| {
            (
                Path::new(&j.source)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                j.outcome,
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("1_ok.json".to_owned(), Outcome::Ok),
            ("2_fails.json".to_owned(), Outcome::Failed),
            ("3_unknown.json".to_owned(), Outcome::NoHandler),
            ("4_not_json.json".to_owned(), Outcome::BadPayload),
            ("5_bad_date.json".to_owned(), Outcome::BadPayload),
            ("6_panics.json".to_owned(), Outcome::NoHandler),
        ]
    );
    assert!(report.jobs()[1]
        .reason
        .contains("import -1: no such import"));
    assert!(report.jobs()[4]
        .reason
        .contains(r#"arguments[0].value: DateSerializer value "2024-02-30" is not a date"#));
    assert!(
        report.jobs()[5]
            .reason
            .contains("a handler is registered for it, but the application's job_classes"),
        "{}",
        report.jobs()[5].reason
    );
    assert!(
        !report.jobs()[2].reason.contains("a handler is registered"),
        "GhostJob has no handler of any name"
    );
    let panicked = std::panic::catch_unwind(|| report.assert_all_ok()).unwrap_err();
    let message = panicked.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("2_fails.json [ImportJob] failed"),
        "{message}"
    );

    // A registry whose app knows PanicJob: the panic is a failed job, not a crash.
    let panic_only =
        Registry::with_options(options).register("PanicJob", |_: IgnoredAny, _| async {
            if true {
                panic!("handler blew up");
            }
            Ok(())
        });
    let report = Replay::new(panic_only)
        .path(tmp.path().join("6_panics.json"))
        .run()
        .await
        .unwrap();
    assert_eq!(report.class("PanicJob").failed, 1);
    assert!(report.jobs()[0].reason.contains("handler blew up"));
}

#[test]
fn a_failing_replay_exits_3_from_a_worker_binary_and_from_the_crate_binary() {
    let tmp = mixed_dir();
    let dir = tmp.path().to_str().unwrap();
    let code = run_worker_cli(
        registry(Log::default(), CountingRequeue::default()),
        &["replay", "--no-progress", dir],
    );
    assert_eq!(code, ExitCode::from(3));

    // The crate's own binary has no handlers: every decodable job is "no handler".
    let out = run_bin(&["replay", "--show-failures", "2", dir]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |class: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(class))
            .unwrap_or_else(|| panic!("no {class} row in {stdout}"))
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    };
    // ok, failed, no handler, bad payload
    assert_eq!(row("ImportJob"), [0, 0, 2, 0]);
    assert_eq!(row("GhostJob"), [0, 0, 1, 0]);
    assert_eq!(row("(unreadable)"), [0, 0, 0, 1]);
    assert_eq!(row("total"), [0, 0, 4, 2]);
    assert!(
        stdout.contains("6 of 6 jobs did not succeed (the first 2):"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(r#"1_ok.json [ImportJob] no handler: unknown job class "ImportJob""#),
        "{}",
        text(&out)
    );
}

#[test]
fn usage_and_input_errors_exit_1() {
    let out = run_bin(&["replay", "does/not/exist"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read does/not/exist"));

    let empty = tempfile::tempdir().unwrap();
    let out = run_bin(&["replay", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job found"));

    let out = run_bin(&["replay"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run_bin(&["replay", "--app", "fixtures/app.toml", "fixtures/8.1"]);
    assert_eq!(out.status.code(), Some(1), "--app needs --typed-expect");
    let out = run_bin(&["replay", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Exit codes:") && help.contains("--typed-expect"));

    // decode keeps its exit codes: 2 for an undecodable payload.
    let tmp = mixed_dir();
    let bad = tmp.path().join("5_bad_date.json");
    let out = run_bin(&[
        "decode",
        "--app",
        "fixtures/app.toml",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

fn record_line(meta: &RecordedMessage) -> String {
    serde_json::to_string(meta).unwrap()
}

fn recorded(
    topic: &str,
    partition: i32,
    offset: i64,
    key: Option<&str>,
    payload: Option<&[u8]>,
) -> RecordedMessage {
    RecordedMessage {
        topic: topic.into(),
        partition,
        offset,
        key: key.map(|k| RecordedBytes(k.as_bytes().to_vec())),
        headers: vec![("source".into(), Some(RecordedBytes(b"test".to_vec())))],
        timestamp_ms: Some(1_764_020_876_000 + offset),
        tombstone: payload.is_none(),
        redacted: vec![],
        redaction_error: None,
        payload: payload.map(|p| RecordedBytes(p.to_vec())),
    }
}

fn echo_payload(n: usize) -> Vec<u8> {
    json!({
        "job_class": "EchoJob", "job_id": format!("job-{n}"), "provider_job_id": null,
        "queue_name": "default", "priority": null, "arguments": [n],
        "executions": 0, "exception_executions": {}, "locale": "en", "timezone": "UTC",
        "enqueued_at": "2026-11-24T21:27:56.102474000Z", "scheduled_at": null
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn parallel_replay_keeps_each_key_and_partition_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    // 4 keys and 2 keyless partitions, interleaved, 25 messages each.
    let mut lines = Vec::new();
    let mut n = 0;
    for round in 0..25_i64 {
        for lane in 0..6 {
            let (partition, key) = if lane < 4 {
                (lane % 3, Some(format!("key-{lane}")))
            } else {
                (lane - 4, None)
            };
            let payload = echo_payload(n);
            n += 1;
            let offset = round * 10 + i64::from(lane);
            lines.push(record_line(&recorded(
                "orders",
                partition,
                offset,
                key.as_deref(),
                Some(&payload),
            )));
        }
    }
    let file = tmp.path().join("recorded.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let log = Log::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let registry = Registry::new().register("EchoJob", {
        let (log, in_flight, max_in_flight) =
            (log.clone(), in_flight.clone(), max_in_flight.clone());
        move |(n,): (u64,), ctx: JobContext| {
            let (log, in_flight, max_in_flight) =
                (log.clone(), in_flight.clone(), max_in_flight.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                // Uneven durations so that lanes overtake each other.
                tokio::time::sleep(Duration::from_millis(1 + (n * 7) % 5)).await;
                log.note(&ctx)?;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        }
    });
    let report = Replay::new(registry)
        .path(&file)
        .jobs(8)
        .run()
        .await
        .unwrap();
    report.assert_all_ok();
    assert_eq!(report.totals().ok, 150);
    assert!(
        max_in_flight.load(Ordering::SeqCst) > 1,
        "jobs ran one at a time"
    );
    let seen = log.seen();
    assert_eq!(seen.len(), 150);
    let mut lanes: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for s in &seen {
        let lane = match &s.key {
            Some(k) => String::from_utf8(k.clone()).unwrap(),
            None => format!("{}-{}", s.topic, s.partition),
        };
        lanes.entry(lane).or_default().push(s.offset);
    }
    assert_eq!(lanes.len(), 6);
    for (lane, offsets) in lanes {
        assert_eq!(offsets.len(), 25, "{lane}");
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{lane} ran out of order: {offsets:?}"
        );
    }
    // The report is in input order whatever order the jobs finished in.
    let ids: Vec<String> = report
        .jobs()
        .iter()
        .map(|j| j.job_id.clone().unwrap())
        .collect();
    let expected: Vec<String> = (0..150).map(|n| format!("job-{n}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn recorded_directories_and_ndjson_carry_their_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("recording");
    std::fs::create_dir(&dir).unwrap();
    // Offsets 9 and 10 of one partition: 10 must not run before 9 (natural name order).
    for (offset, key) in [(10_i64, Some("user-1")), (9, Some("user-1")), (3, None)] {
        let meta = recorded("orders", 2, offset, key, None);
        let meta = RecordedMessage {
            tombstone: false,
            payload: None,
            ..meta
        };
        std::fs::write(
            dir.join(format!("{}.meta.json", meta.file_stem())),
            serde_json::to_vec_pretty(&meta).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{}.json", meta.file_stem())),
            echo_payload(offset as usize),
        )
        .unwrap();
    }
    // A recorded tombstone: metadata only.
    let tombstone = recorded("orders", 2, 11, Some("user-1"), None);
    std::fs::write(
        dir.join("orders-2-11.meta.json"),
        serde_json::to_vec_pretty(&tombstone).unwrap(),
    )
    .unwrap();
    // The same recording as NDJSON, plus a bare payload line.
    let ndjson = tmp.path().join("more.ndjson");
    std::fs::write(
        &ndjson,
        [
            record_line(&recorded(
                "orders",
                0,
                7,
                Some("user-2"),
                Some(&echo_payload(7)),
            )),
            String::new(),
            String::from_utf8(echo_payload(8)).unwrap(),
        ]
        .join("\n"),
    )
    .unwrap();

    let log = Log::default();
    let report = Replay::new(registry(log.clone(), CountingRequeue::default()))
        .path(&dir)
        .path(&ndjson)
        .run()
        .await
        .unwrap();
    let seen: Vec<(String, i32, i64, Option<Vec<u8>>)> = log
        .seen()
        .into_iter()
        .map(|s| (s.topic, s.partition, s.offset, s.key))
        .collect();
    assert_eq!(
        seen,
        [
            ("orders".to_owned(), 2, 3, None),
            ("orders".to_owned(), 2, 9, Some(b"user-1".to_vec())),
            ("orders".to_owned(), 2, 10, Some(b"user-1".to_vec())),
            ("orders".to_owned(), 0, 7, Some(b"user-2".to_vec())),
            // A bare payload line: its queue as the topic, its line number as the offset.
            ("default".to_owned(), 0, 3, None),
        ]
    );
    assert_eq!(report.totals().ok, 5);
    assert_eq!(report.class("(tombstone)").bad_payload, 1);
    let tomb = report
        .jobs()
        .iter()
        .find(|j| j.outcome == Outcome::BadPayload)
        .unwrap();
    assert!(
        tomb.source.ends_with("orders-2-11.meta.json"),
        "{}",
        tomb.source
    );
    assert_eq!(
        report.jobs().last().unwrap().source,
        format!("{}:3", ndjson.display())
    );

    // Explicit files: a payload picks up its metadata; its .meta.json named too is not a
    // second job.
    let log = Log::default();
    let report = Replay::new(registry(log.clone(), CountingRequeue::default()))
        .path(dir.join("orders-2-9.json"))
        .path(dir.join("orders-2-9.meta.json"))
        .run()
        .await
        .unwrap();
    assert_eq!(report.totals().total(), 1);
    assert_eq!(log.seen()[0].key.as_deref(), Some(&b"user-1"[..]));

    // Messages built in code.
    let message = InboundMessage {
        topic: "default".into(),
        partition: 1,
        offset: 5,
        key: None,
        payload: Some(echo_payload(5).into()),
        headers: vec![],
        timestamp_ms: None,
    };
    let report = Replay::new(registry(Log::default(), CountingRequeue::default()))
        .message("in code", message)
        .run()
        .await
        .unwrap();
    report.assert_all_ok();
    assert_eq!(report.jobs()[0].source, "in code");
}

/// Ruby enqueues `V1::StatisticsWorker` while Rust registered `StatisticsWorker`: the job has
/// no handler, and the report names the registered class it was probably meant for.
#[tokio::test]
async fn no_handler_report_names_a_similar_registered_class() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = Job::new("V1::StatisticsWorker").arg(7).encode().unwrap();
    std::fs::write(tmp.path().join("statistics.json"), payload).unwrap();
    let registry =
        Registry::new().register("StatisticsWorker", |_: IgnoredAny, _| async { Ok(()) });
    let report = Replay::new(registry).path(tmp.path()).run().await.unwrap();
    let job = &report.jobs()[0];
    assert_eq!(job.outcome, Outcome::NoHandler);
    assert!(
        job.reason
            .contains(r#"a handler is registered for "StatisticsWorker""#),
        "{}",
        job.reason
    );
}
