//! Job policies on a real broker: ActiveJob's `retry_on` and `discard_on`, and `dead_letter_on`.
//!
//! * `retry_on` re-enqueues the job as Rails does: starting from the payload Rails 8.1 wrote for
//!   `RetryingJob.perform_later(1)` (`retry_on FlakyError, OtherError, wait: 0, attempts: 3,
//!   jitter: 0`), the worker writes the same two retries Rails wrote (fixtures/8.1/retry_*),
//!   byte for byte up to the times; Ruby's ActiveJob reads their counters back; the third
//!   failure has used the attempts up and goes on to the topic's dead letter queue.
//! * A wait that is not zero goes through Karafka Pro's Scheduled Messages proxy.
//! * `discard_on` marks the message consumed after one run; `dead_letter_on` sends it to the
//!   DLQ after one run; an error no policy names is retried in place as before.

mod common;
mod support;

use activejob_karafka::consumer::{StatsSnapshot, TopicConfig, VirtualPartitioner};
use activejob_karafka::producer::{JobOptions, JobProducer};
use activejob_karafka::registry::{JobContext, JobPolicies, Registry, RetryOn, Wait};
use rdkafka::Message;
use serde_json::Value as Json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

#[derive(Debug, thiserror::Error)]
#[error("flaky upstream")]
struct FlakyError;

/// The payload of a Rails 8.1 fixture.
fn fixture(name: &str) -> Vec<u8> {
    let path = common::crate_root().join("fixtures/8.1").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.trim_end().as_bytes().to_vec()
}

/// The payload as text with its two times replaced, and the times: what may differ between two
/// retries of the same job written at different moments.
fn without_times(payload: &[u8]) -> (String, [Json; 2]) {
    let mut job: serde_json::Map<String, Json> =
        serde_json::from_slice(payload).expect("a JSON payload");
    let times = ["enqueued_at", "scheduled_at"].map(|key| {
        job.insert(key.into(), Json::from("<time>"))
            .unwrap_or_default()
    });
    (Json::Object(job).to_string(), times)
}

/// A job producer on the tests' broker that routes queue `default` to `<prefix>default`.
fn job_producer(prefix: &str) -> activejob_karafka::producer::JobProducerBuilder {
    JobProducer::builder()
        .bootstrap_servers(bootstrap())
        .queue_prefix(prefix)
}

/// `RetryingJob` failing with `FlakyError` on every run, recording the `executions` it saw.
fn always_flaky(seen: Arc<Mutex<Vec<i64>>>) -> Registry {
    Registry::new().register("RetryingJob", move |(_,): (i64,), ctx: JobContext| {
        seen.lock().unwrap().push(ctx.executions());
        async { Err(FlakyError.into()) }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_writes_the_retries_rails_writes_then_gives_up_to_the_dlq() {
    init_tracing();
    let prefix = format!("{}-", unique("retry-on"));
    let topic = format!("{prefix}default");
    let dlq = unique("retry-on-dlq");
    let group = unique("retry-on-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    let initial = fixture("retry_0_initial.json");
    produce(
        &topic,
        vec![Out {
            payload: Some(initial.clone()),
            ..Out::default()
        }],
    )
    .await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let registry = always_flaky(seen.clone())
        .with_requeue(job_producer(&prefix).build().expect("producer"))
        .with_policies(
            "RetryingJob",
            JobPolicies::new().retry_on::<FlakyError>(
                RetryOn::new()
                    .attempts(3)
                    .wait(Wait::Fixed(Duration::ZERO))
                    .jitter(0.0)
                    .ruby_exceptions(["FlakyError", "OtherError"]),
            ),
        );
    // No retries in place: an exhausted retry_on goes straight on to the DLQ.
    let config = config(
        &group,
        &[TopicConfig::new(&topic).dead_letter_queue(&dlq, 0)],
    )
    .build()
    .unwrap();
    let started = chrono::Utc::now();
    let worker = RunningWorker::start(config, registry);
    let stats = worker.stats.clone();
    wait_until(
        Duration::from_secs(40),
        "the third failure dead-lettered",
        || stats.snapshot().dead_lettered == 1,
    )
    .await;
    worker.stop().await;

    // Three runs, each seeing the count Rails' perform_now starts from.
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
    let messages = read_topic(&topic, 3, Duration::from_secs(10));
    let payloads: Vec<&[u8]> = messages.iter().map(|m| m.payload().unwrap()).collect();
    assert_eq!(payloads.len(), 3, "the job and its two retries");
    assert_eq!(payloads[0], initial.as_slice());
    for (written, rails) in payloads[1..].iter().zip([
        "retry_1_after_first_failure.json",
        "retry_2_after_second_failure.json",
    ]) {
        let (written_text, [enqueued, scheduled]) = without_times(written);
        let (rails_text, _) = without_times(&fixture(rails));
        assert_eq!(written_text, rails_text, "as Rails wrote {rails}");
        // Rails sets scheduled_at (now + wait 0) before enqueued_at (serialize).
        let time = |t: &Json| {
            chrono::DateTime::parse_from_rfc3339(t.as_str().expect("a time")).expect("RFC 3339")
        };
        assert!(
            time(&scheduled) <= time(&enqueued),
            "{scheduled} {enqueued}"
        );
        assert!(time(&scheduled) >= started, "{scheduled} is this run's");
    }
    // The attempts used up, the last retry is what the DLQ holds; everything is consumed.
    let dead = read_topic(&dlq, 1, Duration::from_secs(10));
    assert_eq!(dead[0].payload().unwrap(), payloads[2]);
    assert_fully_committed(&group, &topic, 1);

    ruby_reads_the_counters(&payloads[1..]);
}

/// Ruby's ActiveJob (ruby_interop/typed_dump.rb) reads the retries' counters as Rails wrote them.
fn ruby_reads_the_counters(retries: &[&[u8]]) {
    if common::ruby_skipped("worker_job_policies") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("retries.jsonl");
    let lines: Vec<String> = retries
        .iter()
        .map(|p| String::from_utf8(p.to_vec()).unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let inputs: Vec<String> = (1..=lines.len()).map(|n| format!("{file}:{n}")).collect();
    let ruby = common::run_typed_dump(std::slice::from_ref(&file), &inputs);
    for (n, dump) in ruby.dumps.iter().enumerate() {
        let count = n as i64 + 1;
        assert_eq!(dump["executions"], count, "{}: {dump}", ruby.reader);
        assert_eq!(
            dump["exception_executions"],
            serde_json::json!({"[FlakyError, OtherError]": count}),
            "{}: {dump}",
            ruby.reader
        );
    }
    common::say(&format!(
        "worker_job_policies: {} read the counters of {} retries",
        ruby.reader,
        ruby.dumps.len()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_a_wait_goes_through_the_scheduled_messages_proxy() {
    init_tracing();
    let prefix = format!("{}-", unique("retry-wait"));
    let topic = format!("{prefix}default");
    let proxy = unique("retry-wait-proxy");
    let group = unique("retry-wait-group");
    create_topic(&topic, 1).await;
    create_topic(&proxy, 1).await;
    produce(
        &topic,
        vec![Out {
            payload: Some(fixture("retry_0_initial.json")),
            ..Out::default()
        }],
    )
    .await;

    let producer = job_producer(&prefix)
        .defaults(JobOptions::new().scheduled_messages_topic(&proxy))
        .build()
        .expect("producer");
    let registry = always_flaky(Arc::default())
        .with_requeue(producer)
        .with_policies(
            "RetryingJob",
            JobPolicies::new().retry_on::<FlakyError>(
                RetryOn::new()
                    .wait(Wait::Fixed(Duration::from_secs(600)))
                    .jitter(0.0),
            ),
        );
    let config = config(&group, &[TopicConfig::new(&topic)]).build().unwrap();
    let before = chrono::Utc::now();
    let worker = RunningWorker::start(config, registry);
    let scheduled = read_topic(&proxy, 1, Duration::from_secs(30));
    worker.stop().await;

    let [message] = scheduled.as_slice() else {
        panic!("one proxy message, got {}", scheduled.len())
    };
    assert_eq!(
        header_str(message, "schedule_target_topic"),
        Some(topic.clone())
    );
    let epoch: i64 = header_str(message, "schedule_target_epoch")
        .expect("a target time")
        .parse()
        .unwrap();
    let due = before.timestamp() + 600;
    assert!(
        (due..due + 30).contains(&epoch),
        "due {due}, proxy says {epoch}"
    );
    let job: Json = serde_json::from_slice(message.payload().unwrap()).unwrap();
    assert_eq!(job["executions"], 1);
    assert_eq!(
        job["exception_executions"],
        serde_json::json!({"[FlakyError]": 1})
    );
    // Only the proxy message: nothing went to the job's own topic.
    assert_eq!(end_offsets(&topic, 1), [1]);
    assert_fully_committed(&group, &topic, 1);
}

#[derive(Debug, thiserror::Error)]
#[error("the record is gone")]
struct RecordGone;

#[derive(Debug, thiserror::Error)]
#[error("the input can never work")]
struct InvalidInput;

/// `PolicyJob` runs of a topic with a dead letter queue after 5 retries: job 1 fails with an
/// error its class discards, job 2 with one it dead-letters, job 3 once with an error no policy
/// names (then succeeds), job 4 succeeds. Returns the ids in run order and the worker's stats.
async fn run_policy_jobs(virtual_partitions: bool) -> (Vec<u64>, StatsSnapshot, String, String) {
    init_tracing();
    let topic = unique("policies");
    let dlq = unique("policies-dlq");
    let group = unique("policies-group");
    create_topic(&topic, 1).await;
    create_topic(&dlq, 1).await;
    let jobs = (1..=4)
        .map(|id| Out {
            key: Some(format!("key-{id}").into_bytes()),
            payload: Some(job_payload("PolicyJob", id)),
            ..Out::default()
        })
        .collect();
    produce(&topic, jobs).await;

    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = runs.clone();
    let registry = Registry::new()
        .register("PolicyJob", move |(id,): (u64,), _ctx: JobContext| {
            let first_run = {
                let mut runs = seen.lock().unwrap();
                runs.push(id);
                runs.iter().filter(|&&r| r == id).count() == 1
            };
            async move {
                match id {
                    1 => Err(anyhow::Error::new(RecordGone).context("loading the record")),
                    2 => Err(InvalidInput.into()),
                    3 if first_run => Err(anyhow::anyhow!("a passing glitch")),
                    _ => Ok(()),
                }
            }
        })
        .with_policies(
            "PolicyJob",
            JobPolicies::new()
                .discard_on::<RecordGone>()
                .dead_letter_on::<InvalidInput>(),
        );
    let mut topic_config = TopicConfig::new(&topic).dead_letter_queue(&dlq, 5);
    if virtual_partitions {
        topic_config = topic_config.virtual_partitions(VirtualPartitioner::Key, 4);
    }
    let config = config(&group, &[topic_config]).build().unwrap();
    let worker = RunningWorker::start(config, registry);
    let stats = worker.stats.clone();
    wait_until(Duration::from_secs(30), "jobs 3 and 4 done", || {
        stats.snapshot().jobs_succeeded == 2
    })
    .await;
    worker.stop().await;
    assert_fully_committed(&group, &topic, 1);
    let snapshot = stats.snapshot();
    let ids = runs.lock().unwrap().clone();
    (ids, snapshot, topic, dlq)
}

/// What every run of `run_policy_jobs` must show, with or without virtual partitions.
fn assert_policies_applied(ids: &[u64], stats: &StatsSnapshot, dlq: &str) {
    // Jobs 1 and 2 ran once each (no retry in place), job 3 twice, job 4 once.
    let count = |id| ids.iter().filter(|&&r| r == id).count();
    assert_eq!(
        [count(1), count(2), count(3), count(4)],
        [1, 1, 2, 1],
        "{ids:?}"
    );
    assert_eq!(stats.discarded, 1, "{stats:?}");
    assert_eq!(stats.dead_lettered, 1, "{stats:?}");
    // Only job 2 is in the dead letter queue.
    let dead = read_topic(dlq, 2, Duration::from_secs(5));
    let dead_ids: Vec<u64> = dead
        .iter()
        .map(|m| {
            let job: Json = serde_json::from_slice(m.payload().unwrap()).unwrap();
            job["arguments"][0].as_u64().unwrap()
        })
        .collect();
    assert_eq!(dead_ids, [2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_on_consumes_dead_letter_on_dead_letters_others_retry_in_place() {
    let (ids, stats, _topic, dlq) = run_policy_jobs(false).await;
    assert_policies_applied(&ids, &stats, &dlq);
    // In order, one partition: 1, 2, then 3 twice, then 4.
    assert_eq!(ids, [1, 2, 3, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policies_hold_under_virtual_partitions() {
    let (ids, stats, _topic, dlq) = run_policy_jobs(true).await;
    assert_policies_applied(&ids, &stats, &dlq);
}
