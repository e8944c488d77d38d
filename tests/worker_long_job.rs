//! A job longer than `max.poll.interval.ms` completes without the member being evicted and
//! without running twice: the poller keeps polling while the job runs.

mod support;

use std::time::Duration;

use activejob_karafka::consumer::TopicConfig;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_longer_than_max_poll_interval_is_not_evicted() {
    init_tracing();
    let topic = unique("long-job");
    let group = unique("long-job-group");
    create_topic(&topic, 2).await;
    // Partition 0: the long job, then two short ones; partition 1 keeps getting work.
    let mut out = vec![Out::job(1, 0), Out::job(2, 0), Out::job(3, 0)];
    out.extend((100..110).map(|id| Out::job(id, 1)));
    produce(&topic, out).await;

    let recorder = Recorder::default();
    let handler = recorder.handler(|id, _, _| async move {
        if id == 1 {
            tokio::time::sleep(Duration::from_secs(13)).await;
        }
        Ok(())
    });
    let config = short_max_poll_interval(config(&group, &[TopicConfig::new(&topic)]))
        .build()
        .unwrap();
    let worker = RunningWorker::start(config, handler);

    wait_until(Duration::from_secs(40), "all 13 jobs", || {
        recorder.succeeded().len() == 13
    })
    .await;
    // Partition 1 more work arriving after the long job: still served by the same member.
    produce(&topic, vec![Out::job(200, 1)]).await;
    wait_until(Duration::from_secs(10), "job 200", || {
        recorder.succeeded().contains_key(&200)
    })
    .await;
    let before_stop = worker.stats.snapshot();
    worker.stop().await;

    let runs = recorder.runs();
    let long: Vec<_> = runs.iter().filter(|r| r.id == 1).collect();
    assert_eq!(long.len(), 1, "the long job ran once");
    let took = long[0].finished.unwrap() - long[0].started;
    assert!(took >= Duration::from_secs(13));
    assert!(
        recorder.succeeded().values().all(|&n| n == 1),
        "no job ran twice"
    );
    assert_eq!(before_stop.max_poll_exceeded, 0, "{before_stop:?}");
    assert_eq!(
        before_stop.partitions_revoked, 0,
        "no rebalance: {before_stop:?}"
    );
    assert_eq!(before_stop.partitions_assigned, 2, "{before_stop:?}");
    assert_eq!(before_stop.assignments_lost, 0);
    assert_fully_committed(&group, &topic, 2);
}
