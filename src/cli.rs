//! The `activejob-karafka` command line.
//!
//! Exit codes: 0 success; 1 usage or I/O error; 2 a payload could not be decoded (the message
//! names the JSON path and the reason).

use crate::options::DecodeOptions;
use crate::typed::typed_dump;
use crate::Job;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run Rails ActiveJob jobs enqueued through Karafka in Rust.
#[derive(Debug, Parser)]
#[command(name = "activejob-karafka", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode one ActiveJob payload (a Karafka message body) and print what a Rails 8.1 worker reads.
    Decode(DecodeArgs),
}

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Print the typed dump (one JSON object, the notation of fixtures/README.md) instead of text.
    #[arg(long)]
    pub typed: bool,
    /// The application's facts (job classes, serializers, modules, default locale and zone).
    #[arg(long, value_name = "APP_TOML")]
    pub app: Option<PathBuf>,
    /// The payload file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(args) => decode(&args),
    }
}

fn decode(args: &DecodeArgs) -> ExitCode {
    let options = match &args.app {
        Some(path) => match DecodeOptions::from_toml_file(path) {
            Ok(options) => options,
            Err(e) => return fail(1, &e.to_string()),
        },
        None => DecodeOptions::default(),
    };
    let (name, bytes) = match read_input(args.file.as_deref()) {
        Ok(input) => input,
        Err(e) => return fail(1, &e),
    };
    let job = match Job::decode_with(&bytes, &options) {
        Ok(job) => job,
        Err(e) => return fail(2, &format!("{name}: {e}")),
    };
    if args.typed {
        println!("{}", typed_dump(&job, &options));
    } else {
        print_job(&job, &options);
    }
    ExitCode::SUCCESS
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
