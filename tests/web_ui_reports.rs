//! Web UI reporting on a real broker, for every supported karafka-web schema: the worker's
//! consumer reports and error reports, read back from their topics and decoded as karafka-web's
//! Deserializer does (zlib when the `zlib` header says so, then JSON), pass every rule of that
//! schema's contracts; and they say what happened: the running job, the assigned partition
//! with its offsets, the window totals, the failed runs, and a final `stopped` report.

mod support;

use std::io::Read;
use std::time::Duration;

use activejob_karafka::consumer::{handler_fn, JobFailure, TopicConfig, Worker};
use activejob_karafka::metrics::job_head;
use activejob_karafka::web_ui::{check_error, check_report, Schema, WebUiConfig, SUPPORTED};
use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message};
use serde_json::Value;
use support::*;

/// The reports and error reports of one worker, by the schema it reported with.
type SchemaRun = (Schema, (Vec<Record>, Vec<Record>));

/// One record read back from a Web UI topic.
struct Record {
    partition: i32,
    key: String,
    json: Value,
}

/// The records of `topic` from the start, decoded like karafka-web's `Deserializer`, until
/// `done` says they are all there (or 20 s have passed).
fn read_until(topic: &str, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("web-ui-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done(&records) && std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let zlib = m.headers().is_some_and(|h| {
                    h.iter()
                        .any(|h| h.key == "zlib" && h.value == Some(b"true".as_slice()))
                });
                let raw = m.payload().expect("payload");
                let text = if zlib {
                    let mut out = Vec::new();
                    flate2::read::ZlibDecoder::new(raw)
                        .read_to_end(&mut out)
                        .expect("zlib");
                    out
                } else {
                    raw.to_vec()
                };
                records.push(Record {
                    partition: m.partition(),
                    key: String::from_utf8(m.key().expect("key").to_vec()).expect("utf-8 key"),
                    json: serde_json::from_slice(&text).expect("JSON"),
                });
                assert!(zlib, "reports are deflated as karafka-web's are");
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    records
}

/// Runs a worker reporting for karafka-web `release` until a slow job has run and a failing
/// job has been dead-lettered; returns its reports and error reports.
async fn run_reporting_worker(release: &str) -> (Vec<Record>, Vec<Record>) {
    let topic = unique("web-jobs");
    let dlq = format!("{topic}-dlq");
    let reports = unique("web-reports");
    let errors = unique("web-errors");
    for t in [&topic, &dlq, &reports, &errors] {
        create_topic(t, 1).await;
    }
    produce(
        &topic,
        vec![
            Out {
                payload: Some(job_payload("SlowJob", 1)),
                ..Out::default()
            },
            Out {
                payload: Some(job_payload("FailingJob", 2)),
                ..Out::default()
            },
        ],
    )
    .await;
    let web_ui = WebUiConfig {
        reports_topic: reports.clone(),
        errors_topic: errors.clone(),
        interval: Duration::from_millis(500),
        tags: vec!["rust".into()],
        ..WebUiConfig::for_karafka_web(release)
    };
    let config = config(
        &unique("web-group"),
        &[TopicConfig::new(&topic).dead_letter_queue(&dlq, 1)],
    )
    .kafka("statistics.interval.ms", "500")
    .web_ui(web_ui)
    .build()
    .expect("config");
    let handler = handler_fn(|message, _signals| {
        async move {
            let class = job_head(message.payload.as_deref().unwrap_or_default())
                .map(|h| h.job_class)
                .unwrap_or_default();
            if class == "SlowJob" {
                tokio::time::sleep(Duration::from_millis(2500)).await;
                Ok(())
            } else {
                Err(JobFailure::Failed("FailingJob always fails".into()))
            }
        }
        .boxed()
    });
    let worker = Worker::new(config, handler).handle_signals(false);
    let shutdown = worker.shutdown_handle();
    let stats = worker.stats();
    let run = tokio::spawn(worker.run());
    wait_until(
        Duration::from_secs(30),
        "the failing job dead-lettered",
        || stats.snapshot().dead_lettered == 1,
    )
    .await;
    // A statistics interval more, so that a report carries the partition's offsets.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shutdown.shutdown();
    run.await.expect("join").expect("worker");
    tokio::task::spawn_blocking(move || {
        let stopped = |r: &[Record]| {
            r.last()
                .is_some_and(|r| r.json["process"]["status"] == "stopped")
        };
        (
            read_until(&reports, stopped),
            read_until(&errors, |e| e.len() >= 2),
        )
    })
    .await
    .expect("reader")
}

/// Writes every report and error report read back to `dir/<schema_version>/`, for
/// `scripts/karafka-web/check_contracts.sh` to check with karafka-web's own Ruby contracts.
fn write_reports(dir: &std::path::Path, runs: &[SchemaRun]) {
    for (schema, (reports, errors)) in runs {
        let to = dir.join(schema.version());
        std::fs::create_dir_all(&to).expect("reports dir");
        let named = reports
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("report-{i}.json"), r))
            .chain(
                errors
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("error-{i}.json"), e)),
            );
        for (name, record) in named {
            std::fs::write(to.join(name), record.json.to_string()).expect("write report");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_of_every_schema_pass_its_contract_and_tell_what_ran() {
    init_tracing();
    let releases = ["0.11.2", "0.11.5", "0.11.6", "1.0.0"];
    let runs = futures::future::join_all(releases.map(|r| {
        let schema = Schema::for_karafka_web(r).unwrap();
        async move { (schema, run_reporting_worker(r).await) }
    }))
    .await;
    assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), SUPPORTED);

    if let Ok(dir) = std::env::var("WEB_UI_REPORTS_DIR") {
        write_reports(std::path::Path::new(&dir), &runs);
    }
    for (schema, (reports, errors)) in runs {
        assert!(reports.len() >= 4, "{schema}: {} reports", reports.len());
        let process_id = reports[0].json["process"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for r in &reports {
            assert_eq!(
                check_report(schema, &r.json),
                vec![],
                "{schema}: {}",
                r.json
            );
            assert_eq!((r.partition, r.key.as_str()), (0, process_id.as_str()));
            assert_eq!(r.json["process"]["id"], process_id.as_str());
        }
        let statuses: Vec<&str> = reports
            .iter()
            .map(|r| r.json["process"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.first(), Some(&"running"), "{schema}: {statuses:?}");
        assert_eq!(statuses.last(), Some(&"stopped"), "{schema}: {statuses:?}");
        assert!(statuses.contains(&"stopping"), "{schema}: {statuses:?}");

        // The slow job was reported running, with Karafka's tags.
        let running: Vec<&Value> = reports
            .iter()
            .flat_map(|r| r.json["jobs"].as_array().unwrap())
            .collect();
        assert!(
            running.iter().any(
                |j| j["tags"] == serde_json::json!(["active_job", "SlowJob"])
                    && j["status"] == "running"
                    && j["first_offset"] == 0
            ),
            "{schema}: {running:?}"
        );
        // The assigned partition, with the committed offset past both jobs by the end.
        let partitions: Vec<&Value> = reports
            .iter()
            .filter_map(|r| r.json["consumer_groups"].as_object())
            .flat_map(|g| g.values())
            .flat_map(|g| g["subscription_groups"].as_object().unwrap().values())
            .flat_map(|sg| sg["topics"].as_object().unwrap().values())
            .flat_map(|t| t["partitions"].as_object().unwrap().values())
            .collect();
        assert!(!partitions.is_empty(), "{schema}: no partition reported");
        assert!(
            partitions
                .iter()
                .any(|p| p["committed_offset"] == 2 && p["hi_offset"] == 2),
            "{schema}: {partitions:?}"
        );
        // Window totals add up to what ran: the slow job, and the failing one twice (a run
        // and its retry), then dead-lettered.
        let sum = |k: &str| -> u64 {
            reports
                .iter()
                .map(|r| r.json["stats"]["total"][k].as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            (sum("jobs"), sum("errors"), sum("retries"), sum("dead")),
            (3, 2, 1, 1),
            "{schema}"
        );

        assert_eq!(errors.len(), 2, "{schema}: one error report per failed run");
        for (attempt, e) in (1..).zip(&errors) {
            assert_eq!(check_error(schema, &e.json), vec![], "{schema}: {}", e.json);
            assert_eq!(e.key, process_id);
            assert_eq!(e.json["schema_version"], schema.error_version());
            assert_eq!(
                e.json["error_class"],
                "ActiveJobKarafka::JobFailure::Failed"
            );
            assert_eq!(
                e.json["error_message"],
                "job failed: FailingJob always fails"
            );
            assert_eq!(e.json["details"]["first_offset"], 1);
            assert_eq!(e.json["details"]["attempt"], attempt);
            assert_eq!(e.json["process"]["tags"], serde_json::json!(["rust"]));
        }
    }
}
