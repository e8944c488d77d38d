//! The `WorkerObserver` hooks on a real broker: every run with its attempt and outcome, the
//! dead letter, the pauses (retry backoff, and Karafka's one-`pause.timeout` pause after a
//! dead letter), and the consumer lag from librdkafka's statistics.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::consumer::{
    handler_fn, FinishedJob, InboundMessage, JobFailure, PauseReason, TopicConfig, Worker,
    WorkerObserver,
};
use futures::FutureExt;
use support::*;

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Finished { offset: i64, attempt: u32, ok: bool },
    DeadLettered(i64),
    Paused(PauseReason),
    Resumed,
}

#[derive(Default)]
struct Seen {
    events: Mutex<Vec<(Event, Instant)>>,
    lags: Mutex<Vec<(String, i32, i64)>>,
    statistics: Mutex<usize>,
}

impl WorkerObserver for Seen {
    fn job_finished(&self, job: &FinishedJob<'_>) {
        assert_eq!(job.topic, &*job.message.topic);
        assert_eq!(job.offset, job.message.offset);
        assert!(
            job.duration >= Duration::from_millis(5),
            "{:?}",
            job.duration
        );
        self.events.lock().unwrap().push((
            Event::Finished {
                offset: job.offset,
                attempt: job.attempt,
                ok: job.outcome.is_ok(),
            },
            Instant::now() - job.duration,
        ));
    }
    fn dead_lettered(&self, message: &InboundMessage, failure: &JobFailure) {
        assert_eq!(failure, &JobFailure::Failed("always".into()));
        self.events
            .lock()
            .unwrap()
            .push((Event::DeadLettered(message.offset), Instant::now()));
    }
    fn partition_paused(&self, _topic: &str, _partition: i32, reason: PauseReason) {
        self.events
            .lock()
            .unwrap()
            .push((Event::Paused(reason), Instant::now()));
    }
    fn partition_resumed(&self, _topic: &str, _partition: i32) {
        self.events
            .lock()
            .unwrap()
            .push((Event::Resumed, Instant::now()));
    }
    fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        self.lags.lock().unwrap().extend_from_slice(lags);
    }
    fn statistics(&self, json: &[u8]) {
        assert!(json.starts_with(b"{"));
        *self.statistics.lock().unwrap() += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_sees_runs_dead_letters_pauses_and_lag() {
    init_tracing();
    let topic = unique("observed");
    let dlq = unique("observed-dlq");
    let group = unique("observed-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    produce(&topic, (1..=4).map(|id| Out::job(id, 0)).collect()).await;

    let attempts = Arc::new(Mutex::new(std::collections::HashMap::<u64, u32>::new()));
    let handler = handler_fn(move |m, _| {
        let attempts = attempts.clone();
        async move {
            let id = parse_job(&m)?;
            let n = {
                let mut a = attempts.lock().unwrap();
                let n = a.entry(id).or_default();
                *n += 1;
                *n
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
            match (id, n) {
                (2, 1) => Err(JobFailure::Failed("once".into())),
                (3, _) => Err(JobFailure::Failed("always".into())),
                _ => Ok(()),
            }
        }
        .boxed()
    });
    let seen = Arc::new(Seen::default());
    let config = config(
        &group,
        &[TopicConfig::new(&topic).dead_letter_queue(&dlq, 1)],
    )
    .kafka("statistics.interval.ms", "300")
    .build()
    .unwrap();
    let worker = RunningWorker::spawn(Worker::new(config, handler).observer(seen.clone()));
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(30), "job 4 and a lag report", || {
        let done = seen.events.lock().unwrap().iter().any(|(e, _)| {
            *e == Event::Finished {
                offset: 3,
                attempt: 1,
                ok: true,
            }
        });
        done && !seen.lags.lock().unwrap().is_empty()
    })
    .await;
    worker.stop().await;

    let events = seen.events.lock().unwrap().clone();
    let kinds: Vec<Event> = events.iter().map(|(e, _)| e.clone()).collect();
    let fin = |offset, attempt, ok| Event::Finished {
        offset,
        attempt,
        ok,
    };
    assert_eq!(
        kinds,
        vec![
            fin(0, 1, true),
            fin(1, 1, false),
            Event::Paused(PauseReason::Retry),
            Event::Resumed,
            fin(1, 2, true),
            fin(2, 1, false),
            Event::Paused(PauseReason::Retry),
            Event::Resumed,
            fin(2, 2, false),
            Event::DeadLettered(2),
            Event::Paused(PauseReason::AfterDeadLetter),
            Event::Resumed,
            fin(3, 1, true),
        ]
    );
    // After the dead letter, one pause.timeout (100 ms here) before the next job.
    let at = |k: &Event| events.iter().find(|(e, _)| e == k).unwrap().1;
    let gap = at(&fin(3, 1, true)) - at(&Event::DeadLettered(2));
    assert!(gap >= Duration::from_millis(100), "next job after {gap:?}");
    assert_eq!(stats.snapshot().paused_partitions, 0);

    assert!(*seen.statistics.lock().unwrap() >= 1);
    let lags = seen.lags.lock().unwrap().clone();
    assert!(
        lags.iter()
            .all(|(t, p, lag)| *t == topic && *p == 0 && *lag >= 0),
        "{lags:?}"
    );
}
