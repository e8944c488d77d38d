//! The three rebalance protocols beside Ruby, on a real broker: eager (`range,roundrobin`,
//! librdkafka's and Karafka's default), `cooperative-sticky`, and KIP-848
//! (`group.protocol = "consumer"`). In each, a second worker joining takes a share of the
//! partitions, a worker that stops hands its partitions over at once (a clean leave, well under
//! the 45 s session timeout), every job runs and the group's offsets end fully committed.
//! Under cooperative-sticky and KIP-848 the first worker keeps running the partitions it keeps:
//! only the partitions that move are revoked. A worker whose strategy differs from the group's
//! is not admitted, and says why.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{handler_fn, TopicConfig, Worker};
use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use support::*;

const PARTITIONS: i32 = 4;

/// Starts a member of `group` on `topic` with the librdkafka `settings`, its jobs taking 5 ms.
fn start_member(
    group: &str,
    topic: &str,
    settings: &[(&str, &str)],
    rec: &Recorder,
) -> RunningWorker {
    let mut b = config(group, &[TopicConfig::new(topic)]);
    for (k, v) in settings {
        b = b.kafka(*k, *v);
    }
    let handler = rec.handler(|_, _, _| async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(())
    });
    RunningWorker::start(b.build().unwrap(), handler)
}

/// Stops `member`, which must shut down cleanly within 30 s.
async fn stop_member(member: RunningWorker) {
    tokio::time::timeout(Duration::from_secs(30), member.stop())
        .await
        .expect("stopped in time");
}

fn jobs(from: u64, count: u64) -> Vec<Out> {
    (from..from + count)
        .map(|id| Out::job(id, (id % PARTITIONS as u64) as i32))
        .collect()
}

/// Returns (partitions the first worker gave up when the second joined, handover time after
/// the first worker stopped).
async fn rebalance_with(settings: &[(&str, &str)]) -> (u64, Duration) {
    let (topic, group) = (unique("proto"), unique("proto"));
    create_topic(&topic, PARTITIONS).await;
    let rec = Recorder::default();
    produce(&topic, jobs(0, 40)).await;
    let first = start_member(&group, &topic, settings, &rec);
    wait_until(
        Duration::from_secs(30),
        "the first worker holds every partition",
        || first.held() == PARTITIONS as u64 && rec.succeeded().len() == 40,
    )
    .await;

    let second = start_member(&group, &topic, settings, &rec);
    wait_until(
        Duration::from_secs(30),
        "the second worker takes a share",
        || second.held() > 0 && first.held() + second.held() == PARTITIONS as u64,
    )
    .await;
    let given_up = first.stats.snapshot().partitions_revoked;
    assert_eq!(first.held() + second.held(), PARTITIONS as u64);
    produce(&topic, jobs(40, 40)).await;
    wait_until(Duration::from_secs(30), "jobs on both workers", || {
        rec.succeeded().len() == 80
    })
    .await;

    stop_member(first).await;
    let stopped = Instant::now();
    wait_until(
        Duration::from_secs(60),
        "the second worker holds every partition",
        || second.held() == PARTITIONS as u64,
    )
    .await;
    let handover = stopped.elapsed();
    produce(&topic, jobs(80, 20)).await;
    wait_until(Duration::from_secs(30), "every job", || {
        rec.succeeded().len() == 100
    })
    .await;
    stop_member(second).await;
    assert_fully_committed(&group, &topic, PARTITIONS);
    (given_up, handover)
}

/// Eager: a join revokes everything; a clean stop hands over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_range_roundrobin() {
    init_tracing();
    let (given_up, handover) = rebalance_with(&[]).await;
    eprintln!("eager: first worker gave up {given_up} partition(s); handover {handover:?}");
    assert_eq!(given_up, PARTITIONS as u64, "eager revokes every partition");
    assert!(
        handover < Duration::from_secs(10),
        "handover took {handover:?}"
    );
}

/// Cooperative-sticky: a join revokes only what moves; a clean stop hands over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky() {
    init_tracing();
    let (given_up, handover) =
        rebalance_with(&[("partition.assignment.strategy", "cooperative-sticky")]).await;
    eprintln!("cooperative-sticky: gave up {given_up} partition(s); handover {handover:?}");
    assert!(
        given_up < PARTITIONS as u64,
        "kept partitions are not revoked"
    );
    assert!(
        handover < Duration::from_secs(10),
        "handover took {handover:?}"
    );
}

/// KIP-848: the broker assigns; a join revokes only what moves, and a stop hands over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip_848_consumer_protocol() {
    init_tracing();
    let (given_up, handover) = rebalance_with(&[("group.protocol", "consumer")]).await;
    eprintln!("consumer protocol: gave up {given_up} partition(s); handover {handover:?}");
    assert!(
        given_up < PARTITIONS as u64,
        "kept partitions are not revoked"
    );
    assert!(
        handover < Duration::from_secs(10),
        "handover took {handover:?}"
    );
}

/// A worker at the defaults (eager) cannot join a group whose members use cooperative-sticky:
/// it stays unready, and its readiness names the inconsistent protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_mismatch_is_reported() {
    init_tracing();
    let (topic, group) = (unique("mismatch"), unique("mismatch"));
    create_topic(&topic, 1).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let member = {
        let (group, topic, done) = (group.clone(), topic.clone(), done.clone());
        std::thread::spawn(move || {
            let c: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", bootstrap())
                .set("group.id", &group)
                .set("partition.assignment.strategy", "cooperative-sticky")
                .create()
                .unwrap();
            c.subscribe(&[&topic]).unwrap();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = c.poll(Duration::from_millis(50));
            }
        })
    };
    // The cooperative member forms the group first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let worker = start_member(&group, &topic, &[], &Recorder::default());
    wait_until(Duration::from_secs(30), "the mismatch reported", || {
        worker
            .health
            .readiness()
            .is_err_and(|why| why.contains("Inconsistent group protocol"))
    })
    .await;
    eprintln!("{}", worker.health.readiness().unwrap_err());
    stop_member(worker).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    member.join().unwrap();
}

/// With more workers than partitions, the worker left without a partition is ready, and its
/// readiness says it holds none (unready would stall a rolling update for nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_partitions_is_ready_and_says_so() {
    init_tracing();
    let (topic, group) = (unique("nopart"), unique("nopart"));
    create_topic(&topic, 1).await;
    let rec = Recorder::default();
    let first = start_member(&group, &topic, &[], &rec);
    wait_until(
        Duration::from_secs(30),
        "the first worker holds the partition",
        || first.held() == 1,
    )
    .await;
    let second = start_member(&group, &topic, &[], &rec);
    // Either member may be the one left without the partition.
    let ready = || [first.health.readiness(), second.health.readiness()];
    wait_until(
        Duration::from_secs(30),
        "both ready, one without partitions",
        || {
            let [a, b] = ready();
            a.is_ok()
                && b.is_ok()
                && [a, b].iter().any(|r| {
                    r.as_ref()
                        .is_ok_and(|s| s.contains("no partitions assigned"))
                })
        },
    )
    .await;
    eprintln!("{:?}", ready());
    stop_member(second).await;
    stop_member(first).await;
}

/// A setting that contradicts the offset semantics or the group protocol stops the worker
/// at start, before it joins the group, with the reason (even when the configuration was
/// assembled by hand rather than through the builder).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contradicting_setting_is_refused_at_start() {
    init_tracing();
    let topic = unique("refused");
    for (key, value, extra) in [
        ("enable.auto.commit", "false", None),
        (
            "partition.assignment.strategy",
            "range",
            Some(("group.protocol", "consumer")),
        ),
    ] {
        let mut config = config(&unique("refused"), &[TopicConfig::new(&topic)])
            .build()
            .unwrap();
        config.kafka.insert(key.to_owned(), value.to_owned());
        if let Some((k, v)) = extra {
            config.kafka.insert(k.to_owned(), v.to_owned());
        }
        let worker =
            Worker::new(config, handler_fn(|_, _| async { Ok(()) }.boxed())).handle_signals(false);
        let result = tokio::time::timeout(Duration::from_secs(10), worker.run())
            .await
            .expect("refused at once, not run");
        let e = result.expect_err("refused");
        assert!(e.to_string().contains(key), "{e}");
        eprintln!("{e}");
    }
}
