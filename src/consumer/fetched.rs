//! Messages as the fetch thread hands them to a partition: in runs (the consecutive messages of
//! one partition in one batch taken from librdkafka), each copied into one buffer.
//!
//! The fetch thread is the one thread every message goes through, so it does as little per
//! message as it can: it copies the keys and payloads of a run into one buffer and records each
//! message's other fields, two allocations per run. The partition's task builds each message's
//! [`InboundMessage`] as it takes it: that allocation is made and freed on the task's thread, and
//! the message's key and payload are slices of the run's buffer (no copy). An allocation made on
//! one thread and freed on another is what costs most: glibc's allocator then takes the other
//! thread's arena lock, and the threads wait for each other.
//!
//! The run's buffer is freed once its last message is dropped, so the run's keys and payloads
//! are counted in the buffer budget (see `buffer.rs`) until its last message is taken to run,
//! however many of the others were: a partition stopped in the middle of a run (a long job)
//! counts the whole buffer it keeps alive. Only the messages taken and still running (or kept by
//! a handler) keep a buffer alive without it being counted.

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::message::InboundMessage;

/// Headers as [`InboundMessage::headers`] holds them.
type Headers = Vec<(String, Option<Vec<u8>>)>;

/// The bytes a message takes in memory while the runtime holds it: its data plus the fixed size
/// of its record (its topic's name is shared by all messages of the topic).
pub(crate) fn held_bytes(m: &InboundMessage) -> usize {
    held_size(
        m.key.as_ref().map_or(0, Bytes::len),
        m.payload.as_ref().map_or(0, Bytes::len),
        &m.headers,
    )
}

fn held_size(key: usize, payload: usize, headers: &Headers) -> usize {
    let headers: usize = headers
        .iter()
        .map(|(k, v)| {
            size_of::<(String, Option<Vec<u8>>)>() + k.len() + v.as_ref().map_or(0, Vec::len)
        })
        .sum();
    // The record, its `Arc` counts and its slot in a queue.
    size_of::<InboundMessage>()
        + 2 * size_of::<usize>()
        + size_of::<Arc<InboundMessage>>()
        + key
        + payload
        + headers
}

/// One message of a run, its key and payload still in the run's buffer.
#[derive(Debug)]
struct Entry {
    offset: i64,
    key: Option<usize>,
    payload: Option<usize>,
    headers: Headers,
    timestamp_ms: Option<i64>,
    /// What the message's record and headers are counted for (its key and payload are counted
    /// with the run's buffer).
    held: usize,
}

/// Consecutive messages of one partition, in offset order, not yet taken by its task.
#[derive(Debug)]
pub(crate) struct FetchedRun {
    topic: Arc<str>,
    partition: i32,
    /// The keys and payloads of the messages not yet taken, in order.
    data: Bytes,
    entries: VecDeque<Entry>,
    /// The bytes of the keys and payloads, taken or not.
    data_bytes: usize,
    /// The sum of the entries' `held`, plus `data_bytes`.
    held: usize,
}

impl FetchedRun {
    /// The topic of the run's messages.
    pub(crate) fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// The partition of the run's messages.
    pub(crate) fn partition(&self) -> i32 {
        self.partition
    }

    /// The offset of the first message not yet taken.
    pub(crate) fn first_offset(&self) -> Option<i64> {
        self.entries.front().map(|e| e.offset)
    }

    /// How many messages are left.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The bytes the messages left are counted for in the buffer budget.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The next message and the bytes its taking leaves the budget: its record's, and the whole
    /// buffer's with the last message.
    pub(crate) fn pop_front(&mut self) -> Option<(Arc<InboundMessage>, usize)> {
        let e = self.entries.pop_front()?;
        let mut released = e.held;
        if self.entries.is_empty() {
            released += self.data_bytes;
        }
        self.held -= released;
        let key = e.key.map(|n| self.data.split_to(n));
        let payload = e.payload.map(|n| self.data.split_to(n));
        let m = InboundMessage {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: e.offset,
            key,
            payload,
            headers: e.headers,
            timestamp_ms: e.timestamp_ms,
        };
        Some((Arc::new(m), released))
    }
}

/// The fields of one message, borrowed from librdkafka while a run is built.
pub(crate) struct MessageParts<'a> {
    pub(crate) offset: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) payload: Option<&'a [u8]>,
    pub(crate) headers: Headers,
    pub(crate) timestamp_ms: Option<i64>,
}

/// Builds a [`FetchedRun`] message by message.
pub(crate) struct RunBuilder {
    data: BytesMut,
    entries: VecDeque<Entry>,
    held: usize,
}

impl RunBuilder {
    /// A builder for `messages` messages whose keys and payloads take `bytes` together.
    pub(crate) fn with_capacity(messages: usize, bytes: usize) -> Self {
        RunBuilder {
            data: BytesMut::with_capacity(bytes),
            entries: VecDeque::with_capacity(messages),
            held: 0,
        }
    }

    /// Appends the next message of the run.
    pub(crate) fn push(&mut self, m: MessageParts<'_>) {
        let (key, payload) = (m.key.map(<[u8]>::len), m.payload.map(<[u8]>::len));
        self.data.extend_from_slice(m.key.unwrap_or_default());
        self.data.extend_from_slice(m.payload.unwrap_or_default());
        let held = held_size(0, 0, &m.headers);
        self.held += held;
        self.entries.push_back(Entry {
            offset: m.offset,
            key,
            payload,
            headers: m.headers,
            timestamp_ms: m.timestamp_ms,
            held,
        });
    }

    /// The run of the messages pushed, of `topic`/`partition`.
    pub(crate) fn finish(self, topic: Arc<str>, partition: i32) -> FetchedRun {
        let data_bytes = self.data.len();
        FetchedRun {
            topic,
            partition,
            data: self.data.freeze(),
            entries: self.entries,
            data_bytes,
            held: self.held + data_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(
        offset: i64,
        key: Option<&'a [u8]>,
        payload: Option<&'a [u8]>,
    ) -> MessageParts<'a> {
        MessageParts {
            offset,
            key,
            payload,
            headers: if offset == 2 {
                vec![("h".into(), Some(b"v".to_vec())), ("n".into(), None)]
            } else {
                Vec::new()
            },
            timestamp_ms: Some(offset * 10),
        }
    }

    #[test]
    fn a_run_gives_its_messages_back_in_order_with_their_counted_bytes() {
        let mut b = RunBuilder::with_capacity(3, 16);
        b.push(parts(1, Some(b"k1"), Some(b"payload-1")));
        b.push(parts(2, None, Some(b"")));
        b.push(parts(3, Some(b""), None));
        let mut run = b.finish("jobs".into(), 4);
        assert_eq!((run.len(), run.first_offset()), (3, Some(1)));
        let total = run.held();
        let mut released = Vec::new();
        let mut got = Vec::new();
        while let Some((m, held)) = run.pop_front() {
            released.push(held);
            got.push(m);
        }
        assert_eq!((run.held(), run.len()), (0, 0));
        // The messages are counted for what they hold, together.
        let held: usize = got.iter().map(|m| held_bytes(m)).sum();
        assert_eq!(released.iter().sum::<usize>(), total);
        assert_eq!(total, held);
        // The keys and payloads stay counted until the last message is taken.
        let data = 2 + 9;
        assert!(released[2] >= data);
        assert_eq!(released[0], held_bytes(&got[0]) - data);
        assert_eq!(&*got[0].topic, "jobs");
        assert_eq!(got[0].partition, 4);
        assert_eq!(got[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(got[0].payload.as_deref(), Some(&b"payload-1"[..]));
        assert_eq!(got[1].key, None);
        assert_eq!(got[1].payload.as_deref(), Some(&b""[..]));
        assert_eq!(got[1].header("h"), Some(&b"v"[..]));
        assert_eq!(got[1].headers.len(), 2);
        assert_eq!(got[2].key.as_deref(), Some(&b""[..]));
        assert_eq!(got[2].payload, None);
        let offsets: Vec<_> = got.iter().map(|m| (m.offset, m.timestamp_ms)).collect();
        assert_eq!(offsets, [(1, Some(10)), (2, Some(20)), (3, Some(30))]);
    }
}
