//! `topics plan` / `topics migrate` on the real broker: creating the topics a configuration
//! names, then leaving them alone; raising partitions but never lowering them; aligning topic
//! configs without losing the topic's other settings; typed errors for refusals and for a broker
//! that does not answer; the command line's output and exit codes.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use activejob_karafka::consumer::WorkerConfig;
use activejob_karafka::topics::{PlanNote, RefusalReason, TopicChange, Topics, TopicsError};
use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use support::{bootstrap, unique};

fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client")
}

/// Partition count of `topic` as the broker reports it (0 when missing). It asks for every
/// topic: a request naming a missing topic would have the broker auto-create it.
fn partitions(topic: &str) -> usize {
    admin()
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata")
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len())
}

/// The topic's config values.
async fn topic_configs(topic: &str) -> BTreeMap<String, String> {
    let described = admin()
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe_configs");
    let resource = described.into_iter().next().unwrap().expect("described");
    resource
        .entries
        .into_iter()
        .filter_map(|e| e.value.map(|v| (e.name, v)))
        .collect()
}

fn config(text: &str) -> WorkerConfig {
    let text = format!("bootstrap_servers = \"{}\"\n{text}", bootstrap());
    WorkerConfig::from_toml_str(&text).expect("valid configuration")
}

fn creates(changes: &[TopicChange]) -> Vec<&str> {
    let mut names: Vec<&str> = changes
        .iter()
        .filter(|c| matches!(c, TopicChange::Create { .. }))
        .map(|c| c.topic())
        .collect();
    names.sort();
    names
}

// A fresh cluster: the job topic, its DLQ and the Scheduled Messages topics are created with
// the declared partitions and configs (Karafka Pro's compaction for the proxy topics), a topic
// pattern is noted and skipped; a second run finds nothing to do.
#[tokio::test]
async fn migrate_creates_then_changes_nothing() {
    let jobs = unique("tm-jobs");
    let dlq = format!("{jobs}_dlq");
    let schedules = format!("{jobs}_sched");
    let states = format!("{schedules}_states");
    let c = config(&format!(
        r#"
[topics.{jobs}]
dead_letter_queue = {{ topic = "{dlq}" }}
[topics.{jobs}.config]
partitions = 3
replication_factor = 1
"retention.ms" = 3600000
[declaratives.{dlq}]
partitions = 2
[scheduled_messages]
topics = ["{schedules}"]
[patterns.tenants]
regex = "{jobs}_tenant_.*$"
"#
    ));
    let topics = Topics::new(&c);

    let plan = topics.plan().await.expect("plan");
    let mut expected = vec![
        jobs.as_str(),
        dlq.as_str(),
        schedules.as_str(),
        states.as_str(),
    ];
    expected.sort();
    assert_eq!(creates(&plan.changes), expected);
    assert_eq!(partitions(&jobs), 0, "plan must not create anything");
    assert_eq!(
        plan.notes,
        [PlanNote::Pattern {
            pattern: format!("{jobs}_tenant_.*$")
        }]
    );

    let done = topics.migrate().await.expect("migrate");
    assert_eq!(creates(&done.applied), expected);
    assert_eq!(partitions(&jobs), 3);
    assert_eq!(partitions(&dlq), 2);
    assert_eq!(partitions(&schedules), 5);
    assert_eq!(partitions(&states), 5);
    assert_eq!(topic_configs(&jobs).await["retention.ms"], "3600000");
    let proxy = topic_configs(&schedules).await;
    assert_eq!(proxy["cleanup.policy"], "compact");
    assert_eq!(proxy["segment.ms"], "3600000");
    assert_eq!(topic_configs(&states).await["cleanup.policy"], "compact");

    assert!(topics.plan().await.expect("plan again").is_empty());
    let again = topics.migrate().await.expect("migrate again");
    assert!(again.is_empty(), "{:?}", again.applied);
    assert!(again.render().contains("No changes needed"));
}

// Raising the declared partitions adds partitions; lowering them changes nothing and says so.
#[tokio::test]
async fn partitions_grow_but_never_shrink() {
    let jobs = unique("tm-grow");
    let declared = |n: i32| config(&format!("[topics.{jobs}.config]\npartitions = {n}\n"));
    Topics::new(&declared(2)).migrate().await.expect("create");
    assert_eq!(partitions(&jobs), 2);

    let plan = Topics::new(&declared(4)).plan().await.expect("plan");
    assert_eq!(
        plan.changes,
        [TopicChange::Repartition {
            name: jobs.clone(),
            from: 2,
            to: 4
        }]
    );
    Topics::new(&declared(4)).migrate().await.expect("grow");
    assert_eq!(partitions(&jobs), 4);

    let shrink = Topics::new(&declared(1))
        .migrate()
        .await
        .expect("shrink is no error");
    assert!(shrink.is_empty());
    assert!(shrink
        .render()
        .ends_with("No changes to apply; the differences above are left alone.\n"));
    assert_eq!(
        shrink.plan.notes,
        [PlanNote::ShrinkRefused {
            name: jobs.clone(),
            existing: 4,
            declared: 1
        }]
    );
    assert_eq!(partitions(&jobs), 4);
}

// A changed declared config is applied; a setting made on the topic outside the declaration
// survives (Kafka's AlterConfigs would reset it if it were not sent again).
#[tokio::test]
async fn configs_are_aligned_and_other_settings_kept() {
    let jobs = unique("tm-conf");
    let retention = |ms: u64| {
        config(&format!(
            "[topics.{jobs}.config]\npartitions = 1\n\"retention.ms\" = {ms}\n"
        ))
    };
    Topics::new(&retention(3_600_000))
        .migrate()
        .await
        .expect("create");
    let by_hand = AlterConfig::new(ResourceSpecifier::Topic(&jobs))
        .set("retention.ms", "3600000")
        .set("max.message.bytes", "200000");
    admin()
        .alter_configs([&by_hand], &AdminOptions::new())
        .await
        .expect("alter")
        .into_iter()
        .for_each(|r| {
            r.expect("altered");
        });

    let plan = Topics::new(&retention(7_200_000))
        .plan()
        .await
        .expect("plan");
    let text = plan.render();
    assert!(
        text.contains("~ retention.ms: \"3600000\" => \"7200000\""),
        "{text}"
    );
    Topics::new(&retention(7_200_000))
        .migrate()
        .await
        .expect("align");
    let now = topic_configs(&jobs).await;
    assert_eq!(now["retention.ms"], "7200000");
    assert_eq!(now["max.message.bytes"], "200000");
    assert!(Topics::new(&retention(7_200_000))
        .plan()
        .await
        .unwrap()
        .is_empty());
}

// More replicas than brokers: a typed refusal naming the topic; other topics of the same run
// are still created. No broker at all: a typed "unreachable" error.
#[tokio::test]
async fn refusals_and_unreachable_brokers_are_typed_errors() {
    let bad = unique("tm-rf");
    let good = unique("tm-ok");
    let c = config(&format!(
        "[topics.{bad}.config]\nreplication_factor = 3\n[topics.{good}]\n"
    ));
    match Topics::new(&c).migrate().await {
        Err(TopicsError::Refused { refusals, applied }) => {
            assert_eq!(refusals.len(), 1);
            assert_eq!(refusals[0].topic, bad);
            assert_eq!(refusals[0].reason, RefusalReason::InvalidReplicationFactor);
            assert_eq!(creates(&applied), [good.as_str()]);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(partitions(&bad), 0);

    let nowhere = WorkerConfig::from_toml_str(&format!(
        "bootstrap_servers = \"127.0.0.1:1\"\n[topics.{good}]\n"
    ))
    .unwrap();
    let err = Topics::new(&nowhere)
        .timeout(Duration::from_secs(2))
        .plan()
        .await
        .unwrap_err();
    assert!(matches!(err, TopicsError::Unreachable { .. }), "{err:?}");
}

// A user without the ACLs to create topics: a typed "not authorized" refusal naming the topic,
// not a crash or a silent success.
#[tokio::test]
async fn a_refused_authorization_is_a_typed_error() {
    let broker = support::secure::SecureBroker::start_with_acls();
    let topic = unique("tm-acl");
    let mut text = format!("bootstrap_servers = \"{}\"\n[kafka]\n", broker.sasl_ssl);
    for (k, v) in broker.sasl_settings(support::secure::SCRAM_PASSWORD) {
        text.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    text.push_str(&format!("[topics.{topic}]\n"));
    let c = WorkerConfig::from_toml_str(&text).expect("valid configuration");
    match Topics::new(&c).migrate().await {
        Err(TopicsError::Refused { refusals, applied }) => {
            assert!(applied.is_empty());
            assert_eq!(refusals.len(), 1, "{refusals:?}");
            assert_eq!(refusals[0].topic, topic);
            assert_eq!(refusals[0].reason, RefusalReason::NotAuthorized);
            assert!(refusals[0].to_string().contains("not authorized"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_activejob-karafka"))
        .args(args)
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap())
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// The command line: plan on a fresh cluster lists the creations (exit 0, or 2 with
// --detailed-exitcode), migrate creates, plan then says there is nothing to do; a refused
// change exits 1 and says why.
#[tokio::test]
async fn cli_plan_and_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = unique("tm-cli");
    let file = dir.path().join("worker.toml");
    std::fs::write(
        &file,
        format!("[topics.{jobs}.config]\npartitions = 2\n\"retention.ms\" = 3600000\n"),
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let (code, out, _) = cli(&["topics", "plan", "--config", file]);
    assert_eq!(code, 0);
    assert!(out.contains("Topics to create:"), "{out}");
    assert!(
        out.contains(&format!("+ {jobs} (jobs):\n    + partitions: 2")),
        "{out}"
    );
    let (code, _, _) = cli(&["topics", "plan", "--config", file, "--detailed-exitcode"]);
    assert_eq!(code, 2);

    let (code, out, err) = cli(&["topics", "migrate", "--config", file]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Created topic {jobs} (2 partitions")),
        "{out}"
    );

    let (code, out, _) = cli(&["topics", "plan", "--config", file, "--detailed-exitcode"]);
    assert_eq!(code, 0);
    assert!(out.contains("No changes needed"), "{out}");

    let bad = dir.path().join("bad.toml");
    let bad_topic = unique("tm-cli-rf");
    std::fs::write(
        &bad,
        format!("[topics.{bad_topic}.config]\nreplication_factor = 3\n"),
    )
    .unwrap();
    let (code, _, err) = cli(&["topics", "migrate", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid replication factor"), "{err}");
    assert!(err.contains(&bad_topic), "{err}");
}
