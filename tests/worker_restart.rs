//! A worker stopped mid-stream and a new one started in the same group: the second resumes at
//! the committed offsets, so no committed job runs again and none is lost.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use activejob_karafka::consumer::TopicConfig;
use support::*;

async fn run_worker_until(
    group: &str,
    topic: &str,
    recorder: &Recorder,
    done: impl Fn(&Recorder) -> bool,
) {
    let handler = recorder.handler(|_, _, _| async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(())
    });
    let config = config(group, &[TopicConfig::new(topic)])
        .concurrency(3)
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);
    wait_until(Duration::from_secs(60), "enough jobs", || done(recorder)).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_the_committed_offset() {
    init_tracing();
    let topic = unique("restart");
    let group = unique("restart-group");
    create_topic(&topic, 3).await;
    let total = 600u64;
    produce(
        &topic,
        (0..total).map(|id| Out::job(id, (id % 3) as i32)).collect(),
    )
    .await;

    let first = Recorder::default();
    run_worker_until(&group, &topic, &first, |r| r.succeeded().len() >= 200).await;
    let first_ids: BTreeSet<u64> = first.succeeded().keys().copied().collect();
    let after_first = committed(&group, &topic, 3);
    assert!(
        first_ids.len() < total as usize,
        "the first worker stopped mid-stream"
    );
    // What was committed is exactly what ran: offsets == jobs done per partition (a partition
    // the first worker had not reached yet has no committed offset at all).
    for p in 0..3 {
        let done = first.runs().iter().filter(|r| r.partition == p).count() as i64;
        assert_eq!(after_first[p as usize].max(0), done, "partition {p}");
    }

    let second = Recorder::default();
    run_worker_until(&group, &topic, &second, |r| {
        r.succeeded().len() + first_ids.len() >= total as usize
    })
    .await;
    let second_ids: BTreeSet<u64> = second.succeeded().keys().copied().collect();
    let again: Vec<&u64> = first_ids.intersection(&second_ids).collect();
    assert!(again.is_empty(), "committed jobs ran again: {again:?}");
    let all: BTreeSet<u64> = first_ids.union(&second_ids).copied().collect();
    assert_eq!(all.len(), total as usize, "no job lost");
    assert!(first.runs().len() + second.runs().len() == total as usize);
    assert_fully_committed(&group, &topic, 3);
}
