//! Reads a split partition queue many messages per call.
//!
//! rust-rdkafka's `PartitionQueue::poll` hands over one message per call, and every call pays
//! for a whole poll: two clock reads, librdkafka's application-poll bookkeeping, the app
//! position update under the partition lock and an event allocation. With a million small jobs
//! a second that was about a sixth of the worker's CPU. librdkafka's
//! `rd_kafka_consume_batch_queue` takes all ready messages up to a limit in one call; rust-rdkafka
//! does not expose it, so this module does: a second handle on the partition's librdkafka queue
//! (queues are reference counted, so it is the same queue the split `PartitionQueue` holds, whose
//! non-empty callback wakes the task) and an owned message destroyed on drop.
//!
//! The batch call keeps librdkafka's own rules: messages of an outdated fetch version (before a
//! pause or seek) are dropped, control messages are skipped, and the application position moves
//! past the last message taken, exactly as one poll per message would leave it. Messages taken
//! but not yet run stay librdkafka's (not copied) and keep their fetch buffer alive, so with
//! large messages a partition holds up to about twice its read-ahead setting.

use std::collections::VecDeque;
use std::ffi::{c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use super::poller::WorkerContext;
use super::InboundMessage;

/// Messages taken from librdkafka per call. Taken messages leave librdkafka's read-ahead
/// accounting, so a partition may hold one batch beyond `queued.min.messages` /
/// `queued.max.messages.kbytes`; a batch can only take what that read-ahead held, so in bytes
/// it is bounded by the same setting (plus the fetch that crossed it).
pub(crate) const BATCH_MESSAGES: usize = 32;

/// A handle on one partition's librdkafka queue that takes messages in batches.
pub(crate) struct BatchQueue {
    queue: NonNull<rd::rd_kafka_queue_t>,
    /// Keeps the client alive while the handle and its messages exist.
    _consumer: Arc<BaseConsumer<WorkerContext>>,
}

// SAFETY: librdkafka queues are thread-safe; the handle is only used through librdkafka calls.
unsafe impl Send for BatchQueue {}
// SAFETY: as above; `take` may run concurrently with librdkafka's own threads.
unsafe impl Sync for BatchQueue {}

impl BatchQueue {
    /// A handle on the queue of `topic`/`partition`, which must already be split off the
    /// consumer queue (otherwise messages would keep going to the consumer queue).
    pub(crate) fn new(
        consumer: &Arc<BaseConsumer<WorkerContext>>,
        topic: &str,
        partition: i32,
    ) -> Option<BatchQueue> {
        let topic = CString::new(topic).ok()?;
        // SAFETY: the client pointer is valid while `consumer` lives, and the topic is a valid
        // C string; librdkafka returns a new reference to the partition's queue (or null).
        let queue = unsafe {
            rd::rd_kafka_queue_get_partition(
                consumer.client().native_ptr(),
                topic.as_ptr(),
                partition,
            )
        };
        NonNull::new(queue).map(|queue| BatchQueue {
            queue,
            _consumer: Arc::clone(consumer),
        })
    }

    /// Moves the messages ready now (up to [`BATCH_MESSAGES`]) to the back of `into`, without
    /// waiting; returns how many were taken.
    pub(crate) fn take(&self, into: &mut VecDeque<RawMessage>) -> usize {
        let mut batch: [*mut rd::rd_kafka_message_t; BATCH_MESSAGES] =
            [ptr::null_mut(); BATCH_MESSAGES];
        // SAFETY: the queue handle is valid; librdkafka writes at most `BATCH_MESSAGES` message
        // pointers, each owned by the caller from then on.
        let taken = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                0,
                batch.as_mut_ptr(),
                BATCH_MESSAGES,
            )
        };
        let taken = usize::try_from(taken).unwrap_or(0).min(BATCH_MESSAGES);
        into.extend(
            batch[..taken]
                .iter()
                .filter_map(|m| NonNull::new(*m))
                .map(RawMessage),
        );
        taken
    }
}

impl Drop for BatchQueue {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_queue_get_partition` and is destroyed once;
        // this drops this handle's reference only.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) }
    }
}

/// A message taken from librdkafka, destroyed when dropped. It must be dropped before the
/// consumer is destroyed; holders keep the consumer alive (see [`BatchQueue`]).
pub(crate) struct RawMessage(NonNull<rd::rd_kafka_message_t>);

// SAFETY: a librdkafka message may be read and destroyed from any thread; this type is its
// only owner.
unsafe impl Send for RawMessage {}

impl RawMessage {
    fn raw(&self) -> &rd::rd_kafka_message_t {
        // SAFETY: the pointer is valid until `drop`.
        unsafe { self.0.as_ref() }
    }

    /// The error librdkafka reports in place of a message (e.g. partition EOF), if any.
    pub(crate) fn error(&self) -> Option<RDKafkaErrorCode> {
        let err = self.raw().err;
        (err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| RDKafkaErrorCode::from(err))
    }

    /// Copies the message out of librdkafka; `topic` is its topic's name, known to the caller.
    pub(crate) fn to_inbound(&self, topic: &str) -> InboundMessage {
        let m = self.raw();
        InboundMessage {
            topic: topic.to_string(),
            partition: m.partition,
            offset: m.offset,
            key: bytes(self, m.key, m.key_len).map(<[u8]>::to_vec),
            payload: bytes(self, m.payload, m.len).map(<[u8]>::to_vec),
            headers: self.headers(),
            timestamp_ms: self.timestamp_ms(),
        }
    }

    fn timestamp_ms(&self) -> Option<i64> {
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is valid; librdkafka writes the timestamp type.
        let at = unsafe { rd::rd_kafka_message_timestamp(self.0.as_ptr(), &mut kind) };
        (kind != rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE).then_some(at)
    }

    fn headers(&self) -> Vec<(String, Option<Vec<u8>>)> {
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
