//! The inputs: payload files, directories, NDJSON files and recordings, read into entries in
//! natural name order, each with the lane it must stay in order with.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{io_error, ReplayError, NOT_JOBS};
use crate::consumer::InboundMessage;
use crate::record::RecordedMessage;

/// One job to replay.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) index: usize,
    /// Where it came from, for the report: a path, or `path:line`.
    pub(super) source: String,
    /// The key of its expected typed dump in a map: the file name (`name:line` for NDJSON).
    pub(super) name: String,
    pub(super) lane: Lane,
    /// The line number in an NDJSON file (0 for a file of its own): the offset of a bare payload.
    pub(super) line: i64,
    /// The message, when metadata or code gave one (the payload is read separately).
    pub(super) message: Option<InboundMessage>,
    pub(super) body: Body,
}

#[derive(Debug)]
pub(super) enum Body {
    File(PathBuf),
    Bytes(Vec<u8>),
    Tombstone,
    /// A recording without its payload: why.
    Missing(String),
}

/// What a job must stay in order with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Lane {
    None,
    Key(Vec<u8>),
    Partition(String, i32),
    File(PathBuf),
    Alone(usize),
}

impl Entry {
    pub(super) fn lane_of(&self, index: usize) -> Lane {
        match (&self.lane, &self.message) {
            (Lane::File(f), _) => Lane::File(f.clone()),
            (_, Some(m)) => match &m.key {
                Some(key) => Lane::Key(key.to_vec()),
                None => Lane::Partition(m.topic.to_string(), m.partition),
            },
            _ => Lane::Alone(index),
        }
    }
}

pub(super) fn collect(paths: &[PathBuf]) -> Result<Vec<Entry>, ReplayError> {
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(io_error(path))?;
        if metadata.is_dir() {
            walk(path, &mut entries, &mut seen)?;
        } else {
            add_file(path, true, &mut entries, &mut seen)?;
        }
    }
    Ok(entries)
}

pub(super) fn walk(
    dir: &Path,
    entries: &mut Vec<Entry>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), ReplayError> {
    let mut children: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .map(|e| {
            let e = e.map_err(io_error(dir))?;
            let is_dir = e.file_type().map_err(io_error(&e.path()))?.is_dir();
            Ok((e.path(), is_dir))
        })
        .collect::<Result<_, ReplayError>>()?;
    children.sort_by(|a, b| natural_cmp(&file_name(&a.0), &file_name(&b.0)));
    for (child, is_dir) in children {
        if is_dir {
            walk(&child, entries, seen)?;
        } else {
            add_file(&child, false, entries, seen)?;
        }
    }
    Ok(())
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn add_file(
    path: &Path,
    explicit: bool,
    entries: &mut Vec<Entry>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), ReplayError> {
    let name = file_name(path);
    if NOT_JOBS.contains(&name.as_str()) {
        return Ok(());
    }
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(stem) = name.strip_suffix(".meta.json") {
        let payload = path.with_file_name(format!("{stem}.json"));
        if payload.exists() {
            // The payload file carries the job; its metadata is read with it.
            if explicit {
                return add_file(&payload, true, entries, seen);
            }
            return Ok(());
        }
        if !seen.insert(key) {
            return Ok(());
        }
        let meta = read_meta(path)?;
        let body = if meta.tombstone {
            Body::Tombstone
        } else if let Some(e) = &meta.redaction_error {
            Body::Missing(format!("the recording has no payload: {e}"))
        } else {
            Body::Missing(format!("{stem}.json is missing"))
        };
        entries.push(Entry {
            index: 0,
            source: path.display().to_string(),
            name: format!("{stem}.json"),
            lane: Lane::None,
            line: 0,
            message: Some(meta.to_inbound(None)),
            body,
        });
        return Ok(());
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        if seen.insert(key) {
            read_ndjson(path, &name, entries)?;
        }
        return Ok(());
    }
    if !explicit && !lower.ends_with(".json") {
        return Ok(());
    }
    if !seen.insert(key) {
        return Ok(());
    }
    let meta_path = match name.strip_suffix(".json") {
        Some(stem) => path.with_file_name(format!("{stem}.meta.json")),
        None => path.with_file_name(format!("{name}.meta.json")),
    };
    let message = if meta_path.exists() {
        Some(read_meta(&meta_path)?.to_inbound(None))
    } else {
        None
    };
    entries.push(Entry {
        index: 0,
        source: path.display().to_string(),
        name,
        lane: Lane::None,
        line: 0,
        message,
        body: Body::File(path.to_path_buf()),
    });
    Ok(())
}

pub(super) fn read_meta(path: &Path) -> Result<RecordedMessage, ReplayError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    serde_json::from_slice(&bytes).map_err(|e| ReplayError::Invalid {
        path: path.display().to_string(),
        reason: format!("not recording metadata: {e}"),
    })
}

pub(super) fn read_ndjson(
    path: &Path,
    name: &str,
    entries: &mut Vec<Entry>,
) -> Result<(), ReplayError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = i + 1;
        let source = format!("{}:{number}", path.display());
        let name = format!("{name}:{number}");
        match as_record(line) {
            Some(record) => {
                let body = match (&record.payload, record.tombstone) {
                    (Some(p), _) => Body::Bytes(p.0.clone()),
                    (None, true) => Body::Tombstone,
                    (None, false) => Body::Missing(match &record.redaction_error {
                        Some(e) => format!("the recording has no payload: {e}"),
                        None => "the record has no payload".to_owned(),
                    }),
                };
                entries.push(Entry {
                    index: 0,
                    source,
                    name,
                    lane: Lane::None,
                    line: 0,
                    message: Some(record.to_inbound(None)),
                    body,
                });
            }
            None => entries.push(Entry {
                index: 0,
                source,
                name,
                lane: Lane::File(path.to_path_buf()),
                line: number as i64,
                message: None,
                body: Body::Bytes(line.to_vec()),
            }),
        }
    }
    Ok(())
}

/// A recorded record line: metadata with the payload inline (or a tombstone), not a job.
pub(super) fn as_record(line: &[u8]) -> Option<RecordedMessage> {
    let value: Json = serde_json::from_slice(line).ok()?;
    let object = value.as_object()?;
    let is_record = object.contains_key("topic")
        && object.contains_key("offset")
        && !object.contains_key("job_class")
        && (object.contains_key("payload") || object.contains_key("tombstone"));
    if !is_record {
        return None;
    }
    serde_json::from_slice(line).ok()
}

/// Compares names with runs of digits as numbers: `t-0-9` before `t-0-10`.
pub(super) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (tx, ty) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                tx.len()
                    .cmp(&ty.len())
                    .then(tx.cmp(ty))
                    .then(x.len().cmp(&y.len()))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}
