//! Graceful shutdown mid-stream: the running job finishes (seeing `is_stopping`) and is
//! committed, no later job starts, and `run()` returns Ok.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::TopicConfig;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_running_job_and_starts_no_other() {
    init_tracing();
    let topic = unique("shutdown");
    let group = unique("shutdown-group");
    create_topic(&topic, 1).await;
    let placed = produce(&topic, (1..=10).map(|id| Out::job(id, 0)).collect()).await;

    let recorder = Recorder::default();
    let saw_stopping: Arc<Mutex<Vec<(u64, bool)>>> = Arc::default();
    let seen = saw_stopping.clone();
    let handler = recorder.handler(move |id, _, signals| {
        let seen = seen.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            seen.lock().unwrap().push((id, signals.is_stopping()));
            Ok(())
        }
    });
    let config = config(&group, &[TopicConfig::new(&topic)]).build().unwrap();
    let worker = RunningWorker::start(config, handler);

    wait_until(Duration::from_secs(30), "job 3 started", || {
        recorder.runs().iter().any(|r| r.id == 3)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    worker.stop().await;
    let took = asked.elapsed();

    let runs = recorder.runs();
    let ids: Vec<u64> = runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![1, 2, 3], "nothing after the running job started");
    assert!(runs.iter().all(|r| r.ok), "the running job finished");
    assert_eq!(
        saw_stopping.lock().unwrap().last(),
        Some(&(3, true)),
        "the running job saw is_stopping()"
    );
    assert_eq!(
        committed(&group, &topic, 1),
        vec![placed[2].1 + 1],
        "committed through job 3"
    );
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_timeout_abandons_a_stuck_job_but_commits_the_rest() {
    init_tracing();
    let topic = unique("shutdown-timeout");
    let group = unique("shutdown-timeout-group");
    create_topic(&topic, 1).await;
    let placed = produce(&topic, (1..=3).map(|id| Out::job(id, 0)).collect()).await;

    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        if id == 2 {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(())
    });
    let config = config(&group, &[TopicConfig::new(&topic)])
        .shutdown_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(30), "job 2 started", || {
        recorder.runs().iter().any(|r| r.id == 2)
    })
    .await;
    let asked = Instant::now();
    let result = worker.stop_and_wait().await;
    let took = asked.elapsed();
    assert!(
        matches!(
            result,
            Err(activejob_karafka::consumer::WorkerError::ShutdownTimeout { running: 1, .. })
        ),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(4), "returned after {took:?}");
    assert_eq!(
        committed(&group, &topic, 1),
        vec![placed[1].1],
        "job 1 only"
    );
}
