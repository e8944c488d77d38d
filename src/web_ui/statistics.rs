//! What the consumer report takes from librdkafka's statistics: the group state and, per
//! fetched partition, lag and offsets with karafka-core's `_d` / `_fd` companions.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::report::Partition;

/// The statistics fields that get `_d` (change since the previous statistics) and `_fd`
/// (milliseconds the value has not changed), as karafka-core's `StatisticsDecorator` adds them.
const DECORATED: [&str; 6] = [
    "consumer_lag",
    "consumer_lag_stored",
    "committed_offset",
    "stored_offset",
    "hi_offset",
    "ls_offset",
];

/// The `cgrp` statistics the report carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupStats {
    pub state: String,
    pub join_state: String,
    pub stateage: i64,
    pub rebalance_age: i64,
    pub rebalance_cnt: i64,
    pub rebalance_reason: String,
}

/// One topic of the statistics: its partition count and the partitions this process fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicStats {
    pub partitions_cnt: u64,
    /// `poll_state` is left `active` here; the sampler sets the paused ones.
    pub partitions: BTreeMap<i32, Partition>,
}

/// Everything read from one statistics document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub group: Option<GroupStats>,
    pub topics: BTreeMap<String, TopicStats>,
    /// Bytes received from / sent to all brokers since the client started.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Reads successive statistics documents, remembering the previous values for `_d` / `_fd`.
#[derive(Debug, Default)]
pub(crate) struct StatisticsReader {
    /// librdkafka's `age` (µs since the client started) of the previous document.
    previous_age_us: Option<i64>,
    previous: HashMap<(String, i32), [(i64, i64); DECORATED.len()]>,
}

impl StatisticsReader {
    /// Reads `json`; `None` when it is not a statistics document. A partition that lacks one of
    /// the fields the contract requires is left out (it cannot be reported truthfully).
    pub(crate) fn read(&mut self, json: &[u8]) -> Option<Snapshot> {
        let doc: Value = serde_json::from_slice(json).ok()?;
        let age_us = doc.get("age").and_then(Value::as_i64)?;
        let change_ms = self
            .previous_age_us
            .map_or(0, |prev| (age_us - prev).max(0) / 1000);
        self.previous_age_us = Some(age_us);

        let mut previous = std::mem::take(&mut self.previous);
        let mut topics = BTreeMap::new();
        for (name, topic) in doc
            .get("topics")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Some(parts) = topic.get("partitions").and_then(Value::as_object) else {
                continue;
            };
            let mut partitions = BTreeMap::new();
            let mut count = 0;
            for stats in parts.values() {
                let Some(id) = stats.get("partition").and_then(Value::as_i64) else {
                    continue;
                };
                // -1 is librdkafka's internal "unassigned" partition.
                let Ok(id) = i32::try_from(id) else { continue };
                if id < 0 {
                    continue;
                }
                count += 1;
                let key = (name.clone(), id);
                let prev = previous.remove(&key);
                if let Some((partition, decorated)) = partition(id, stats, prev, change_ms) {
                    self.previous.insert(key, decorated);
                    partitions.insert(id, partition);
                }
            }
            topics.insert(
                name.clone(),
                TopicStats {
                    partitions_cnt: count,
                    partitions,
                },
            );
        }
        let (rx_bytes, tx_bytes) = broker_bytes(&doc);
        Some(Snapshot {
            group: doc.get("cgrp").and_then(group),
            topics,
            rx_bytes,
            tx_bytes,
        })
    }
}

fn group(cgrp: &Value) -> Option<GroupStats> {
    let s = |k: &str| cgrp.get(k).and_then(Value::as_str).map(str::to_owned);
    let i = |k: &str| cgrp.get(k).and_then(Value::as_i64);
    Some(GroupStats {
        state: s("state")?,
        join_state: s("join_state")?,
        stateage: i("stateage")?,
        rebalance_age: i("rebalance_age")?,
        rebalance_cnt: i("rebalance_cnt")?,
        rebalance_reason: s("rebalance_reason").unwrap_or_default(),
    })
}

fn broker_bytes(doc: &Value) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for broker in doc
        .get("brokers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|b| b.1)
    {
        rx += broker.get("rxbytes").and_then(Value::as_u64).unwrap_or(0);
        tx += broker.get("txbytes").and_then(Value::as_u64).unwrap_or(0);
    }
    (rx, tx)
}

/// One partition's report entry, or `None` when this process does not fetch it (Karafka's
/// `partition_reportable?`: fetch state `stopped` or `none`) or a field is missing.
fn partition(
    id: i32,
    stats: &Value,
    previous: Option<[(i64, i64); DECORATED.len()]>,
    change_ms: i64,
) -> Option<(Partition, [(i64, i64); DECORATED.len()])> {
    let fetch_state = stats.get("fetch_state")?.as_str()?;
    if fetch_state == "stopped" || fetch_state == "none" || fetch_state.is_empty() {
        return None;
    }
    let int = |k: &str| stats.get(k).and_then(Value::as_i64);
    // (value, freeze duration) of each decorated field, and its change.
    let mut decorated = [(0, 0); DECORATED.len()];
    let mut delta = [0; DECORATED.len()];
    for (i, key) in DECORATED.iter().enumerate() {
        let value = int(key)?;
        let (d, fd) = match previous {
            None => (0, 0),
            Some(prev) if prev[i].0 == value => (0, prev[i].1 + change_ms),
            Some(prev) => (value - prev[i].0, 0),
        };
        decorated[i] = (value, fd);
        delta[i] = d;
    }
    let [lag, lag_stored, committed, stored, hi, ls] = decorated;
    let partition = Partition {
        id,
        lag: lag.0,
        lag_d: delta[0],
        lag_stored: lag_stored.0,
        lag_stored_d: delta[1],
        committed_offset: committed.0,
        committed_offset_fd: committed.1,
        stored_offset: stored.0,
        stored_offset_fd: stored.1,
        fetch_state: fetch_state.to_owned(),
        poll_state: "active",
        poll_state_ch: 0,
        hi_offset: hi.0,
        hi_offset_fd: hi.1,
        lo_offset: int("lo_offset")?,
        eof_offset: int("eof_offset")?,
        ls_offset: ls.0,
        ls_offset_d: delta[5],
        ls_offset_fd: ls.1,
        transactional: false,
    };
    Some((partition, decorated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(age_us: i64, lag: i64, committed: i64, fetch_state: &str) -> Vec<u8> {
        serde_json::json!({
            "name": "c", "age": age_us,
            "brokers": { "b1": { "rxbytes": 100, "txbytes": 40 }, "b2": { "rxbytes": 5 } },
            "cgrp": { "state": "up", "join_state": "steady", "stateage": 9000,
                      "rebalance_age": 8000, "rebalance_cnt": 2, "rebalance_reason": "x" },
            "topics": { "jobs": { "partitions": {
                "0": { "partition": 0, "fetch_state": fetch_state, "consumer_lag": lag,
                       "consumer_lag_stored": lag, "committed_offset": committed,
                       "stored_offset": committed, "hi_offset": 20, "lo_offset": 0,
                       "eof_offset": 20, "ls_offset": 20 },
                "1": { "partition": 1, "fetch_state": "none", "consumer_lag": 0 },
                "-1": { "partition": -1, "fetch_state": "none" }
            } } }
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn partitions_group_and_bytes_come_from_the_statistics() {
        let mut reader = StatisticsReader::default();
        let s = reader.read(&doc(1_000_000, 5, 15, "active")).unwrap();
        let g = s.group.unwrap();
        assert_eq!((g.state.as_str(), g.rebalance_cnt), ("up", 2));
        assert_eq!((s.rx_bytes, s.tx_bytes), (105, 40));
        let jobs = &s.topics["jobs"];
        // Partition 1 is not fetched by this process; -1 is not a partition.
        assert_eq!(jobs.partitions_cnt, 2);
        assert_eq!(jobs.partitions.keys().copied().collect::<Vec<_>>(), vec![0]);
        let p = &jobs.partitions[&0];
        assert_eq!(
            (p.lag, p.committed_offset, p.hi_offset, p.eof_offset),
            (5, 15, 20, 20)
        );
        assert_eq!((p.lag_d, p.committed_offset_fd), (0, 0));
        assert!(reader.read(b"{}").is_none());
    }

    #[test]
    fn deltas_and_freeze_durations_follow_karafka_core() {
        let mut reader = StatisticsReader::default();
        reader.read(&doc(1_000_000, 5, 15, "active")).unwrap();
        // 5 s later: the lag fell by 3, the committed offset moved, the high watermark did not.
        let s = reader.read(&doc(6_000_000, 2, 18, "active")).unwrap();
        let p = &s.topics["jobs"].partitions[&0];
        assert_eq!((p.lag_d, p.lag_stored_d), (-3, -3));
        assert_eq!(p.committed_offset_fd, 0);
        assert_eq!(
            (p.hi_offset_fd, p.ls_offset_d, p.ls_offset_fd),
            (5000, 0, 5000)
        );
        // Another 5 s without change: the freeze durations add up.
        let s = reader.read(&doc(11_000_000, 2, 18, "active")).unwrap();
        let p = &s.topics["jobs"].partitions[&0];
        assert_eq!(
            (p.lag_d, p.committed_offset_fd, p.hi_offset_fd),
            (0, 5000, 10000)
        );
    }

    #[test]
    fn a_partition_with_a_missing_field_is_left_out() {
        let mut reader = StatisticsReader::default();
        let text = String::from_utf8(doc(1, 5, 15, "active"))
            .unwrap()
            .replace("\"ls_offset\":20", "\"other\":20");
        let s = reader.read(text.as_bytes()).unwrap();
        assert!(s.topics["jobs"].partitions.is_empty());
        let s = reader.read(&doc(2, 5, 15, "stopped")).unwrap();
        assert!(s.topics["jobs"].partitions.is_empty());
    }
}
