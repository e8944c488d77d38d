//! A second worker joins the group mid-stream: partitions move to it, no job is lost, and a job
//! runs twice at most when it was running during the revocation.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use activejob_karafka::consumer::{MessageHandler, TopicConfig};
use std::sync::Arc;
use support::*;

/// Starts a worker of `group` on `topic` whose rebalances wait only 500 ms for a revoked
/// partition's running job.
fn start_impatient(group: &str, topic: TopicConfig, handler: impl MessageHandler) -> RunningWorker {
    let config = config(group, &[topic])
        .revoke_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    RunningWorker::start(config, handler)
}

/// Starts worker A, waits until it runs its first job, then starts worker B in the same group:
/// the rebalance revokes A's partition while that job runs.
async fn join_while_the_first_job_runs(
    start: impl Fn(&Recorder) -> RunningWorker,
    a: &Recorder,
    b: &Recorder,
) -> (RunningWorker, RunningWorker) {
    let first = start(a);
    wait_until(Duration::from_secs(30), "the long job started", || {
        a.started_count() == 1
    })
    .await;
    (first, start(b))
}

fn start(group: &str, topic: &str, recorder: &Recorder) -> RunningWorker {
    let handler = recorder.handler(|_, _, _| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    });
    let config = config(group, &[TopicConfig::new(topic)])
        .concurrency(6)
        .build()
        .unwrap();
    RunningWorker::start(config, handler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_worker_takes_partitions_without_losing_jobs() {
    init_tracing();
    let topic = unique("rebalance");
    let group = unique("rebalance-group");
    create_topic(&topic, 6).await;
    let total = 1_800u64;
    produce(
        &topic,
        (0..total).map(|id| Out::job(id, (id % 6) as i32)).collect(),
    )
    .await;

    let a = Recorder::default();
    let b = Recorder::default();
    let worker_a = start(&group, &topic, &a);
    wait_until(Duration::from_secs(30), "worker A under way", || {
        a.succeeded().len() >= 200
    })
    .await;
    let worker_b = start(&group, &topic, &b);

    wait_until(Duration::from_secs(60), "every job", || {
        succeeded_on_any(&[&a, &b]) == total as usize
    })
    .await;
    let (stats_a, stats_b) = (worker_a.stats.clone(), worker_b.stats.clone());
    stop_all([worker_a, worker_b]).await;

    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for r in a.runs().iter().chain(b.runs().iter()).filter(|r| r.ok) {
        *count.entry(r.id).or_default() += 1;
    }
    let duplicates: Vec<u64> = count
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(&id, _)| id)
        .collect();
    let (sa, sb) = (stats_a.snapshot(), stats_b.snapshot());
    println!(
        "rebalance: A ran {}, B ran {}, duplicates {} {:?}; A revoked {} partitions, B assigned {}",
        a.runs().len(),
        b.runs().len(),
        duplicates.len(),
        duplicates,
        sa.partitions_revoked,
        sb.partitions_assigned
    );
    assert_eq!(count.len(), total as usize, "no job lost");
    assert!(!b.runs().is_empty(), "partitions moved to worker B");
    assert!(sb.partitions_assigned >= 1);
    // At most one in-flight job per revoked partition can run twice.
    assert!(
        duplicates.len() as u64 <= sa.partitions_revoked,
        "{} duplicates for {} revoked partitions",
        duplicates.len(),
        sa.partitions_revoked
    );
    assert_fully_committed(&group, &topic, 6);
}

/// A partition paused for a retry is revoked and assigned back to the same worker (another
/// member joins the group for an unrelated topic): it must not stay paused, the failing job is
/// retried and the jobs behind it run once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_paused_for_a_retry_survives_a_rebalance() {
    use activejob_karafka::consumer::PauseConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    init_tracing();
    let topic = unique("paused-rebalance");
    let other = unique("paused-rebalance-other");
    let group = unique("paused-rebalance-group");
    create_topic(&topic, 1).await;
    create_topic(&other, 1).await;
    produce(&topic, (1..=4).map(|id| Out::job(id, 0)).collect()).await;

    let recorder = Recorder::default();
    let failures = Arc::new(AtomicU32::new(0));
    let fails = failures.clone();
    let handler = recorder.handler(move |id, _, _| {
        // Job 2 fails until the rebalance has happened (two failures at least).
        let fail = id == 2 && fails.load(Ordering::SeqCst) < 2;
        if fail {
            fails.fetch_add(1, Ordering::SeqCst);
        }
        async move {
            if fail {
                return Err("not yet".to_string());
            }
            Ok(())
        }
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .pause(PauseConfig {
            timeout: Duration::from_millis(1_000),
            max_timeout: Duration::from_millis(4_000),
            with_exponential_backoff: true,
        })
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();

    // First failure: the partition is now paused for 2 s. Another member joins the group.
    wait_until(Duration::from_secs(30), "job 2 failed once", || {
        failures.load(Ordering::SeqCst) >= 1
    })
    .await;
    let done = Arc::new(AtomicBool::new(false));
    let joiner = {
        let (group, other, done) = (group.clone(), other.clone(), done.clone());
        std::thread::spawn(move || {
            let c: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", bootstrap())
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            c.subscribe(&[&other]).unwrap();
            while !done.load(Ordering::SeqCst) {
                let _ = c.poll(Duration::from_millis(50));
            }
        })
    };
    wait_until(Duration::from_secs(30), "the rebalance", || {
        stats.snapshot().partitions_revoked >= 1 && stats.snapshot().partitions_assigned >= 2
    })
    .await;
    wait_until(Duration::from_secs(30), "every job", || {
        recorder.succeeded().len() == 4
    })
    .await;
    done.store(true, Ordering::SeqCst);
    joiner.join().unwrap();
    worker.stop().await;
    assert!(recorder.succeeded().values().all(|&n| n == 1));
    let ids: Vec<u64> = recorder
        .runs()
        .iter()
        .filter(|r| r.ok)
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4], "in order");
    assert_fully_committed(&group, &topic, 1);
}

/// A job still running when its partition is revoked, past `revoke_timeout`: the rebalance does
/// not wait for it, the job sees `is_revoked()`, its late success is not stored, and the new
/// owner runs it again: exactly one duplicate, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_outliving_the_revoke_timeout_runs_again_on_the_new_owner() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    init_tracing();
    let topic = unique("revoke-timeout");
    let group = unique("revoke-timeout-group");
    create_topic(&topic, 1).await;
    produce(&topic, (1..=5).map(|id| Out::job(id, 0)).collect()).await;

    let first_run = Arc::new(AtomicBool::new(true));
    let saw_revoked: Arc<Mutex<Option<bool>>> = Arc::default();
    let make = |recorder: &Recorder| {
        let (first, seen) = (first_run.clone(), saw_revoked.clone());
        recorder.handler(move |id, _, signals| {
            let long = id == 1 && first.swap(false, Ordering::SeqCst);
            let seen = seen.clone();
            async move {
                if long {
                    // Long, and deaf to the revocation until it is done.
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    *seen.lock().unwrap() = Some(signals.is_revoked());
                }
                Ok(())
            }
        })
    };
    let start_worker =
        |recorder: &Recorder| start_impatient(&group, TopicConfig::new(&topic), make(recorder));
    let (a, b) = (Recorder::default(), Recorder::default());
    let (worker_a, worker_b) = join_while_the_first_job_runs(start_worker, &a, &b).await;
    wait_until(Duration::from_secs(30), "every job", || {
        succeeded_on_any(&[&a, &b]) == 5
    })
    .await;
    // Let the first run of job 1 finish (it was abandoned, not cancelled).
    wait_until(Duration::from_secs(10), "the abandoned run ended", || {
        saw_revoked.lock().unwrap().is_some()
    })
    .await;
    let stats_a = worker_a.stats.clone();
    stop_all([worker_a, worker_b]).await;

    assert_eq!(
        *saw_revoked.lock().unwrap(),
        Some(true),
        "the job saw is_revoked()"
    );
    assert!(stats_a.snapshot().partitions_revoked >= 1);
    let mut runs: BTreeMap<u64, usize> = BTreeMap::new();
    for r in a.runs().iter().chain(b.runs().iter()) {
        *runs.entry(r.id).or_default() += 1;
    }
    println!("revoke timeout: runs per job {runs:?}");
    assert_eq!(runs.get(&1), Some(&2), "the in-flight job ran twice");
    assert!((2..=5).all(|id| runs.get(&id) == Some(&1)), "{runs:?}");
    assert_fully_committed(&group, &topic, 1);
}

/// A job whose last attempt fails after its partition was given up (past `revoke_timeout`) is
/// not dead-lettered by the old owner: the new owner runs it again and dead-letters it, so the
/// dead letter queue holds it once (Karafka 2.6 skips that dispatch too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_failing_after_its_partition_was_given_up_is_dead_lettered_once() {
    use std::sync::atomic::{AtomicBool, Ordering};

    init_tracing();
    let topic = unique("revoked-dlq");
    let dlq = unique("revoked-dlq-dead");
    let group = unique("revoked-dlq-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    produce(&topic, (1..=3).map(|id| Out::job(id, 0)).collect()).await;

    let first_run = Arc::new(AtomicBool::new(true));
    let abandoned_run_ended = Arc::new(AtomicBool::new(false));
    let make = |recorder: &Recorder| {
        let (first, ended) = (first_run.clone(), abandoned_run_ended.clone());
        recorder.handler(move |id, _, _| {
            let abandoned = id == 1 && first.swap(false, Ordering::SeqCst);
            let ended = ended.clone();
            async move {
                if id != 1 {
                    return Ok(());
                }
                if abandoned {
                    // Outlives the rebalance and its revoke timeout, then fails on its only
                    // attempt.
                    tokio::time::sleep(Duration::from_secs(6)).await;
                    ended.store(true, Ordering::SeqCst);
                }
                Err("job 1 always fails".to_string())
            }
        })
    };
    let start_worker = |recorder: &Recorder| {
        let topic = TopicConfig::new(&topic).dead_letter_queue(&dlq, 0);
        start_impatient(&group, topic, make(recorder))
    };
    let (a, b) = (Recorder::default(), Recorder::default());
    let (worker_a, worker_b) = join_while_the_first_job_runs(start_worker, &a, &b).await;
    wait_until(Duration::from_secs(30), "jobs 2 and 3", || {
        succeeded_on_any(&[&a, &b]) == 2
    })
    .await;
    wait_until(Duration::from_secs(15), "the abandoned run ended", || {
        abandoned_run_ended.load(Ordering::SeqCst)
    })
    .await;
    // Room for a duplicate to arrive: the old owner would dispatch right after the run ended.
    let dead = read_topic(&dlq, 2, Duration::from_secs(5));
    let (stats_a, stats_b) = (worker_a.stats.clone(), worker_b.stats.clone());
    stop_all([worker_a, worker_b]).await;

    assert!(stats_a.snapshot().partitions_revoked >= 1);
    let runs_of_1 = a
        .runs()
        .iter()
        .chain(b.runs().iter())
        .filter(|r| r.id == 1)
        .count();
    assert_eq!(runs_of_1, 2, "the abandoned run, then the new owner's");
    assert_eq!(dead.len(), 1, "dead-lettered once, by the new owner");
    assert_eq!(header_str(&dead[0], "source_offset").as_deref(), Some("0"));
    assert_eq!(
        stats_a.snapshot().dead_lettered + stats_b.snapshot().dead_lettered,
        1
    );
    assert_fully_committed(&group, &topic, 1);
}
