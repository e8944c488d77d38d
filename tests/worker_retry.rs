//! A job that fails twice then succeeds: it is retried after Karafka's backoff (2×, then 4× the
//! pause timeout), the jobs behind it in its partition wait, the other partition goes on, and
//! the committed offset never passes the failing job until it succeeds.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{PauseConfig, TopicConfig};
use support::*;

const FAILING: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_job_is_retried_with_backoff_and_blocks_only_its_partition() {
    init_tracing();
    let topic = unique("retry");
    let group = unique("retry-group");
    create_topic(&topic, 2).await;
    // Partition 0: ids 1..=6 (3 fails twice); partition 1: ids 101..=106.
    let mut out: Vec<Out> = (1..=6).map(|id| Out::job(id, 0)).collect();
    out.extend((101..=106).map(|id| Out::job(id, 1)));
    let placed = produce(&topic, out).await;
    let failing_offset = placed[(FAILING - 1) as usize].1;

    let recorder = Recorder::default();
    let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let att = attempts.clone();
    let handler = recorder.handler(move |id, m, _| {
        let n = {
            let mut a = att.lock().unwrap();
            let n = a.entry(id).or_insert(0);
            *n += 1;
            *n
        };
        async move {
            // Partition 1's jobs are slow enough to still be running while 3 backs off.
            if m.partition == 1 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if id == FAILING && n <= 2 {
                return Err(format!("attempt {n} of job {id} fails"));
            }
            Ok(())
        }
    });
    let pause = PauseConfig {
        timeout: Duration::from_millis(300),
        max_timeout: Duration::from_secs(10),
        with_exponential_backoff: true,
    };
    let config = config(&group, &[TopicConfig::new(&topic)])
        .pause(pause)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();

    // During the second backoff (1.2 s): jobs before 3 are committed, 3 and later are not.
    wait_until(Duration::from_secs(30), "second failure of job 3", || {
        attempts.lock().unwrap().get(&FAILING).copied() == Some(2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let during = committed(&group, &topic, 2);
    assert_eq!(
        during[0], failing_offset,
        "partition 0 committed up to the failing job only"
    );
    assert!(
        recorder
            .runs()
            .iter()
            .all(|r| !(r.partition == 0 && r.id > FAILING)),
        "no later job of partition 0 ran while job 3 was failing"
    );

    wait_until(Duration::from_secs(30), "all 12 jobs", || {
        recorder.succeeded().len() == 12
    })
    .await;
    worker.stop().await;

    let runs = recorder.runs();
    let job3: Vec<_> = runs.iter().filter(|r| r.id == FAILING).collect();
    assert_eq!(job3.len(), 3, "two failures and one success");
    // Karafka's backoff: timeout × 2^attempt, attempt counted before each run.
    let gap1 = job3[1].started - job3[0].finished.unwrap();
    let gap2 = job3[2].started - job3[1].finished.unwrap();
    println!("backoffs observed: {gap1:?}, {gap2:?} (expected 600 ms, 1200 ms)");
    // Upper bounds are loose: a loaded machine may wake the timer late.
    assert!(
        gap1 >= Duration::from_millis(600) && gap1 < Duration::from_millis(1_500),
        "{gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(1_200) && gap2 < Duration::from_millis(2_600),
        "{gap2:?}"
    );

    // Later jobs of partition 0 started only after 3 succeeded.
    let success3 = job3[2].finished.unwrap();
    for r in runs.iter().filter(|r| r.partition == 0 && r.id > FAILING) {
        assert!(
            r.started >= success3,
            "job {} ran before job 3 succeeded",
            r.id
        );
    }
    // Partition 1 did not wait for partition 0's backoff.
    let last_p1 = runs
        .iter()
        .filter(|r| r.partition == 1)
        .map(|r| r.finished.unwrap())
        .max()
        .unwrap();
    assert!(
        last_p1 < job3[2].started,
        "partition 1 finished while job 3 was still backing off"
    );
    // Each job succeeded exactly once; the counters agree.
    assert!(recorder.succeeded().values().all(|&n| n == 1));
    let s = stats.snapshot();
    assert_eq!((s.jobs_succeeded, s.job_failures), (12, 2));
    assert_fully_committed(&group, &topic, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_failure_like_any_other() {
    init_tracing();
    let topic = unique("panic");
    let group = unique("panic-group");
    create_topic(&topic, 1).await;
    produce(&topic, (1..=3).map(|id| Out::job(id, 0)).collect()).await;

    let recorder = Recorder::default();
    let panicked = Arc::new(Mutex::new(false));
    let p = panicked.clone();
    let handler = recorder.handler(move |id, _, _| {
        let p = p.clone();
        async move {
            if id == 2 && !std::mem::replace(&mut *p.lock().unwrap(), true) {
                panic!("job 2 panics once");
            }
            Ok(())
        }
    });
    let config = config(&group, &[TopicConfig::new(&topic)]).build().unwrap();
    let worker = RunningWorker::start(config, handler);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(30), "all 3 jobs", || {
        recorder.succeeded().len() == 3
    })
    .await;
    worker.stop().await;
    let ids: Vec<u64> = recorder.runs().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![1, 2, 2, 3]);
    assert_eq!(stats.snapshot().job_failures, 1);
    assert_eq!(committed(&group, &topic, 1), vec![3]);
}
