//! The command line of a worker binary: `consume`, `replay`, `record` and `decode`.
//!
//! An application's own binary gets every subcommand with its handlers registered in one call:
//!
//! ```no_run
//! use activejob_karafka::registry::Registry;
//!
//! fn main() -> std::process::ExitCode {
//!     let registry = Registry::new()
//!         .register("ImportJob", |(import_id,): (i64,), _ctx| async move {
//!             println!("importing {import_id}");
//!             Ok(())
//!         });
//!     activejob_karafka::cli::run(registry)
//! }
//! ```
//!
//! Then `my-worker consume --config worker.toml` runs the worker, `my-worker replay
//! tests/jobs/` runs recorded jobs through the same handlers without a broker, `my-worker record
//! --topic default --out tests/jobs/` records them from a live topic, and `my-worker decode
//! payload.json` shows one payload. The crate's own `activejob-karafka` binary is the same with
//! no handler registered (its `replay` reports every job as "no handler").
//!
//! # Exit codes
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success |
//! | 1 | usage, I/O or configuration error; the worker or the recorder failed |
//! | 2 | `decode`: the payload cannot be decoded (the message names the JSON path and the reason) |
//! | 3 | `replay`: a job failed, had no handler or had a bad payload; with `--typed-expect`, a typed dump differed |

use crate::consumer::{Worker, WorkerConfig, BOOTSTRAP_ENV};
use crate::metrics::Metrics;
use crate::options::DecodeOptions;
use crate::record::{self, RecordOptions, RedactPath, Sink, StartAt};
use crate::registry::Registry;
use crate::replay::Replay;
use crate::shadow::Shadow;
use crate::typed::typed_dump;
use crate::Job;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage, I/O or configuration error.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: `decode` could not decode the payload.
pub const EXIT_UNDECODABLE: u8 = 2;
/// Exit code: `replay` found failed, unknown-class or bad jobs (or typed mismatches).
pub const EXIT_REPLAY_FAILED: u8 = 3;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  usage, I/O or configuration error; the worker or the recorder failed
  2  decode: the payload cannot be decoded (the message names the JSON path and the reason)
  3  replay: a job failed, had no handler or had a bad payload (or a typed dump differed)";

const MAIN_AFTER: &str = "\
Examples:
  {bin} consume --config worker.toml
  {bin} record --topic default --limit 500 --redact 'arguments[*].email' --out tests/jobs
  {bin} replay tests/jobs
  {bin} decode --typed payload.json

Logging: RUST_LOG (e.g. RUST_LOG=activejob_karafka=debug) sets what is logged to stderr.";

const CONSUME_AFTER: &str = "\
The configuration is laid out like karafka.rb (see the consumer module docs):

  group_id = \"app\"
  concurrency = 5
  [kafka]
  \"bootstrap.servers\" = \"127.0.0.1:9092\"
  [topics.default]
  dead_letter_queue = { topic = \"default_dlq\", max_retries = 3 }

Without bootstrap servers in the file, KAFKA_BOOTSTRAP_SERVERS names them. SIGINT or SIGTERM
stops the worker after its running jobs (up to shutdown_timeout_ms).

Shadow mode (--shadow) reads the same topics under <group_id>-shadow while the Ruby workers
go on serving them: handlers see ctx.is_shadow() = true, failures are counted and skipped, and
nothing is ever produced (no dead letters, forwards or continuation re-enqueues). Per-class
totals are logged every --shadow-report-every seconds and printed at the end.

--metrics-addr serves GET /metrics (Prometheus text), GET /health (readiness: 200 while
connected, authenticated and in the group, else 503 with the reason) and GET /health/live
(liveness: 200 while the worker runs) for orchestrators.

Examples:
  {bin} consume --config config/worker.toml --metrics-addr 0.0.0.0:9464
  {bin} consume --config config/worker.toml --shadow

Exit codes: 0 after a clean shutdown; 1 when the configuration is invalid or the worker failed.";

const REPLAY_AFTER: &str = "\
Inputs: payload files (*.json), directories (searched recursively; manifest.json,
rails81_decoded.json and *.meta.json are not jobs), NDJSON files (.jsonl/.ndjson: one payload
or one recorded record per line) and recordings made by `record`. No broker is needed: each job
runs through its handler as the worker would run it, with topic, partition, offset, key and
headers from the recording's metadata when there is some.

Examples:
  {bin} replay tests/jobs                      # every recorded job, in order
  {bin} replay -j 8 recorded/ more.jsonl        # 8 at a time, per-key order kept
  {bin} replay --typed-expect fixtures/8.1/rails81_decoded.json --app fixtures/app.toml fixtures/8.1

Exit codes:
  0  every job succeeded (with --typed-expect: every dump matched)
  1  usage or I/O error: an input or FILE is missing or unreadable, or no job was found
  3  a job failed, had no handler or had a bad payload (or a typed dump differed); the table
     and the first failures say which, so a CI step fails for the right reason";

const RECORD_AFTER: &str = "\
Partitions are assigned directly: the recorder never joins a consumer group and never commits,
so the workers serving the topic keep their positions. It stops at the end each partition had
when it started (or, from latest, after --idle-timeout without a message), or at --limit.

Output (--out DIR): <topic>-<partition>-<offset>.json holds the exact payload bytes (masked
where --redact says), <topic>-<partition>-<offset>.meta.json the topic, partition, offset, key,
headers, timestamp and redacted paths; a tombstone has only the .meta.json, with
\"tombstone\": true. --ndjson FILE writes the same records one per line, payload inline.

Redaction paths start at arguments: arguments[0], arguments[1].email, arguments[*].password,
arguments[0][\"odd key\"], arguments[2].*. The value becomes \"[REDACTED]\"; ActiveJob's _aj_*
markers stay, so the payload still decodes. Serialized objects (times, GlobalIDs, ...) are
masked whole.

Examples:
  {bin} record --topic default --out tests/jobs --limit 200
  {bin} record -b broker:9092 -t orders --partition 3 --from-time 2026-05-01T00:00:00Z \\
      --redact 'arguments[0].email' --redact 'arguments[*].card' --out tests/orders
  {bin} record -t default -X security.protocol=SSL --ndjson jobs.jsonl

Exit codes: 0 when the recording is complete; 1 on a usage, Kafka or I/O error, or when no
message arrived for --idle-timeout before the end was reached.";

const DECODE_AFTER: &str = "\
Examples:
  {bin} decode payload.json
  {bin} decode --typed --app config/app.toml payload.json
  kcat -C -t default -o -1 -e -c 1 | {bin} decode -

Exit codes:
  0  decoded
  1  usage or I/O error (the file or APP_TOML cannot be read)
  2  the payload cannot be decoded; the message names the JSON path and the reason, e.g.
     arguments[1].window.from: DateSerializer value \"2024-02-30\" is not a date";

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
}

/// Arguments of `consume`.
#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    /// The worker configuration (TOML laid out like karafka.rb).
    #[arg(short, long, value_name = "WORKER_TOML")]
    pub config: PathBuf,
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

/// The clap command with `bin` as the program name in usage lines and examples.
pub fn command(bin: &str) -> clap::Command {
    let fill = |text: &str| text.replace("{bin}", bin);
    Cli::command()
        .bin_name(bin.to_owned())
        .after_help(format!("{}\n\n{EXIT_CODES}", fill(MAIN_AFTER)))
        .mut_subcommand("consume", |c| c.after_help(fill(CONSUME_AFTER)))
        .mut_subcommand("replay", |c| c.after_help(fill(REPLAY_AFTER)))
        .mut_subcommand("record", |c| c.after_help(fill(RECORD_AFTER)))
        .mut_subcommand("decode", |c| c.after_help(fill(DECODE_AFTER)))
}

/// Parses the process arguments and runs the subcommand with `registry`'s handlers.
///
/// Call it from a plain `fn main` (it starts its own tokio runtime; called from inside one, it
/// runs on a thread of its own).
pub fn run(registry: Registry) -> ExitCode {
    run_from(registry, std::env::args_os())
}

/// [`run`] with explicit arguments (the first is the program name).
pub fn run_from<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let bin = args
        .first()
        .and_then(|a| {
            PathBuf::from(a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "activejob-karafka".to_owned());
    let cli = match command(&bin)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(EXIT_ERROR),
            };
        }
    };
    init_tracing(matches!(cli.command, Command::Consume(_)));
    if tokio::runtime::Handle::try_current().is_ok() {
        // A runtime cannot be blocked on from inside another: run on a thread of its own.
        return std::thread::spawn(move || execute_blocking(registry, cli))
            .join()
            .unwrap_or_else(|_| ExitCode::from(EXIT_ERROR));
    }
    execute_blocking(registry, cli)
}

fn execute_blocking(registry: Registry, cli: Cli) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(execute(registry, cli)),
        Err(e) => fail(EXIT_ERROR, &format!("cannot start the async runtime: {e}")),
    }
}

/// Runs a parsed command line on the current tokio runtime.
pub async fn execute(registry: Registry, cli: Cli) -> ExitCode {
    match cli.command {
        Command::Consume(args) => consume(registry, &args).await,
        Command::Replay(args) => replay(registry, &args).await,
        Command::Record(args) => record(args).await,
        Command::Decode(args) => decode(registry.options(), &args),
    }
}

fn init_tracing(worker: bool) {
    let default = if worker { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // An application that installed its own subscriber keeps it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn consume(registry: Registry, args: &ConsumeArgs) -> ExitCode {
    let config = match WorkerConfig::from_toml_file(&args.config) {
        Ok(config) => config,
        // An I/O error names the file already.
        Err(e @ crate::consumer::ConfigError::Io { .. }) => {
            return fail(EXIT_ERROR, &e.to_string())
        }
        Err(e) => return fail(EXIT_ERROR, &format!("{}: {e}", args.config.display())),
    };
    let metrics = if args.shadow {
        Metrics::with_labels([("mode".to_owned(), "shadow".to_owned())])
    } else {
        Metrics::new()
    };
    let server = match args.metrics_addr {
        Some(addr) => match metrics.serve(addr).await {
            Ok(server) => Some(server),
            Err(e) => return fail(EXIT_ERROR, &format!("metrics endpoint on {addr}: {e}")),
        },
        None => None,
    };
    let result = if args.shadow {
        let mut shadow = Shadow::new(registry)
            .metrics(metrics)
            .report_every(Duration::from_secs(args.shadow_report_every));
        if let Some(group) = &args.shadow_group {
            shadow = shadow.group_id(group);
        }
        let worker = shadow.config(config);
        worker
            .run()
            .await
            .map(|report| print!("{}", report.render()))
    } else {
        metrics
            .run_worker(Worker::new(config, metrics.instrument(registry)))
            .await
    };
    if let Some(server) = server {
        server.stop().await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(EXIT_ERROR, &format!("worker: {e}")),
    }
}

async fn replay(registry: Registry, args: &ReplayArgs) -> ExitCode {
    let registry_options = registry.options().clone();
    let mut replay = Replay::new(registry)
        .paths(args.paths.iter().cloned())
        .jobs(usize::from(args.jobs))
        .progress(!args.no_progress);
    if let Some(expected) = &args.typed_expect {
        replay = replay.typed_expect(expected);
        if let Some(app) = &args.app {
            match app_options(app, &registry_options) {
                Ok(options) => replay = replay.typed_options(options),
                Err(e) => return fail(EXIT_ERROR, &e.to_string()),
            }
        }
    }
    let report = match replay.run().await {
        Ok(report) => report,
        Err(e) => return fail(EXIT_ERROR, &e.to_string()),
    };
    print!("{}", report.render(args.show_failures));
    let totals = report.totals();
    println!(
        "\n{} job{} in {:.2?}: {}",
        totals.total(),
        if totals.total() == 1 { "" } else { "s" },
        report.elapsed(),
        if report.all_ok() {
            "all ok"
        } else if totals.total() == 0 {
            "no job found"
        } else {
            "NOT all ok"
        }
    );
    if totals.total() > 0 && report.all_ok() {
        ExitCode::SUCCESS
    } else if totals.total() == 0 {
        // An empty replay is a CI step pointed at the wrong place, not a pass.
        fail(EXIT_ERROR, "no job found in the given paths")
    } else {
        ExitCode::from(EXIT_REPLAY_FAILED)
    }
}

async fn record(args: RecordArgs) -> ExitCode {
    let brokers = match args
        .brokers
        .clone()
        .or_else(|| std::env::var(BOOTSTRAP_ENV).ok())
        .filter(|b| !b.trim().is_empty())
    {
        Some(b) => b,
        None => {
            return fail(
                EXIT_ERROR,
                &format!("no Kafka brokers: pass --brokers or set {BOOTSTRAP_ENV}"),
            )
        }
    };
    let sink = match (&args.out, &args.ndjson) {
        (Some(dir), _) => Sink::Dir(dir.clone()),
        (None, Some(file)) => Sink::Ndjson(file.clone()),
        (None, None) => return fail(EXIT_ERROR, "pass --out DIR or --ndjson FILE"),
    };
    let to_stdout = matches!(&sink, Sink::Ndjson(p) if p.as_os_str() == "-");
    let mut options = RecordOptions::new(brokers, &args.topic, sink);
    options.partitions = args.partition.clone();
    options.start = match args.from_time {
        Some(t) => StartAt::Time(t),
        None => args.from_offset,
    };
    options.limit = args.limit;
    options.redact = args.redact.clone();
    options.kafka = args.kafka.clone();
    options.group_id = args.group_id.clone();
    options.idle_timeout = Duration::from_secs(args.idle_timeout);
    options.progress = !args.no_progress;
    let outcome = tokio::task::spawn_blocking(move || record::record(&options)).await;
    match outcome {
        Ok(Ok(summary)) => {
            let mut text = format!("recorded {} messages from {}", summary.messages, args.topic);
            for (p, (first, last, n)) in &summary.partitions {
                text.push_str(&format!(
                    "\n  partition {p}: {n} (offsets {first}..={last})"
                ));
            }
            if summary.tombstones > 0 {
                text.push_str(&format!("\n  tombstones: {}", summary.tombstones));
            }
            if !args.redact.is_empty() {
                text.push_str(&format!("\n  payloads masked: {}", summary.redacted));
            }
            if summary.redaction_failures > 0 {
                text.push_str(&format!(
                    "\n  payloads left out (not JSON, could not be masked): {}",
                    summary.redaction_failures
                ));
            }
            // With the records on stdout, the summary goes to stderr.
            if to_stdout {
                eprintln!("{text}");
            } else {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => fail(EXIT_ERROR, &format!("record: {e}")),
        Err(e) => fail(EXIT_ERROR, &format!("record: {e}")),
    }
}

fn decode(worker_options: &DecodeOptions, args: &DecodeArgs) -> ExitCode {
    let options = match &args.app {
        Some(path) => match app_options(path, worker_options) {
            Ok(options) => options,
            Err(e) => return fail(EXIT_ERROR, &e.to_string()),
        },
        None => worker_options.clone(),
    };
    let (name, bytes) = match read_input(args.file.as_deref()) {
        Ok(input) => input,
        Err(e) => return fail(EXIT_ERROR, &e),
    };
    let job = match Job::decode_with(&bytes, &options) {
        Ok(job) => job,
        Err(e) => return fail(EXIT_UNDECODABLE, &format!("{name}: {e}")),
    };
    if args.typed {
        println!("{}", typed_dump(&job, &options));
    } else {
        print_job(&job, &options);
    }
    ExitCode::SUCCESS
}

/// The application facts of an `app.toml` given on the command line, read with the worker's
/// payload format: a format is Rust code, so a file cannot name it.
fn app_options(
    path: &std::path::Path,
    worker: &DecodeOptions,
) -> Result<DecodeOptions, crate::options::OptionsError> {
    Ok(DecodeOptions {
        payload_format: worker.payload_format.clone(),
        ..DecodeOptions::from_toml_file(path)?
    })
}

fn read_input(file: Option<&std::path::Path>) -> Result<(String, Vec<u8>), String> {
    match file {
        None => read_stdin(),
        Some(path) if path.as_os_str() == "-" => read_stdin(),
        Some(path) => std::fs::read(path)
            .map(|bytes| (path.display().to_string(), bytes))
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
    }
}

fn read_stdin() -> Result<(String, Vec<u8>), String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(("stdin".to_owned(), bytes))
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("activejob-karafka: {message}");
    ExitCode::from(code)
}

fn print_job(job: &Job, options: &DecodeOptions) {
    let none = || "-".to_owned();
    println!(
        "{} {}",
        job.job_class,
        job.job_id.clone().unwrap_or_else(none)
    );
    println!(
        "  queue:      {}",
        job.queue_name.clone().unwrap_or_else(none)
    );
    if let Some(priority) = job.priority {
        println!("  priority:   {priority}");
    }
    println!(
        "  executions: {}",
        job.executions.map_or_else(none, |n| n.to_string())
    );
    println!(
        "  locale:     {}   timezone: {}",
        job.effective_locale(options),
        job.effective_timezone(options)
    );
    if let Some(at) = &job.enqueued_at {
        println!("  enqueued:   {}", at.to_wire());
    }
    if let Some(at) = &job.scheduled_at {
        println!("  scheduled:  {}", at.to_wire());
    }
    if let Some(c) = &job.continuation {
        let current = c
            .current
            .as_ref()
            .map_or_else(|| "-".to_owned(), |s| format!("{} @ {}", s.name, s.cursor));
        println!(
            "  continuation: completed {:?}, current {current}, resumptions {}",
            c.completed,
            job.resumptions.unwrap_or(0)
        );
    }
    println!("  arguments:");
    for (i, arg) in job.arguments.iter().enumerate() {
        println!("    [{i}] {arg}");
    }
    for (key, value) in &job.extra {
        println!("  {key}: {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        command("my-worker").debug_assert();
    }

    #[test]
    fn an_app_file_on_the_command_line_keeps_the_workers_payload_format() {
        use crate::payload_format::testing::Prefixed;
        let worker = DecodeOptions {
            payload_format: Some(std::sync::Arc::new(Prefixed("#"))),
            ..DecodeOptions::default()
        };
        let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.toml");
        let options = app_options(&app, &worker).unwrap();
        assert!(options.payload_format.is_some());
        assert!(options.job_classes.is_some(), "and the file's facts");
    }
}
