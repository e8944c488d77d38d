//! Consumer groups, subscription groups, patterns and per-topic overrides.

use super::*;

fn base() -> WorkerConfigBuilder {
    WorkerConfig::builder().bootstrap_servers("127.0.0.1:1")
}

fn parse(toml: &str) -> Result<WorkerConfig, ConfigError> {
    WorkerConfig::from_toml_str(&format!("bootstrap_servers = '127.0.0.1:1'\n{toml}"))
}

fn error(toml: &str) -> String {
    parse(toml).unwrap_err().to_string()
}

#[test]
fn consumer_group_blocks_are_groups_of_their_own() {
    // Property: [consumer_groups.<id>] tables become groups beside the default one, walked in
    // order by routes(), each with its own consumer and group.id.
    let c = parse(
        r#"
        group_id = "app"
        [topics.default]
        [consumer_groups.reports.topics.exports]
        dead_letter_queue = { topic = "exports_dlq", max_retries = 1 }
        [consumer_groups.reports.patterns.archives]
        regex = "archive_.*"
        "#,
    )
    .unwrap();
    let routes = c.routes();
    let walked: Vec<(&str, Vec<&str>, Vec<&str>)> = routes
        .iter()
        .map(|g| {
            (
                g.group_id,
                g.topics.iter().map(|t| t.name.as_str()).collect(),
                g.patterns.iter().map(TopicPattern::name).collect(),
            )
        })
        .collect();
    assert_eq!(
        walked,
        [
            ("app", vec!["default"], vec![]),
            ("reports", vec!["exports"], vec!["archives"])
        ]
    );
    let sgs = c.subscription_groups();
    assert_eq!(sgs.len(), 2);
    assert_eq!(sgs[1].config.group_id, "reports");
    assert_eq!(sgs[1].subscriptions(), ["exports", "^archive_.*"]);
    assert_eq!(
        sgs[1].config.consumer_config().get("group.id"),
        Some("reports")
    );
    assert!(c.needs_producer());
    // A configuration with groups only (no default topics) runs just those.
    let only = parse("[consumer_groups.reports.topics.exports]\n").unwrap();
    assert_eq!(only.subscription_groups().len(), 1);
    assert_eq!(only.subscription_groups()[0].name, "reports_0");
}

#[test]
fn topics_with_their_own_kafka_properties_get_their_own_consumer() {
    // Property: topics of one group share a consumer unless their librdkafka properties
    // (kafka table, initial_offset) differ; max_messages and pause do not split them.
    let c = parse(
        r#"
        [kafka]
        "group.instance.id" = "w1"
        "fetch.wait.max.ms" = 20
        [topics.a]
        max_messages = 3
        pause = { timeout_ms = 10 }
        [topics.b]
        [topics.c]
        initial_offset = "latest"
        [topics.d]
        kafka = { "fetch.max.bytes" = 1048576 }
        "#,
    )
    .unwrap();
    let sgs = c.subscription_groups();
    let topics: Vec<Vec<&str>> = sgs
        .iter()
        .map(|g| g.config.topics.iter().map(|t| t.name.as_str()).collect())
        .collect();
    assert_eq!(topics, [vec!["a", "b"], vec!["c"], vec!["d"]]);
    let k: Vec<_> = sgs.iter().map(|g| g.config.consumer_config()).collect();
    assert_eq!(k[0].get("auto.offset.reset"), Some("earliest"));
    assert_eq!(k[1].get("auto.offset.reset"), Some("latest"));
    assert_eq!(k[2].get("fetch.max.bytes"), Some("1048576"));
    assert_eq!(k[2].get("fetch.wait.max.ms"), Some("20"));
    // Each member of the group needs its own static id; the first keeps the configured one.
    let ids: Vec<_> = k.iter().map(|k| k.get("group.instance.id")).collect();
    assert_eq!(ids, [Some("w1"), Some("w1_1"), Some("w1_2")]);
    let a = c.topic("a").unwrap();
    assert_eq!(c.max_messages_for(a), 3);
    assert_eq!(c.max_messages_for(c.topic("b").unwrap()), 100);
    let pause = c.pause_for(a);
    assert_eq!(pause.timeout, Duration::from_millis(10));
    assert_eq!(pause.max_timeout, Duration::from_millis(30_000));
    // Every consumer sees every explicit topic of its group (explicit wins over a pattern).
    assert_eq!(sgs[2].group_topics.len(), 4);
}

#[test]
fn patterns_subscribe_by_regex_and_lend_their_settings() {
    // Property: a pattern subscribes with "^regex" and a matched topic runs with the pattern's
    // settings under its own name.
    let c = base()
        .pattern(TopicPattern::new(
            "tenant_.*_jobs$",
            TopicConfig::new("tenants")
                .dead_letter_queue("tenant_dlq", 2)
                .max_messages(7),
        ))
        .build()
        .unwrap();
    let p = &c.patterns[0];
    assert_eq!(p.subscription(), "^tenant_.*_jobs$");
    let re = p.compile().unwrap();
    assert!(re.is_match("tenant_a_jobs"));
    assert!(!re.is_match("x_tenant_a_jobs"));
    let t = p.topic_for("tenant_a_jobs");
    assert_eq!(t.name, "tenant_a_jobs");
    assert_eq!(t.dead_letter_queue.unwrap().max_retries, 2);
    assert_eq!(t.max_messages, Some(7));
}

#[test]
fn routing_mistakes_are_refused_with_the_key_and_what_was_expected() {
    // Property: every routing mistake is a start-up error naming the key and the fix.
    let e = error("group_id = 'app'\n[topics.a]\n[consumer_groups.app.topics.b]\n");
    assert!(
        e.contains("consumer group \"app\" is configured twice"),
        "{e}"
    );
    let e = error("[topics.a]\n[consumer_groups.other.topics.a]\n");
    assert!(
        e.contains("topic \"a\" is routed in consumer groups \"app\" and \"other\""),
        "{e}"
    );
    let e = error("[patterns.p]\nregex = 'tenant_(['\n");
    assert!(
        e.contains("patterns.p.regex = \"tenant_([\" is not a valid regular expression"),
        "{e}"
    );
    let e = error("[patterns.p]\nregex = '(?i)tenant_'\n");
    assert!(e.contains("reads no group flags or names"), "{e}");
    assert!(parse("[patterns.p]\nregex = '(?:a|b)_jobs$'\n").is_ok());
    let e = error("[patterns.p]\nregex = '(?!it-).*'\n");
    assert!(e.contains("look-around"), "{e}");
    let e = error("[patterns.p]\nregex = ''\n");
    assert!(e.contains("patterns.p.regex must not be empty"), "{e}");
    let e = error("[patterns.p]\ndead_letter_queue = { topic = 'dlq' }\n");
    assert!(e.contains("topics.p.regex: a pattern needs regex"), "{e}");
    let e = error("[topics.t]\nregex = 'x'\n");
    assert!(
        e.contains("topics.t.regex: only a pattern has a regex"),
        "{e}"
    );
    let e = error("[patterns.p]\nregex = 'jobs_'\ndead_letter_queue = { topic = 'jobs_dlq' }\n");
    assert!(
        e.contains("\"jobs_dlq\" (dead_letter_queue.topic of \"p\") matches pattern \"p\""),
        "{e}"
    );
    let e = error("[topics.jobs_a]\n[consumer_groups.g.patterns.p]\nregex = 'jobs_'\n");
    assert!(
        e.contains("topic \"jobs_a\" of consumer group \"app\" matches pattern \"p\" of consumer group \"g\""),
        "{e}"
    );
    let e = error("[topics.t]\nmax_messages = 0\n");
    assert!(
        e.contains("topics.t.max_messages: must be greater than 0"),
        "{e}"
    );
    let e = error("[topics.t]\npause = { timeout_ms = 100, max_timeout_ms = 10 }\n");
    assert!(
        e.contains("topics.t.pause.max_timeout_ms: 10 ms is below"),
        "{e}"
    );
    let e = error("[topics.t]\ninitial_offset = 'newest'\n");
    assert!(e.contains("expected `earliest` or `latest`"), "{e}");
    let e = error("[topics.t]\nkafka = { 'bootstrap.servers' = 'x:1' }\n");
    assert!(
        e.contains("topics.t.kafka.\"bootstrap.servers\": connection and group membership"),
        "{e}"
    );
    let e = error("[topics.t]\nkafka = { 'enable.auto.commit' = true }\n");
    assert!(
        e.contains("topics.t.kafka.\"enable.auto.commit\" = \"true\" is refused"),
        "{e}"
    );
    let e = error("[topics.t]\nkafka = { 'fetch.max.bytes' = [1] }\n");
    assert!(
        e.contains("topics.t.kafka.\"fetch.max.bytes\": value must be"),
        "{e}"
    );
    let e = error("[consumer_groups.g]\ntopic = 'x'\n");
    assert!(
        e.contains("unknown field `topic`, expected `topics` or `patterns`"),
        "{e}"
    );
    let e = error("[consumer_groups]\ng = 1\n");
    assert!(e.contains("[consumer_groups.reports.topics.<name>]"), "{e}");
    let e = error(
        "[web_ui]\nenabled = true\nkarafka_web_version = '0.11.2'\n[topics.a]\n\
         [consumer_groups.g.topics.b]\n",
    );
    assert!(
        e.contains("web_ui: reporting covers one consumer, and this configuration runs 2"),
        "{e}"
    );
}

#[test]
fn an_explicit_topic_matching_its_groups_pattern_is_allowed() {
    // Property: explicit wins within a group, so naming a topic the group's pattern also
    // matches is not an error, and the topic keeps its own settings.
    let c = parse(
        "[topics.jobs_vip]\nmax_messages = 1\n[patterns.p]\nregex = 'jobs_'\nmax_messages = 9\n",
    )
    .unwrap();
    assert_eq!(c.topic("jobs_vip").unwrap().max_messages, Some(1));
    assert_eq!(
        c.subscription_groups()[0].subscriptions(),
        ["jobs_vip", "^jobs_"]
    );
}
