//! Tombstones, undecodable payloads and unknown job classes. By default each blocks its
//! partition and is retried like a failing job (Karafka does the same), going to the DLQ after
//! `max_retries` when the topic has one; the alternative policies send it to the DLQ at once or
//! forward an unknown class to another topic, and the partition goes on.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::{BadMessageKind, BadMessagePolicy, StatsSnapshot, TopicConfig};
use rdkafka::Message;
use support::*;

fn bad(kind: BadMessageKind) -> Out {
    let payload = match kind {
        BadMessageKind::Tombstone => None,
        BadMessageKind::Undecodable => Some(b"{\"job_class\": \"TestJob\", \"arguments\": [".to_vec()),
        BadMessageKind::UnknownJobClass => Some(
            br#"{"job_class":"Billing::InvoiceJob","job_id":"5f0c8b1e-8a55-4a39-9a43-3c1d2f8f3b7e","arguments":[7],"queue_name":"default"}"#
                .to_vec(),
        ),
    };
    Out {
        partition: Some(0),
        key: Some(b"bad-key".to_vec()),
        payload,
        headers: vec![("origin".into(), Some(b"ruby".to_vec()))],
    }
}

struct Outcome {
    ran: Vec<u64>,
    stats: StatsSnapshot,
    committed: i64,
}

/// Runs a worker over [bad message, job 1] for `run_for` (or until job 1 ran) and stops it.
async fn scenario(kind: BadMessageKind, topic_config: TopicConfig, run_for: Duration) -> Outcome {
    init_tracing();
    let topic = topic_config.name.clone();
    let group = unique("bad-group");
    create_topic(&topic, 1).await;
    produce(&topic, vec![bad(kind), Out::job(1, 0)]).await;
    let recorder = Recorder::default();
    let handler = recorder.handler(|_, _, _| async { Ok(()) });
    let config = config(&group, &[topic_config]).build().unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();
    let deadline = tokio::time::Instant::now() + run_for;
    while tokio::time::Instant::now() < deadline && recorder.succeeded().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.stop().await;
    Outcome {
        ran: recorder.runs().iter().map(|r| r.id).collect(),
        stats: stats.snapshot(),
        committed: committed(&group, &topic, 1)[0],
    }
}

/// Default policy, no DLQ: the partition stays blocked on the bad message, retrying.
async fn blocks_by_default(kind: BadMessageKind) {
    let topic = unique(&format!("bad-{kind}"));
    let o = scenario(kind, TopicConfig::new(&topic), Duration::from_millis(1_500)).await;
    assert!(
        o.ran.is_empty(),
        "{kind}: job 1 must wait behind it, ran {:?}",
        o.ran
    );
    // Backoffs of 200, 400, 800 ms: three or four runs in 1.5 s.
    assert!(o.stats.job_failures >= 3, "{kind}: retried, {:?}", o.stats);
    assert!(
        o.committed <= 0,
        "{kind}: nothing committed past it ({})",
        o.committed
    );
}

/// `dead_letter` policy: straight to the DLQ (one attempt), then the partition goes on.
async fn dead_letter_policy(kind: BadMessageKind) {
    let topic = unique(&format!("bad-{kind}"));
    let dlq = unique(&format!("bad-{kind}-dlq"));
    create_topic(&dlq, 1).await;
    let cfg = TopicConfig::new(&topic)
        .dead_letter_queue(&dlq, 3)
        .on_bad_message(kind, BadMessagePolicy::DeadLetter);
    let o = scenario(kind, cfg, Duration::from_secs(20)).await;
    assert_eq!(o.ran, vec![1], "{kind}: the partition went on");
    assert_eq!((o.stats.job_failures, o.stats.dead_lettered), (1, 1));
    assert_eq!(o.committed, 2);
    let got = read_topic(&dlq, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    let expected = bad(kind);
    assert_eq!(
        got[0].payload(),
        expected.payload.as_deref(),
        "{kind}: payload kept"
    );
    assert_eq!(got[0].key(), Some(&b"bad-key"[..]));
    assert_eq!(header_str(&got[0], "origin").as_deref(), Some("ruby"));
    assert_eq!(header_str(&got[0], "source_attempts").as_deref(), Some("1"));
    assert_eq!(header_str(&got[0], "source_offset").as_deref(), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstone_blocks_by_default() {
    blocks_by_default(BadMessageKind::Tombstone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstone_dead_letter_policy() {
    dead_letter_policy(BadMessageKind::Tombstone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_blocks_by_default() {
    blocks_by_default(BadMessageKind::Undecodable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_dead_letter_policy() {
    dead_letter_policy(BadMessageKind::Undecodable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_class_blocks_by_default() {
    blocks_by_default(BadMessageKind::UnknownJobClass).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_class_dead_letter_policy() {
    dead_letter_policy(BadMessageKind::UnknownJobClass).await;
}

/// Default policy with a DLQ: the same retry path as a failing job, then the DLQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_with_a_dlq_retries_then_dead_letters() {
    let topic = unique("bad-retry-dlq");
    let dlq = unique("bad-retry-dlq-dlq");
    create_topic(&dlq, 1).await;
    let cfg = TopicConfig::new(&topic).dead_letter_queue(&dlq, 1);
    let o = scenario(BadMessageKind::Undecodable, cfg, Duration::from_secs(20)).await;
    assert_eq!(o.ran, vec![1]);
    assert_eq!((o.stats.job_failures, o.stats.dead_lettered), (2, 1));
    let got = read_topic(&dlq, 1, Duration::from_secs(20));
    assert_eq!(header_str(&got[0], "source_attempts").as_deref(), Some("2"));
}

/// `forward`: an unknown class goes, unchanged, to a topic a Ruby worker consumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_class_forward_policy() {
    let topic = unique("bad-forward");
    let ruby = unique("ruby-jobs");
    create_topic(&ruby, 1).await;
    let cfg = TopicConfig::new(&topic).on_bad_message(
        BadMessageKind::UnknownJobClass,
        BadMessagePolicy::Forward(ruby.clone()),
    );
    let o = scenario(
        BadMessageKind::UnknownJobClass,
        cfg,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(o.ran, vec![1]);
    assert_eq!((o.stats.forwarded, o.stats.dead_lettered), (1, 0));
    assert_eq!(o.committed, 2);
    let got = read_topic(&ruby, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    let expected = bad(BadMessageKind::UnknownJobClass);
    assert_eq!(got[0].payload(), expected.payload.as_deref());
    assert_eq!(got[0].key(), Some(&b"bad-key"[..]));
    assert_eq!(header_str(&got[0], "origin").as_deref(), Some("ruby"));
    assert_eq!(
        header_str(&got[0], "source_topic"),
        None,
        "a forward is not a dead letter"
    );
}
