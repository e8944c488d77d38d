//! A partition's schedules: what Karafka's `Consumer#process_message`, `DailyBuffer`, `Day`,
//! `MaxEpoch`, `SchemaValidator`, `Dispatcher#<<` and `Proxy.tombstone` do, without Kafka.

use std::collections::{BTreeMap, HashMap};

use super::headers as sh;
use super::states::Tracker;

/// Karafka keeps a tombstone's epoch minus this as the floor below which schedules count as
/// already dispatched (`MaxEpoch::GRACE_PERIOD`).
const MAX_EPOCH_GRACE: i64 = 60 * 60;

/// A consumed proxy-topic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyRecord {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    /// Headers in wire order.
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
    /// Broker timestamp, milliseconds.
    pub(crate) timestamp_ms: Option<i64>,
}

impl ProxyRecord {
    /// A header as Ruby's headers hash gives it: the last value of that name.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    fn epoch(&self) -> i64 {
        ruby_to_i(&self.header(sh::TARGET_EPOCH).unwrap_or_default())
    }
}

/// Ruby's `String#to_i`: leading whitespace, an optional sign, then digits (single
/// underscores between digits allowed); anything else ends the number; no digits is 0.
/// Saturates instead of growing into a Bignum.
pub(crate) fn ruby_to_i(text: &str) -> i64 {
    let s = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let bytes = digits.as_bytes();
    let mut value: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            let d = i64::from(b - b'0');
            value = value.saturating_mul(10).saturating_add(d);
        } else if b == b'_' && i > 0 && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            // `1_000` reads as 1000.
        } else {
            break;
        }
        i += 1;
    }
    if negative {
        -value
    } else {
        value
    }
}

/// One segment of a `Gem::Version`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Number(u64),
    Text(String),
}

/// `Gem::Version.new(text).segments` after canonicalisation, or `None` when RubyGems would
/// raise `ArgumentError: Malformed version number string`.
fn gem_segments(text: Option<&str>) -> Option<Vec<Segment>> {
    let text = text.unwrap_or("").trim();
    if text.is_empty() {
        // nil and blank versions read as "0".
        return Some(vec![Segment::Number(0)]);
    }
    let valid_start = text.as_bytes()[0].is_ascii_digit();
    let valid_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid_start || !valid_chars || text.contains("..") || text.ends_with('.') {
        return None;
    }
    let text = text.replace('-', ".pre.");
    let mut segments = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, segments: &mut Vec<Segment>| {
        if current.is_empty() {
            return;
        }
        let seg = match current.parse::<u64>() {
            Ok(n) => Segment::Number(n),
            Err(_) if current.bytes().all(|b| b.is_ascii_digit()) => Segment::Number(u64::MAX),
            Err(_) => Segment::Text(current.clone()),
        };
        segments.push(seg);
        current.clear();
    };
    for c in text.chars() {
        if c == '.' {
            flush(&mut current, &mut segments);
        } else if !current.is_empty()
            && current.chars().last().is_some_and(|l| l.is_ascii_digit()) != c.is_ascii_digit()
        {
            flush(&mut current, &mut segments);
            current.push(c);
        } else {
            current.push(c);
        }
    }
    flush(&mut current, &mut segments);
    Some(segments)
}

/// `Gem::Version#<=>` on segments: missing segments are 0, a text segment (pre-release) sorts
/// before any number.
fn gem_cmp(a: &[Segment], b: &[Segment]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let zero = Segment::Number(0);
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).unwrap_or(&zero);
        let r = b.get(i).unwrap_or(&zero);
        let o = match (l, r) {
            (Segment::Number(x), Segment::Number(y)) => x.cmp(y),
            (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
            (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Karafka's `SchemaValidator`: a message whose `schedule_schema_version` is newer than
/// 1.0.0 (or not a version at all) is refused, and the partition stops there.
pub(crate) fn check_schema(record: &ProxyRecord) -> Result<(), String> {
    let version = record.header(sh::SCHEMA_VERSION);
    let supported = gem_segments(Some(sh::CURRENT_SCHEMA_VERSION)).expect("valid");
    match gem_segments(version.as_deref()) {
        Some(v) if gem_cmp(&v, &supported) != std::cmp::Ordering::Greater => Ok(()),
        Some(_) => Err(format!(
            "schedule_schema_version {:?} is newer than the supported {}",
            version.unwrap_or_default(),
            sh::CURRENT_SCHEMA_VERSION
        )),
        None => Err(format!(
            "malformed schedule_schema_version {:?}",
            version.unwrap_or_default()
        )),
    }
}

/// The UTC day a partition's state was (re)built in (Karafka's `Day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day {
    pub(crate) starts_at: i64,
    pub(crate) ends_at: i64,
}

impl Day {
    pub(crate) fn containing(now: i64) -> Day {
        let starts_at = now.div_euclid(86_400) * 86_400;
        Day {
            starts_at,
            ends_at: starts_at + 86_399,
        }
    }

    pub(crate) fn ended(&self, now: i64) -> bool {
        self.ends_at < now
    }
}

/// The floor under which schedules are dropped: the highest tombstone epoch minus an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaxEpoch {
    max: i64,
}

impl Default for MaxEpoch {
    fn default() -> Self {
        MaxEpoch { max: -1 }
    }
}

impl MaxEpoch {
    pub(crate) fn update(&mut self, epoch: i64) {
        self.max = self.max.max(epoch);
    }

    pub(crate) fn floor(&self) -> i64 {
        if self.max < 0 {
            -1
        } else {
            self.max - MAX_EPOCH_GRACE
        }
    }
}

/// A kept schedule.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) epoch: i64,
    pub(crate) record: ProxyRecord,
    /// Its target message is acknowledged; only the tombstone is missing.
    pub(crate) dispatched: bool,
}

type Key = Option<Vec<u8>>;

/// Today's schedules by message key, with an (epoch, offset) index for dispatch order.
#[derive(Debug, Default)]
pub(crate) struct DailyBuffer {
    entries: HashMap<Key, Entry>,
    order: BTreeMap<(i64, i64), Key>,
}

impl DailyBuffer {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, epoch: i64, record: ProxyRecord) {
        let key = record.key.clone();
        self.delete(&key);
        self.order.insert((epoch, record.offset), key.clone());
        self.entries.insert(
            key,
            Entry {
                epoch,
                record,
                dispatched: false,
            },
        );
    }

    pub(crate) fn delete(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&(old.epoch, old.record.offset));
        }
    }

    /// Keys with `epoch <= now`, by (epoch, offset).
    pub(crate) fn due(&self, now: i64) -> Vec<Key> {
        self.order
            .range(..=(now, i64::MAX))
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub(crate) fn mark_dispatched(&mut self, key: &Key) {
        if let Some(e) = self.entries.get_mut(key) {
            e.dispatched = true;
        }
    }

    /// The earliest epoch held.
    pub(crate) fn next_epoch(&self) -> Option<i64> {
        self.order.keys().next().map(|(e, _)| *e)
    }
}

/// What a consumed message did to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Processed {
    Kept,
    Deleted,
    Dropped,
    /// Not a schedule message Karafka could handle either; left alone.
    Skipped(String),
}

/// One partition's state between two reloads.
#[derive(Debug)]
pub(crate) struct PartitionSchedules {
    pub(crate) day: Day,
    pub(crate) buffer: DailyBuffer,
    pub(crate) max_epoch: MaxEpoch,
    pub(crate) tracker: Tracker,
}

impl PartitionSchedules {
    pub(crate) fn new(now: i64, reloads: u64) -> Self {
        PartitionSchedules {
            day: Day::containing(now),
            buffer: DailyBuffer::default(),
            max_epoch: MaxEpoch::default(),
            tracker: Tracker::new(now, reloads),
        }
    }

    /// Karafka's `process_message` (after the schema check and the offsets tracker).
    pub(crate) fn process(&mut self, record: ProxyRecord) -> Processed {
        self.tracker.offsets(record.offset);
        let Some(kind) = record.header(sh::SOURCE_TYPE) else {
            return Processed::Skipped("no schedule_source_type header".into());
        };
        match kind.as_str() {
            "schedule" => {
                if record.header(sh::TARGET_TOPIC).is_none() {
                    return Processed::Skipped("schedule without schedule_target_topic".into());
                }
                let epoch = record.epoch();
                if epoch >= self.day.starts_at {
                    self.tracker.future(epoch);
                }
                if epoch > self.day.ends_at || epoch < self.max_epoch.floor() {
                    return Processed::Dropped;
                }
                self.buffer.insert(epoch, record);
                Processed::Kept
            }
            other => {
                if other == "tombstone" {
                    self.max_epoch.update(record.epoch());
                }
                self.buffer.delete(&record.key);
                Processed::Deleted
            }
        }
    }
}

/// Headers as a Ruby Hash holds them: one entry per name at its first position; repeated
/// names keep all their values there (rdkafka-ruby reads them as an Array, WaterDrop writes
/// an Array back as repeated headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderHash(Vec<(String, Vec<Option<Vec<u8>>>)>);

impl HeaderHash {
    pub(crate) fn from_wire(headers: &[(String, Option<Vec<u8>>)]) -> Self {
        let mut h: Vec<(String, Vec<Option<Vec<u8>>>)> = Vec::new();
        for (k, v) in headers {
            match h.iter_mut().find(|(n, _)| n == k) {
                Some((_, values)) => values.push(v.clone()),
                None => h.push((k.clone(), vec![v.clone()])),
            }
        }
        HeaderHash(h)
    }

    /// `Hash#merge` of one entry: replaces in place, else appends.
    pub(crate) fn merge(&mut self, name: &str, value: Option<&str>) {
        let value = vec![value.map(|v| v.as_bytes().to_vec())];
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => *values = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// `Hash#compact`: drops entries whose value is nil.
    pub(crate) fn compact(&mut self) {
        self.0
            .retain(|(_, values)| !(values.len() == 1 && values[0].is_none()));
    }

    pub(crate) fn to_wire(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.0
            .iter()
            .flat_map(|(k, values)| values.iter().map(move |v| (k.clone(), v.clone())))
            .collect()
    }
}

/// The message Karafka's `Dispatcher#<<` sends to the target topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<String>,
    pub(crate) partition_key: Option<String>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
}

pub(crate) fn target(record: &ProxyRecord, source_topic: &str) -> Target {
    let mut headers = HeaderHash::from_wire(&record.headers);
    let key = record
        .key
        .as_deref()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    headers.merge(sh::SOURCE_TOPIC, Some(source_topic));
    headers.merge(sh::SOURCE_PARTITION, Some(&record.partition.to_string()));
    headers.merge(sh::SOURCE_OFFSET, Some(&record.offset.to_string()));
    headers.merge(sh::SOURCE_KEY, key.as_deref());
    headers.compact();
    Target {
        topic: record.header(sh::TARGET_TOPIC).unwrap_or_default(),
        partition: record
            .header(sh::TARGET_PARTITION)
            .map(|p| i32::try_from(ruby_to_i(&p)).unwrap_or(-1)),
        key: record.header(sh::TARGET_KEY),
        partition_key: record.header(sh::TARGET_PARTITION_KEY),
        payload: record.payload.clone(),
        headers: headers.to_wire(),
    }
}

/// Karafka's `Proxy.tombstone`: same key and partition, no payload, the schedule's headers
/// with `schedule_source_type: "tombstone"` and `schedule_source_offset`.
pub(crate) fn tombstone_headers(record: &ProxyRecord) -> Vec<(String, Option<Vec<u8>>)> {
    let mut headers = HeaderHash::from_wire(&record.headers);
    headers.merge(sh::SCHEMA_VERSION, Some(sh::CURRENT_SCHEMA_VERSION));
    headers.merge(sh::SOURCE_TYPE, Some("tombstone"));
    headers.merge(sh::SOURCE_OFFSET, Some(&record.offset.to_string()));
    headers.to_wire()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: i64, key: &str, kind: &str, epoch: Option<i64>) -> ProxyRecord {
        let mut headers = vec![
            (sh::SCHEMA_VERSION.to_string(), Some(b"1.0.0".to_vec())),
            (sh::SOURCE_TYPE.to_string(), Some(kind.as_bytes().to_vec())),
        ];
        if let Some(e) = epoch {
            headers.insert(
                1,
                (
                    sh::TARGET_EPOCH.to_string(),
                    Some(e.to_string().into_bytes()),
                ),
            );
            headers.push((sh::TARGET_TOPIC.to_string(), Some(b"jobs".to_vec())));
        }
        ProxyRecord {
            partition: 2,
            offset,
            key: Some(key.as_bytes().to_vec()),
            payload: (kind == "schedule").then(|| b"{}".to_vec()),
            headers,
            timestamp_ms: None,
        }
    }

    const NOW: i64 = 1_767_225_600 + 3_600; // 2026-01-01T01:00:00Z

    #[test]
    fn ruby_to_i_reads_like_ruby() {
        assert_eq!(ruby_to_i("1767225600"), 1_767_225_600);
        assert_eq!(ruby_to_i("  42abc"), 42);
        assert_eq!(ruby_to_i("-7"), -7);
        assert_eq!(ruby_to_i("1_000"), 1000);
        assert_eq!(ruby_to_i("1__0"), 1);
        assert_eq!(ruby_to_i("abc"), 0);
        assert_eq!(ruby_to_i(""), 0);
        assert_eq!(ruby_to_i("99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn schema_versions_newer_than_1_0_0_are_refused() {
        let with = |v: Option<&str>| {
            let mut r = rec(0, "k", "schedule", Some(NOW));
            r.headers.retain(|(k, _)| k != sh::SCHEMA_VERSION);
            if let Some(v) = v {
                r.headers
                    .push((sh::SCHEMA_VERSION.into(), Some(v.as_bytes().to_vec())));
            }
            check_schema(&r)
        };
        for ok in [
            "1.0.0",
            "1.0",
            "1",
            "0.9.9",
            "1.0.0.pre",
            "1.0.0-rc1",
            " 1.0.0 ",
        ] {
            assert!(with(Some(ok)).is_ok(), "{ok}");
        }
        assert!(with(None).is_ok());
        for refused in ["1.0.1", "1.1", "2.0.0", "1.0.0.1", "abc", "1..0"] {
            assert!(with(Some(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn day_bounds_are_utc_midnight_to_235959() {
        let d = Day::containing(NOW);
        assert_eq!(d.starts_at, 1_767_225_600);
        assert_eq!(d.ends_at, 1_767_225_600 + 86_399);
        assert!(!d.ended(d.ends_at));
        assert!(d.ended(d.ends_at + 1));
    }

    #[test]
    fn schedules_cancels_and_tombstones() {
        let mut p = PartitionSchedules::new(NOW, 0);
        assert_eq!(
            p.process(rec(0, "a", "schedule", Some(NOW + 10))),
            Processed::Kept
        );
        assert_eq!(
            p.process(rec(1, "b", "schedule", Some(NOW - 100))),
            Processed::Kept
        );
        assert_eq!(
            p.process(rec(2, "c", "schedule", Some(NOW - 100))),
            Processed::Kept
        );
        // Tomorrow is not kept.
        assert_eq!(
            p.process(rec(3, "d", "schedule", Some(NOW + 86_400))),
            Processed::Dropped
        );
        assert_eq!(p.process(rec(4, "a", "cancel", None)), Processed::Deleted);
        assert_eq!(p.buffer.len(), 2);
        // (epoch, offset) order.
        assert_eq!(
            p.buffer.due(NOW),
            vec![Some(b"b".to_vec()), Some(b"c".to_vec())]
        );
        assert_eq!(p.buffer.due(NOW - 101), Vec::<Key>::new());
        assert_eq!(
            p.process(rec(5, "b", "tombstone", Some(NOW - 100))),
            Processed::Deleted
        );
        assert_eq!(p.buffer.due(NOW), vec![Some(b"c".to_vec())]);
        assert_eq!(p.buffer.next_epoch(), Some(NOW - 100));
        // A re-sent schedule under the same key replaces the old one.
        assert_eq!(
            p.process(rec(6, "c", "schedule", Some(NOW + 5))),
            Processed::Kept
        );
        assert_eq!(p.buffer.len(), 1);
        assert_eq!(p.buffer.next_epoch(), Some(NOW + 5));
    }

    #[test]
    fn schedules_an_hour_before_the_latest_tombstone_are_dropped() {
        let mut p = PartitionSchedules::new(NOW, 0);
        p.process(rec(0, "t", "tombstone", Some(NOW)));
        assert_eq!(
            p.process(rec(1, "old", "schedule", Some(NOW - 3_601))),
            Processed::Dropped
        );
        assert_eq!(
            p.process(rec(2, "recent", "schedule", Some(NOW - 3_600))),
            Processed::Kept
        );
    }

    #[test]
    fn target_and_tombstone_carry_karafkas_headers() {
        let mut r = rec(41, "jobs-uuid", "schedule", Some(NOW));
        r.headers
            .push((sh::TARGET_PARTITION.into(), Some(b"3".to_vec())));
        let t = target(&r, "schedules");
        assert_eq!(t.topic, "jobs");
        assert_eq!(t.partition, Some(3));
        assert_eq!(t.key, None);
        let names: Vec<&str> = t.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "schedule_schema_version",
                "schedule_target_epoch",
                "schedule_source_type",
                "schedule_target_topic",
                "schedule_target_partition",
                "schedule_source_topic",
                "schedule_source_partition",
                "schedule_source_offset",
                "schedule_source_key"
            ]
        );
        let tomb = tombstone_headers(&r);
        let get = |h: &[(String, Option<Vec<u8>>)], n: &str| {
            h.iter()
                .find(|(k, _)| k == n)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(
            get(&tomb, "schedule_source_type").as_deref(),
            Some("tombstone")
        );
        assert_eq!(get(&tomb, "schedule_source_offset").as_deref(), Some("41"));
        assert_eq!(get(&tomb, "schedule_target_epoch"), Some(NOW.to_string()));
        // The type is replaced in place, as Hash#merge does.
        assert_eq!(tomb[2].0, "schedule_source_type");
    }
}
