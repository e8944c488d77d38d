//! The Prometheus endpoint on a real broker: after known work (20 jobs that succeed, 3 that fail
//! once then succeed, 1 that is dead-lettered) the scraped counts are exactly that, with the
//! consumer lag and paused partitions from the worker's events; `/health` follows the worker.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::{TopicConfig, Worker};
use activejob_karafka::metrics::Metrics;
use activejob_karafka::registry::{JobContext, Registry};
use support::http::get;
use support::*;

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scraped_counts_match_known_work() {
    init_tracing();
    let topic = unique("metrics-src");
    let dlq = unique("metrics-dlq");
    let group = unique("metrics-app");
    create_topic(&topic, 2).await;
    create_topic(&dlq, 1).await;

    let mut messages = Vec::new();
    for id in 0..20u64 {
        messages.push(Out {
            partition: Some((id % 2) as i32),
            payload: Some(job_payload("AJob", id)),
            ..Out::default()
        });
    }
    for id in 100..103u64 {
        messages.push(Out {
            partition: Some((id % 2) as i32),
            payload: Some(job_payload("BJob", id)),
            ..Out::default()
        });
    }
    messages.push(Out {
        partition: Some(0),
        payload: Some(job_payload("CJob", 200)),
        ..Out::default()
    });
    produce(&topic, messages).await;

    let failed_once = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let registry = Registry::new()
        .register(
            "AJob",
            |(_id,): (u64,), _ctx: JobContext| async move { Ok(()) },
        )
        .register("BJob", move |(id,): (u64,), _ctx: JobContext| {
            let failed_once = failed_once.clone();
            async move {
                // Fails the first time each job runs.
                anyhow::ensure!(!failed_once.lock().unwrap().insert(id), "first run fails");
                Ok(())
            }
        })
        .register("CJob", |(_id,): (u64,), _ctx: JobContext| async move {
            anyhow::bail!("always fails")
        });
    let config = config(
        &group,
        &[TopicConfig::new(&topic).dead_letter_queue(&dlq, 1)],
    )
    .kafka("statistics.interval.ms", "500")
    .kafka("auto.commit.interval.ms", "500")
    .build()
    .unwrap();

    let metrics = Metrics::new();
    let server = metrics
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("metrics endpoint");
    let addr = server.local_addr();
    assert_eq!(get(addr, "/health").await.0, 503, "no worker yet");

    let worker = Worker::new(config, metrics.instrument(registry)).handle_signals(false);
    let stop = worker.shutdown_handle();
    let m = metrics.clone();
    let running = tokio::spawn(async move { m.run_worker(worker).await });

    // Everything ran, no partition is paused any more, and librdkafka's statistics show no lag
    // left on either partition.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let (status, text) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        let done = sample(
            &text,
            "activejob_karafka_jobs_dead_lettered_total",
            &[("job_class", "CJob")],
        ) == Some(1.0)
            && sample(
                &text,
                "activejob_karafka_jobs_processed_total",
                &[("job_class", "AJob")],
            ) == Some(20.0)
            && sample(
                &text,
                "activejob_karafka_jobs_processed_total",
                &[("job_class", "BJob")],
            ) == Some(6.0)
            // The dead letter is counted before the partition's pause after it ends.
            && sample(&text, "activejob_karafka_paused_partitions", &[]) == Some(0.0)
            && (0..2).all(|p| {
                sample(
                    &text,
                    "activejob_karafka_consumer_lag",
                    &[("topic", &topic), ("partition", &p.to_string())],
                ) == Some(0.0)
            });
        if done {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics never settled:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (health, body) = get(addr, "/health").await;
    assert_eq!(health, 200, "{body}");
    assert!(body.starts_with("ok: member of consumer group"), "{body}");

    let by = |name: &str, class: &str| {
        sample(&text, name, &[("job_class", class), ("topic", &topic)]).unwrap_or(0.0)
    };
    // Runs: A 20; B 3 failed + 3 retried ok; C 1 failed + 1 failed retry, then the DLQ.
    assert_eq!(by("activejob_karafka_jobs_processed_total", "AJob"), 20.0);
    assert_eq!(by("activejob_karafka_jobs_failed_total", "AJob"), 0.0);
    assert_eq!(by("activejob_karafka_jobs_retried_total", "AJob"), 0.0);
    assert_eq!(by("activejob_karafka_jobs_processed_total", "BJob"), 6.0);
    assert_eq!(
        sample(
            &text,
            "activejob_karafka_jobs_failed_total",
            &[("job_class", "BJob"), ("reason", "error")]
        ),
        Some(3.0)
    );
    assert_eq!(by("activejob_karafka_jobs_retried_total", "BJob"), 3.0);
    assert_eq!(
        by("activejob_karafka_jobs_dead_lettered_total", "BJob"),
        0.0
    );
    assert_eq!(by("activejob_karafka_jobs_processed_total", "CJob"), 2.0);
    assert_eq!(by("activejob_karafka_jobs_failed_total", "CJob"), 2.0);
    assert_eq!(by("activejob_karafka_jobs_retried_total", "CJob"), 1.0);
    assert_eq!(
        by("activejob_karafka_jobs_dead_lettered_total", "CJob"),
        1.0
    );
    assert_eq!(
        by("activejob_karafka_job_duration_seconds_count", "AJob"),
        20.0
    );
    assert_eq!(
        by("activejob_karafka_job_duration_seconds_count", "BJob"),
        6.0
    );
    // The worker's own counters agree.
    assert_eq!(
        sample(&text, "activejob_karafka_worker_jobs_succeeded_total", &[]),
        Some(23.0)
    );
    assert_eq!(
        sample(&text, "activejob_karafka_worker_job_failures_total", &[]),
        Some(5.0)
    );
    assert_eq!(
        sample(&text, "activejob_karafka_worker_dead_lettered_total", &[]),
        Some(1.0)
    );
    // Partitions were paused for the retries and are all resumed now.
    assert_eq!(
        sample(&text, "activejob_karafka_paused_partitions", &[]),
        Some(0.0)
    );
    assert!(
        sample(
            &text,
            "activejob_karafka_partition_paused",
            &[("topic", &topic)]
        )
        .is_some(),
        "a pause was seen:\n{text}"
    );
    assert_eq!(sample(&text, "activejob_karafka_worker_up", &[]), Some(1.0));

    stop.shutdown();
    let (health, body) = get(addr, "/health").await;
    assert_eq!(health, 503, "stopping: {body}");
    running.await.unwrap().expect("clean shutdown");
    assert_eq!(get(addr, "/health").await.0, 503);
    let (_, text) = get(addr, "/metrics").await;
    assert_eq!(sample(&text, "activejob_karafka_worker_up", &[]), Some(0.0));
    server.stop().await;

    // The per-class summary behind the shadow report matches too.
    let summary = metrics.summary();
    assert_eq!(
        (
            summary["BJob"].succeeded,
            summary["BJob"].failed,
            summary["BJob"].retried
        ),
        (3, 3, 3)
    );
    assert_eq!(summary["AJob"].succeeded, 20);
}

/// A paused partition shows in the gauge while its failing job backs off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_partition_is_visible_while_backing_off() {
    init_tracing();
    let topic = unique("metrics-pause");
    let group = unique("metrics-pause-app");
    create_topic(&topic, 1).await;
    produce(
        &topic,
        vec![Out {
            partition: Some(0),
            payload: Some(job_payload("StuckJob", 1)),
            ..Out::default()
        }],
    )
    .await;
    let registry = Registry::new()
        .register("StuckJob", |(_id,): (u64,), _ctx: JobContext| async move {
            anyhow::bail!("never works")
        });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .pause(activejob_karafka::consumer::PauseConfig {
            timeout: Duration::from_secs(5),
            max_timeout: Duration::from_secs(5),
            with_exponential_backoff: false,
        })
        .build()
        .unwrap();
    let metrics = Metrics::new();
    let worker = Worker::new(config, metrics.instrument(registry)).handle_signals(false);
    let stop = worker.shutdown_handle();
    let m = metrics.clone();
    let running = tokio::spawn(async move { m.run_worker(worker).await });
    wait_until(Duration::from_secs(30), "the partition paused", || {
        let text = metrics.render();
        sample(&text, "activejob_karafka_paused_partitions", &[]) == Some(1.0)
            && sample(
                &text,
                "activejob_karafka_partition_paused",
                &[("topic", &topic), ("partition", "0")],
            ) == Some(1.0)
    })
    .await;
    stop.shutdown();
    running.await.unwrap().expect("clean shutdown");
    let text = metrics.render();
    assert_eq!(
        sample(&text, "activejob_karafka_paused_partitions", &[]),
        Some(0.0),
        "{text}"
    );
}
