//! What each subcommand does once its arguments are parsed.

use super::args::{ConsumeArgs, DecodeArgs, RecordArgs, ReplayArgs};
use super::{EXIT_ERROR, EXIT_REPLAY_FAILED, EXIT_UNDECODABLE};
use crate::consumer::{Worker, WorkerConfig, BOOTSTRAP_ENV};
use crate::metrics::Metrics;
use crate::options::DecodeOptions;
use crate::record::{self, RecordOptions, Sink, StartAt};
use crate::registry::Registry;
use crate::replay::Replay;
use crate::shadow::Shadow;
use crate::typed::{typed_dump, tz_database};
use crate::Job;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

/// Reads the worker configuration; on error, prints it (naming the file) and gives the exit
/// code.
pub(super) fn worker_config(
    program: &str,
    path: &std::path::Path,
) -> Result<WorkerConfig, ExitCode> {
    WorkerConfig::from_toml_file(path).map_err(|e| match e {
        // An I/O error names the file already.
        e @ crate::consumer::ConfigError::Io { .. } => fail(program, EXIT_ERROR, &e.to_string()),
        e => fail(program, EXIT_ERROR, &format!("{}: {e}", path.display())),
    })
}

pub(super) async fn consume(program: &str, registry: Registry, args: &ConsumeArgs) -> ExitCode {
    let config = match worker_config(program, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let registry = match &args.app {
        Some(app) => match app_options(app, registry.options()) {
            Ok(options) => registry.with_decode_options(options),
            Err(e) => return fail(program, EXIT_ERROR, &e.to_string()),
        },
        None => registry,
    };
    let metrics = if args.shadow {
        Metrics::with_labels([("mode".to_owned(), "shadow".to_owned())])
    } else {
        Metrics::new()
    };
    let server = match args.metrics_addr {
        Some(addr) => match metrics.serve(addr).await {
            Ok(server) => Some(server),
            Err(e) => {
                return fail(
                    program,
                    EXIT_ERROR,
                    &format!("metrics endpoint on {addr}: {e}"),
                )
            }
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
        Err(e) => fail(program, EXIT_ERROR, &format!("worker: {e}")),
    }
}

pub(super) async fn replay(program: &str, registry: Registry, args: &ReplayArgs) -> ExitCode {
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
                Err(e) => return fail(program, EXIT_ERROR, &e.to_string()),
            }
        }
    }
    let report = match replay.run().await {
        Ok(report) => report,
        Err(e) => return fail(program, EXIT_ERROR, &e.to_string()),
    };
    print!("{}", report.render(args.show_failures));
    let totals = report.totals();
    println!(
        "\n{} job{} in {:.2?}: {}",
        totals.total(),
        if totals.total() == 1 { "" } else { "s" },
        report.elapsed(),
        if report.all_ok() && totals.by_policy() > 0 {
            format!(
                "all ok ({} discarded, {} retried by their job policies)",
                totals.discarded, totals.retried
            )
        } else if report.all_ok() {
            "all ok".to_owned()
        } else if totals.total() == 0 {
            "no job found".to_owned()
        } else {
            "NOT all ok".to_owned()
        }
    );
    if totals.total() > 0 && report.all_ok() {
        ExitCode::SUCCESS
    } else if totals.total() == 0 {
        // An empty replay is a CI step pointed at the wrong place, not a pass.
        fail(program, EXIT_ERROR, "no job found in the given paths")
    } else {
        ExitCode::from(EXIT_REPLAY_FAILED)
    }
}

pub(super) async fn record(program: &str, args: RecordArgs) -> ExitCode {
    let brokers = match args
        .brokers
        .clone()
        .or_else(|| std::env::var(BOOTSTRAP_ENV).ok())
        .filter(|b| !b.trim().is_empty())
    {
        Some(b) => b,
        None => {
            return fail(
                program,
                EXIT_ERROR,
                &format!("no Kafka brokers: pass --brokers or set {BOOTSTRAP_ENV}"),
            )
        }
    };
    let sink = match (&args.out, &args.ndjson) {
        (Some(dir), _) => Sink::Dir(dir.clone()),
        (None, Some(file)) => Sink::Ndjson(file.clone()),
        (None, None) => return fail(program, EXIT_ERROR, "pass --out DIR or --ndjson FILE"),
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
        Ok(Err(e)) => fail(program, EXIT_ERROR, &format!("record: {e}")),
        Err(e) => fail(program, EXIT_ERROR, &format!("record: {e}")),
    }
}

pub(super) fn decode(program: &str, worker_options: &DecodeOptions, args: &DecodeArgs) -> ExitCode {
    let options = match &args.app {
        Some(path) => match app_options(path, worker_options) {
            Ok(options) => options,
            Err(e) => return fail(program, EXIT_ERROR, &e.to_string()),
        },
        None => worker_options.clone(),
    };
    let (name, bytes) = match read_input(args.file.as_deref()) {
        Ok(input) => input,
        Err(e) => return fail(program, EXIT_ERROR, &e),
    };
    let job = match Job::decode_with(&bytes, &options) {
        Ok(job) => job,
        Err(e) => return fail(program, EXIT_UNDECODABLE, &format!("{name}: {e}")),
    };
    if args.typed {
        let mut dump = typed_dump(&job, &options);
        if let (true, Some(fields)) = (args.verbose, dump.as_object_mut()) {
            fields.insert("tz_database".into(), tz_database(&options.time_zones));
        }
        println!("{dump}");
    } else {
        print_job(&job, &options);
        if args.verbose {
            println!("  tz database: {}", options.time_zones.source());
        }
    }
    ExitCode::SUCCESS
}

/// The application facts of an `app.toml` given on the command line, read with the worker's
/// payload format: a format is Rust code, so a file cannot name it.
pub(super) fn app_options(
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

/// Prints `message` as `program`'s error and returns `code`.
pub(super) fn fail(program: &str, code: u8, message: &str) -> ExitCode {
    eprintln!("{program}: {message}");
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
