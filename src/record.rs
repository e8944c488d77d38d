//! Copying messages from a live topic into fixture files, for [`crate::replay`].
//!
//! The recorder reads with partitions assigned by hand: it never joins a consumer group, never
//! stores or commits an offset, and so cannot move the position of the workers serving the
//! topic. It reads from a start offset (or time) up to the end each partition had when it
//! started, or up to a limit.
//!
//! # The directory format
//!
//! For each message, `<topic>-<partition>-<offset>.json` holds the exact payload bytes and
//! `<topic>-<partition>-<offset>.meta.json` beside it the metadata ([`RecordedMessage`]):
//!
//! ```json
//! {
//!   "topic": "default",
//!   "partition": 2,
//!   "offset": 17,
//!   "key": "user-42",
//!   "headers": [["traceparent", "00-4bf9..."], ["flag", null]],
//!   "timestamp_ms": 1764020876102,
//!   "redacted": ["arguments[1].email"]
//! }
//! ```
//!
//! A key or header value that is not UTF-8 is written `{"base64": "..."}`. A tombstone (no
//! payload) has only the metadata file, with `"tombstone": true`. `redacted` lists the argument
//! paths that were masked in the payload file (absent when none were).
//!
//! # The NDJSON format
//!
//! `record --ndjson FILE` writes the same objects one per line, each with the payload inline as
//! `"payload"` (a string, or `{"base64": ...}` when it is not UTF-8; absent for a tombstone).
//!
//! # Redaction
//!
//! [`redact`] masks argument values by path, in the raw JSON: the bytes of the selected value
//! are replaced by `"[REDACTED]"` and every other byte stays as Ruby wrote it. Paths start at
//! `arguments`: `arguments[0]`, `arguments[1].email`, `arguments[*].password`,
//! `arguments[0]["key with spaces"]`, `arguments[2].*`. A `.name` step selects a key of a
//! Hash argument; ActiveJob's own `_aj_*` keys are never selected, so a masked payload still
//! decodes with the same Hash kinds and keyword arguments. Serialized objects (times, GlobalIDs,
//! ranges, an application's serializers) are masked whole by a path that ends at them; a path
//! never reaches inside one, where a string would make the object undecodable.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::consumer::{copy_headers, InboundMessage};
use crate::kafka::client;
use crate::kafka::watch::ConnectionWatch;

/// What replaces a masked value.
pub const REDACTED: &str = "[REDACTED]";

/// Bytes written as a UTF-8 string when they are one, else as `{"base64": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BytesRepr", into = "BytesRepr")]
pub struct RecordedBytes(pub Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Base64 { base64: String },
}

impl From<BytesRepr> for RecordedBytes {
    fn from(repr: BytesRepr) -> Self {
        match repr {
            BytesRepr::Text(s) => RecordedBytes(s.into_bytes()),
            // A malformed base64 value keeps its text: replay then reports the payload as bad
            // rather than failing to read the whole recording.
            BytesRepr::Base64 { base64 } => RecordedBytes(
                base64::engine::general_purpose::STANDARD
                    .decode(&base64)
                    .unwrap_or_else(|_| base64.into_bytes()),
            ),
        }
    }
}

impl From<RecordedBytes> for BytesRepr {
    fn from(bytes: RecordedBytes) -> Self {
        match String::from_utf8(bytes.0) {
            Ok(s) => BytesRepr::Text(s),
            Err(e) => BytesRepr::Base64 {
                base64: base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            },
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One recorded message: the `.meta.json` file, or one line of a recorded NDJSON file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedMessage {
    /// The topic it was read from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key, if any.
    #[serde(default)]
    pub key: Option<RecordedBytes>,
    /// Its headers in wire order, `[name, value|null]`.
    #[serde(default)]
    pub headers: Vec<(String, Option<RecordedBytes>)>,
    /// The broker's timestamp in milliseconds since the Unix epoch, when it gave one.
    #[serde(default)]
    pub timestamp_ms: Option<i64>,
    /// True for a message without a payload.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tombstone: bool,
    /// The argument paths masked in the payload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
    /// Why the payload could not be masked (then it was not written at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction_error: Option<String>,
    /// The payload, in the NDJSON format only (the directory format keeps it in its own file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<RecordedBytes>,
}

impl RecordedMessage {
    /// The message a worker would have handed to the handler (`payload` from wherever the
    /// format keeps it).
    pub fn to_inbound(&self, payload: Option<Vec<u8>>) -> InboundMessage {
        InboundMessage {
            topic: self.topic.as_str().into(),
            partition: self.partition,
            offset: self.offset,
            key: self.key.as_ref().map(|k| k.0.clone().into()),
            payload: payload.map(Into::into),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v.0.clone())))
                .collect(),
            timestamp_ms: self.timestamp_ms,
        }
    }

    /// The file name stem of the directory format: `<topic>-<partition>-<offset>`.
    pub fn file_stem(&self) -> String {
        format!("{}-{}-{}", self.topic, self.partition, self.offset)
    }
}

// ------------------------------------------------------------------------------------------------
// Redaction

/// One step of a [`RedactPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// `[3]`: one array item.
    Index(usize),
    /// `[*]`: every array item.
    AnyIndex,
    /// `.name` or `["name"]`: one Hash key.
    Key(String),
    /// `.*`: every key of a Hash.
    AnyKey,
}

/// An argument path to mask: `arguments[1].email`, `arguments[*].password`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactPath {
    steps: Vec<PathStep>,
}

/// A redaction path that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid redaction path {path:?}: {reason}")]
pub struct RedactPathError {
    path: String,
    reason: String,
}

impl RedactPath {
    /// The steps after `arguments`.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }
}

impl FromStr for RedactPath {
    type Err = RedactPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| RedactPathError {
            path: s.to_owned(),
            reason: reason.to_owned(),
        };
        let mut rest = s
            .strip_prefix("arguments")
            .ok_or_else(|| err("it must start with `arguments`"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                // A quoted key: the JSON string rules, so any key can be named.
                let end = quoted_end(after).ok_or_else(|| err("unterminated quoted key"))?;
                let key: String = serde_json::from_str(&format!("\"{}\"", &after[..end]))
                    .map_err(|e| err(&format!("bad quoted key: {e}")))?;
                rest = after[end + 1..]
                    .strip_prefix(']')
                    .ok_or_else(|| err("expected `]` after a quoted key"))?;
                steps.push(PathStep::Key(key));
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| err("missing `]`"))?;
                let inner = after[..end].trim();
                steps.push(if inner == "*" {
                    PathStep::AnyIndex
                } else {
                    PathStep::Index(
                        inner
                            .parse()
                            .map_err(|_| err("an index is a number or `*`"))?,
                    )
                });
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(err("empty key after `.`"));
                }
                steps.push(if name == "*" {
                    PathStep::AnyKey
                } else {
                    PathStep::Key(name.to_owned())
                });
                rest = &after[end..];
            } else {
                return Err(err("expected `[`, `.` or the end"));
            }
        }
        if steps.is_empty() {
            return Err(err("name a value inside `arguments`, e.g. arguments[0]"));
        }
        if let Some(PathStep::Key(k)) = steps.iter().find(|s| is_marker_step(s)) {
            return Err(err(&format!(
                "{k:?} is an ActiveJob marker key and stays intact"
            )));
        }
        Ok(RedactPath { steps })
    }
}

fn is_marker_step(step: &PathStep) -> bool {
    matches!(step, PathStep::Key(k) if k.starts_with("_aj_"))
}

/// Where the closing quote of a JSON string body starting at `s[0]` is.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

impl fmt::Display for RedactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("arguments")?;
        for step in &self.steps {
            match step {
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
                PathStep::AnyKey => f.write_str(".*")?,
                PathStep::Key(k) => write_key(f, k)?,
            }
        }
        Ok(())
    }
}

fn write_key(out: &mut impl fmt::Write, key: &str) -> fmt::Result {
    let plain = !key.is_empty()
        && key != "*"
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if plain {
        write!(out, ".{key}")
    } else {
        write!(
            out,
            "[{}]",
            serde_json::to_string(key).map_err(|_| fmt::Error)?
        )
    }
}

/// A payload that could not be masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot redact: {0}")]
pub struct RedactError(String);

/// A masked payload and the concrete paths that were masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The payload with the selected values replaced by `"[REDACTED]"`.
    pub payload: Vec<u8>,
    /// The paths masked, e.g. `arguments[1].email` (none when no path matched).
    pub paths: Vec<String>,
}

/// Masks the argument values at `paths` in a raw ActiveJob payload (see the module docs).
///
/// ```
/// use activejob_karafka::record::{redact, RedactPath};
///
/// let payload = br#"{"job_class":"SignupJob","arguments":[7,{"email":"ann@example.com","plan":"pro","_aj_symbol_keys":["email","plan"]}]}"#;
/// let path: RedactPath = "arguments[1].email".parse()?;
/// let masked = redact(payload, &[path])?;
/// assert_eq!(masked.paths, ["arguments[1].email"]);
/// assert_eq!(
///     masked.payload,
///     br#"{"job_class":"SignupJob","arguments":[7,{"email":"[REDACTED]","plan":"pro","_aj_symbol_keys":["email","plan"]}]}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn redact(payload: &[u8], paths: &[RedactPath]) -> Result<Redacted, RedactError> {
    // Validate first so the span scanner below only ever sees well-formed JSON.
    serde_json::from_slice::<serde::de::IgnoredAny>(payload)
        .map_err(|e| RedactError(format!("the payload is not JSON: {e}")))?;
    let root = Scanner {
        bytes: payload,
        pos: 0,
    }
    .parse()
    .map_err(RedactError)?;
    let arguments = match &root.kind {
        NodeKind::Object(members) => members.iter().find(|(k, _)| k == "arguments"),
        _ => return Err(RedactError("the payload is not a JSON object".into())),
    };
    let Some((_, arguments)) = arguments else {
        return Ok(Redacted {
            payload: payload.to_vec(),
            paths: Vec::new(),
        });
    };
    let mut hits: Vec<(usize, usize, String)> = Vec::new();
    for path in paths {
        select(arguments, &path.steps, "arguments".to_owned(), &mut hits);
    }
    hits.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    let mut out = Vec::with_capacity(payload.len());
    let mut done = 0;
    let mut masked = Vec::new();
    for (start, end, path) in hits {
        // A value inside one already masked (two paths, parent and child) is gone already.
        if start < done {
            continue;
        }
        out.extend_from_slice(&payload[done..start]);
        out.extend_from_slice(b"\"");
        out.extend_from_slice(REDACTED.as_bytes());
        out.extend_from_slice(b"\"");
        done = end;
        masked.push(path);
    }
    out.extend_from_slice(&payload[done..]);
    Ok(Redacted {
        payload: out,
        paths: masked,
    })
}

/// Collects the spans of the values `steps` selects below `node`.
fn select(node: &Node, steps: &[PathStep], path: String, hits: &mut Vec<(usize, usize, String)>) {
    let Some((step, rest)) = steps.split_first() else {
        hits.push((node.start, node.end, path));
        return;
    };
    match (&node.kind, step) {
        (NodeKind::Array(items), PathStep::Index(i)) => {
            if let Some(item) = items.get(*i) {
                select(item, rest, format!("{path}[{i}]"), hits);
            }
        }
        (NodeKind::Array(items), PathStep::AnyIndex) => {
            for (i, item) in items.iter().enumerate() {
                select(item, rest, format!("{path}[{i}]"), hits);
            }
        }
        (NodeKind::Object(members), PathStep::Key(_) | PathStep::AnyKey) => {
            // Only plain Hash arguments have keys to step into: a serialized object is one value.
            if members
                .iter()
                .any(|(k, _)| k == "_aj_serialized" || k == "_aj_globalid")
            {
                return;
            }
            for (key, value) in members {
                if key.starts_with("_aj_") {
                    continue;
                }
                let wanted = match step {
                    PathStep::Key(k) => k == key,
                    _ => true,
                };
                if wanted {
                    let mut next = path.clone();
                    let _ = write_key(&mut next, key);
                    select(value, rest, next, hits);
                }
            }
        }
        _ => {}
    }
}

/// A JSON value with its byte span in the payload.
struct Node {
    start: usize,
    end: usize,
    kind: NodeKind,
}

enum NodeKind {
    Scalar,
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A span-keeping JSON reader for input already known to be valid JSON.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn parse(mut self) -> Result<Node, String> {
        self.value(0)
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        // serde_json refuses deeper nesting than this too, so validation already failed there.
        if depth > 128 {
            return Err("nested too deeply".into());
        }
        self.skip_ws();
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        break;
                    }
                    let key_start = self.pos;
                    self.string()?;
                    let key: String = serde_json::from_slice(&self.bytes[key_start..self.pos])
                        .map_err(|e| e.to_string())?;
                    self.skip_ws();
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(format!("unexpected byte at {}", self.pos)),
                    }
                }
                NodeKind::Object(members)
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(format!("unexpected byte at {}", self.pos)),
                    }
                }
                NodeKind::Array(items)
            }
            Some(b'"') => {
                self.string()?;
                NodeKind::Scalar
            }
            Some(_) => {
                // Numbers and literals run up to the next structural byte or whitespace.
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.pos += 1;
                }
                NodeKind::Scalar
            }
            None => return Err("unexpected end of the payload".into()),
        };
        Ok(Node {
            start,
            end: self.pos,
            kind,
        })
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", byte as char, self.pos))
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.expect(b'"')?;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => return Ok(()),
                _ => {}
            }
        }
        Err("unterminated string".into())
    }
}

// ------------------------------------------------------------------------------------------------
// Recording

/// Where each partition's recording starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest message still kept.
    Earliest,
    /// The end: only messages produced after the start are recorded (until the limit or the
    /// idle timeout).
    Latest,
    /// This offset (clamped to what the partition still keeps).
    Offset(i64),
    /// The first message whose timestamp is at or after this time.
    Time(DateTime<Utc>),
}

impl FromStr for StartAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "earliest" | "beginning" => Ok(StartAt::Earliest),
            "latest" | "end" => Ok(StartAt::Latest),
            n => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(StartAt::Offset)
                .ok_or_else(|| format!("{n:?} is not an offset (a number, earliest or latest)")),
        }
    }
}

/// Where the recording goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// The directory format: a payload file and a `.meta.json` file per message.
    Dir(PathBuf),
    /// The NDJSON format: one [`RecordedMessage`] per line (`-`: standard output).
    Ndjson(PathBuf),
}

/// What to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The topic to read.
    pub topic: String,
    /// The partitions to read; empty: all.
    pub partitions: Vec<i32>,
    /// Where each partition starts.
    pub start: StartAt,
    /// At most this many messages in all.
    pub limit: Option<u64>,
    /// Argument paths to mask in each payload.
    pub redact: Vec<RedactPath>,
    /// Extra librdkafka properties (security settings and the like).
    pub kafka: Vec<(String, String)>,
    /// The `group.id` librdkafka is given; nothing is ever committed under it. `None`: a
    /// throwaway `activejob-karafka-record-<uuid>`.
    pub group_id: Option<String>,
    /// How long to wait without any message: with [`StartAt::Latest`] the recording then ends;
    /// otherwise it fails (the broker stopped answering before the end was reached).
    pub idle_timeout: Duration,
    /// Where to write.
    pub sink: Sink,
    /// Show a progress bar on standard error when it is a terminal.
    pub progress: bool,
}

impl RecordOptions {
    /// Options recording all of `topic` from the earliest offset into directory `out`.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>, sink: Sink) -> Self {
        RecordOptions {
            brokers: brokers.into(),
            topic: topic.into(),
            partitions: Vec::new(),
            start: StartAt::Earliest,
            limit: None,
            redact: Vec::new(),
            kafka: Vec::new(),
            group_id: None,
            idle_timeout: Duration::from_secs(30),
            sink,
            progress: false,
        }
    }
}

/// Why a recording stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A Kafka client call failed.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The topic or a requested partition does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Writing the recording failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The client could not connect: a refused login, a failed TLS handshake or no reachable
    /// broker, as librdkafka reported it.
    #[error("{problem}")]
    Connection {
        /// What librdkafka reported, with what to check.
        problem: String,
        /// The error of the call that failed.
        source: KafkaError,
    },
    /// No message arrived for the idle timeout before the end was reached.
    #[error("no message for {0:?} before reaching the end of partitions {1:?}")]
    Stalled(Duration, Vec<i32>),
}

/// What a recording wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSummary {
    /// The `group.id` used (nothing was committed under it).
    pub group_id: String,
    /// Messages written, tombstones included.
    pub messages: u64,
    /// Of those, tombstones.
    pub tombstones: u64,
    /// Messages with at least one value masked.
    pub redacted: u64,
    /// Messages whose payload could not be masked and was therefore left out.
    pub redaction_failures: u64,
    /// Per partition: (first offset, last offset, count) recorded.
    pub partitions: BTreeMap<i32, (i64, i64, u64)>,
}

const META_TIMEOUT: Duration = Duration::from_secs(15);

/// Records messages as [`RecordOptions`] says (blocking: run it off an async runtime's
/// threads, e.g. with `spawn_blocking`).
pub fn record(options: &RecordOptions) -> Result<RecordSummary, RecordError> {
    let watch = Arc::new(ConnectionWatch::new("record"));
    let (consumer, group_id) = record_consumer(options, watch.clone())?;
    let result = record_with(&consumer, group_id, options);
    if result.is_err() {
        // The connection errors wait in the consumer's queue: serve them to the watch.
        let until = Instant::now() + Duration::from_secs(1);
        while watch.problem().is_none() && Instant::now() < until {
            let _ = consumer.poll(Duration::from_millis(100));
        }
    }
    // A refused login or TLS handshake shows up in a call only as a timeout or a transport
    // failure; name the cause the client reported instead.
    match (result, watch.problem()) {
        (Err(RecordError::Kafka(source) | RecordError::Connection { source, .. }), Some(p)) => {
            Err(RecordError::Connection {
                problem: p.to_string(),
                source,
            })
        }
        (Err(RecordError::Stalled(..)), Some(p)) => Err(RecordError::Connection {
            problem: p.to_string(),
            source: KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            ),
        }),
        (result, _) => result,
    }
}

/// Logs librdkafka's lines and errors and keeps the latest connection problem.
struct RecordContext {
    watch: Arc<ConnectionWatch>,
}

impl ClientContext for RecordContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, line: &str) {
        self.watch.on_log(line);
        crate::kafka::log::log_line("record", level, fac, line);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if !self.watch.on_error(&error, reason) {
            crate::kafka::log::log_error("record", &error, reason);
        }
    }
}

impl ConsumerContext for RecordContext {}

/// The recording's consumer (it commits nothing) and its `group.id`.
fn record_consumer(
    options: &RecordOptions,
    watch: Arc<ConnectionWatch>,
) -> Result<(BaseConsumer<RecordContext>, String), RecordError> {
    let group_id = options
        .group_id
        .clone()
        .unwrap_or_else(|| format!("activejob-karafka-record-{}", uuid::Uuid::new_v4().simple()));
    let mut config = client::base_config(&options.brokers, Some("activejob-karafka-record"));
    for (k, v) in &options.kafka {
        config.set(k, v);
    }
    // Set after the user's properties so that none of them can turn committing back on.
    config
        .set("group.id", &group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer<RecordContext> =
        config.create_with_context(RecordContext { watch })?;
    Ok((consumer, group_id))
}

fn record_with(
    consumer: &BaseConsumer<RecordContext>,
    group_id: String,
    options: &RecordOptions,
) -> Result<RecordSummary, RecordError> {
    let partitions = topic_partitions(consumer, &options.topic, &options.partitions)?;
    let bounded = options.start != StartAt::Latest;
    let mut plan: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for &p in &partitions {
        let (low, high) = consumer.fetch_watermarks(&options.topic, p, META_TIMEOUT)?;
        plan.insert(p, (low, high));
    }
    let starts = start_offsets(consumer, options, &plan)?;
    // A partition is open while its start is below the end it had when the recording began.
    let mut open: BTreeMap<i32, i64> = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for (&p, &(_, high)) in &plan {
        let start = starts[&p];
        if !bounded || start < high {
            open.insert(p, high);
            tpl.add_partition_offset(&options.topic, p, Offset::Offset(start))?;
        }
    }
    let mut writer = Writer::open(&options.sink)?;
    let mut summary = RecordSummary {
        group_id,
        ..RecordSummary::default()
    };
    let expected: u64 = if bounded {
        open.iter().map(|(p, high)| (high - starts[p]) as u64).sum()
    } else {
        0
    };
    let total = match (options.limit, bounded) {
        (Some(limit), true) => Some(limit.min(expected)),
        (Some(limit), false) => Some(limit),
        (None, true) => Some(expected),
        (None, false) => None,
    };
    let bar = progress_bar(options.progress, total);
    if open.is_empty() || options.limit == Some(0) {
        bar.finish_and_clear();
        writer.finish()?;
        return Ok(summary);
    }
    consumer.assign(&tpl)?;
    let mut last_progress = Instant::now();
    loop {
        if bounded && open.is_empty() {
            break;
        }
        if options.limit.is_some_and(|limit| summary.messages >= limit) {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                last_progress = Instant::now();
                let (p, offset) = (message.partition(), message.offset());
                let Some(&high) = open.get(&p) else {
                    continue;
                };
                if bounded && offset >= high {
                    open.remove(&p);
                    continue;
                }
                let recorded = recorded_message(&message);
                let payload = message.payload().map(<[u8]>::to_vec);
                writer.write(recorded, payload, &options.redact, &mut summary)?;
                bar.inc(1);
                let entry = summary.partitions.entry(p).or_insert((offset, offset, 0));
                entry.1 = offset;
                entry.2 += 1;
                if bounded && offset + 1 >= high {
                    open.remove(&p);
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                last_progress = Instant::now();
                // At the end now means at or past the end taken at the start: done.
                if bounded {
                    open.remove(&p);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "record: consumer error");
            }
            None => {
                if last_progress.elapsed() >= options.idle_timeout {
                    if bounded {
                        bar.abandon();
                        return Err(RecordError::Stalled(
                            options.idle_timeout,
                            open.keys().copied().collect(),
                        ));
                    }
                    break;
                }
            }
        }
    }
    bar.finish_and_clear();
    // Leaves the assignment without committing (auto-commit is off and nothing was stored).
    consumer.unassign()?;
    writer.finish()?;
    Ok(summary)
}

fn topic_partitions(
    consumer: &BaseConsumer<RecordContext>,
    topic: &str,
    wanted: &[i32],
) -> Result<Vec<i32>, RecordError> {
    let metadata = consumer.fetch_metadata(Some(topic), META_TIMEOUT)?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .ok_or_else(|| RecordError::NotFound(format!("topic {topic:?} does not exist")))?;
    let all: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    if wanted.is_empty() {
        return Ok(all);
    }
    for p in wanted {
        if !all.contains(p) {
            return Err(RecordError::NotFound(format!(
                "topic {topic:?} has no partition {p} (it has {})",
                all.len()
            )));
        }
    }
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    Ok(wanted)
}

fn start_offsets(
    consumer: &BaseConsumer<RecordContext>,
    options: &RecordOptions,
    plan: &BTreeMap<i32, (i64, i64)>,
) -> Result<BTreeMap<i32, i64>, RecordError> {
    let mut starts = BTreeMap::new();
    match options.start {
        StartAt::Earliest => plan.iter().for_each(|(&p, &(low, _))| {
            starts.insert(p, low);
        }),
        StartAt::Latest => plan.iter().for_each(|(&p, &(_, high))| {
            starts.insert(p, high);
        }),
        StartAt::Offset(n) => plan.iter().for_each(|(&p, &(low, high))| {
            starts.insert(p, n.clamp(low, high));
        }),
        StartAt::Time(at) => {
            let mut tpl = TopicPartitionList::new();
            for &p in plan.keys() {
                tpl.add_partition_offset(&options.topic, p, Offset::Offset(at.timestamp_millis()))?;
            }
            let found = consumer.offsets_for_times(tpl, META_TIMEOUT)?;
            for (&p, &(low, high)) in plan {
                let offset = match found.find_partition(&options.topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o.clamp(low, high),
                    // No message at or after the time: nothing to record there.
                    _ => high,
                };
                starts.insert(p, offset);
            }
        }
    }
    Ok(starts)
}

fn recorded_message<M: Message>(message: &M) -> RecordedMessage {
    let headers = copy_headers(message)
        .into_iter()
        .map(|(key, value)| (key, value.map(RecordedBytes)))
        .collect();
    RecordedMessage {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|k| RecordedBytes(k.to_vec())),
        headers,
        timestamp_ms: message.timestamp().to_millis(),
        tombstone: message.payload().is_none(),
        redacted: Vec::new(),
        redaction_error: None,
        payload: None,
    }
}

fn progress_bar(enabled: bool, total: Option<u64>) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "recording {wide_bar} {pos}/{len} messages, {elapsed} elapsed",
        ),
        // From latest there is no end to measure against: count what arrives.
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} recording: {pos} messages, {elapsed} elapsed",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    if total.is_none() {
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    bar
}

/// Writes recorded messages to a [`Sink`].
enum Writer {
    Dir(PathBuf),
    Ndjson {
        path: String,
        out: std::io::BufWriter<Box<dyn Write>>,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Writer {
    fn open(sink: &Sink) -> Result<Writer, RecordError> {
        match sink {
            Sink::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                Ok(Writer::Dir(dir.clone()))
            }
            Sink::Ndjson(path) => {
                let out: Box<dyn Write> = if path.as_os_str() == "-" {
                    Box::new(std::io::stdout())
                } else {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
                    }
                    Box::new(std::fs::File::create(path).map_err(io_err(path))?)
                };
                Ok(Writer::Ndjson {
                    path: path.display().to_string(),
                    out: std::io::BufWriter::new(out),
                })
            }
        }
    }

    fn write(
        &mut self,
        mut meta: RecordedMessage,
        payload: Option<Vec<u8>>,
        redact_paths: &[RedactPath],
        summary: &mut RecordSummary,
    ) -> Result<(), RecordError> {
        summary.messages += 1;
        let payload = match payload {
            None => {
                summary.tombstones += 1;
                None
            }
            Some(bytes) if redact_paths.is_empty() => Some(bytes),
            Some(bytes) => match redact(&bytes, redact_paths) {
                Ok(masked) => {
                    if !masked.paths.is_empty() {
                        summary.redacted += 1;
                    }
                    meta.redacted = masked.paths;
                    Some(masked.payload)
                }
                Err(e) => {
                    // Unmaskable data is left out rather than written unmasked.
                    summary.redaction_failures += 1;
                    tracing::warn!(
                        topic = %meta.topic, partition = meta.partition, offset = meta.offset,
                        error = %e, "record: payload left out"
                    );
                    meta.redaction_error = Some(e.to_string());
                    None
                }
            },
        };
        match self {
            Writer::Dir(dir) => {
                let stem = meta.file_stem();
                if let Some(payload) = &payload {
                    let path = dir.join(format!("{stem}.json"));
                    std::fs::write(&path, payload).map_err(io_err(&path))?;
                }
                let path = dir.join(format!("{stem}.meta.json"));
                let mut text = serde_json::to_vec_pretty(&meta).expect("metadata serializes");
                text.push(b'\n');
                std::fs::write(&path, text).map_err(io_err(&path))?;
            }
            Writer::Ndjson { path, out } => {
                meta.payload = payload.map(RecordedBytes);
                let mut line = serde_json::to_vec(&meta).expect("metadata serializes");
                line.push(b'\n');
                out.write_all(&line).map_err(|source| RecordError::Io {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RecordError> {
        if let Writer::Ndjson { path, out } = self {
            out.flush().map_err(|source| RecordError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<RedactPath> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn paths_parse_and_print() {
        for p in [
            "arguments[0]",
            "arguments[1].email",
            "arguments[*].password",
            "arguments[0][\"a b\"]",
            "arguments[2].*",
        ] {
            assert_eq!(p.parse::<RedactPath>().unwrap().to_string(), p);
        }
        for bad in [
            "args[0]",
            "arguments",
            "arguments[x]",
            "arguments.",
            "arguments[0]._aj_symbol_keys",
            "arguments[0",
        ] {
            assert!(bad.parse::<RedactPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn masks_values_and_keeps_every_other_byte() {
        let payload = br#"{"job_class":"J","arguments":[ "x\u003c" , {"email":"a@b","n":1,"_aj_symbol_keys":["email","n"]},[{"password":"p1"},{"password":"p2","_aj_hash_with_indifferent_access":true}]],"executions":0}"#;
        let out = redact(
            payload,
            &paths(&[
                "arguments[1].email",
                "arguments[*].password",
                "arguments[2][*].password",
            ]),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out.payload).unwrap(),
            r#"{"job_class":"J","arguments":[ "x\u003c" , {"email":"[REDACTED]","n":1,"_aj_symbol_keys":["email","n"]},[{"password":"[REDACTED]"},{"password":"[REDACTED]","_aj_hash_with_indifferent_access":true}]],"executions":0}"#
        );
        assert_eq!(
            out.paths,
            [
                "arguments[1].email",
                "arguments[2][0].password",
                "arguments[2][1].password"
            ]
        );
    }

    #[test]
    fn serialized_objects_are_masked_whole_never_inside() {
        let payload = br#"{"arguments":[{"_aj_serialized":"MoneySerializer","amount_cents":5,"currency":"EUR"},{"owner":{"_aj_globalid":"gid://a/User/1"}}]}"#;
        let out = redact(
            payload,
            &paths(&["arguments[0].amount_cents", "arguments[1].owner"]),
        )
        .unwrap();
        assert_eq!(out.paths, ["arguments[1].owner"]);
        let whole = redact(payload, &paths(&["arguments[0]", "arguments[0].x"])).unwrap();
        assert!(whole
            .payload
            .starts_with(br#"{"arguments":["[REDACTED]",{"owner""#));
    }

    #[test]
    fn parent_and_child_paths_mask_once() {
        let payload = br#"{"arguments":[{"a":{"b":1}}]}"#;
        let out = redact(payload, &paths(&["arguments[0].a.b", "arguments[0]"])).unwrap();
        assert_eq!(out.payload, br#"{"arguments":["[REDACTED]"]}"#);
        assert_eq!(out.paths, ["arguments[0]"]);
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(redact(b"{nope", &paths(&["arguments[0]"])).is_err());
    }

    #[test]
    fn bytes_round_trip_as_text_or_base64() {
        let meta = RecordedMessage {
            topic: "t".into(),
            partition: 1,
            offset: 2,
            key: Some(RecordedBytes(vec![0xff, 0x00])),
            headers: vec![
                ("a".into(), Some(RecordedBytes(b"v".to_vec()))),
                ("b".into(), None),
            ],
            timestamp_ms: Some(5),
            tombstone: false,
            redacted: vec![],
            redaction_error: None,
            payload: None,
        };
        let text = serde_json::to_string(&meta).unwrap();
        assert_eq!(
            text,
            r#"{"topic":"t","partition":1,"offset":2,"key":{"base64":"/wA="},"headers":[["a","v"],["b",null]],"timestamp_ms":5}"#
        );
        assert_eq!(
            serde_json::from_str::<RecordedMessage>(&text).unwrap(),
            meta
        );
    }
}
