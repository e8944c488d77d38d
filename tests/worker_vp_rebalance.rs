//! Virtual partitions and revocation: a second worker joins mid-stream; the first starts no job
//! of a partition once it is revoked, lets its running jobs finish, and commits their done
//! prefix. Nothing is lost; a job runs again only after its first run had finished (jobs done
//! past the committed prefix, as Karafka Pro allows).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use activejob_karafka::consumer::{TopicConfig, VirtualPartitioner};
use support::*;

fn start(
    group: &str,
    topic: &str,
    recorder: &Recorder,
    after_revoke: &Arc<AtomicUsize>,
) -> RunningWorker {
    let late = after_revoke.clone();
    let handler = recorder.handler(move |id, _, signals| {
        if signals.is_revoked() {
            late.fetch_add(1, Ordering::SeqCst);
        }
        async move {
            tokio::time::sleep(Duration::from_millis(10 * (1 + id % 3))).await;
            Ok(())
        }
    });
    let config = config(
        group,
        &[TopicConfig::new(topic).virtual_partitions(VirtualPartitioner::Key, 4)],
    )
    // Members learn of a rebalance at their next heartbeat: keep the handover prompt.
    .kafka("heartbeat.interval.ms", "300")
    .build()
    .unwrap();
    RunningWorker::start(config, handler)
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
    let worker_a = start(&group, &topic, &a, &late);
    wait_until(Duration::from_secs(30), "worker A under way", || {
        a.succeeded().len() >= 150
    })
    .await;
    let worker_b = start(&group, &topic, &b, &late);
    wait_until(Duration::from_secs(60), "every job", || {
        succeeded_on_any(&[&a, &b]) == total as usize
    })
    .await;
    let (stats_a, stats_b) = (worker_a.stats.clone(), worker_b.stats.clone());
    stop_all([worker_a, worker_b]).await;

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
