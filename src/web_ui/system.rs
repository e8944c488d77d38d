//! The process figures of the report, read as Karafka's sampler reads them on Linux: memory and
//! threads from `/proc/self/status`, total memory from `/proc/meminfo`, load averages from
//! `/proc/loadavg`. Elsewhere (or when a file cannot be read) memory and threads are 0 and the
//! load averages -1, as Karafka reports on platforms it cannot read.

use std::fs;

/// One sample of the process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProcessSample {
    /// Resident memory of this process, KiB.
    pub memory_usage: u64,
    /// Total memory of the machine, KiB.
    pub memory_size: u64,
    /// Threads of this process.
    pub threads: u64,
    /// Load averages over 1, 5 and 15 minutes.
    pub cpu_usage: [f64; 3],
}

pub(crate) fn sample() -> ProcessSample {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let loadavg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    ProcessSample {
        memory_usage: field(&status, "VmRSS:").unwrap_or(0),
        memory_size: field(&meminfo, "MemTotal:").unwrap_or(0),
        threads: field(&status, "Threads:").unwrap_or(0),
        cpu_usage: load_averages(&loadavg).unwrap_or([-1.0; 3]),
    }
}

/// The number after `name` on its line (`VmRSS:   20480 kB`).
fn field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

fn load_averages(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|s| s.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// The host name, for the process id (`host:pid:hex`, as Karafka builds it).
pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace(':', "-"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_like_karafka_does() {
        let status = "Name:\tworker\nVmRSS:\t   20480 kB\nThreads:\t12\n";
        assert_eq!(field(status, "VmRSS:"), Some(20480));
        assert_eq!(field(status, "Threads:"), Some(12));
        assert_eq!(field(status, "VmSwap:"), None);
        assert_eq!(
            load_averages("0.50 0.40 0.30 1/200 42\n"),
            Some([0.5, 0.4, 0.3])
        );
        assert_eq!(load_averages("0.5"), None);
    }

    #[test]
    fn this_process_is_sampled_and_named() {
        let s = sample();
        if cfg!(target_os = "linux") {
            assert!(s.memory_usage > 0 && s.memory_size > s.memory_usage && s.threads >= 1);
        }
        let host = hostname();
        assert!(!host.is_empty() && !host.contains(':'));
    }
}
