//! Shadow mode on a real broker: a shadow worker beside a normal worker on the same topic sees
//! every job under its own group, runs handlers with `is_shadow()` true, goes on past failures,
//! and never produces anything (dead letters, forwards, continuation re-enqueues).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{
    BadMessageKind, BadMessagePolicy, TopicConfig, Worker, WorkerConfig,
};
use activejob_karafka::continuation::{ContinuableOptions, Steps};
use activejob_karafka::producer::JobProducer;
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::shadow::Shadow;
use support::*;

/// (job class, id, shadow?) of every run.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, u64, bool)>>>);

impl Seen {
    fn push(&self, class: &str, id: u64, ctx: &JobContext) {
        self.0
            .lock()
            .unwrap()
            .push((class.to_owned(), id, ctx.is_shadow()));
    }
    fn ids(&self, shadow: bool) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.2 == shadow)
            .map(|r| (r.0.clone(), r.1))
            .collect();
        v.sort();
        v
    }
}

fn payload(class: &str, id: u64, queue: &str) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&job_payload(class, id)).unwrap();
    v["queue_name"] = queue.into();
    v.to_string().into_bytes()
}

/// The handlers both workers share: each fails (or panics, or is interrupted) only in shadow
/// mode, as a port with a bug would, while the normal worker runs them all fine.
fn base_registry(seen: Seen) -> Registry {
    let (s1, s2, s3, s4) = (seen.clone(), seen.clone(), seen.clone(), seen);
    Registry::new()
        .register("OkJob", move |(id,): (u64,), ctx: JobContext| {
            let s = s1.clone();
            async move {
                s.push("OkJob", id, &ctx);
                Ok(())
            }
        })
        .register("FlakyJob", move |(id,): (u64,), ctx: JobContext| {
            let s = s2.clone();
            async move {
                s.push("FlakyJob", id, &ctx);
                anyhow::ensure!(!ctx.is_shadow(), "the port is wrong");
                Ok(())
            }
        })
        .register("PanicJob", move |(id,): (u64,), ctx: JobContext| {
            let s = s3.clone();
            async move {
                s.push("PanicJob", id, &ctx);
                if ctx.is_shadow() {
                    panic!("the port panics");
                }
                Ok(())
            }
        })
        .register_continuable(
            "ContJob",
            // An error after a completed step resumes the job: the continuation path.
            ContinuableOptions::default()
                .resume_errors_after_advancing(true)
                .resume_wait(Duration::ZERO),
            move |(id,): (u64,), ctx: JobContext, mut steps: Steps| {
                let s = s4.clone();
                async move {
                    s.push("ContJob", id, &ctx);
                    steps.step("first", async |_| Ok(())).await?;
                    anyhow::ensure!(!ctx.is_shadow(), "interrupted after the first step");
                    steps.step("second", async |_| Ok(())).await?;
                    Ok(())
                }
            },
        )
}

fn watermarks(topics: &[(&str, i32)]) -> Vec<Vec<i64>> {
    topics.iter().map(|(t, n)| end_offsets(t, *n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shadow_beside_a_normal_worker_sees_every_job_and_produces_nothing() {
    init_tracing();
    let topic = unique("shadow-src");
    let dlq = unique("shadow-dlq");
    let proxy = unique("shadow-proxy");
    let group = unique("shadow-app");
    create_topic(&topic, 2).await;
    create_topic(&dlq, 1).await;
    create_topic(&proxy, 1).await;

    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for id in 0..40u64 {
        let class = match id {
            5 => "FlakyJob",
            11 => "PanicJob",
            17 => "ContJob",
            23 => "RubyOnlyJob",
            _ => "OkJob",
        };
        expected.push((class.to_owned(), id));
        messages.push(Out {
            partition: Some((id % 2) as i32),
            payload: Some(payload(class, id, &topic)),
            ..Out::default()
        });
    }
    expected.sort();
    produce(&topic, messages).await;

    // The configuration the Ruby workers would have: a DLQ and a forward for unknown classes.
    let topic_config = TopicConfig::new(&topic)
        .dead_letter_queue(&dlq, 1)
        .on_bad_message(
            BadMessageKind::UnknownJobClass,
            BadMessagePolicy::Forward(proxy.clone()),
        );
    let config: WorkerConfig = config(&group, &[topic_config]).build().unwrap();
    let all_topics = [(topic.as_str(), 2), (dlq.as_str(), 1), (proxy.as_str(), 1)];
    let before = watermarks(&all_topics);

    let seen = Seen::default();
    // The normal worker stands in for the Ruby workers: it also knows RubyOnlyJob.
    let normal_registry = base_registry(seen.clone()).register(
        "RubyOnlyJob",
        |(_id,): (u64,), _ctx: JobContext| async move { Ok(()) },
    );
    let normal = Worker::new(config.clone(), normal_registry).handle_signals(false);
    let normal_stop = normal.shutdown_handle();
    let normal_run = tokio::spawn(normal.run());

    // The shadow's registry could re-enqueue for real: shadow mode must override it.
    let producer = JobProducer::builder()
        .bootstrap_servers(bootstrap())
        .build()
        .expect("producer");
    let shadow = Shadow::new(base_registry(seen.clone()).with_requeue(producer))
        .report_every(Duration::from_millis(500))
        .config(config)
        .handle_signals(false);
    assert_eq!(shadow.group_id(), format!("{group}-shadow"));
    let shadow_stop = shadow.shutdown_handle();
    let shadow_stats = shadow.stats();
    let shadow_metrics = shadow.metrics().clone();
    let shadow_run = tokio::spawn(shadow.run());

    let normal_ids: Vec<(String, u64)> = expected.clone();
    let shadow_ids: Vec<(String, u64)> = expected
        .iter()
        .filter(|(c, _)| c != "RubyOnlyJob")
        .cloned()
        .collect();
    wait_until(
        Duration::from_secs(60),
        "both workers saw every job",
        || {
            // RubyOnlyJob has no recorder: the normal registry's handler does not record.
            seen.ids(false).len() == normal_ids.len() - 1
                && shadow_metrics
                    .summary()
                    .values()
                    .map(|s| s.runs())
                    .sum::<u64>()
                    == 40
        },
    )
    .await;
    normal_stop.shutdown();
    shadow_stop.shutdown();
    normal_run.await.unwrap().expect("normal worker shut down");
    let report = shadow_run.await.unwrap().expect("shadow shut down");

    // Both saw every job, each once; the shadow with is_shadow() true, the normal one false.
    assert_eq!(seen.ids(true), shadow_ids, "shadow runs");
    let mut normal_recorded = normal_ids.clone();
    normal_recorded.retain(|(c, _)| c != "RubyOnlyJob");
    assert_eq!(seen.ids(false), normal_recorded, "normal runs");

    // The shadow counted per class, never retried, and went past every failure.
    let c = &report.classes;
    assert_eq!(c["OkJob"].succeeded, 36);
    assert_eq!((c["FlakyJob"].succeeded, c["FlakyJob"].failed), (0, 1));
    assert_eq!((c["PanicJob"].succeeded, c["PanicJob"].failed), (0, 1));
    assert_eq!(
        c["ContJob"].succeeded, 1,
        "resumed (not re-enqueued) counts as done"
    );
    assert_eq!(c["RubyOnlyJob"].no_handler, 1);
    assert_eq!(report.total().retried, 0);
    assert_eq!(report.total().runs(), 40);
    assert_eq!(report.requeues_suppressed.get("ContJob"), Some(&1));
    assert!(!report.all_ok());
    let rendered = report.render();
    assert!(
        rendered.contains("FlakyJob") && rendered.contains("total"),
        "{rendered}"
    );
    let s = shadow_stats.snapshot();
    assert_eq!((s.dead_lettered, s.forwarded, s.job_failures), (0, 0, 0));

    // Nothing was produced anywhere: not a dead letter, a forward or a re-enqueue.
    assert_eq!(watermarks(&all_topics), before, "high watermarks unchanged");
    assert_eq!(end_offsets(&dlq, 1), vec![0]);
    assert_eq!(end_offsets(&proxy, 1), vec![0]);

    // Each group has its own offsets, both at the end.
    assert_fully_committed(&group, &topic, 2);
    assert_fully_committed(&format!("{group}-shadow"), &topic, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_goes_past_bad_messages_without_dead_letters_or_forwards() {
    init_tracing();
    let topic = unique("shadow-bad");
    let dlq = unique("shadow-bad-dlq");
    let proxy = unique("shadow-bad-proxy");
    let group = unique("shadow-bad-app");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    create_topic(&proxy, 1).await;
    produce(
        &topic,
        vec![
            Out::default(), // tombstone
            Out {
                payload: Some(b"{not json".to_vec()),
                ..Out::default()
            },
            Out {
                payload: Some(payload("UnportedJob", 1, &topic)),
                ..Out::default()
            },
            Out {
                payload: Some(payload("OkJob", 2, &topic)),
                ..Out::default()
            },
        ],
    )
    .await;
    // Every bad-message policy that would produce, had this been a normal worker.
    let topic_config = TopicConfig::new(&topic)
        .dead_letter_queue(&dlq, 0)
        .on_bad_message(BadMessageKind::Tombstone, BadMessagePolicy::DeadLetter)
        .on_bad_message(BadMessageKind::Undecodable, BadMessagePolicy::DeadLetter)
        .on_bad_message(
            BadMessageKind::UnknownJobClass,
            BadMessagePolicy::Forward(proxy.clone()),
        );
    let config = config(&group, &[topic_config]).build().unwrap();
    let all_topics = [(topic.as_str(), 1), (dlq.as_str(), 1), (proxy.as_str(), 1)];
    let before = watermarks(&all_topics);

    let seen = Seen::default();
    let shadow = Shadow::new(base_registry(seen.clone()))
        .group_id(format!("{group}-mirror"))
        .report_every(Duration::ZERO)
        .config(config)
        .handle_signals(false);
    let stop = shadow.shutdown_handle();
    let run = tokio::spawn(shadow.run());
    wait_until(
        Duration::from_secs(30),
        "OkJob after the bad messages",
        || !seen.ids(true).is_empty(),
    )
    .await;
    stop.shutdown();
    let report = run.await.unwrap().expect("shadow shut down");

    assert_eq!(report.classes["(tombstone)"].bad_payload, 1);
    assert_eq!(report.classes["(undecodable)"].bad_payload, 1);
    assert_eq!(report.classes["UnportedJob"].no_handler, 1);
    assert_eq!(report.classes["OkJob"].succeeded, 1);
    assert_eq!(watermarks(&all_topics), before, "high watermarks unchanged");
    assert_eq!(end_offsets(&dlq, 1), vec![0]);
    assert_eq!(end_offsets(&proxy, 1), vec![0]);
    assert_fully_committed(&format!("{group}-mirror"), &topic, 1);
    // The application's group was never used.
    assert_eq!(committed(&group, &topic, 1), vec![-1]);
}
