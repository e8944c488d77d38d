//! The `activejob-karafka` binary: see [`activejob_karafka::cli`].

fn main() -> std::process::ExitCode {
    activejob_karafka::cli::main()
}
