//! `scheduled_at` on consumption. By default (Karafka's behaviour) a job runs when consumed,
//! whatever its `scheduled_at`. With `hold_until_scheduled` the partition is paused until its
//! next job is due, then that job and the ones behind it run, in order.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use activejob_karafka::consumer::{
    PauseReason, TopicConfig, VirtualPartitioner, Worker, WorkerObserver,
};
use support::*;

#[derive(Default)]
struct Pauses(Mutex<Vec<(String, &'static str, Instant)>>);

impl WorkerObserver for Pauses {
    fn partition_paused(&self, topic: &str, _partition: i32, reason: PauseReason) {
        let what = if reason == PauseReason::Scheduled {
            "paused: scheduled"
        } else {
            "paused: other"
        };
        self.0
            .lock()
            .unwrap()
            .push((topic.to_string(), what, Instant::now()));
    }
    fn partition_resumed(&self, topic: &str, _partition: i32) {
        self.0
            .lock()
            .unwrap()
            .push((topic.to_string(), "resumed", Instant::now()));
    }
}

const HOLD: Duration = Duration::from_secs(3);

/// Job 1 (now), job 2 (due at `due`), job 3 (due in the past), job 4 (no schedule).
fn messages(partition: i32, key: &str, due: SystemTime) -> Vec<Out> {
    let past = SystemTime::now() - Duration::from_secs(60);
    let out = |payload| Out {
        partition: Some(partition),
        key: Some(key.as_bytes().to_vec()),
        payload: Some(payload),
        headers: vec![],
    };
    vec![
        out(job_payload("TestJob", 1)),
        out(scheduled_job_payload("TestJob", 2, due)),
        out(scheduled_job_payload("TestJob", 3, past)),
        out(job_payload("TestJob", 4)),
    ]
}

async fn run_topics(held: TopicConfig, free: TopicConfig, group: &str) -> (Recorder, Arc<Pauses>) {
    let recorder = Recorder::default();
    let handler = recorder.handler(|_, _, _| async { Ok(()) });
    let pauses = Arc::new(Pauses::default());
    let config = config(group, &[held, free]).build().unwrap();
    let worker = RunningWorker::spawn(Worker::new(config, handler).observer(pauses.clone()));
    let stats = worker.stats.clone();
    let mut saw_paused = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while recorder.runs().len() < 8 {
        assert!(Instant::now() < deadline, "jobs did not all run");
        saw_paused |= stats.snapshot().paused_partitions == 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.stop().await;
    assert!(saw_paused, "the held partition counted as paused");
    assert_eq!(stats.snapshot().paused_partitions, 0);
    (recorder, pauses)
}

/// `due_at`: the monotonic instant of job 2's `scheduled_at`.
fn check(recorder: &Recorder, pauses: &Pauses, held: &str, free: &str, due_at: Instant) {
    let runs = recorder.runs();
    let of = |topic_partition: i32| {
        let mut v: Vec<&Run> = runs
            .iter()
            .filter(|r| r.partition == topic_partition)
            .collect();
        v.sort_by_key(|r| r.started);
        v.into_iter().map(|r| (r.id, r.started)).collect::<Vec<_>>()
    };
    let held_runs = of(0);
    let free_runs = of(1);
    let ids = |v: &[(u64, Instant)]| v.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(ids(&held_runs), vec![1, 2, 3, 4], "order kept");
    assert_eq!(ids(&free_runs), vec![1, 2, 3, 4]);
    // Held: job 2 not before it is due, and soon after.
    let job2 = held_runs[1].1;
    assert!(job2 >= due_at, "ran {:?} early", due_at - job2);
    assert!(
        job2 < due_at + Duration::from_millis(1_500),
        "ran {:?} late",
        job2 - due_at
    );
    assert!(
        held_runs[0].1 < due_at - Duration::from_secs(1),
        "job 1 did not wait"
    );
    // Not held (Karafka's default): job 2 ran as soon as it was consumed.
    assert!(
        free_runs[1].1 < due_at - Duration::from_secs(1),
        "free topic waited"
    );
    let events = pauses.0.lock().unwrap().clone();
    let on = |topic: &str| {
        events
            .iter()
            .filter(|e| e.0 == topic)
            .map(|e| e.1)
            .collect::<Vec<_>>()
    };
    assert_eq!(on(held), vec!["paused: scheduled", "resumed"]);
    assert!(on(free).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_until_scheduled_pauses_until_due_and_keeps_order() {
    init_tracing();
    let (held, free) = (unique("hold"), unique("nohold"));
    let group = unique("hold-group");
    // Partition 0 of `held`, partition 1 of `free`: runs are told apart by partition.
    create_topic(&held, 1).await;
    create_topic(&free, 2).await;
    let due_at = Instant::now() + HOLD;
    let due = SystemTime::now() + HOLD;
    produce(&held, messages(0, "k", due)).await;
    produce(&free, messages(1, "k", due)).await;
    let (recorder, pauses) = run_topics(
        TopicConfig::new(&held).hold_until_scheduled(true),
        TopicConfig::new(&free),
        &group,
    )
    .await;
    check(&recorder, &pauses, &held, &free, due_at);
    assert_fully_committed(&group, &held, 1);
}

/// The same with virtual partitions: the hold applies to the partition as a whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_until_scheduled_with_virtual_partitions() {
    init_tracing();
    let (held, free) = (unique("vp-hold"), unique("vp-nohold"));
    let group = unique("vp-hold-group");
    create_topic(&held, 1).await;
    create_topic(&free, 2).await;
    let due_at = Instant::now() + HOLD;
    let due = SystemTime::now() + HOLD;
    produce(&held, messages(0, "same-key", due)).await;
    produce(&free, messages(1, "same-key", due)).await;
    let (recorder, pauses) = run_topics(
        TopicConfig::new(&held)
            .hold_until_scheduled(true)
            .virtual_partitions(VirtualPartitioner::Key, 4),
        TopicConfig::new(&free).virtual_partitions(VirtualPartitioner::Key, 4),
        &group,
    )
    .await;
    check(&recorder, &pauses, &held, &free, due_at);
    assert_fully_committed(&group, &held, 1);
}
