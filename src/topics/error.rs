//! What can go wrong while planning or migrating topics.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use thiserror::Error;

use super::plan::TopicChange;

/// A topics command that could not complete.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TopicsError {
    /// The admin client could not be built from the configuration's `kafka` properties.
    #[error("cannot create the Kafka admin client: {0}")]
    Client(#[source] KafkaError),
    /// No broker answered the metadata request.
    #[error(
        "Kafka brokers {brokers} unreachable: no metadata within {timeout:?} ({source}); check \
         bootstrap.servers and the security settings in [kafka]"
    )]
    Unreachable {
        /// The brokers tried.
        brokers: String,
        /// How long it waited.
        timeout: Duration,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// A request as a whole failed (timed out, or the client failed).
    #[error("Kafka admin request {operation} failed: {source}")]
    Request {
        /// Which request.
        operation: &'static str,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The broker refused some changes; `applied` lists those it made before or beside them.
    #[error("{}", refused_message(refusals, applied))]
    Refused {
        /// Each refused change.
        refusals: Vec<Refusal>,
        /// The changes that were applied.
        applied: Vec<TopicChange>,
    },
}

fn refused_message(refusals: &[Refusal], applied: &[TopicChange]) -> String {
    let lines: Vec<String> = refusals.iter().map(Refusal::to_string).collect();
    format!(
        "the broker refused {} change{} ({} applied): {}",
        refusals.len(),
        if refusals.len() == 1 { "" } else { "s" },
        applied.len(),
        lines.join("; ")
    )
}

/// One change the broker refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation} {topic}: {reason} ({code:?})")]
pub struct Refusal {
    /// The topic.
    pub topic: String,
    /// What was asked: `create topic`, `add partitions to`, `describe the configuration of`,
    /// `alter the configuration of`.
    pub operation: &'static str,
    /// The broker's error code.
    pub code: RDKafkaErrorCode,
    /// The code, classified.
    pub reason: RefusalReason,
}

impl Refusal {
    pub(crate) fn new(topic: String, operation: &'static str, code: RDKafkaErrorCode) -> Self {
        Refusal {
            topic,
            operation,
            code,
            reason: RefusalReason::of(code),
        }
    }
}

/// Why the broker refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The client's principal lacks the ACL (`TopicAuthorizationFailed`,
    /// `ClusterAuthorizationFailed`).
    NotAuthorized,
    /// More replicas than brokers, or a replication factor the broker does not allow.
    InvalidReplicationFactor,
    /// A topic config the broker does not know, or a value it does not accept.
    InvalidConfig,
    /// A partition count the broker does not accept.
    InvalidPartitions,
    /// A broker-side policy (`create.topic.policy.class.name`) rejected it.
    PolicyViolation,
    /// Any other error code.
    Other,
}

impl RefusalReason {
    fn of(code: RDKafkaErrorCode) -> Self {
        match code {
            RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed => RefusalReason::NotAuthorized,
            RDKafkaErrorCode::InvalidReplicationFactor
            | RDKafkaErrorCode::InvalidReplicaAssignment => RefusalReason::InvalidReplicationFactor,
            RDKafkaErrorCode::InvalidConfig => RefusalReason::InvalidConfig,
            RDKafkaErrorCode::InvalidPartitions => RefusalReason::InvalidPartitions,
            RDKafkaErrorCode::PolicyViolation => RefusalReason::PolicyViolation,
            _ => RefusalReason::Other,
        }
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefusalReason::NotAuthorized => {
                "not authorized: the principal needs the Create / Alter / AlterConfigs ACLs on \
                 the topic (or on the cluster)"
            }
            RefusalReason::InvalidReplicationFactor => {
                "invalid replication factor: it cannot exceed the number of brokers"
            }
            RefusalReason::InvalidConfig => "a topic config name or value the broker refuses",
            RefusalReason::InvalidPartitions => "a partition count the broker refuses",
            RefusalReason::PolicyViolation => "refused by the broker's topic policy",
            RefusalReason::Other => "refused by the broker",
        })
    }
}
