//! The `activejob-karafka` binary: [`activejob_karafka::cli`] with no handler registered
//! (`decode` and `record` work as in any worker binary; `replay` reports every job as having no
//! handler).

fn main() -> std::process::ExitCode {
    activejob_karafka::cli::run(
        activejob_karafka::program!(),
        activejob_karafka::registry::Registry::new(),
    )
}
