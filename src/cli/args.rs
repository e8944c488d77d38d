//! The subcommands' arguments, as clap parses them.

use crate::record::{RedactPath, StartAt};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Run Rails ActiveJob jobs enqueued through Karafka in Rust.
#[derive(Debug, Parser)]
#[command(
    name = "activejob-karafka",
    version,
    about = "Run Rails ActiveJob jobs enqueued through Karafka in Rust: consume a topic, replay \
             or record jobs, decode a payload.",
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// The binary's name and version, for its messages.
    #[arg(skip)]
    pub program: super::Program,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the worker: consume the configured topics and run each job through its handler.
    Consume(ConsumeArgs),
    /// Run recorded jobs through the handlers without a broker and summarize the outcomes.
    Replay(ReplayArgs),
    /// Copy messages from a live topic into fixture files, without joining its consumer group.
    Record(RecordArgs),
    /// Decode one ActiveJob payload (a Karafka message body) and print what a Rails 8.1 worker
    /// reads.
    Decode(DecodeArgs),
    /// Create the topics the configuration names, or show what would change (karafka topics
    /// plan / migrate).
    Topics(TopicsArgs),
}

/// Arguments of `topics`.
#[derive(Debug, clap::Args)]
pub struct TopicsArgs {
    /// plan: print what would change; migrate: create, add partitions, align configs.
    #[arg(value_enum)]
    pub action: TopicsAction,
    /// The worker configuration (TOML laid out like karafka.rb).
    #[arg(short, long, value_name = "WORKER_TOML")]
    pub config: PathBuf,
    /// Exit 2 when there are changes to apply (plan) or changes were applied (migrate), 0 when
    /// none, as karafka's --detailed_exitcode.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Seconds each broker request may take.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

/// What `topics` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TopicsAction {
    /// Print what migrate would change, without changing anything.
    Plan,
    /// Create missing topics, add partitions, align topic configs; never delete or shrink.
    Migrate,
}

/// Arguments of `consume`.
#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    /// The worker configuration (TOML laid out like karafka.rb).
    #[arg(short, long, value_name = "WORKER_TOML")]
    pub config: PathBuf,
    /// The application's facts (job classes, serializers, modules, default locale and zone)
    /// [default: the registry's decode options].
    #[arg(long, value_name = "APP_TOML")]
    pub app: Option<PathBuf>,
    /// Shadow mode: run the handlers beside the Ruby workers under a group of its own, with
    /// ctx.is_shadow() true; nothing is produced, re-enqueued or dead-lettered, failures are
    /// counted and skipped, and per-class totals are logged.
    #[arg(long)]
    pub shadow: bool,
    /// The shadow's consumer group [default: <group_id>-shadow].
    #[arg(long, value_name = "GROUP", requires = "shadow")]
    pub shadow_group: Option<String>,
    /// Seconds between the shadow's per-class log lines (0: only the final summary).
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "shadow")]
    pub shadow_report_every: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics, readiness at http://ADDR/health (503
    /// with the reason while not connected, authenticated and in the group) and liveness at
    /// http://ADDR/health/live.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Payload files, directories, NDJSON files and recordings.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Run up to N jobs at once; jobs with the same Kafka key (or, without one, the same
    /// topic-partition) still run one after the other.
    #[arg(short, long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Compare each payload's typed dump with FILE instead of running handlers: a map from file
    /// name to dump like rails81_decoded.json, or NDJSON of dumps in input order.
    #[arg(long, value_name = "FILE")]
    pub typed_expect: Option<PathBuf>,
    /// The application's facts for --typed-expect [default: the worker's decode options].
    #[arg(long, value_name = "APP_TOML", requires = "typed_expect")]
    pub app: Option<PathBuf>,
    /// How many failures to list after the table.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub show_failures: usize,
    /// Never draw the progress bar (it is only drawn on a terminal, after a second).
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("sink").required(true).args(["out", "ndjson"])))]
pub struct RecordArgs {
    /// The topic to copy from.
    #[arg(short, long)]
    pub topic: String,
    /// Write the directory format into DIR (created if needed).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write one record per line to FILE instead (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub ndjson: Option<PathBuf>,
    /// Kafka bootstrap servers [default: $KAFKA_BOOTSTRAP_SERVERS].
    #[arg(short, long, value_name = "HOST:PORT,...")]
    pub brokers: Option<String>,
    /// Where each partition starts: an offset, earliest or latest.
    #[arg(
        long,
        value_name = "N|earliest|latest",
        default_value = "earliest",
        conflicts_with = "from_time"
    )]
    pub from_offset: StartAt,
    /// Start at each partition's first message at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this partition (repeatable) [default: all].
    #[arg(short, long, value_name = "P")]
    pub partition: Vec<i32>,
    /// Stop after N messages in all.
    #[arg(short, long, value_name = "N")]
    pub limit: Option<u64>,
    /// Mask the argument value at PATH before writing (repeatable).
    #[arg(long, value_name = "PATH")]
    pub redact: Vec<RedactPath>,
    /// A librdkafka property for the recorder, e.g. security.protocol=SSL (repeatable).
    #[arg(short = 'X', long = "kafka", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub kafka: Vec<(String, String)>,
    /// The group.id librdkafka is given; nothing is ever committed under it [default: a
    /// throwaway activejob-karafka-record-UUID].
    #[arg(long, value_name = "ID")]
    pub group_id: Option<String>,
    /// Seconds without any message before giving up (from latest: before stopping).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub idle_timeout: u64,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Print the typed dump (one JSON object, the notation of fixtures/README.md) instead of text.
    #[arg(long)]
    pub typed: bool,
    /// The application's facts (job classes, serializers, modules, default locale and zone)
    /// [default: the worker's decode options].
    #[arg(long, value_name = "APP_TOML")]
    pub app: Option<PathBuf>,
    /// Also show the tz database zones were read with: its directory (or "bundled") and tz
    /// release (with --typed: a `tz_database` key).
    #[arg(long)]
    pub verbose: bool,
    /// The payload file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-05-01T12:00:00Z)"))
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}
