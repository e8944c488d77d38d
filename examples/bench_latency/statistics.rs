//! librdkafka's statistics, printed with `BENCH_LATENCY_STATS=1`: requests sent and their
//! round trips per broker, once a second, for the producers and the consumer side.

use std::sync::Mutex;

use activejob_karafka::consumer::WorkerObserver;
use rdkafka::Statistics;

use crate::kafka_bench::env_or;

/// One line per broker connection of a librdkafka statistics document: the requests of each
/// kind in `requests` sent so far, and the latency windows of the last interval (µs, p50/p99).
pub(crate) fn statistics_lines(statistics: &Statistics, requests: &[&str]) -> Vec<String> {
    let window = |w: &Option<rdkafka::statistics::Window>| {
        w.as_ref()
            .map_or("-".into(), |w| format!("{}/{}", w.p50, w.p99))
    };
    statistics
        .brokers
        .values()
        .filter(|b| b.nodeid >= 0 || b.source == "logical")
        .map(|b| {
            let counts: Vec<String> = requests
                .iter()
                .map(|r| format!("{r} {:>6}", b.req.get(*r).copied().unwrap_or(0)))
                .collect();
            format!(
                "{:<24} {}  µs p50/p99: in librdkafka's queue {:>11}  in the send buffer {:>9}  \
                 round trip {:>11}",
                b.name,
                counts.join(" "),
                window(&b.int_latency),
                window(&b.outbuf_latency),
                window(&b.rtt),
            )
        })
        .collect()
}

/// Keeps the consumer side's librdkafka statistics (fetch requests and their round trips).
#[derive(Default)]
pub(crate) struct FetchStatistics {
    pub(crate) lines: Mutex<Vec<String>>,
}

impl FetchStatistics {
    pub(crate) fn record(&self, json: &[u8]) {
        if let Ok(statistics) = serde_json::from_slice::<Statistics>(json) {
            self.lines
                .lock()
                .unwrap()
                .extend(statistics_lines(&statistics, &["Fetch", "OffsetCommit"]));
        }
    }
}

impl WorkerObserver for FetchStatistics {
    fn statistics(&self, json: &[u8]) {
        self.record(json);
    }
}

/// Whether librdkafka's statistics are printed (`BENCH_LATENCY_STATS=1`).
pub(crate) fn statistics_wanted() -> bool {
    env_or("BENCH_LATENCY_STATS", 0) != 0
}
