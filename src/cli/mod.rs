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

mod args;
mod commands;
mod help;
#[cfg(test)]
mod tests;

pub use args::{Cli, Command, ConsumeArgs, DecodeArgs, RecordArgs, ReplayArgs};

use crate::registry::Registry;
use clap::{CommandFactory, FromArgMatches};
use commands::{consume, decode, fail, record, replay};
use help::{CONSUME_AFTER, DECODE_AFTER, EXIT_CODES, MAIN_AFTER, RECORD_AFTER, REPLAY_AFTER};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage, I/O or configuration error.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: `decode` could not decode the payload.
pub const EXIT_UNDECODABLE: u8 = 2;
/// Exit code: `replay` found failed, unknown-class or bad jobs (or typed mismatches).
pub const EXIT_REPLAY_FAILED: u8 = 3;

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
