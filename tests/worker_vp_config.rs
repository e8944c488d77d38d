//! Virtual partitions with a dead letter queue need `max_retries >= 1` (Karafka Pro's
//! contract): the builder, the TOML reader and `Worker::run` all refuse the configuration at
//! start-up, before any broker is contacted.

use activejob_karafka::consumer::{
    handler_fn, ConfigError, TopicConfig, VirtualPartitioner, Worker, WorkerConfig, WorkerError,
};
use futures::FutureExt;

const NEEDS: &str = "topics.jobs: virtual_partitions with a dead letter queue need \
                     dead_letter_queue.max_retries >= 1";

#[test]
fn builder_refuses_dlq_without_retries() {
    let e = WorkerConfig::builder()
        .bootstrap_servers("127.0.0.1:1")
        .topic(
            TopicConfig::new("jobs")
                .virtual_partitions(VirtualPartitioner::Key, 8)
                .dead_letter_queue("jobs_dlq", 0),
        )
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::VirtualPartitionsNeedRetries { .. }
    ));
    assert!(e.to_string().starts_with(NEEDS), "{e}");
}

#[test]
fn toml_refuses_dlq_without_retries() {
    let e = WorkerConfig::from_toml_str(
        r#"
        bootstrap_servers = "127.0.0.1:1"
        [topics.jobs]
        dead_letter_queue = { topic = "jobs_dlq", max_retries = 0 }
        virtual_partitions = { partitioner = "first_argument", max_partitions = 4 }
        "#,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with(NEEDS), "{e}");
}

#[tokio::test]
async fn worker_refuses_it_at_start_up() {
    let mut config = WorkerConfig::builder()
        .bootstrap_servers("127.0.0.1:1")
        .topic(TopicConfig::new("jobs").virtual_partitions(VirtualPartitioner::Key, 8))
        .build()
        .unwrap();
    // Fields are public: a configuration changed after `build` is checked again by `run`.
    config.topics[0] = config.topics[0].clone().dead_letter_queue("jobs_dlq", 0);
    let handler = handler_fn(|_, _| async { Ok(()) }.boxed());
    let e = Worker::new(config, handler)
        .handle_signals(false)
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            WorkerError::Config(ConfigError::VirtualPartitionsNeedRetries { ref topic }) if topic == "jobs"
        ),
        "{e}"
    );
}
