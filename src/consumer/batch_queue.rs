//! The worker's one message queue: every assigned partition's librdkafka queue is forwarded to
//! it, and the fetch thread reads it many messages per call.
//!
//! librdkafka applies its read-ahead bounds (`queued.min.messages`,
//! `queued.max.messages.kbytes`) to the queue a partition's messages land in: when partition
//! queues are forwarded to one queue, the bounds apply to that queue, i.e. once for all
//! partitions, as with the high-level consumer's single consumer queue (Karafka's setup). A
//! partition queue split off on its own would get the whole bound for itself. This queue is not
//! the consumer queue, so it carries messages only: rebalances, errors, commit results and
//! statistics stay on the consumer queue, which the poller serves.
//!
//! rust-rdkafka's poll hands over one message per call, and every call pays for a whole poll:
//! two clock reads, librdkafka's application-poll bookkeeping, the app position update under
//! the partition lock and an event allocation. `rd_kafka_consume_batch_queue` takes all ready
//! messages up to a limit in one call; rust-rdkafka does not expose it, so this module does,
//! with an owned message destroyed on drop. The batch call keeps librdkafka's own rules:
//! messages of an outdated fetch version (before a pause or seek) are dropped, control messages
//! are skipped, and the application position moves past the last message taken, exactly as one
//! poll per message would leave it.

use std::ffi::{c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use super::poller::WorkerContext;

/// The most messages taken from librdkafka per call.
pub(crate) const BATCH_MESSAGES: usize = 256;

/// A librdkafka queue of the worker's consumer that the assigned partitions' messages are
/// forwarded to. It must be dropped before the consumer is destroyed (the poller drops it at
/// the end of its shutdown).
pub(crate) struct MessageQueue {
    queue: NonNull<rd::rd_kafka_queue_t>,
}

// SAFETY: librdkafka queues are thread-safe; the handle is only used through librdkafka calls.
unsafe impl Send for MessageQueue {}
// SAFETY: as above; `take` may run concurrently with librdkafka's own threads.
unsafe impl Sync for MessageQueue {}

impl MessageQueue {
    /// A new, empty queue of `consumer`.
    pub(crate) fn new(consumer: &BaseConsumer<WorkerContext>) -> Option<MessageQueue> {
        // SAFETY: the client pointer is valid while `consumer` lives; librdkafka returns a new
        // queue owned by the caller (or null).
        let queue = unsafe { rd::rd_kafka_queue_new(consumer.client().native_ptr()) };
        NonNull::new(queue).map(|queue| MessageQueue { queue })
    }

    /// Forwards the queue of `topic`/`partition` to this one: its messages land here instead of
    /// on the consumer queue. Must happen before fetching starts (in the assignment callback),
    /// or the first messages would land on the consumer queue. False when librdkafka has no
    /// queue for the partition.
    pub(crate) fn forward_partition(
        &self,
        consumer: &BaseConsumer<WorkerContext>,
        topic: &str,
        partition: i32,
    ) -> bool {
        let Ok(topic) = CString::new(topic) else {
            return false;
        };
        // SAFETY: the client pointer is valid while `consumer` lives, and the topic is a valid
        // C string; librdkafka returns a new reference to the partition's queue (or null).
        let source = unsafe {
            rd::rd_kafka_queue_get_partition(
                consumer.client().native_ptr(),
                topic.as_ptr(),
                partition,
            )
        };
        let Some(source) = NonNull::new(source) else {
            return false;
        };
        // SAFETY: both handles are valid; the forward keeps its own reference on this queue,
        // and destroying `source` drops only the reference taken above.
        unsafe {
            rd::rd_kafka_queue_forward(source.as_ptr(), self.queue.as_ptr());
            rd::rd_kafka_queue_destroy(source.as_ptr());
        }
        true
    }

    /// Waits up to `wait` for a message, then moves the messages ready (up to `limit`, at
    /// most [`BATCH_MESSAGES`]) to the back of `into`; returns how many were taken.
    ///
    /// librdkafka's batch call waits until the batch is full or the timeout passes, so the
    /// wait is for the first message alone: the rest are only those ready now.
    pub(crate) fn take(&self, into: &mut Vec<RawMessage>, wait: Duration, limit: usize) -> usize {
        let wait_ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let first = self.consume(into, wait_ms, 1);
        if first == 0 || limit <= 1 {
            return first;
        }
        first + self.consume(into, 0, limit - 1)
    }

    /// One `rd_kafka_consume_batch_queue` call for up to `limit` (at most [`BATCH_MESSAGES`])
    /// messages, waiting up to `wait_ms` for the batch to fill.
    fn consume(&self, into: &mut Vec<RawMessage>, wait_ms: i32, limit: usize) -> usize {
        let mut batch: [*mut rd::rd_kafka_message_t; BATCH_MESSAGES] =
            [ptr::null_mut(); BATCH_MESSAGES];
        let limit = limit.min(BATCH_MESSAGES);
        // SAFETY: the queue handle is valid; librdkafka writes at most `limit` message
        // pointers, each owned by the caller from then on.
        let taken = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                wait_ms,
                batch.as_mut_ptr(),
                limit,
            )
        };
        let taken = usize::try_from(taken).unwrap_or(0).min(limit);
        into.extend(
            batch[..taken]
                .iter()
                .filter_map(|m| NonNull::new(*m))
                .map(RawMessage),
        );
        taken
    }

    /// Wakes a [`take`](Self::take) waiting on this queue.
    pub(crate) fn wake(&self) {
        // SAFETY: the queue handle is valid.
        unsafe { rd::rd_kafka_queue_yield(self.queue.as_ptr()) }
    }
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_queue_new` and is destroyed once; forwarded
        // partition queues keep their own references.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) }
    }
}

/// A message taken from librdkafka, destroyed when dropped. It must be dropped before the
/// consumer is destroyed: the fetch thread, which holds the consumer, destroys each batch before
/// it takes the next.
pub(crate) struct RawMessage(NonNull<rd::rd_kafka_message_t>);

// SAFETY: a librdkafka message may be read and destroyed from any thread; this type is its
// only owner.
unsafe impl Send for RawMessage {}

impl RawMessage {
    fn raw(&self) -> &rd::rd_kafka_message_t {
        // SAFETY: the pointer is valid until `drop`.
        unsafe { self.0.as_ref() }
    }

    /// The message's topic handle, the same for every message of a topic: a cheap way to tell
    /// whether two messages share a topic.
    pub(crate) fn topic_handle(&self) -> *const c_void {
        self.raw().rkt.cast_const().cast()
    }

    /// The name of the message's topic (lossy for a name that is not UTF-8, which Kafka does not
    /// allow).
    pub(crate) fn topic_name(&self) -> std::borrow::Cow<'_, str> {
        // SAFETY: the message holds a reference on its topic handle, whose name is a valid C
        // string for as long as the handle lives, so as long as `self`.
        let name = unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(self.raw().rkt)) };
        name.to_string_lossy()
    }

    /// The message's partition.
    pub(crate) fn partition(&self) -> i32 {
        self.raw().partition
    }

    /// The message's offset.
    pub(crate) fn offset(&self) -> i64 {
        self.raw().offset
    }

    /// The error librdkafka reports in place of a message (e.g. partition EOF), if any.
    pub(crate) fn error(&self) -> Option<RDKafkaErrorCode> {
        let err = self.raw().err;
        (err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| RDKafkaErrorCode::from(err))
    }

    /// The message's key, `None` when it has none.
    pub(crate) fn key(&self) -> Option<&[u8]> {
        let m = self.raw();
        bytes(self, m.key, m.key_len)
    }

    /// The message's payload, `None` for a tombstone.
    pub(crate) fn payload(&self) -> Option<&[u8]> {
        let m = self.raw();
        bytes(self, m.payload, m.len)
    }

    /// The message's timestamp in milliseconds since the Unix epoch, when the broker gave one.
    pub(crate) fn timestamp_ms(&self) -> Option<i64> {
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is valid; librdkafka writes the timestamp type.
        let at = unsafe { rd::rd_kafka_message_timestamp(self.0.as_ptr(), &mut kind) };
        (kind != rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE).then_some(at)
    }

    /// The message's headers, copied in wire order.
    pub(crate) fn headers(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut headers = ptr::null_mut();
        // SAFETY: the message is valid; on success librdkafka points `headers` at a list the
        // message owns (valid until the message is destroyed).
        let err = unsafe { rd::rd_kafka_message_headers(self.0.as_ptr(), &mut headers) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || headers.is_null() {
            return Vec::new();
        }
        // SAFETY: `headers` is the message's valid header list.
        let count = unsafe { rd::rd_kafka_header_cnt(headers) };
        (0..count)
            .filter_map(|i| {
                let (mut name, mut value, mut size) = (ptr::null(), ptr::null(), 0);
                // SAFETY: `i` is below the count; librdkafka points `name` at a C string and
                // `value` at `size` bytes (null for a null value), both owned by the list.
                let err = unsafe {
                    rd::rd_kafka_header_get_all(headers, i, &mut name, &mut value, &mut size)
                };
                if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
                    return None;
                }
                // SAFETY: `name` is a valid C string owned by the header list.
                let name = unsafe { CStr::from_ptr(name) }
                    .to_string_lossy()
                    .into_owned();
                Some((
                    name,
                    bytes(self, value.cast_mut(), size).map(<[u8]>::to_vec),
                ))
            })
            .collect()
    }
}

impl Drop for RawMessage {
    fn drop(&mut self) {
        // SAFETY: the message came from librdkafka and is destroyed exactly once.
        unsafe { rd::rd_kafka_message_destroy(self.0.as_ptr()) }
    }
}

/// `len` bytes at `data`, a part of `message`, or `None` for a null pointer (a null key, payload
/// or header value).
fn bytes(_message: &RawMessage, data: *mut c_void, len: usize) -> Option<&[u8]> {
    if data.is_null() {
        return None;
    }
    // SAFETY: librdkafka guarantees `len` readable bytes at a non-null `data`, owned by the
    // message, which outlives the returned slice.
    Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
}
