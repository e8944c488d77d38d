//! Building a [`JobProducer`]: the application's settings and one librdkafka
//! producer per distinct class producer config.

use super::*;
use crate::ruby::time_zone::ZoneDatabase;

/// Builds a [`JobProducer`].
#[derive(Debug, Clone, Default)]
pub struct JobProducerBuilder {
    bootstrap_servers: Option<String>,
    kafka: BTreeMap<String, String>,
    queue_prefix: String,
    defaults: JobOptions,
    classes: HashMap<String, JobOptions>,
    max_payload_size: Option<usize>,
    payload_format: Option<Arc<dyn PayloadFormat>>,
    available_locales: Option<Vec<String>>,
    time_zones: Option<ZoneDatabase>,
    rails_version: RailsVersion,
}

impl JobProducerBuilder {
    /// The application's `I18n.available_locales` (`DecodeOptions::available_locales`): a
    /// job whose `locale` is not among them is refused, since Rails would raise
    /// `I18n::InvalidLocale` when it runs it. Unset: any locale is written.
    pub fn available_locales<S: Into<String>>(
        mut self,
        locales: impl IntoIterator<Item = S>,
    ) -> Self {
        self.available_locales = Some(locales.into_iter().map(Into::into).collect());
        self
    }

    /// The application's tz database (`DecodeOptions::time_zones`, `zoneinfo_dir` in
    /// `app.toml`): a job whose `timezone` it does not know is refused, since Rails would raise
    /// `Invalid Timezone` around it. Unset: the host's ([`ZoneDatabase::system`]).
    pub fn time_zones(mut self, zones: ZoneDatabase) -> Self {
        self.time_zones = Some(zones);
        self
    }

    /// `bootstrap.servers` (else `kafka("bootstrap.servers", ..)`, else the
    /// `KAFKA_BOOTSTRAP_SERVERS` environment variable).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// A librdkafka producer property for every producer.
    pub fn kafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }

    /// Prepended to `queue_name` to form the topic (Karafka has no such setting).
    pub fn queue_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.queue_prefix = prefix.into();
        self
    }

    /// Options for every job class (Karafka's `karafka_options` on `ApplicationJob`).
    pub fn defaults(mut self, options: JobOptions) -> Self {
        self.defaults = options;
        self
    }

    /// Options for one job class, merged over [`Self::defaults`].
    pub fn job(mut self, job_class: impl Into<String>, options: JobOptions) -> Self {
        self.classes.insert(job_class.into(), options);
        self
    }

    /// Largest payload accepted (default [`DEFAULT_MAX_PAYLOAD_SIZE`], WaterDrop's).
    pub fn max_payload_size(mut self, bytes: usize) -> Self {
        self.max_payload_size = Some(bytes);
        self
    }

    /// How messages carry a job, when the Ruby application replaced Karafka's `Deserializer`;
    /// the same format as the worker's [`DecodeOptions::payload_format`](crate::DecodeOptions).
    /// Without one, the payload is the job's JSON, as Karafka writes it by default.
    pub fn payload_format(mut self, format: Arc<dyn PayloadFormat>) -> Self {
        self.payload_format = Some(format);
        self
    }

    /// The Rails version of the Ruby workers that read the jobs (default 8.1; the
    /// application's [`DecodeOptions::rails_version`](crate::DecodeOptions), `rails_version`
    /// in `app.toml`): every payload, enqueued or re-enqueued, is written as that version
    /// writes it, and a job it cannot read fails with [`ProduceError::Encode`].
    pub fn rails_version(mut self, version: RailsVersion) -> Self {
        self.rails_version = version;
        self
    }

    /// Creates the producers: one for the defaults and one per distinct class producer config.
    pub fn build(self) -> Result<JobProducer, ProduceError> {
        let bootstrap = client::bootstrap_servers(self.bootstrap_servers.as_deref(), &self.kafka)
            .ok_or(ProduceError::NoBrokers)?;
        let mut producers: Vec<FutureProducer<LogContext>> = Vec::new();
        let mut by_config: HashMap<BTreeMap<String, String>, usize> = HashMap::new();
        let mut make = |overrides: &BTreeMap<String, String>| -> Result<usize, ProduceError> {
            if let Some(&i) = by_config.get(overrides) {
                return Ok(i);
            }
            let config = producer_config(&bootstrap, &self.kafka, overrides);
            let producer = config
                .create_with_context(LogContext("producer"))
                .map_err(ProduceError::Config)?;
            producers.push(producer);
            by_config.insert(overrides.clone(), producers.len() - 1);
            Ok(producers.len() - 1)
        };
        let default_index = make(&self.defaults.producer_config)?;
        let mut classes = HashMap::new();
        for (class, options) in &self.classes {
            let merged = options.merged_over(&self.defaults);
            let index = make(&merged.producer_config)?;
            classes.insert(class.clone(), Resolved::new(merged, index));
        }
        Ok(JobProducer {
            inner: Arc::new(Inner {
                producers,
                queue_prefix: self.queue_prefix,
                defaults: Resolved::new(self.defaults, default_index),
                classes,
                max_payload_size: self.max_payload_size.unwrap_or(DEFAULT_MAX_PAYLOAD_SIZE),
                payload_format: self.payload_format,
                rails_version: self.rails_version,
                partition_counts: PartitionCounts::default(),
                available_locales: self.available_locales,
                time_zones: self.time_zones.unwrap_or_else(ZoneDatabase::system),
            }),
        })
    }
}

/// The librdkafka configuration of a job producer: the connection, `consistent_random` (what
/// rdkafka-ruby uses, spelled out so both sides agree even if a default changes), then the
/// application's settings and the class's.
pub(crate) fn producer_config(
    bootstrap: &str,
    kafka: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut c = client::base_config(bootstrap, None);
    c.set("partitioner", "consistent_random");
    for (k, v) in kafka.iter().chain(overrides) {
        c.set(k, v);
    }
    c
}
