//! A worker in a separate process, for tests that kill it: the test binary runs itself again
//! with one test selected (`child_worker_process`) and `AJK_CHILD_WORKER=1` in the environment.
//! Each completed job appends `id partition offset` to the file named by `AJK_CHILD_OUT`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{
    handler_fn, TopicConfig, VirtualPartitioner, Worker, WorkerError,
};
use futures::FutureExt;

/// Set in the child's environment.
pub const CHILD_ENV: &str = "AJK_CHILD_WORKER";

/// The child's exit code when a second signal stopped it with jobs still running
/// ([`WorkerError::ShutdownForced`]); a panic of the test harness exits with 101.
pub const EXIT_SHUTDOWN_FORCED: i32 = 3;

/// Starts this test binary again as a worker process.
pub fn spawn(test_name: &str, topic: &str, group: &str, out: &Path, job_ms: u64) -> Child {
    command(test_name, topic, group, out, job_ms)
        .spawn()
        .expect("spawning the worker process")
}

/// Like [`spawn`], with the topic on `groups` virtual partitions keyed by the message key.
/// Job `id` then takes `job_ms × (1 + id % 4)`, so that groups finish out of offset order, and
/// stored offsets are committed every 200 ms, so that the test sees many commits.
pub fn spawn_virtual(
    test_name: &str,
    topic: &str,
    group: &str,
    out: &Path,
    job_ms: u64,
    groups: usize,
) -> Child {
    command(test_name, topic, group, out, job_ms)
        .env("AJK_CHILD_VP", groups.to_string())
        .spawn()
        .expect("spawning the worker process")
}

/// The command [`spawn`] runs, for a test that adds settings (`AJK_CHILD_STUCK_ID`: that job runs
/// until the process stops) before spawning it.
pub fn command(test_name: &str, topic: &str, group: &str, out: &Path, job_ms: u64) -> Command {
    let exe = std::env::current_exe().expect("current test binary");
    let mut c = Command::new(exe);
    c.args([test_name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .env("KAFKA_BOOTSTRAP_SERVERS", super::bootstrap())
        .env("AJK_CHILD_TOPIC", topic)
        .env("AJK_CHILD_GROUP", group)
        .env("AJK_CHILD_OUT", out)
        .env("AJK_CHILD_JOB_MS", job_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

/// The child's body: a worker until SIGTERM/SIGINT (or SIGKILL).
pub async fn run() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let topic = var("AJK_CHILD_TOPIC");
    let group = var("AJK_CHILD_GROUP");
    let job_ms: u64 = var("AJK_CHILD_JOB_MS").parse().expect("AJK_CHILD_JOB_MS");
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(var("AJK_CHILD_OUT"))
        .expect("output file");
    let out = Arc::new(Mutex::new(out));
    let stuck_id: Option<u64> = std::env::var("AJK_CHILD_STUCK_ID")
        .ok()
        .map(|v| v.parse().expect("AJK_CHILD_STUCK_ID"));
    let virtual_groups: Option<usize> = std::env::var("AJK_CHILD_VP")
        .ok()
        .map(|v| v.parse().expect("AJK_CHILD_VP"));
    let mut topic_config = TopicConfig::new(topic);
    if let Some(n) = virtual_groups {
        topic_config = topic_config.virtual_partitions(VirtualPartitioner::Key, n);
    }
    // A killed member stays in the group until its session times out: keep that short.
    let mut builder = super::config(&group, &[topic_config])
        .kafka("session.timeout.ms", "6000")
        .kafka("heartbeat.interval.ms", "1000");
    if virtual_groups.is_some() {
        builder = builder.kafka("auto.commit.interval.ms", "200");
    }
    let config = builder.build().expect("config");
    let handler = handler_fn(move |m, _signals| {
        let out = out.clone();
        async move {
            let id = super::parse_job(&m)?;
            let ms = if stuck_id == Some(id) {
                // Runs until the process is stopped.
                3_600_000
            } else if virtual_groups.is_some() {
                job_ms * (1 + id % 4)
            } else {
                job_ms
            };
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            // One write per line: O_APPEND keeps lines whole even across processes. The last
            // field is when the job finished, in ms since the Unix epoch.
            let line = format!("{id} {} {} {}\n", m.partition, m.offset, unix_ms());
            let mut f = out.lock().unwrap();
            f.write_all(line.as_bytes())
                .map_err(|e| activejob_karafka::consumer::JobFailure::Failed(e.to_string()))?;
            Ok(())
        }
        .boxed()
    });
    match Worker::new(config, handler).run().await {
        Ok(()) => {}
        // A second signal abandons the running job by design: an outcome the test checks
        // through the exit code, not a failure of the child.
        Err(WorkerError::ShutdownForced { running }) => {
            eprintln!("child worker: stopped at once with {running} job(s) running");
            std::process::exit(EXIT_SHUTDOWN_FORCED);
        }
        Err(e) => panic!("child worker: {e}"),
    }
}

/// Milliseconds since the Unix epoch (comparable across processes).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Parses the child output with each job's finishing time: (id, partition, offset, unix ms).
pub fn read_timed_lines(path: &Path) -> Vec<(u64, i32, i64, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some((
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Parses the child output: (id, partition, offset) per complete line.
pub fn read_lines(path: &Path) -> Vec<(u64, i32, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some((
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
            ))
        })
        .collect()
}
