//! A broker of a test's own, for tests that kill it: started through `scripts/kafka/kafka.sh`
//! on free ports with its own run directory, whatever `KAFKA_BOOTSTRAP_SERVERS` says (a shared
//! broker must not be killed), and stopped with its data removed when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The broker; [`kill`](Self::kill) and [`start`](Self::start) crash and restart it on the same
/// data.
pub struct OwnBroker {
    port: u16,
    controller_port: u16,
    run_dir: PathBuf,
    /// `127.0.0.1:<port>`.
    pub bootstrap: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl OwnBroker {
    /// Starts a fresh broker (about 10–20 s on a busy machine).
    pub fn up(name: &str) -> Self {
        let run_dir = std::env::temp_dir().join(format!("ajk-kafka-{name}-{}", std::process::id()));
        let port = free_port();
        let broker = OwnBroker {
            port,
            controller_port: free_port(),
            bootstrap: format!("127.0.0.1:{port}"),
            run_dir,
        };
        broker.script("up");
        broker
    }

    /// `kill -9`: the broker dies with its connections, its data stays.
    pub fn kill(&self) {
        self.script("kill");
    }

    /// Starts the killed broker again on its data; returns when it serves metadata.
    pub fn start(&self) -> Duration {
        let t0 = Instant::now();
        self.script("start");
        t0.elapsed()
    }

    fn script(&self, command: &str) {
        let out = self.run(command);
        assert!(
            out.status.success(),
            "kafka.sh {command} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn run(&self, command: &str) -> std::process::Output {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka/kafka.sh");
        Command::new("bash")
            .args([script, command])
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_RUN_DIR", &self.run_dir)
            .env("KAFKA_READY_TIMEOUT", "120")
            .output()
            .expect("running scripts/kafka/kafka.sh")
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        // Never panics: a failed test is dropping it already.
        let _ = self.run("down");
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}
