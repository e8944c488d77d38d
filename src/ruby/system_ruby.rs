//! Test support: runs the system's `ruby` so tests can compare with the real thing.
//!
//! The rules in this module are Ruby's; when a Ruby interpreter is installed, tests check
//! generated inputs against it instead of only against hand-written tables.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `ruby [libs] -e script` with `input` on stdin and returns its stdout, or `None` (after
/// printing why) when Ruby is not installed or fails.
pub fn run_with(libs: &[&str], script: &str, input: &str) -> Option<String> {
    let child = Command::new("ruby")
        .args(libs)
        .arg("-e")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            println!("skipping comparison with Ruby: cannot run `ruby` ({e})");
            return None;
        }
    };
    let mut stdin = child.stdin.take()?;
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    if !output.status.success() {
        println!(
            "skipping comparison with Ruby: `ruby` exited with {}",
            output.status
        );
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// [`run_with`] without extra libraries.
pub fn run(script: &str, input: &str) -> Option<String> {
    run_with(&[], script, input)
}

/// How many generated inputs to compare: `default`, or `RUBY_COMPARE_COUNT` when set (for a
/// longer run by hand).
pub fn count(default: usize) -> usize {
    std::env::var("RUBY_COMPARE_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A tiny deterministic generator so generated inputs are the same on every run.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
