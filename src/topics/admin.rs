//! The broker side: reading what exists (metadata, topic configs) and applying a plan
//! (CreateTopics, CreatePartitions, AlterConfigs) through librdkafka's admin API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigResource, ConfigSource, NewPartitions, NewTopic,
    OwnedResourceSpecifier, ResourceSpecifier, TopicReplication,
};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use super::declared::DeclaredTopic;
use super::error::{Refusal, TopicsError};
use super::plan::{ExistingTopic, Plan, TopicChange};
use crate::consumer::WorkerConfig;
use crate::kafka::client;
use crate::kafka::log::LogContext;

/// An admin client on the configuration's brokers, with its connection settings.
pub(crate) struct Admin {
    client: Arc<AdminClient<LogContext>>,
    brokers: String,
    timeout: Duration,
}

impl Admin {
    pub(crate) fn new(config: &WorkerConfig, timeout: Duration) -> Result<Self, TopicsError> {
        let brokers = config.bootstrap_servers.clone();
        let mut c = client::base_config(&brokers, Some(&config.client_id));
        client::copy_connection(&mut c, &config.kafka, &brokers);
        let client = AdminClient::from_config_and_context(&c, LogContext("topics admin"))
            .map_err(TopicsError::Client)?;
        Ok(Admin {
            client: Arc::new(client),
            brokers,
            timeout,
        })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// The cluster's metadata (every topic the client may see). It blocks in librdkafka, so it
    /// runs off the async threads.
    async fn metadata(&self) -> Result<Metadata, TopicsError> {
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        let fetched =
            tokio::task::spawn_blocking(move || client.inner().fetch_metadata(None, timeout))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        fetched.map_err(|source| TopicsError::Unreachable {
            brokers: self.brokers.clone(),
            timeout,
            source,
        })
    }

    /// The declared topics that exist, with partitions, replication factor and, for those
    /// with declared configs, their current configs.
    pub(crate) async fn existing(
        &self,
        declared: &[DeclaredTopic],
    ) -> Result<BTreeMap<String, ExistingTopic>, TopicsError> {
        let metadata = self.metadata().await?;
        let mut existing = BTreeMap::new();
        for t in metadata.topics() {
            // A topic still being created shows its partitions with a transient error.
            if t.partitions().is_empty() {
                continue;
            }
            existing.insert(
                t.name().to_owned(),
                ExistingTopic {
                    partitions: t.partitions().len() as i32,
                    replication_factor: t.partitions()[0].replicas().len() as i32,
                    ..ExistingTopic::default()
                },
            );
        }
        let to_describe: Vec<&str> = declared
            .iter()
            .filter(|d| d.declaration.active && !d.declaration.config.is_empty())
            .map(|d| d.name.as_str())
            .filter(|name| existing.contains_key(*name))
            .collect();
        if to_describe.is_empty() {
            return Ok(existing);
        }
        let specifiers: Vec<ResourceSpecifier> = to_describe
            .iter()
            .map(|t| ResourceSpecifier::Topic(t))
            .collect();
        let described = self
            .client
            .describe_configs(&specifiers, &self.options())
            .await
            .map_err(|source| TopicsError::Request {
                operation: "DescribeConfigs",
                source,
            })?;
        let mut refusals = Vec::new();
        // Results carry no name when refused; librdkafka answers in the order asked.
        for (name, result) in to_describe.iter().zip(described) {
            match result {
                Ok(resource) => {
                    let described_name = match &resource.specifier {
                        OwnedResourceSpecifier::Topic(t) => t.as_str(),
                        _ => name,
                    };
                    if let Some(topic) = existing.get_mut(described_name) {
                        fill_configs(topic, &resource);
                    }
                }
                Err(code) => refusals.push(Refusal::new(
                    (*name).to_owned(),
                    "describe the configuration of",
                    code,
                )),
            }
        }
        if refusals.is_empty() {
            Ok(existing)
        } else {
            Err(TopicsError::Refused {
                refusals,
                applied: Vec::new(),
            })
        }
    }

    /// Applies `plan`: creations first, new partitions (then waits until the new topics and
    /// partitions show in the metadata), then configs. A refused change does not stop the others; the refusals
    /// come back together.
    pub(crate) async fn apply(&self, plan: &Plan) -> Result<Vec<TopicChange>, TopicsError> {
        let mut applied = Vec::new();
        let mut refusals = Vec::new();
        let mut grown = self.create(plan, &mut applied, &mut refusals).await?;
        grown.extend(self.repartition(plan, &mut applied, &mut refusals).await?);
        if !grown.is_empty() {
            self.wait_for(&grown).await;
        }
        self.alter(plan, &mut applied, &mut refusals).await?;
        if refusals.is_empty() {
            Ok(applied)
        } else {
            Err(TopicsError::Refused { refusals, applied })
        }
    }

    async fn create(
        &self,
        plan: &Plan,
        applied: &mut Vec<TopicChange>,
        refusals: &mut Vec<Refusal>,
    ) -> Result<Vec<(String, Option<i32>)>, TopicsError> {
        let creates: Vec<&TopicChange> = plan
            .changes
            .iter()
            .filter(|c| matches!(c, TopicChange::Create { .. }))
            .collect();
        if creates.is_empty() {
            return Ok(Vec::new());
        }
        let new_topics: Vec<NewTopic> = creates
            .iter()
            .filter_map(|c| match c {
                TopicChange::Create {
                    name,
                    partitions,
                    replication_factor,
                    config,
                    ..
                } => {
                    // -1: the broker's num.partitions / default.replication.factor (KIP-464).
                    let mut t = NewTopic::new(
                        name,
                        partitions.unwrap_or(-1),
                        TopicReplication::Fixed(replication_factor.unwrap_or(-1)),
                    );
                    for (k, v) in config {
                        t = t.set(k, v);
                    }
                    Some(t)
                }
                _ => None,
            })
            .collect();
        let results = self
            .client
            .create_topics(&new_topics, &self.options())
            .await
            .map_err(|source| TopicsError::Request {
                operation: "CreateTopics",
                source,
            })?;
        let mut created = Vec::new();
        for result in results {
            match result {
                Ok(name) => {
                    let Some(change) = creates.iter().find(|c| c.topic() == name) else {
                        continue;
                    };
                    if let TopicChange::Create { partitions, .. } = change {
                        created.push((name, *partitions));
                    }
                    applied.push((*change).clone());
                }
                // Created by someone else since the plan was made: nothing left to do.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => refusals.push(Refusal::new(name, "create topic", code)),
            }
        }
        Ok(created)
    }

    /// Waits (up to the timeout) until every created or grown topic shows all its partitions in
    /// the metadata, so that the command's end means the topics can be used. Past the timeout it
    /// logs and goes on: the topics exist, the metadata is only slow to say so.
    async fn wait_for(&self, created: &[(String, Option<i32>)]) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let ready = match self.metadata().await {
                Ok(md) => created.iter().all(|(name, partitions)| {
                    md.topics().iter().any(|t| {
                        t.name() == name
                            && t.error().is_none()
                            && !t.partitions().is_empty()
                            && partitions.is_none_or(|n| t.partitions().len() == n as usize)
                    })
                }),
                Err(_) => false,
            };
            if ready {
                return;
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    "created topics not yet in the metadata after {:?}",
                    self.timeout
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn repartition(
        &self,
        plan: &Plan,
        applied: &mut Vec<TopicChange>,
        refusals: &mut Vec<Refusal>,
    ) -> Result<Vec<(String, Option<i32>)>, TopicsError> {
        let changes: Vec<(&TopicChange, NewPartitions)> = plan
            .changes
            .iter()
            .filter_map(|c| match c {
                TopicChange::Repartition { name, to, .. } => {
                    Some((c, NewPartitions::new(name, *to as usize)))
                }
                _ => None,
            })
            .collect();
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let requests: Vec<&NewPartitions> = changes.iter().map(|(_, p)| p).collect();
        let results = self
            .client
            .create_partitions(requests, &self.options())
            .await
            .map_err(|source| TopicsError::Request {
                operation: "CreatePartitions",
                source,
            })?;
        let mut grown = Vec::new();
        for result in results {
            match result {
                Ok(name) => {
                    for (change, request) in changes.iter().filter(|(c, _)| c.topic() == name) {
                        grown.push((name.clone(), Some(request.new_partition_count as i32)));
                        applied.push((*change).clone());
                    }
                }
                Err((name, code)) => refusals.push(Refusal::new(name, "add partitions to", code)),
            }
        }
        Ok(grown)
    }

    async fn alter(
        &self,
        plan: &Plan,
        applied: &mut Vec<TopicChange>,
        refusals: &mut Vec<Refusal>,
    ) -> Result<(), TopicsError> {
        let changes: Vec<&TopicChange> = plan
            .changes
            .iter()
            .filter(|c| matches!(c, TopicChange::AlterConfigs { .. }))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let requests: Vec<AlterConfig> = changes
            .iter()
            .map(|c| {
                let name = c.topic();
                let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
                for (k, v) in plan.alter_sets.get(name).into_iter().flatten() {
                    alter = alter.set(k, v);
                }
                alter
            })
            .collect();
        let results = self
            .client
            .alter_configs(&requests, &self.options())
            .await
            .map_err(|source| TopicsError::Request {
                operation: "AlterConfigs",
                source,
            })?;
        for result in results {
            match result {
                Ok(OwnedResourceSpecifier::Topic(name)) => applied.extend(
                    changes
                        .iter()
                        .filter(|c| c.topic() == name)
                        .map(|c| (*c).clone()),
                ),
                Ok(_) => {}
                Err((specifier, code)) => {
                    let name = match specifier {
                        OwnedResourceSpecifier::Topic(t) => t,
                        other => format!("{other:?}"),
                    };
                    refusals.push(Refusal::new(name, "alter the configuration of", code))
                }
            }
        }
        Ok(())
    }
}

/// Copies a described topic's config values, and separately those set on the topic itself.
fn fill_configs(topic: &mut ExistingTopic, resource: &ConfigResource) {
    for entry in &resource.entries {
        let Some(value) = &entry.value else { continue };
        topic.config.insert(entry.name.clone(), value.clone());
        if entry.source == ConfigSource::DynamicTopic {
            topic.overrides.insert(entry.name.clone(), value.clone());
        }
    }
}
