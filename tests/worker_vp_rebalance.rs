//! Virtual partitions and revocation: a second worker joins mid-stream; the first starts no job
//! of a partition once it is revoked, lets its running jobs finish, and commits their done
//! prefix. Nothing is lost; a job runs again only after its first run had finished (jobs done
//! past the committed prefix, as Karafka Pro allows).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use activejob_karafka::consumer::{
    handler_fn, ShutdownHandle, TopicConfig, VirtualPartitioner, Worker, WorkerError, WorkerStats,
};
use futures::FutureExt;
use support::*;

type Started = (
    ShutdownHandle,
    Arc<WorkerStats>,
    tokio::task::JoinHandle<Result<(), WorkerError>>,
);

fn start(
    group: &str,
    topic: &str,
    recorder: &Recorder,
    after_revoke: &Arc<AtomicUsize>,
) -> Started {
    let (rec, late) = (recorder.clone(), after_revoke.clone());
    let handler = handler_fn(move |m, signals| {
        if signals.is_revoked() {
            late.fetch_add(1, Ordering::SeqCst);
        }
        let rec = rec.clone();
        async move {
            let id = parse_job(&m)?;
            let i = rec.start(id, &m);
            tokio::time::sleep(Duration::from_millis(10 * (1 + id % 3))).await;
            rec.finish(i, true);
            Ok(())
        }
        .boxed()
    });
    let config = config(
        group,
        &[TopicConfig::new(topic).virtual_partitions(VirtualPartitioner::Key, 4)],
    )
    // Members learn of a rebalance at their next heartbeat: keep the handover prompt.
    .kafka("heartbeat.interval.ms", "300")
    .build()
    .unwrap();
    let worker = Worker::new(config, handler).handle_signals(false);
    (
        worker.shutdown_handle(),
        worker.stats(),
        tokio::spawn(worker.run()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_starts_no_new_job_and_loses_nothing() {
    init_tracing();
    let topic = unique("vp-rebalance");
    let group = unique("vp-rebalance-group");
    create_topic(&topic, 2).await;
    let total = 1_200u64;
    produce(
        &topic,
        (0..total)
            .map(|id| Out::keyed(id, (id % 2) as i32, &format!("k{}", id % 16)))
            .collect(),
    )
    .await;

    let (a, b) = (Recorder::default(), Recorder::default());
    let late = Arc::new(AtomicUsize::new(0));
    let (stop_a, stats_a, run_a) = start(&group, &topic, &a, &late);
    wait_until(Duration::from_secs(30), "worker A under way", || {
        a.succeeded().len() >= 150
    })
    .await;
    let (stop_b, stats_b, run_b) = start(&group, &topic, &b, &late);
    wait_until(Duration::from_secs(60), "every job", || {
        let mut all = a.succeeded();
        all.extend(b.succeeded());
        all.len() == total as usize
    })
    .await;
    stop_a.shutdown();
    stop_b.shutdown();
    run_a.await.unwrap().expect("worker A stops cleanly");
    run_b.await.unwrap().expect("worker B stops cleanly");

    let (sa, sb) = (stats_a.snapshot(), stats_b.snapshot());
    let mut runs: BTreeMap<u64, Vec<Run>> = BTreeMap::new();
    for r in a.runs().into_iter().chain(b.runs()) {
        runs.entry(r.id).or_default().push(r);
    }
    let again: Vec<u64> = runs
        .iter()
        .filter(|(_, rs)| rs.len() > 1)
        .map(|(id, _)| *id)
        .collect();
    println!(
        "virtual partitions rebalance: A ran {}, B ran {}; {} jobs ran again (done past the \
         committed prefix); A revoked {} partitions, B assigned {}",
        a.runs().len(),
        b.runs().len(),
        again.len(),
        sa.partitions_revoked,
        sb.partitions_assigned
    );
    assert_eq!(runs.len(), total as usize, "no job lost");
    assert!(!b.runs().is_empty(), "a partition moved to worker B");
    assert_eq!(
        late.load(Ordering::SeqCst),
        0,
        "a job started after its revocation"
    );
    for id in &again {
        let mut rs = runs[id].clone();
        rs.sort_by_key(|r| r.started);
        assert!(
            rs[0].ok && rs[0].finished.unwrap() <= rs[1].started,
            "job {id} ran on both workers at once"
        );
    }
    assert_fully_committed(&group, &topic, 2);
}
