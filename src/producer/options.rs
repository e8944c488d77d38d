//! Per-job-class options (Karafka's `karafka_options`) and their resolved form.

use super::*;

/// Where a partitioner's value goes (Karafka Pro's `partition_key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionKeyType {
    /// The message key: librdkafka's `consistent_random` partitioner (CRC-32) picks the
    /// partition, and the key stays on the message (works with Virtual Partitions).
    #[default]
    Key,
    /// Only picks the partition (CRC-32 of the value modulo the partition count, as
    /// rdkafka-ruby computes it); the message has no key.
    PartitionKey,
    /// An explicit partition number (the partitioner returns its decimal text).
    Partition,
}

/// How one job is produced (Karafka's `dispatch_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispatchMethod {
    /// `produce_async` (Karafka's default): queued in librdkafka, not waited for; delivery
    /// failures are logged. [`JobProducer::flush`] waits for everything queued.
    #[default]
    Async,
    /// `produce_sync`: returns once the broker acknowledged the message.
    Sync,
}

/// How [`JobProducer::enqueue_all`] produces a group of jobs (Karafka's `dispatch_many_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispatchManyMethod {
    /// `produce_many_async` (Karafka's default).
    #[default]
    Async,
    /// `produce_many_sync`: returns once every message of the group is acknowledged.
    Sync,
}

/// A job's partitioner: its value is the key, partition key or partition of the message.
/// `None` means no key (`Key`, `PartitionKey`) and is refused for `Partition`.
pub type Partitioner = Arc<dyn Fn(&Job) -> Option<String> + Send + Sync>;

/// Per-job-class options, Karafka's `karafka_options`. Unset fields fall back to the
/// producer's defaults, then to Karafka's defaults.
#[derive(Clone, Default)]
pub struct JobOptions {
    pub(crate) partitioner: Option<Partitioner>,
    pub(crate) partition_key_type: Option<PartitionKeyType>,
    pub(crate) dispatch_method: Option<DispatchMethod>,
    pub(crate) dispatch_many_method: Option<DispatchManyMethod>,
    pub(crate) scheduled_messages_topic: Option<String>,
    pub(crate) producer_config: BTreeMap<String, String>,
}

impl fmt::Debug for JobOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobOptions")
            .field("partitioner", &self.partitioner.as_ref().map(|_| ".."))
            .field("partition_key_type", &self.partition_key_type)
            .field("dispatch_method", &self.dispatch_method)
            .field("dispatch_many_method", &self.dispatch_many_method)
            .field("scheduled_messages_topic", &self.scheduled_messages_topic)
            .field("producer_config", &self.producer_config)
            .finish()
    }
}

impl JobOptions {
    /// No options set.
    pub fn new() -> Self {
        JobOptions::default()
    }

    /// `partitioner: ->(job) { ... }`.
    pub fn partitioner(
        mut self,
        f: impl Fn(&Job) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.partitioner = Some(Arc::new(f));
        self
    }

    /// `partition_key_type:` (default [`PartitionKeyType::Key`]).
    pub fn partition_key_type(mut self, t: PartitionKeyType) -> Self {
        self.partition_key_type = Some(t);
        self
    }

    /// `dispatch_method:` (default [`DispatchMethod::Async`]).
    pub fn dispatch_method(mut self, m: DispatchMethod) -> Self {
        self.dispatch_method = Some(m);
        self
    }

    /// `dispatch_many_method:` (default [`DispatchManyMethod::Async`]).
    pub fn dispatch_many_method(mut self, m: DispatchManyMethod) -> Self {
        self.dispatch_many_method = Some(m);
        self
    }

    /// `scheduled_messages_topic:`, the Scheduled Messages proxy topic for future times.
    pub fn scheduled_messages_topic(mut self, topic: impl Into<String>) -> Self {
        self.scheduled_messages_topic = Some(topic.into());
        self
    }

    /// A librdkafka producer property for this class (`acks=all`, `compression.type=zstd`),
    /// applied over the builder's `kafka` settings. Classes with the same settings share one
    /// producer, like Karafka Pro's `producer: ->(job) { variant }`.
    pub fn producer_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.producer_config.insert(key.into(), value.into());
        self
    }

    /// `self` merged over `base`: fields set here win; producer settings merge key by key.
    pub(crate) fn merged_over(&self, base: &JobOptions) -> JobOptions {
        let mut producer_config = base.producer_config.clone();
        producer_config.extend(self.producer_config.clone());
        JobOptions {
            partitioner: self
                .partitioner
                .clone()
                .or_else(|| base.partitioner.clone()),
            partition_key_type: self.partition_key_type.or(base.partition_key_type),
            dispatch_method: self.dispatch_method.or(base.dispatch_method),
            dispatch_many_method: self.dispatch_many_method.or(base.dispatch_many_method),
            scheduled_messages_topic: self
                .scheduled_messages_topic
                .clone()
                .or_else(|| base.scheduled_messages_topic.clone()),
            producer_config,
        }
    }
}

/// Options with Karafka's defaults filled in and the producer chosen.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub(crate) partitioner: Option<Partitioner>,
    pub(crate) partition_key_type: PartitionKeyType,
    pub(crate) dispatch_method: DispatchMethod,
    pub(crate) dispatch_many_method: DispatchManyMethod,
    pub(crate) scheduled_messages_topic: Option<String>,
    pub(crate) producer: usize,
}

impl Resolved {
    pub(crate) fn new(o: JobOptions, producer: usize) -> Self {
        Resolved {
            partitioner: o.partitioner,
            partition_key_type: o.partition_key_type.unwrap_or_default(),
            dispatch_method: o.dispatch_method.unwrap_or_default(),
            dispatch_many_method: o.dispatch_many_method.unwrap_or_default(),
            scheduled_messages_topic: o.scheduled_messages_topic,
            producer,
        }
    }
}
