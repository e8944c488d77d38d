//! The command line of a worker binary: `consume`, `replay`, `record`, `decode` and `topics`.
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
//!     activejob_karafka::cli::run(activejob_karafka::program!(), registry)
//! }
//! ```
//!
//! [`program!`](crate::program) names the binary after the calling crate: `--help`, `--version`
//! and every error message say `my-worker` and its version, not this library's.
//!
//! Then `my-worker consume --config worker.toml` runs the worker, `my-worker replay
//! tests/jobs/` runs recorded jobs through the same handlers without a broker, `my-worker record
//! --topic default --out tests/jobs/` records them from a live topic, and `my-worker decode
//! payload.json` shows one payload, and `my-worker topics migrate --config worker.toml`
//! creates the topics the configuration names ([`crate::topics`]). The crate's own `activejob-karafka` binary is the same with
//! no handler registered (its `replay` reports every job as "no handler").
//!
//! # Exit codes
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success |
//! | 1 | usage, I/O or configuration error; the worker or the recorder failed |
//! | 2 | `decode`: the payload cannot be decoded (the message names the JSON path and the reason) |
//! | 2 | `topics --detailed-exitcode`: there are changes to apply (`plan`) or changes were applied (`migrate`) |
//! | 3 | `replay`: a job failed, had no handler or had a bad payload; with `--typed-expect`, a typed dump differed |

mod args;
mod commands;
mod help;
#[cfg(test)]
mod tests;
mod topics;

pub use args::{
    Cli, Command, ConsumeArgs, DecodeArgs, RecordArgs, ReplayArgs, TopicsAction, TopicsArgs,
};

use crate::registry::Registry;
use clap::{CommandFactory, FromArgMatches};
use commands::{consume, decode, fail, record, replay};
use help::{
    CONSUME_AFTER, DECODE_AFTER, EXIT_CODES, MAIN_AFTER, RECORD_AFTER, REPLAY_AFTER, TOPICS_AFTER,
};
use std::ffi::OsString;
use std::process::ExitCode;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage, I/O or configuration error.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: `decode` could not decode the payload.
pub const EXIT_UNDECODABLE: u8 = 2;
/// Exit code: `topics --detailed-exitcode` found changes to apply, or applied some.
pub const EXIT_TOPICS_CHANGED: u8 = 2;
/// Exit code: `replay` found failed, unknown-class or bad jobs (or typed mismatches).
pub const EXIT_REPLAY_FAILED: u8 = 3;

/// The name and version a worker binary shows in `--help`, `--version` and its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    name: &'static str,
    version: &'static str,
}

impl Program {
    /// A program called `name`, at `version`. [`program!`](crate::program) fills both in from
    /// the calling crate.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Program { name, version }
    }

    /// The program's name, as its usage lines and messages show it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The program's version, as `--version` shows it.
    pub fn version(&self) -> &'static str {
        self.version
    }
}

impl Default for Program {
    /// This crate's own `activejob-karafka` binary.
    fn default() -> Self {
        Program::new("activejob-karafka", env!("CARGO_PKG_VERSION"))
    }
}

/// The [`cli::Program`](crate::cli::Program) of the crate that calls it: its binary's name
/// (`CARGO_BIN_NAME`, or the package's name outside a binary) and its package version.
///
/// ```
/// let program = activejob_karafka::program!();
/// assert_eq!(program.version(), env!("CARGO_PKG_VERSION"));
/// ```
#[macro_export]
macro_rules! program {
    () => {
        $crate::cli::Program::new(
            match option_env!("CARGO_BIN_NAME") {
                Some(name) => name,
                None => env!("CARGO_PKG_NAME"),
            },
            env!("CARGO_PKG_VERSION"),
        )
    };
}

/// The clap command of `program`: its name in usage lines, examples and `--version`.
pub fn command(program: &Program) -> clap::Command {
    let bin = program.name;
    let fill = |text: &str| text.replace("{bin}", bin);
    Cli::command()
        .name(bin)
        .bin_name(bin)
        .version(program.version)
        .after_help(format!("{}\n\n{EXIT_CODES}", fill(MAIN_AFTER)))
        .mut_subcommand("consume", |c| c.after_help(fill(CONSUME_AFTER)))
        .mut_subcommand("replay", |c| c.after_help(fill(REPLAY_AFTER)))
        .mut_subcommand("record", |c| c.after_help(fill(RECORD_AFTER)))
        .mut_subcommand("decode", |c| c.after_help(fill(DECODE_AFTER)))
        .mut_subcommand("topics", |c| c.after_help(fill(TOPICS_AFTER)))
}

/// Parses the process arguments and runs the subcommand with `registry`'s handlers, as
/// `program` (usually [`program!()`](crate::program)).
///
/// Call it from a plain `fn main` (it starts its own tokio runtime; called from inside one, it
/// runs on a thread of its own).
pub fn run(program: Program, registry: Registry) -> ExitCode {
    run_from(program, registry, std::env::args_os())
}

/// [`run`] with explicit arguments (the first is the program's path, which is not used).
pub fn run_from<I, T>(program: Program, registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match command(&program)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => Cli { program, ..cli },
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
        Err(e) => fail(
            cli.program.name(),
            EXIT_ERROR,
            &format!("cannot start the async runtime: {e}"),
        ),
    }
}

/// Runs a parsed command line on the current tokio runtime.
pub async fn execute(registry: Registry, cli: Cli) -> ExitCode {
    let name = cli.program.name();
    match cli.command {
        Command::Consume(args) => consume(name, registry, &args).await,
        Command::Replay(args) => replay(name, registry, &args).await,
        Command::Record(args) => record(name, args).await,
        Command::Decode(args) => decode(name, registry.options(), &args),
        Command::Topics(args) => topics::topics(name, &args).await,
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
