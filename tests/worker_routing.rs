//! Routing that reads like karafka.rb, on a real broker: two consumer groups in one process,
//! per-topic `max_messages`, `initial_offset` and librdkafka properties (a consumer of their
//! own in the same group).

mod support;

use std::time::Duration;

use activejob_karafka::consumer::{ConsumerGroupConfig, InitialOffset, PauseConfig, TopicConfig};
use activejob_karafka::metrics::Metrics;
use support::routing::{group_members, start_measured, start_recording};
use support::*;

/// Two consumer groups in one process both consume their own topic, commit under their own
/// group id, and the worker is ready only with both (readiness and the per-consumer gauge
/// name each group); one shutdown stops both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumer_groups_in_one_process_both_consume() {
    init_tracing();
    let (orders, reports) = (unique("cg-orders"), unique("cg-reports"));
    let (app, reporting) = (unique("cg-app"), unique("cg-reporting"));
    create_topic(&orders, 1).await;
    create_topic(&reports, 1).await;
    produce(&orders, (1..=3).map(|id| Out::job(id, 0)).collect()).await;
    produce(&reports, (11..=13).map(|id| Out::job(id, 0)).collect()).await;

    let config = config(&app, &[TopicConfig::new(&orders)])
        .consumer_group(ConsumerGroupConfig::new(&reporting).topic(TopicConfig::new(&reports)))
        .build()
        .unwrap();
    let metrics = Metrics::new();
    let (worker, runs) = start_measured(config, 0, &[], Some(&metrics));
    wait_until(Duration::from_secs(40), "both groups' jobs", || {
        runs.ok_on(&orders).len() >= 3 && runs.ok_on(&reports).len() >= 3
    })
    .await;
    let ready = worker.health.readiness().expect("ready");
    assert!(
        ready.contains(&format!("{app}_0: member of consumer group \"{app}\""))
            && ready.contains(&format!(
                "{reporting}_0: member of consumer group \"{reporting}\""
            )),
        "{ready}"
    );
    let text = metrics.render();
    for group in [&app, &reporting] {
        let gauge = format!(
            "activejob_karafka_consumer_ready{{consumer_group=\"{group}\",subscription_group=\"{group}_0\"}} 1"
        );
        assert!(text.contains(&gauge), "{gauge} in\n{text}");
    }
    worker.stop().await;

    assert_fully_committed(&app, &orders, 1);
    assert_fully_committed(&reporting, &reports, 1);
    // Each group commits only its own topic.
    assert_eq!(committed(&app, &reports, 1), vec![-1]);
    assert_eq!(committed(&reporting, &orders, 1), vec![-1]);
}

/// With one concurrency slot, a partition yields it after its topic's own `max_messages`:
/// topic A (2) and topic B (3) alternate in turns of at most 2 and 3 jobs while both have
/// work (the worker-wide value, 100, would run each backlog in one turn). The backlogs are
/// long enough that the topics still take turns after a first turn that ran alone while the
/// other partition's first fetch was on its way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_topic_max_messages_bounds_each_turn() {
    const JOBS: u64 = 30;
    init_tracing();
    let (a, b) = (unique("mm-a"), unique("mm-b"));
    let group = unique("mm-group");
    create_topic(&a, 1).await;
    create_topic(&b, 1).await;
    produce(&a, (1..=JOBS).map(|id| Out::job(id, 0)).collect()).await;
    produce(&b, (1001..=1000 + JOBS).map(|id| Out::job(id, 0)).collect()).await;

    let config = config(
        &group,
        &[
            TopicConfig::new(&a).max_messages(2),
            TopicConfig::new(&b).max_messages(3),
        ],
    )
    .concurrency(1)
    .build()
    .unwrap();
    assert_eq!(config.subscription_groups().len(), 1, "one consumer");
    let (worker, runs) = start_recording(config, 5, &[]);
    wait_until(Duration::from_secs(40), "every job", || {
        runs.ok_on(&a).len() >= JOBS as usize && runs.ok_on(&b).len() >= JOBS as usize
    })
    .await;
    worker.stop().await;

    // Turns (consecutive runs of one topic) until either topic ran out; the first turn may
    // be longer (the other partition may not have had its messages yet).
    let order: Vec<String> = runs.all().into_iter().map(|r| r.topic).collect();
    let mut turns: Vec<(String, usize)> = Vec::new();
    let (mut done_a, mut done_b) = (0, 0);
    for topic in order {
        if done_a == JOBS || done_b == JOBS {
            break;
        }
        if topic == a {
            done_a += 1;
        } else {
            done_b += 1;
        }
        match turns.last_mut() {
            Some((t, n)) if *t == topic => *n += 1,
            _ => turns.push((topic, 1)),
        }
    }
    assert!(turns.len() >= 4, "the topics took turns: {turns:?}");
    for (topic, n) in &turns[1..turns.len() - 1] {
        let max = if *topic == a { 2 } else { 3 };
        assert!(*n <= max, "a turn of {n} jobs on {topic}: {turns:?}");
    }
}

/// A topic's own `pause` sets its retry back-off: its failing job is retried after its
/// 600 ms (no exponential growth), while the same job on a topic with the group's pause
/// (100 ms base, doubled: 200 ms) is retried sooner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_topic_pause_sets_the_retry_backoff() {
    init_tracing();
    let (slow, fast) = (unique("pz-slow"), unique("pz-fast"));
    let (slow_dlq, fast_dlq) = (unique("pz-slow-dlq"), unique("pz-fast-dlq"));
    let group = unique("pz-group");
    for t in [&slow, &fast, &slow_dlq, &fast_dlq] {
        create_topic(t, 1).await;
    }
    produce(&slow, vec![Out::job(7, 0)]).await;
    produce(&fast, vec![Out::job(7, 0)]).await;
    let pause = PauseConfig {
        timeout: Duration::from_millis(600),
        max_timeout: Duration::from_millis(600),
        with_exponential_backoff: false,
    };
    let config = config(
        &group,
        &[
            TopicConfig::new(&slow)
                .pause(pause)
                .dead_letter_queue(&slow_dlq, 1),
            TopicConfig::new(&fast).dead_letter_queue(&fast_dlq, 1),
        ],
    )
    .build()
    .unwrap();
    let (worker, runs) = start_recording(config, 0, &[7]);
    wait_until(Duration::from_secs(40), "both retries", || {
        runs.starts(&slow, 7).len() == 2 && runs.starts(&fast, 7).len() == 2
    })
    .await;
    worker.stop().await;
    let gap = |topic: &str| {
        let s = runs.starts(topic, 7);
        s[1] - s[0]
    };
    println!(
        "retry after {:?} (own pause) and {:?} (group's)",
        gap(&slow),
        gap(&fast)
    );
    assert!(gap(&slow) >= Duration::from_millis(600), "{:?}", gap(&slow));
    assert!(gap(&fast) < Duration::from_millis(600), "{:?}", gap(&fast));
}

/// `initial_offset = latest` skips what a topic held before the group first joined, while a
/// topic of the same group with the default starts at its beginning; both, and a topic with
/// a librdkafka property of its own, run on separate consumers of the one group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_offset_and_kafka_properties_per_topic() {
    init_tracing();
    let (early, late, tuned) = (unique("io-early"), unique("io-late"), unique("io-tuned"));
    let group = unique("io-group");
    for t in [&early, &late, &tuned] {
        create_topic(t, 1).await;
    }
    produce(&early, vec![Out::job(1, 0), Out::job(2, 0)]).await;
    produce(&late, vec![Out::job(901, 0), Out::job(902, 0)]).await;
    produce(&tuned, vec![Out::job(51, 0)]).await;

    let config = config(
        &group,
        &[
            TopicConfig::new(&early),
            TopicConfig::new(&late).initial_offset(InitialOffset::Latest),
            TopicConfig::new(&tuned).kafka("fetch.max.bytes", "1048576"),
        ],
    )
    .build()
    .unwrap();
    let (worker, runs) = start_recording(config, 0, &[]);
    wait_until(
        Duration::from_secs(40),
        "three consumers in the group",
        || group_members(&group) == 3,
    )
    .await;
    wait_until(
        Duration::from_secs(40),
        "the earliest and tuned topics' jobs",
        || runs.ok_on(&early) == [1, 2] && runs.ok_on(&tuned) == [51],
    )
    .await;
    // The latest consumer starts at the end once it resolved its offset: produce until a new
    // job runs there.
    let mut next = 1000;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while runs.ok_on(&late).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no new job ran on {late}"
        );
        produce(&late, vec![Out::job(next, 0)]).await;
        next += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    worker.stop().await;
    let late_ids = runs.ran_on(&late);
    assert!(
        late_ids.iter().all(|id| *id >= 1000),
        "jobs enqueued before the group joined ran: {late_ids:?}"
    );
}
