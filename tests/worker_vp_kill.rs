//! kill -9 of a worker process running virtual partitions, then a restart. While the workers
//! run, every commit the test sees is checked against the jobs finished by then: the committed
//! offset never passes an unfinished job. After the restart nothing is lost, and what runs a
//! second time is only what had finished past the committed offset at the kill.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::child::{self, CHILD_ENV};
use support::*;

const TOTAL: u64 = 3_000;
const PARTITIONS: i32 = 2;
const GROUPS: usize = 8;
/// Jobs take 10–40 ms: about 600 jobs/s over both partitions.
const JOB_MS: u64 = 10;

/// The worker process body (a no-op unless started by the kill test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    child::run().await;
}

/// What the commit watcher saw.
#[derive(Debug, Default)]
struct Watch {
    checks: usize,
    commits_seen: BTreeSet<(i32, i64)>,
    violations: Vec<String>,
}

/// Reads the committed offsets, then the finished jobs: each committed offset must have every
/// offset before it finished (the job's line is written before its offset is stored).
fn check_prefix(group: &str, topic: &str, out: &Path, watch: &mut Watch) {
    let committed = committed(group, topic, PARTITIONS);
    let finished: BTreeSet<(i32, i64)> = child::read_lines(out)
        .into_iter()
        .map(|(_, p, o)| (p, o))
        .collect();
    watch.checks += 1;
    for (p, c) in committed.iter().enumerate() {
        let p = p as i32;
        if *c <= 0 {
            continue;
        }
        watch.commits_seen.insert((p, *c));
        if let Some(missing) = (0..*c).find(|o| !finished.contains(&(p, *o))) {
            watch.violations.push(format!(
                "partition {p}: committed {c} but offset {missing} had not finished"
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_virtual_partitions_loses_nothing_and_never_commits_past_unfinished() {
    init_tracing();
    let topic = unique("vp-kill");
    let group = unique("vp-kill-group");
    create_topic(&topic, PARTITIONS).await;
    produce(
        &topic,
        (0..TOTAL)
            .map(|id| {
                Out::keyed(
                    id,
                    (id % PARTITIONS as u64) as i32,
                    &format!("k{}", id % 32),
                )
            })
            .collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.txt");

    // Watches commits for the whole test, on a thread of its own (the reads block).
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (group, topic, out, done) = (group.clone(), topic.clone(), out.clone(), done.clone());
        std::thread::spawn(move || {
            let mut watch = Watch::default();
            while !done.load(Ordering::Relaxed) {
                check_prefix(&group, &topic, &out, &mut watch);
                std::thread::sleep(Duration::from_millis(50));
            }
            watch
        })
    };

    let mut first =
        child::spawn_virtual("child_worker_process", &topic, &group, &out, JOB_MS, GROUPS);
    wait_until(Duration::from_secs(60), "first process mid-stream", || {
        child::read_lines(&out).len() >= 1_500
    })
    .await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let at_kill: Vec<(u64, i32, i64)> = child::read_lines(&out);
    let committed_at_kill = committed(&group, &topic, PARTITIONS);
    assert!(at_kill.len() < TOTAL as usize, "killed mid-stream");
    // Finished at the kill but not covered by the committed offset: these may run again.
    let may_rerun: BTreeSet<u64> = at_kill
        .iter()
        .filter(|(_, p, o)| *o >= committed_at_kill[*p as usize])
        .map(|(id, _, _)| *id)
        .collect();

    let mut second =
        child::spawn_virtual("child_worker_process", &topic, &group, &out, JOB_MS, GROUPS);
    wait_until(Duration::from_secs(120), "every job done", || {
        let ids: BTreeSet<u64> = child::read_lines(&out).iter().map(|l| l.0).collect();
        ids.len() == TOTAL as usize
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = second.wait().expect("second process exits");
    assert!(
        exit.success(),
        "SIGTERM ends the worker with status 0: {exit:?}"
    );
    done.store(true, Ordering::Relaxed);
    let mut watch = watcher.join().expect("watcher");
    check_prefix(&group, &topic, &out, &mut watch);

    let lines = child::read_lines(&out);
    let mut runs: BTreeMap<u64, usize> = BTreeMap::new();
    for (id, _, _) in &lines {
        *runs.entry(*id).or_default() += 1;
    }
    let reran: BTreeSet<u64> = runs
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    println!(
        "kill -9 with {GROUPS} virtual partitions: {} jobs done at the kill, committed {:?}, {} \
         of them past the committed offsets; {} ran again; {} commits seen in {} checks",
        at_kill.len(),
        committed_at_kill,
        may_rerun.len(),
        reran.len(),
        watch.commits_seen.len(),
        watch.checks
    );
    assert!(watch.violations.is_empty(), "{:#?}", watch.violations);
    assert!(watch.commits_seen.len() >= 5, "saw few commits: {watch:?}");
    assert_eq!(runs.len(), TOTAL as usize, "every job ran");
    assert!(runs.values().all(|&n| n <= 2));
    assert!(
        reran.is_subset(&may_rerun),
        "ran again though committed: {:?}",
        reran.difference(&may_rerun).collect::<Vec<_>>()
    );
    assert_fully_committed(&group, &topic, PARTITIONS);
}
