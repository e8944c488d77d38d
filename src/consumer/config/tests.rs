use super::*;
use crate::consumer::failure::BadMessageKind;
use crate::consumer::virtual_partitions::{VirtualPartitioner, VirtualPartitions};

fn base() -> WorkerConfigBuilder {
    WorkerConfig::builder().bootstrap_servers("127.0.0.1:1")
}

#[test]
fn backoff_is_karafkas() {
    let p = PauseConfig::default();
    let ms: Vec<u128> = (1..=6).map(|a| p.backoff(a).as_millis()).collect();
    assert_eq!(ms, vec![2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    assert_eq!(p.backoff(200), Duration::from_millis(30_000));
    let flat = PauseConfig {
        with_exponential_backoff: false,
        ..p
    };
    assert_eq!(flat.backoff(5), Duration::from_millis(1_000));
}

#[test]
fn defaults_are_karafkas() {
    let c = base().topic(TopicConfig::new("default")).build().unwrap();
    assert_eq!(c.group_id, "app");
    assert_eq!(c.client_id, "karafka");
    assert_eq!(c.concurrency, 5);
    assert_eq!(c.max_messages, 100);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(c.pause, PauseConfig::default());
    let k = c.consumer_config();
    assert_eq!(k.get("enable.auto.offset.store"), Some("false"));
    assert_eq!(k.get("auto.offset.reset"), Some("earliest"));
    assert_eq!(k.get("group.id"), Some("app"));
    assert_eq!(
        k.get("partition.assignment.strategy"),
        Some("range,roundrobin")
    );
    assert!(!c.needs_producer());
}

#[test]
fn toml_reads_like_a_routing_block() {
    let c = WorkerConfig::from_toml_str(
        r#"
        group_id = "billing"
        bootstrap_servers = "127.0.0.1:9092"
        concurrency = 2
        shutdown_timeout_ms = 5000
        [pause]
        timeout_ms = 100
        max_timeout_ms = 800
        exponential = true
        [kafka]
        "fetch.wait.max.ms" = 50
        "enable.partition.eof" = false
        [topics.default]
        dead_letter_queue = { topic = "default_dlq", max_retries = 2 }
        tombstone = "dead_letter"
        unknown_job_class = { forward = "ruby_jobs" }
        [topics.mailers]
        "#,
    )
    .unwrap();
    assert_eq!(c.group_id, "billing");
    assert_eq!(c.concurrency, 2);
    assert_eq!(c.pause.timeout, Duration::from_millis(100));
    assert_eq!(
        c.kafka.get("fetch.wait.max.ms").map(String::as_str),
        Some("50")
    );
    assert_eq!(
        c.kafka.get("enable.partition.eof").map(String::as_str),
        Some("false")
    );
    let d = c.topic("default").unwrap();
    assert_eq!(d.dead_letter_queue.as_ref().unwrap().max_retries, 2);
    assert_eq!(d.bad_messages.tombstone, BadMessagePolicy::DeadLetter);
    assert_eq!(d.bad_messages.undecodable, BadMessagePolicy::Retry);
    assert_eq!(
        d.bad_messages.unknown_job_class,
        BadMessagePolicy::Forward("ruby_jobs".into())
    );
    assert_eq!(c.topic("mailers").unwrap(), &TopicConfig::new("mailers"));
    assert!(c.needs_producer());
}

#[test]
fn start_up_errors_are_clear() {
    let e = base()
        .topic(
            TopicConfig::new("t")
                .on_bad_message(BadMessageKind::Tombstone, BadMessagePolicy::DeadLetter),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "topics.t.tombstone = \"dead_letter\" needs topics.t.dead_letter_queue.topic"
    );
    let e = base()
        .topic(TopicConfig::new("t").on_bad_message(
            BadMessageKind::Undecodable,
            BadMessagePolicy::Forward("x".into()),
        ))
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("forward is only allowed for unknown_job_class"),
        "{e}"
    );
    let e = base().build().unwrap_err();
    assert!(matches!(e, ConfigError::NoTopics));
    let e = base()
        .topic(TopicConfig::new("t"))
        .kafka("enable.auto.offset.store", "true")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("enable.auto.offset.store"), "{e}");
    let e = WorkerConfig::from_toml_str("bootstrap_servers='x'\n[topics.t]\ntombstone = 'skip'\n")
        .unwrap_err();
    assert!(e.to_string().contains("unknown policy \"skip\""), "{e}");
    let e = WorkerConfig::from_toml_str("bootstrap_servers='x'\nconcurency = 3\n").unwrap_err();
    assert!(e.to_string().contains("concurency"), "{e}");
    let e = base()
        .topic(TopicConfig::new("t").dead_letter_queue("t", 1))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::LoopsToItself { .. }));
}

#[test]
fn virtual_partitions_from_toml() {
    let c = WorkerConfig::from_toml_str(
        r#"
        bootstrap_servers = "x"
        concurrency = 3
        [topics.a.virtual_partitions]
        [topics.b]
        virtual_partitions = { partitioner = "first_argument", max_partitions = 16 }
        hold_until_scheduled = true
        [topics.c]
        virtual_partitions = { partitioner = { header = "tenant" }, max_partitions = 4 }
        "#,
    )
    .unwrap();
    let vp = |t: &str| c.topic(t).unwrap().virtual_partitions.clone().unwrap();
    assert_eq!(vp("a"), VirtualPartitions::new(VirtualPartitioner::Key, 3));
    assert_eq!(
        vp("b"),
        VirtualPartitions::new(VirtualPartitioner::FirstArgument, 16)
    );
    assert!(c.topic("b").unwrap().hold_until_scheduled);
    assert!(!c.topic("a").unwrap().hold_until_scheduled);
    assert_eq!(
        vp("c"),
        VirtualPartitions::new(VirtualPartitioner::Header("tenant".into()), 4)
    );
    let e = WorkerConfig::from_toml_str(
        "bootstrap_servers='x'\n[topics.t.virtual_partitions]\npartitioner = 'offset'\n",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("unknown partitioner \"offset\""),
        "{e}"
    );
}

#[test]
fn virtual_partitions_with_a_dlq_need_a_retry() {
    let e = base()
        .topic(
            TopicConfig::new("t")
                .virtual_partitions(VirtualPartitioner::Key, 4)
                .dead_letter_queue("t_dlq", 0),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::VirtualPartitionsNeedRetries { topic } if topic == "t"),
        "{e}"
    );
    assert!(e.to_string().contains("max_retries >= 1"), "{e}");
    let e = WorkerConfig::from_toml_str(
        "bootstrap_servers='x'\n[topics.t]\ndead_letter_queue = { topic = 'd', max_retries = 0 }\n\
         virtual_partitions = { max_partitions = 2 }\n",
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::VirtualPartitionsNeedRetries { .. }
    ));
    base()
        .topic(
            TopicConfig::new("t")
                .virtual_partitions(VirtualPartitioner::Key, 4)
                .dead_letter_queue("t_dlq", 1),
        )
        .build()
        .expect("one retry is enough");
    let e = base()
        .topic(TopicConfig::new("t").virtual_partitions(VirtualPartitioner::Key, 0))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::Zero(_)));
}

#[test]
fn producer_gets_connection_properties_only() {
    let c = base()
        .topic(TopicConfig::new("t"))
        .kafka("security.protocol", "ssl")
        .kafka("fetch.wait.max.ms", "5")
        .producer_kafka("linger.ms", "0")
        .build()
        .unwrap();
    let p = c.producer_config();
    assert_eq!(p.get("security.protocol"), Some("ssl"));
    assert_eq!(p.get("fetch.wait.max.ms"), None);
    assert_eq!(p.get("linger.ms"), Some("0"));
}

#[test]
fn revoke_wait_is_bounded_by_max_poll_interval() {
    let c = base()
        .topic(TopicConfig::new("t"))
        .kafka("max.poll.interval.ms", "10000")
        .build()
        .unwrap();
    assert_eq!(c.effective_revoke_timeout(), Duration::from_secs(5));
}

#[test]
fn the_worker_commits_itself_and_holds_before_the_session_is_at_risk() {
    let c = base().topic(TopicConfig::new("t")).build().unwrap();
    assert_eq!(c.consumer_config().get("enable.auto.commit"), Some("false"));
    assert_eq!(c.effective_commit_stall_timeout(), Duration::from_secs(1));
    let c = base()
        .topic(TopicConfig::new("t"))
        .commit_stall_timeout(Duration::from_secs(30))
        .kafka("session.timeout.ms", "10000")
        .build()
        .unwrap();
    assert_eq!(c.effective_commit_stall_timeout(), Duration::from_secs(5));
    let e = base()
        .topic(TopicConfig::new("t"))
        .commit_interval(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("commit_interval_ms"), "{e}");
}

#[test]
fn the_documented_example_parses() {
    let c = WorkerConfig::from_toml_str(DOC_EXAMPLE).unwrap();
    assert_eq!(c.bootstrap_servers, "127.0.0.1:9092");
    assert_eq!(c.revoke_timeout, Duration::from_secs(10));
    assert_eq!(c.commit_interval, Duration::from_millis(100));
    assert_eq!(c.commit_stall_timeout, Duration::from_secs(1));
    assert_eq!(
        c.producer_kafka.get("linger.ms").map(String::as_str),
        Some("5")
    );
    assert_eq!(
        c.topic("default").unwrap().bad_messages.unknown_job_class,
        BadMessagePolicy::Forward("ruby_jobs".into())
    );
    assert_eq!(
        c.topic("events").unwrap().virtual_partitions,
        Some(VirtualPartitions::new(VirtualPartitioner::Key, 8))
    );
}

const DOC_EXAMPLE: &str = r#"
# config.group_id / config.client_id / config.concurrency ...
group_id = "app"
client_id = "karafka"
concurrency = 5
max_messages = 100
shutdown_timeout_ms = 60000
revoke_timeout_ms = 10000  # no Karafka equivalent: see WorkerConfig::revoke_timeout
commit_interval_ms = 100   # Karafka: librdkafka's auto-commit, every 5000 ms
commit_stall_timeout_ms = 1000  # new jobs wait while commits fail this long
# bootstrap_servers = "..." # else kafka."bootstrap.servers", else $KAFKA_BOOTSTRAP_SERVERS

[pause]                    # config.pause.*
timeout_ms = 1000
max_timeout_ms = 30000
with_exponential_backoff = true

[kafka]                    # config.kafka = { ... }: any librdkafka consumer property
"bootstrap.servers" = "127.0.0.1:9092"

[producer]                 # librdkafka properties of the dead-letter / forward producer
"linger.ms" = 5

[topics.default]           # active_job_topic :default do ... end
dead_letter_queue = { topic = "default_dlq", max_retries = 3 }
tombstone = "dead_letter"                     # retry (default) | dead_letter
undecodable = "retry"
unknown_job_class = { forward = "ruby_jobs" } # or retry | dead_letter
hold_until_scheduled = false                  # true: wait for each job's scheduled_at

[topics.events.virtual_partitions]  # virtual_partitions(partitioner:, max_partitions:)
partitioner = "key"  # message key (default) | "first_argument" | { header = "tenant_id" }
max_partitions = 8   # default: concurrency
"#;

/// Each librdkafka setting that would contradict the offset semantics is refused at start-up
/// with a message naming the key and what to do instead.
#[test]
fn settings_that_break_the_offset_semantics_are_refused() {
    let refused = |key: &str, value: &str| {
        let e = base()
            .topic(TopicConfig::new("t"))
            .kafka(key, value)
            .build()
            .expect_err(&format!("{key}={value} must be refused"));
        assert!(matches!(e, ConfigError::RefusedProperty { .. }), "{e}");
        assert!(e.to_string().contains(key), "{e}");
        e.to_string()
    };
    let e = refused("enable.auto.commit", "false");
    assert!(
        e.contains("commits the offsets of finished jobs itself"),
        "{e}"
    );
    refused("enable.auto.commit", "true");
    refused("auto.offset.reset", "error");
    refused("auto.offset.reset", "first");
    refused("isolation.level", "dirty");
    let e = refused("partition.assignment.strategy", "range,cooperative-sticky");
    assert!(e.contains("cannot be mixed"), "{e}");
    refused("partition.assignment.strategy", "sticky");
    refused("group.protocol", "next");
    let e = base()
        .topic(TopicConfig::new("t"))
        .kafka("group.protocol", "consumer")
        .kafka("partition.assignment.strategy", "range")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("group.remote.assignor"), "{e}");
    let e = base()
        .topic(TopicConfig::new("t"))
        .kafka("group.protocol", "consumer")
        .kafka("session.timeout.ms", "10000")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("session.timeout.ms"), "{e}");
}

/// Settings that keep the semantics but change what runs are accepted, and named at start-up.
#[test]
fn settings_that_change_what_runs_are_honoured_and_named() {
    let c = base()
        .topic(TopicConfig::new("t"))
        .kafka("auto.offset.reset", "latest")
        .kafka("isolation.level", "read_uncommitted")
        .kafka("partition.assignment.strategy", "cooperative-sticky")
        .build()
        .unwrap();
    let notes = c.semantic_warnings().join("\n");
    assert!(notes.contains("never run"), "{notes}");
    assert!(notes.contains("aborted"), "{notes}");
    assert_eq!(
        c.consumer_config().get("partition.assignment.strategy"),
        Some("cooperative-sticky")
    );
    assert!(base()
        .topic(TopicConfig::new("t"))
        .build()
        .unwrap()
        .semantic_warnings()
        .is_empty());
}

/// With KIP-848 (`group.protocol = "consumer"`) no client-side strategy is sent: librdkafka
/// refuses one.
#[test]
fn the_consumer_protocol_sends_no_assignment_strategy() {
    let c = base()
        .topic(TopicConfig::new("t"))
        .kafka("group.protocol", "consumer")
        .build()
        .unwrap();
    let k = c.consumer_config();
    assert_eq!(k.get("group.protocol"), Some("consumer"));
    assert_eq!(k.get("partition.assignment.strategy"), None);
}

// Web UI reporting is off unless asked for, takes its settings from [web_ui], and refuses at
// start-up a karafka-web version whose report schema it does not know.
#[test]
fn web_ui_is_off_by_default_and_read_from_its_section() {
    let c = WorkerConfig::from_toml_str("bootstrap_servers = \"b:1\"\n[topics.default]\n").unwrap();
    assert!(!c.web_ui.enabled);
    assert!(!c.needs_producer());

    let c = WorkerConfig::from_toml_str(
        r#"bootstrap_servers = "b:1"
        [topics.default]
        [web_ui]
        enabled = true
        karafka_web_version = "0.11.6"
        reports_topic = "reports"
        interval_ms = 2500
        tags = ["rust", "eu"]"#,
    )
    .unwrap();
    let w = &c.web_ui;
    assert!(w.enabled && c.needs_producer());
    assert_eq!(w.schema(), Some(crate::web_ui::Schema::V1_6_0));
    assert_eq!(
        (w.reports_topic.as_str(), w.errors_topic.as_str()),
        ("reports", "karafka_errors")
    );
    assert_eq!((w.interval, w.tags.len()), (Duration::from_millis(2500), 2));
}

#[test]
fn web_ui_refuses_an_unknown_or_missing_karafka_web_version() {
    for version in [Some("0.10.9"), Some("1.1.0"), Some("latest"), None] {
        let mut web = WebUiConfig::for_karafka_web("0.11.2");
        web.karafka_web_version = version.map(str::to_owned);
        let err = base()
            .topic(TopicConfig::new("default"))
            .web_ui(web)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKarafkaWebVersion { .. }),
            "{version:?}: {err}"
        );
    }
    let mut web = WebUiConfig::for_karafka_web("1.0.2");
    web.interval = Duration::ZERO;
    let err = base()
        .topic(TopicConfig::new("d"))
        .web_ui(web)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Zero("web_ui.interval_ms")),
        "{err}"
    );
    // Disabled, the version is not looked at.
    let web = WebUiConfig {
        karafka_web_version: Some("9.9.9".into()),
        ..WebUiConfig::default()
    };
    assert!(base()
        .topic(TopicConfig::new("d"))
        .web_ui(web)
        .build()
        .is_ok());
    let err = WorkerConfig::from_toml_str(
        "bootstrap_servers = \"b:1\"\n[topics.d]\n[web_ui]\nenabled = true\nschema = \"1.4.1\"\n",
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Toml(_)), "{err}");
}

#[test]
fn toml_errors_say_what_was_expected_in_the_files_words() {
    let error = |toml: &str| {
        WorkerConfig::from_toml_str(&format!("bootstrap_servers='x'\n{toml}"))
            .unwrap_err()
            .to_string()
    };
    let e = error("[topics.t]\ndead_letter_queue = 'dlq'\n");
    assert!(
        e.contains("dead_letter_queue") && e.contains("{ topic = "),
        "{e}"
    );
    let e = error("[topics.t]\nvirtual_partitions = true\n");
    assert!(
        e.contains("virtual_partitions") && e.contains("a table"),
        "{e}"
    );
    let e = error("pause = 3\n");
    assert!(e.contains("pause") && e.contains("timeout_ms"), "{e}");
    let e = error("[topics.t]\nunknown_job_class = 3\n");
    assert!(e.contains("\"retry\", \"dead_letter\" or { forward"), "{e}");
    let e = error("[topics]\nt = 1\n");
    assert!(e.contains("[topics.default]"), "{e}");
    for e in [e, error("[topics.t]\ndead_letter_queue = 'dlq'\n")] {
        assert!(
            !e.contains("struct") && !e.contains("enum") && !e.contains("File"),
            "{e}"
        );
    }
}

#[test]
fn the_annotated_example_files_parse() {
    // Property: examples/worker.toml, which documents every key, and the example worker crate's
    // worker.toml are configurations the worker accepts, with the values their comments give.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let c = WorkerConfig::from_toml_file(root.join("examples/worker.toml")).unwrap();
    assert_eq!(c.group_id, "app");
    assert_eq!(c.concurrency, 5);
    assert_eq!(c.pause.max_timeout, Duration::from_secs(30));
    let default = c.topic("default").unwrap();
    assert_eq!(
        default.dead_letter_queue.as_ref().map(|d| d.max_retries),
        Some(3)
    );
    assert_eq!(
        default.bad_messages.unknown_job_class,
        BadMessagePolicy::Forward("ruby_jobs".into())
    );
    assert_eq!(
        c.topic("events").unwrap().virtual_partitions,
        Some(VirtualPartitions::new(VirtualPartitioner::Key, 8))
    );
    let declared = &c.declaratives;
    assert_eq!(declared.topics["default"].partitions, Some(6));
    assert_eq!(
        declared.topics["default"].config["retention.ms"],
        "604800000"
    );
    assert_eq!(declared.topics["default_dlq"].replication_factor, Some(3));
    assert_eq!(declared.scheduled_messages, ["schedules"]);
    let reports = c.topic("reports").unwrap();
    assert_eq!(reports.initial_offset, Some(InitialOffset::Latest));
    assert_eq!(default.max_messages, Some(50));
    assert_eq!(
        default.pause.map(|p| p.timeout),
        Some(Duration::from_millis(500))
    );
    assert_eq!(c.patterns[0].subscription(), "^tenant_.*_jobs$");
    assert_eq!(c.consumer_groups[0].group_id, "reporting");
    assert_eq!(c.consumer_groups[0].patterns[0].name(), "archives");
    let consumers: Vec<String> = c
        .subscription_groups()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(consumers, ["app_0", "app_1", "reporting_0"]);
    let crate_config =
        WorkerConfig::from_toml_file(root.join("examples/worker-crate/worker.toml")).unwrap();
    assert_eq!(crate_config.group_id, "shop");
    assert!(crate_config.topic("imports").is_some() && crate_config.topic("default").is_some());
}

#[test]
fn the_buffer_budget_sets_librdkafkas_read_ahead() {
    // Property: librdkafka's read-ahead bound is a quarter of the worker's budget (6 MiB by
    // default), the TOML key is in MiB, a `[kafka]` setting still wins, and a budget below
    // the minimum is refused at start-up.
    let c = base().topic(TopicConfig::new("default")).build().unwrap();
    assert_eq!(c.max_buffered_bytes, 24 * 1024 * 1024);
    assert_eq!(
        c.consumer_config().get("queued.max.messages.kbytes"),
        Some("6144")
    );
    let c = WorkerConfig::from_toml_str(
        "bootstrap_servers = \"127.0.0.1:1\"\nmax_buffered_mib = 64\n[topics.default]\n",
    )
    .unwrap();
    assert_eq!(c.max_buffered_bytes, 64 * 1024 * 1024);
    assert_eq!(
        c.consumer_config().get("queued.max.messages.kbytes"),
        Some("16384")
    );
    assert_eq!(
        consumer_setting("queued.max.messages.kbytes", Some("1024")).as_deref(),
        Some("1024")
    );
    let small = base()
        .topic(TopicConfig::new("default"))
        .max_buffered_bytes(1024 * 1024)
        .build();
    assert!(
        matches!(small, Err(ConfigError::BufferBudgetTooSmall { .. })),
        "{small:?}"
    );
}

#[test]
fn a_full_read_ahead_is_looked_at_again_after_two_milliseconds() {
    // Property: librdkafka looks again at a full read-ahead queue after 2 ms (its default,
    // 1 000 ms, idles the fetcher with a backlog), and a `[kafka]` setting still wins.
    assert_eq!(
        consumer_setting("fetch.queue.backoff.ms", None).as_deref(),
        Some("2")
    );
    assert_eq!(
        consumer_setting("fetch.queue.backoff.ms", Some("10")).as_deref(),
        Some("10")
    );
}

/// The librdkafka setting `key` of a one-topic worker, with `key` set to `kafka_value` in its
/// `[kafka]` settings when given.
fn consumer_setting(key: &str, kafka_value: Option<&str>) -> Option<String> {
    let mut builder = base().topic(TopicConfig::new("default"));
    if let Some(value) = kafka_value {
        builder = builder.kafka(key, value);
    }
    let config = builder.build().unwrap();
    config.consumer_config().get(key).map(str::to_owned)
}
