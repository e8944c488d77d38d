//! The consumer report and the error report, as karafka-web's consumer sampler writes them.
//!
//! Field names and types follow the contracts of the [`Schema`](super::Schema) in use; the
//! fields added by newer schemas are `Option`s, left out for the older ones. Times are epoch
//! seconds as `f64` (Ruby Floats), counts and offsets integers.

use std::collections::BTreeMap;

use serde::Serialize;

/// A consumer report (`type: "consumer"`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub schema_version: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub dispatched_at: f64,
    pub process: Process,
    pub versions: Versions,
    pub stats: Stats,
    pub consumer_groups: BTreeMap<String, ConsumerGroup>,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Process {
    pub id: String,
    pub started_at: f64,
    pub status: &'static str,
    pub execution_mode: &'static str,
    pub listeners: Listeners,
    pub workers: u64,
    /// KiB.
    pub memory_usage: u64,
    /// KiB.
    pub memory_total_usage: u64,
    /// KiB.
    pub memory_size: u64,
    pub cpus: u64,
    pub threads: u64,
    pub cpu_usage: [f64; 3],
    pub tags: Vec<String>,
    /// Bytes per second, over the last minute.
    pub bytes_received: u64,
    /// Bytes per second, over the last minute.
    pub bytes_sent: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Listeners {
    pub active: u64,
    pub standby: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Versions {
    pub ruby: String,
    pub karafka: String,
    pub karafka_core: String,
    pub karafka_web: String,
    pub waterdrop: String,
    pub rdkafka: String,
    pub librdkafka: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stats {
    pub busy: u64,
    pub enqueued: u64,
    pub waiting: u64,
    pub utilization: f64,
    pub total: Totals,
}

/// Counts since the previous report (the processing consumer adds them up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Totals {
    pub jobs: u64,
    pub batches: u64,
    pub messages: u64,
    pub errors: u64,
    pub retries: u64,
    pub dead: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConsumerGroup {
    pub id: String,
    pub subscription_groups: BTreeMap<String, SubscriptionGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SubscriptionGroup {
    pub id: String,
    /// `false`, or the `group.instance.id` (schema 1.6.0 and newer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<serde_json::Value>,
    pub state: GroupState,
    pub topics: BTreeMap<String, Topic>,
}

/// librdkafka's `cgrp` statistics, plus the poll age.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GroupState {
    pub state: String,
    pub join_state: String,
    pub stateage: i64,
    pub rebalance_age: i64,
    pub rebalance_cnt: i64,
    pub rebalance_reason: String,
    /// Milliseconds.
    pub poll_age: f64,
    /// `max.poll.interval.ms` (schema 1.7.0 and newer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Topic {
    pub name: String,
    /// Schema 1.5.0 and newer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions_cnt: Option<u64>,
    /// By partition number (a JSON object's keys are strings: `"0"`).
    pub partitions: BTreeMap<i32, Partition>,
}

/// librdkafka's per-partition statistics, with karafka-core's `_d` (change since the previous
/// statistics) and `_fd` (milliseconds without change) companions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Partition {
    pub id: i32,
    pub lag: i64,
    pub lag_d: i64,
    pub lag_stored: i64,
    pub lag_stored_d: i64,
    pub committed_offset: i64,
    pub committed_offset_fd: i64,
    pub stored_offset: i64,
    pub stored_offset_fd: i64,
    pub fetch_state: String,
    pub poll_state: &'static str,
    pub poll_state_ch: i64,
    pub hi_offset: i64,
    pub hi_offset_fd: i64,
    pub lo_offset: i64,
    pub eof_offset: i64,
    pub ls_offset: i64,
    pub ls_offset_d: i64,
    pub ls_offset_fd: i64,
    pub transactional: bool,
}

/// A running job.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Job {
    pub consumer: &'static str,
    pub consumer_group: String,
    pub updated_at: f64,
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub committed_offset: i64,
    pub messages: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub tags: Vec<String>,
    pub consumption_lag: i64,
    pub processing_lag: i64,
    pub status: &'static str,
}

/// An error report, for `karafka_errors`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorReport {
    pub schema_version: &'static str,
    /// A UUID (error schema 1.2.0 and newer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error_class: String,
    pub error_message: String,
    pub backtrace: String,
    pub details: ErrorDetails,
    pub occurred_at: f64,
    pub process: ErrorProcess,
}

/// Where the error happened, as Karafka's consumer error details.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorDetails {
    pub topic: String,
    pub consumer_group: String,
    pub subscription_group: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub committed_offset: i64,
    pub consumer: &'static str,
    pub trace_id: Option<String>,
    pub tags: Vec<String>,
    /// Which run of the message failed (1 = first).
    pub attempt: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorProcess {
    pub id: String,
    pub tags: Vec<String>,
}
