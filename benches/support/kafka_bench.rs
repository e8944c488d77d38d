//! Set-up shared by the benches that run against a real broker (`make bench-e2e`,
//! `make bench-latency`): their environment knobs, the machine's load for the record, and a
//! fresh topic per run.

use std::collections::BTreeMap;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// The number in environment variable `name`, or `default` when it is unset or not a number.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The brokers to bench against: `KAFKA_BOOTSTRAP_SERVERS`, which `make <target>` sets.
pub fn bootstrap_servers(target: &str) -> anyhow::Result<String> {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .map_err(|_| anyhow::anyhow!("set KAFKA_BOOTSTRAP_SERVERS (make {target} does)"))
}

/// The 1, 5 and 15 minute load averages (Linux) and the core count, for the record: figures
/// taken on a busy machine are not comparable.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{} on {cores} cores", load.join(" "))
}

/// A topic name no earlier run used: `<prefix>-<12 hex digits>`.
pub fn fresh_topic_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Creates `topic` with `partitions` partitions (replication 1) and the topic configs in
/// `configs` (e.g. `message.timestamp.type`).
pub async fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    configs: &BTreeMap<&str, &str>,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (key, value) in configs {
        new_topic = new_topic.set(key, value);
    }
    for r in admin
        .create_topics([&new_topic], &AdminOptions::new())
        .await?
    {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}
