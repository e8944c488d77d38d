//! TLS and SASL end to end on a broker of the test's own (`support::secure`): over an mTLS
//! listener and over SASL_SSL (SCRAM-SHA-512), every client the crate creates connects with
//! the same connection settings (the job producer, the scheduled messages dispatcher's consumer
//! and producer, the worker's consumer and dead-letter producer, `record`). A wrong CA, a
//! missing client certificate and a wrong password are each an error that `/health` reports
//! (503 with the cause) and that `record` names; a stopped broker makes `/health` 503 too.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{handler_fn, JobFailure, TopicConfig, Worker, WorkerConfig};
use activejob_karafka::metrics::{Metrics, MetricsServer};
use activejob_karafka::producer::{DispatchMethod, JobOptions, JobProducer};
use activejob_karafka::record::{record, RecordError, RecordOptions, Sink};
use activejob_karafka::scheduled::ScheduledConfig;
use activejob_karafka::Job;
use futures::FutureExt;
use support::http::{get, wait_for_answer};
use support::scheduling::Running;
use support::secure::{SecureBroker, SCRAM_PASSWORD};
use support::{init_tracing, unique, wait_until};

type Settings = Vec<(String, String)>;

/// A worker over `bootstrap` with `settings`, its metrics endpoint, and the job classes it ran.
struct Probe {
    metrics: Metrics,
    server: MetricsServer,
    stop: activejob_karafka::consumer::ShutdownHandle,
    running: tokio::task::JoinHandle<Result<(), activejob_karafka::consumer::WorkerError>>,
    ran: Arc<Mutex<Vec<String>>>,
    stats: Arc<activejob_karafka::consumer::WorkerStats>,
}

impl Probe {
    /// `FailJob` fails and is dead-lettered to `dlq` at once; every other class succeeds.
    async fn start(bootstrap: &str, settings: &Settings, topic: &str, dlq: &str) -> Probe {
        let mut b = WorkerConfig::builder()
            .bootstrap_servers(bootstrap)
            .group_id(unique("sec"))
            .shutdown_timeout(Duration::from_secs(10))
            .kafka("statistics.interval.ms", "500")
            .kafka("topic.metadata.refresh.interval.ms", "1000")
            .topic(TopicConfig::new(topic).dead_letter_queue(dlq, 0));
        for (k, v) in settings {
            b = b.kafka(k, v);
        }
        let ran = Arc::new(Mutex::new(Vec::new()));
        let handler = {
            let ran = ran.clone();
            handler_fn(move |m, _| {
                let ran = ran.clone();
                async move {
                    let job = Job::decode(m.payload.as_deref().unwrap_or_default())
                        .map_err(|e| JobFailure::Undecodable(e.to_string()))?;
                    ran.lock().unwrap().push(job.job_class.clone());
                    if job.job_class == "FailJob" {
                        return Err(JobFailure::Failed("fails on purpose".into()));
                    }
                    Ok(())
                }
                .boxed()
            })
        };
        let metrics = Metrics::new();
        let server = metrics.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let worker = Worker::new(b.build().unwrap(), handler).handle_signals(false);
        let (stop, stats) = (worker.shutdown_handle(), worker.stats());
        let m = metrics.clone();
        let running = tokio::spawn(async move { m.run_worker(worker).await });
        Probe {
            metrics,
            server,
            stop,
            running,
            ran,
            stats,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    async fn stop(self) {
        self.stop.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.running).await;
        drop(self.metrics);
        self.server.stop().await;
    }
}

fn record_topic(bootstrap: &str, settings: &Settings, topic: &str) -> Result<u64, RecordError> {
    let out = std::env::temp_dir().join(format!("{}.ndjson", unique("sec-record")));
    let mut options = RecordOptions::new(bootstrap, topic, Sink::Ndjson(out.clone()));
    options.kafka = settings.clone();
    options.idle_timeout = Duration::from_secs(8);
    let summary = record(&options);
    let _ = std::fs::remove_file(out);
    summary.map(|s| s.messages)
}

/// Every client connects over `bootstrap` with `settings`: a job enqueued now runs, one
/// enqueued for in a second goes through the dispatcher and runs, a failing one lands in the
/// dead letter queue, `/health` answers 200, and `record` reads the three jobs back.
async fn every_client_connects(broker: &SecureBroker, bootstrap: &str, settings: &Settings) {
    let (topic, dlq, proxy) = (unique("sec-jobs"), unique("sec-dlq"), unique("sec-proxy"));
    for t in [&topic, &dlq, &proxy] {
        broker.create_topic(t, 1).await;
    }
    let mut producer = JobProducer::builder()
        .bootstrap_servers(bootstrap)
        .defaults(
            JobOptions::new()
                .scheduled_messages_topic(&proxy)
                .dispatch_method(DispatchMethod::Sync),
        );
    let mut dispatcher = ScheduledConfig::builder(&proxy)
        .bootstrap_servers(bootstrap)
        .group_id(unique("sec-sm"))
        .interval(Duration::from_millis(200));
    for (k, v) in settings {
        producer = producer.kafka(k, v);
        dispatcher = dispatcher.kafka(k, v);
    }
    let producer = producer.build().unwrap();
    let dispatcher = Running::start(dispatcher.build());
    let probe = Probe::start(bootstrap, settings, &topic, &dlq).await;

    producer
        .enqueue(&Job::new("NowJob").queue(&topic))
        .await
        .unwrap();
    producer
        .enqueue(&Job::new("FailJob").queue(&topic))
        .await
        .unwrap();
    producer
        .enqueue_in(&Job::new("LaterJob").queue(&topic), Duration::from_secs(1))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(45),
        "every job ran or was dead-lettered",
        || {
            let ran = probe.ran.lock().unwrap().clone();
            ["NowJob", "FailJob", "LaterJob"]
                .iter()
                .all(|c| ran.iter().any(|r| r == c))
                && probe.stats.snapshot().dead_lettered == 1
        },
    )
    .await;
    wait_for_answer(
        probe.addr(),
        "/health",
        200,
        "member of consumer group",
        Duration::from_secs(20),
    )
    .await;

    let (bootstrap_owned, settings_owned) = (bootstrap.to_owned(), settings.clone());
    let dlq_count =
        tokio::task::spawn_blocking(move || record_topic(&bootstrap_owned, &settings_owned, &dlq))
            .await
            .unwrap()
            .expect("record over the secure listener");
    assert_eq!(dlq_count, 1, "the dead letter, read back by record");
    probe.stop().await;
    dispatcher.stop().await;
}

/// A worker with `settings` that cannot connect: `/health` answers 503 naming `cause`, and
/// `record` fails naming it too.
async fn refused(bootstrap: &str, settings: &Settings, cause: &str) {
    let topic = unique("sec-refused");
    let probe = Probe::start(bootstrap, settings, &topic, &unique("sec-refused-dlq")).await;
    let body = wait_for_answer(probe.addr(), "/health", 503, cause, Duration::from_secs(30)).await;
    eprintln!("/health with {cause}: {body}");
    assert!(
        get(probe.addr(), "/health/live").await.0 == 200,
        "unready, not dead"
    );
    probe.stop().await;
    let (b, s) = (bootstrap.to_owned(), settings.clone());
    let e = tokio::task::spawn_blocking(move || record_topic(&b, &s, &topic))
        .await
        .unwrap()
        .expect_err("record cannot connect");
    assert!(e.to_string().contains(cause), "record names {cause:?}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_sasl_end_to_end() {
    init_tracing();
    let mut broker = SecureBroker::start();

    // The scenarios are independent (own topics and groups): run them side by side.
    let (ssl, sasl) = (
        broker.ssl_settings("ca.pem", true),
        broker.sasl_settings(SCRAM_PASSWORD),
    );
    tokio::join!(
        every_client_connects(&broker, &broker.ssl, &ssl),
        every_client_connects(&broker, &broker.sasl_ssl, &sasl),
    );
    let (wrong_ca, no_cert, wrong_password) = (
        broker.ssl_settings("other-ca.pem", true),
        broker.ssl_settings("ca.pem", false),
        broker.sasl_settings("wrong"),
    );
    tokio::join!(
        refused(&broker.ssl, &wrong_ca, "TLS handshake failed"),
        refused(&broker.ssl, &no_cert, "TLS handshake failed"),
        refused(&broker.sasl_ssl, &wrong_password, "authentication failed"),
    );

    // A ready worker, then the broker stops: unready with the cause, still live.
    let topic = unique("sec-outage");
    broker.create_topic(&topic, 1).await;
    let probe = Probe::start(
        &broker.sasl_ssl,
        &broker.sasl_settings(SCRAM_PASSWORD),
        &topic,
        &unique("d"),
    )
    .await;
    wait_for_answer(
        probe.addr(),
        "/health",
        200,
        "1 partition(s) assigned",
        Duration::from_secs(30),
    )
    .await;
    broker.stop();
    let body = wait_for_answer(probe.addr(), "/health", 503, "", Duration::from_secs(30)).await;
    assert!(
        body.contains("no broker reachable") || body.contains("lost"),
        "{body}"
    );
    assert_eq!(get(probe.addr(), "/health/live").await.0, 200);
    probe.stop().await;
}
