//! Topic patterns (Karafka Pro's `active_job_pattern`) on a real broker: a topic created after
//! the worker started is picked up at the next metadata refresh and runs with the pattern's
//! dead letter queue; a topic the group also names explicitly keeps its own.

mod support;

use std::time::{Duration, Instant};

use activejob_karafka::consumer::{TopicConfig, TopicPattern};
use support::routing::start_recording;
use support::*;

/// The worker subscribes by regex; a matching topic created once the worker is a member of
/// its group runs its jobs (with `topic.metadata.refresh.interval.ms` = 1 s), and its failing
/// job goes to the pattern's DLQ; a failing job of the explicitly routed topic that the regex
/// also matches goes to that topic's own DLQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_after_start_is_picked_up_with_the_patterns_settings() {
    init_tracing();
    let prefix = unique("pat").replace('-', "_");
    let explicit = format!("{prefix}_jobs_vip");
    let created_later = format!("{prefix}_jobs_new");
    let (pattern_dlq, explicit_dlq) =
        (format!("{prefix}-pattern-dlq"), format!("{prefix}-vip-dlq"));
    let group = unique("pat-group");
    for t in [&explicit, &pattern_dlq, &explicit_dlq] {
        create_topic(t, 1).await;
    }
    produce(&explicit, vec![Out::job(1, 0), Out::job(666, 0)]).await;

    let config = config(
        &group,
        &[TopicConfig::new(&explicit).dead_letter_queue(&explicit_dlq, 0)],
    )
    .pattern(TopicPattern::new(
        format!("{prefix}_jobs_"),
        TopicConfig::new("tenants").dead_letter_queue(&pattern_dlq, 0),
    ))
    .build()
    .unwrap();
    let (worker, runs) = start_recording(config, 0, &[666]);
    wait_until(Duration::from_secs(40), "the explicit topic's job", || {
        runs.ok_on(&explicit) == [1]
    })
    .await;

    let created = Instant::now();
    create_topic(&created_later, 1).await;
    produce(&created_later, vec![Out::job(2, 0), Out::job(666, 0)]).await;
    wait_until(Duration::from_secs(40), "the new topic's job", || {
        runs.ok_on(&created_later) == [2]
    })
    .await;
    println!(
        "a topic created after start ran its first job {:?} later (metadata refresh 1 s)",
        created.elapsed()
    );
    let to_pattern_dlq = read_topic(&pattern_dlq, 1, Duration::from_secs(20));
    let to_explicit_dlq = read_topic(&explicit_dlq, 1, Duration::from_secs(20));
    worker.stop().await;

    let source = |m: &rdkafka::message::OwnedMessage| header_str(m, "source_topic");
    assert_eq!(to_pattern_dlq.len(), 1);
    assert_eq!(
        source(&to_pattern_dlq[0]).as_deref(),
        Some(created_later.as_str())
    );
    assert_eq!(to_explicit_dlq.len(), 1);
    assert_eq!(
        source(&to_explicit_dlq[0]).as_deref(),
        Some(explicit.as_str())
    );
    assert_fully_committed(&group, &created_later, 1);
}
