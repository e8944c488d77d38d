//! Continuations on a real broker: a continuable job interrupted by a graceful shutdown or by a
//! revocation is re-enqueued with its progress and resumed by the next worker at its cursor.

mod support;

use activejob_karafka::consumer::{TopicConfig, Worker};
use activejob_karafka::continuation::{ContinuableOptions, Steps};
use activejob_karafka::producer::{JobOptions, JobProducer};
use activejob_karafka::registry::{JobContext, Registry};
use activejob_karafka::{DecodeOptions, Job};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

const RECORDS: i64 = 30;
/// Per-record work: the slow one leaves time for a second member to join mid-job.
const FAST: Duration = Duration::from_millis(40);
const SLOW: Duration = Duration::from_millis(250);

/// What the handlers did, across workers.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| *e == event).count()
    }
}

fn job_producer() -> JobProducer {
    JobProducer::builder()
        .bootstrap_servers(bootstrap())
        // Karafka Pro's `partitioner: ->(job) { job.arguments.first.to_s }`.
        .job(
            "ProcessImportJob",
            JobOptions::new().partitioner(|job: &Job| job.arguments.first().map(|a| a.to_string())),
        )
        .build()
        .expect("producer")
}

/// `ProcessImportJob` with a slow record loop, resumed with `wait: 0` as Karafka OSS runs it.
fn registry(trace: Trace, producer: JobProducer, per_record: Duration) -> Registry {
    Registry::with_options(DecodeOptions::default())
        .with_requeue(producer)
        .register_continuable(
            "ProcessImportJob",
            ContinuableOptions::default().resume_wait(Duration::ZERO),
            move |(import_id,): (i64,), ctx: JobContext, mut steps: Steps| {
                let trace = trace.clone();
                async move {
                    trace.push(format!("run offset={}", ctx.offset()));
                    steps
                        .step("validate", async |_| {
                            trace.push("validate".into());
                            Ok(())
                        })
                        .await?;
                    steps
                        .step_from("process_records", 0_i64, async |step| {
                            while step.cursor::<i64>()? < RECORDS {
                                let record: i64 = step.cursor()?;
                                tokio::time::sleep(per_record).await;
                                trace.push(format!("record {import_id}/{record}"));
                                step.advance()?;
                            }
                            Ok(())
                        })
                        .await?;
                    steps
                        .step("finalize", async |_| {
                            trace.push("finalize".into());
                            Ok(())
                        })
                        .await?;
                    Ok(())
                }
            },
        )
}

fn records_processed(trace: &Trace) -> BTreeMap<i64, usize> {
    records_of(trace, 123)
}

fn assert_exactly_once(trace: &Trace) {
    let seen = records_processed(trace);
    let expected: BTreeMap<i64, usize> = (0..RECORDS).map(|r| (r, 1)).collect();
    assert_eq!(
        seen,
        expected,
        "every record exactly once: {:?}",
        trace.events()
    );
    assert_eq!(trace.count("validate"), 1, "validate ran once");
    assert_eq!(trace.count("finalize"), 1, "finalize ran once");
}

/// The payloads on the topic in offset order, decoded.
fn chain(topic: &str, count: usize) -> Vec<Job> {
    let mut messages = read_topic(topic, count, Duration::from_secs(20));
    messages.sort_by_key(|m| (rdkafka::Message::partition(m), rdkafka::Message::offset(m)));
    messages
        .iter()
        .map(|m| Job::decode(rdkafka::Message::payload(m).expect("payload")).expect("decodes"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_interrupts_and_a_new_worker_resumes_at_the_cursor() {
    init_tracing();
    let topic = unique("cont-shutdown");
    let group = unique("cont-shutdown-group");
    create_topic(&topic, 1).await;
    let producer = job_producer();
    let job = Job::new("ProcessImportJob")
        .queue(&topic)
        .arg(123)
        .continuable();
    producer.enqueue(&job).await.expect("enqueue");
    producer.flush(Duration::from_secs(10)).await.unwrap();

    // Worker A: stopped while it is in the middle of the records.
    let trace = Trace::default();
    let config = config(&group, &[TopicConfig::new(&topic)]).build().unwrap();
    let worker = Worker::new(
        config.clone(),
        registry(trace.clone(), producer.clone(), FAST),
    )
    .handle_signals(false);
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    wait_until(Duration::from_secs(30), "a few records", || {
        records_processed(&trace).len() >= 8
    })
    .await;
    shutdown.shutdown();
    running.await.unwrap().expect("worker A stops cleanly");
    let done_by_a = records_processed(&trace).len() as i64;
    assert!(done_by_a < RECORDS, "the job was interrupted, not finished");
    // The original message is committed; the resumed payload waits at offset 1.
    assert_eq!(committed(&group, &topic, 1), vec![1]);

    // Worker B: same group, picks up the resumed payload.
    let worker =
        Worker::new(config, registry(trace.clone(), producer.clone(), FAST)).handle_signals(false);
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    wait_until(Duration::from_secs(30), "finalize", || {
        trace.count("finalize") == 1
    })
    .await;
    shutdown.shutdown();
    running.await.unwrap().expect("worker B stops cleanly");

    assert_exactly_once(&trace);
    assert_fully_committed(&group, &topic, 1);
    let jobs = chain(&topic, 2);
    let resumed = &jobs[1];
    assert_eq!(resumed.job_id, jobs[0].job_id, "same job across the resume");
    assert_eq!(resumed.executions, Some(1));
    assert_eq!(resumed.resumptions, Some(0));
    let continuation = resumed.continuation.as_ref().unwrap();
    assert_eq!(continuation.completed, vec!["validate".to_owned()]);
    let current = continuation.current.as_ref().unwrap();
    assert_eq!(current.name, "process_records");
    assert_eq!(current.cursor, serde_json::json!(done_by_a));
    let key = format!("Interrupted at 'process_records', cursor '{done_by_a}' (stopping)");
    assert_eq!(resumed.exception_executions.as_ref().unwrap()[&key], 1);
    assert!(resumed.scheduled_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_interrupts_and_the_job_resumes_where_it_stopped() {
    init_tracing();
    let topic = unique("cont-revoke");
    let group = unique("cont-revoke-group");
    create_topic(&topic, 1).await;
    let producer = job_producer();
    let job = Job::new("ProcessImportJob")
        .queue(&topic)
        .arg(123)
        .continuable();
    producer.enqueue(&job).await.expect("enqueue");
    producer.flush(Duration::from_secs(10)).await.unwrap();

    let trace = Trace::default();
    let config = config(&group, &[TopicConfig::new(&topic)]).build().unwrap();
    let a = Worker::new(
        config.clone(),
        registry(trace.clone(), producer.clone(), SLOW),
    )
    .handle_signals(false);
    let stop_a = a.shutdown_handle();
    let running_a = tokio::spawn(a.run());
    wait_until(Duration::from_secs(30), "a few records", || {
        records_processed(&trace).len() >= 5
    })
    .await;

    // Worker B joins: the eager rebalance revokes A's partition mid-job.
    let b =
        Worker::new(config, registry(trace.clone(), producer.clone(), SLOW)).handle_signals(false);
    let stop_b = b.shutdown_handle();
    let running_b = tokio::spawn(b.run());
    wait_until(Duration::from_secs(60), "finalize", || {
        trace.count("finalize") == 1
    })
    .await;
    stop_a.shutdown();
    stop_b.shutdown();
    running_a.await.unwrap().expect("worker A");
    running_b.await.unwrap().expect("worker B");

    assert_exactly_once(&trace);
    let jobs = chain(&topic, 2);
    assert!(jobs.len() >= 2, "the interrupted job was re-enqueued");
    let resumed = &jobs[1];
    let reasons: Vec<&String> = resumed
        .exception_executions
        .as_ref()
        .unwrap()
        .keys()
        .collect();
    assert!(
        reasons.iter().all(|r| r.starts_with("Interrupted at 'process_records'") && r.ends_with("(stopping)")),
        "{reasons:?}"
    );
}

/// Continuations under virtual partitions: a shutdown interrupts every group's continuable job
/// at its cursor, each is re-enqueued and its original offset committed, and the next worker
/// resumes them all. Every record of every import is processed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_interrupts_every_virtual_partition_and_all_resume() {
    use activejob_karafka::consumer::VirtualPartitioner;

    init_tracing();
    let topic = unique("cont-vp");
    let group = unique("cont-vp-group");
    create_topic(&topic, 1).await;
    let imports: Vec<i64> = (101..=104).collect();
    let producer = job_producer();
    for &import_id in &imports {
        let job = Job::new("ProcessImportJob")
            .queue(&topic)
            .arg(import_id)
            .continuable();
        producer.enqueue(&job).await.expect("enqueue");
    }
    producer.flush(Duration::from_secs(10)).await.unwrap();

    let trace = Trace::default();
    let config = config(
        &group,
        &[TopicConfig::new(&topic).virtual_partitions(VirtualPartitioner::FirstArgument, 4)],
    )
    .build()
    .unwrap();
    let a = Worker::new(
        config.clone(),
        registry(trace.clone(), producer.clone(), FAST),
    )
    .handle_signals(false);
    let stop_a = a.shutdown_handle();
    let running_a = tokio::spawn(a.run());
    wait_until(Duration::from_secs(30), "every import under way", || {
        imports.iter().all(|&id| records_of(&trace, id).len() >= 3)
    })
    .await;
    stop_a.shutdown();
    running_a.await.unwrap().expect("worker A stops cleanly");
    for &id in &imports {
        assert!(
            (records_of(&trace, id).len() as i64) < RECORDS,
            "import {id} was interrupted, not finished"
        );
    }
    let originals = imports.len() as i64;
    assert_eq!(
        committed(&group, &topic, 1),
        vec![originals],
        "every original message committed"
    );

    let b =
        Worker::new(config, registry(trace.clone(), producer.clone(), FAST)).handle_signals(false);
    let stop_b = b.shutdown_handle();
    let running_b = tokio::spawn(b.run());
    wait_until(Duration::from_secs(30), "every finalize", || {
        trace.count("finalize") == imports.len()
    })
    .await;
    stop_b.shutdown();
    running_b.await.unwrap().expect("worker B stops cleanly");

    for &id in &imports {
        let expected: BTreeMap<i64, usize> = (0..RECORDS).map(|r| (r, 1)).collect();
        assert_eq!(
            records_of(&trace, id),
            expected,
            "import {id}: every record once"
        );
    }
    assert_eq!(trace.count("validate"), imports.len());
    assert_fully_committed(&group, &topic, 1);
    let jobs = chain(&topic, 2 * imports.len());
    assert_eq!(jobs.len(), 2 * imports.len(), "one resumption per import");
    for resumed in &jobs[imports.len()..] {
        let current = resumed
            .continuation
            .as_ref()
            .and_then(|c| c.current.as_ref())
            .expect("progress");
        assert_eq!(current.name, "process_records");
    }
}

/// How often each record of `import_id` was processed.
fn records_of(trace: &Trace, import_id: i64) -> BTreeMap<i64, usize> {
    let prefix = format!("record {import_id}/");
    let mut seen = BTreeMap::new();
    for e in trace.events() {
        if let Some(rest) = e.strip_prefix(&prefix) {
            *seen.entry(rest.parse::<i64>().unwrap()).or_insert(0) += 1;
        }
    }
    seen
}
