//! Virtual partitions (Karafka Pro): the jobs of one Kafka partition spread over up to
//! `max_partitions` groups that run at the same time, with the offset rules of Karafka's code.
//! This file holds the configuration, the grouping and the offset bookkeeping; the loop that
//! runs the groups is in `partition/vp.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::message::InboundMessage;
use super::peek;

/// A user-supplied virtual key: `None` puts the message in group 0, as Karafka does for a nil
/// key.
pub type VirtualKeyFn = dyn Fn(&InboundMessage) -> Option<Vec<u8>> + Send + Sync;

/// What a message's virtual key is. Messages with the same key run in order in one group;
/// messages with different keys may run at the same time.
#[derive(Clone, Default)]
pub enum VirtualPartitioner {
    /// The message key (Karafka's usual `->(message) { message.key }`).
    #[default]
    Key,
    /// The value of the first header with this name.
    Header(String),
    /// The job's first argument, read from the payload once per message before the job is
    /// handed to a group: a string argument's text, any other argument's serialized JSON
    /// (`42`, `{"_aj_globalid":"gid://app/User/1"}`). The worker finds the job through its
    /// handler's [`PayloadFormat`](crate::payload_format::PayloadFormat), if any.
    FirstArgument,
    /// Anything computed from the message. It runs once per message on the partition's task,
    /// before the job starts: keep it cheap. A panic puts the message in group 0.
    Custom(Arc<VirtualKeyFn>),
}

impl VirtualPartitioner {
    /// A [`Custom`](Self::Custom) partitioner from a closure.
    pub fn custom(f: impl Fn(&InboundMessage) -> Option<Vec<u8>> + Send + Sync + 'static) -> Self {
        VirtualPartitioner::Custom(Arc::new(f))
    }

    /// The virtual key of `message` (for `FirstArgument`, a payload in Karafka's default format:
    /// the job's JSON itself).
    pub fn key(&self, message: &InboundMessage) -> Option<Vec<u8>> {
        match self {
            VirtualPartitioner::Key => message.key.as_deref().map(<[u8]>::to_vec),
            VirtualPartitioner::Header(name) => message.header(name).map(<[u8]>::to_vec),
            VirtualPartitioner::FirstArgument => message
                .payload
                .as_deref()
                .and_then(|p| peek::peek(p, None, true).first_argument),
            VirtualPartitioner::Custom(f) => f(message),
        }
    }
}

impl fmt::Debug for VirtualPartitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtualPartitioner::Key => f.write_str("Key"),
            VirtualPartitioner::Header(h) => f.debug_tuple("Header").field(h).finish(),
            VirtualPartitioner::FirstArgument => f.write_str("FirstArgument"),
            VirtualPartitioner::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl PartialEq for VirtualPartitioner {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (VirtualPartitioner::Key, VirtualPartitioner::Key)
            | (VirtualPartitioner::FirstArgument, VirtualPartitioner::FirstArgument) => true,
            (VirtualPartitioner::Header(a), VirtualPartitioner::Header(b)) => a == b,
            (VirtualPartitioner::Custom(a), VirtualPartitioner::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for VirtualPartitioner {}

impl<'de> Deserialize<'de> for VirtualPartitioner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Header { header: String },
        }
        match Raw::deserialize(d)? {
            Raw::Name(n) => match n.as_str() {
                "key" => Ok(VirtualPartitioner::Key),
                "first_argument" => Ok(VirtualPartitioner::FirstArgument),
                other => Err(serde::de::Error::custom(format!(
                    "unknown partitioner {other:?}: expected \"key\", \"first_argument\" or {{ header = \"name\" }}"
                ))),
            },
            Raw::Header { header } => Ok(VirtualPartitioner::Header(header)),
        }
    }
}

/// Karafka Pro's `virtual_partitions(partitioner:, max_partitions:)` for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualPartitions {
    /// How a message's virtual key is found.
    pub partitioner: VirtualPartitioner,
    /// How many groups a partition's jobs spread over (Karafka's default is `concurrency`).
    /// With 1, jobs run one at a time as without virtual partitions (Karafka does the same).
    pub max_partitions: usize,
}

impl VirtualPartitions {
    /// Virtual partitions with this partitioner and at most `max_partitions` groups.
    pub fn new(partitioner: VirtualPartitioner, max_partitions: usize) -> Self {
        VirtualPartitions {
            partitioner,
            max_partitions,
        }
    }

    /// The group of `message`: Karafka's default reducer applied to the virtual key,
    /// `key.to_s.sum % max_partitions` (Ruby's `String#sum`: the bytes' sum modulo 2^16). A
    /// message without a key (`nil.to_s` is `""`) goes to group 0. A panicking custom
    /// partitioner also gives group 0: Karafka puts the batch in group 0 when its partitioner
    /// raises.
    pub fn group_of(&self, message: &InboundMessage) -> usize {
        let n = self.max_partitions.max(1);
        if n == 1 {
            return 0;
        }
        // Borrowed where the key is part of the message: no copy per message.
        match &self.partitioner {
            VirtualPartitioner::Key => return reduce(message.key.as_deref(), n),
            VirtualPartitioner::Header(name) => return reduce(message.header(name), n),
            VirtualPartitioner::FirstArgument | VirtualPartitioner::Custom(_) => {}
        }
        let key = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.partitioner.key(message)
        })) {
            Ok(k) => k,
            Err(_) => {
                tracing::warn!(
                    topic = %message.topic,
                    partition = message.partition,
                    offset = message.offset,
                    "virtual partitioner panicked; the job goes to group 0"
                );
                None
            }
        };
        reduce(key.as_deref(), n)
    }
}

/// Karafka's default reducer: `virtual_key.to_s.sum % max_partitions`.
pub(crate) fn reduce(key: Option<&[u8]>, max_partitions: usize) -> usize {
    let sum = key
        .unwrap_or_default()
        .iter()
        .fold(0u32, |s, &b| s.wrapping_add(u32::from(b)))
        & 0xFFFF;
    sum as usize % max_partitions.max(1)
}

/// Karafka's `VirtualOffsetManager`, for one assignment: the offsets taken from the partition
/// in order, each marked when its job is done. The offset to store is the one after the longest
/// fully-done prefix; it moves forward job by job as the prefix grows. Offsets are those of
/// messages actually received, so gaps (compaction, transaction markers) do not hold it back.
#[derive(Debug, Default)]
pub(crate) struct OffsetTracker {
    /// Taken and not yet part of the done prefix, ascending, with their done flag.
    pending: VecDeque<(i64, bool)>,
}

impl OffsetTracker {
    /// Records a newly taken offset (greater than every earlier one).
    pub(crate) fn taken(&mut self, offset: i64) {
        debug_assert!(self.pending.back().is_none_or(|(o, _)| *o < offset));
        self.pending.push_back((offset, false));
    }

    /// Marks `offset` done. Returns the new offset to store (last of the done prefix + 1) when
    /// the prefix grew.
    pub(crate) fn done(&mut self, offset: i64) -> Option<i64> {
        if let Ok(i) = self.pending.binary_search_by_key(&offset, |(o, _)| *o) {
            self.pending[i].1 = true;
        }
        let mut next = None;
        while let Some(&(o, true)) = self.pending.front() {
            self.pending.pop_front();
            next = Some(o + 1);
        }
        next
    }

    /// Offsets taken but not yet in the done prefix (done or not).
    pub(crate) fn held(&self) -> usize {
        self.pending.len()
    }

    /// The first offset not done, if any is held.
    pub(crate) fn first_unfinished(&self) -> Option<i64> {
        self.pending.front().map(|(o, _)| *o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::Bytes;

    #[test]
    fn the_reducer_is_karafkas_string_sum() {
        // "a".sum = 97, "ab".sum = 195; nil.to_s.sum = 0.
        assert_eq!(reduce(Some(b"a"), 8), 97 % 8);
        assert_eq!(reduce(Some(b"ab"), 5), 195 % 5);
        assert_eq!(reduce(None, 8), 0);
        assert_eq!(reduce(Some(b""), 8), 0);
        // String#sum keeps 16 bits: 300 bytes of 0xff sum to 76 500, & 0xffff = 10 964.
        assert_eq!(reduce(Some(&[0xff; 300]), 1_000), 10_964 % 1_000);
        assert_eq!(reduce(Some(b"anything"), 1), 0);
    }

    #[test]
    fn stored_offset_is_the_contiguous_done_prefix() {
        let mut t = OffsetTracker::default();
        for o in [10, 11, 12, 14, 15] {
            t.taken(o);
        }
        assert_eq!(t.done(11), None, "10 is not done");
        assert_eq!(t.done(14), None);
        assert_eq!(t.first_unfinished(), Some(10));
        assert_eq!(t.done(10), Some(12), "10 and 11 done");
        // 13 was never received (a gap): it does not hold the prefix back.
        assert_eq!(t.done(12), Some(15));
        assert_eq!(t.held(), 1);
        assert_eq!(t.done(15), Some(16));
        assert_eq!(t.held(), 0);
        assert_eq!(t.first_unfinished(), None);
    }

    #[test]
    fn partitioners_read_key_header_argument_or_closure() {
        let m = InboundMessage {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: Some(Bytes::from_static(b"k")),
            payload: Some(Bytes::from_static(br#"{"arguments":["acct-9",1]}"#)),
            headers: vec![("tenant".into(), Some(b"t1".to_vec()))],
            timestamp_ms: None,
        };
        assert_eq!(VirtualPartitioner::Key.key(&m), Some(b"k".to_vec()));
        assert_eq!(
            VirtualPartitioner::Header("tenant".into()).key(&m),
            Some(b"t1".to_vec())
        );
        assert_eq!(
            VirtualPartitioner::FirstArgument.key(&m),
            Some(b"acct-9".to_vec())
        );
        let c = VirtualPartitioner::custom(|m| Some(m.offset.to_string().into_bytes()));
        assert_eq!(c.key(&m), Some(b"0".to_vec()));
        assert_eq!(c, c.clone());
        assert_ne!(c, VirtualPartitioner::custom(|_| None));
        let panicky = VirtualPartitions::new(VirtualPartitioner::custom(|_| panic!("no")), 8);
        assert_eq!(panicky.group_of(&m), 0);
        let by_key = VirtualPartitions::new(VirtualPartitioner::Key, 8);
        assert_eq!(by_key.group_of(&m), usize::from(b'k') % 8);
    }
}
