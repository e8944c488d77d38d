//! What a handler receives: the Kafka message and the live state of its partition.
//!
//! The fetch thread copies the messages it takes from librdkafka out in runs (the consecutive
//! messages of one partition in one batch): the keys and payloads of a run go into one buffer,
//! and each message's [`Bytes`] are a slice of it, so a message costs one allocation (its
//! record, made by its partition's task) instead of one per field, and the buffer is freed once
//! the run's last message is dropped. All messages of a topic share its name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use bytes::Bytes;
use rdkafka::message::{Headers, Message};
use tokio::sync::Notify;

/// The headers of a librdkafka message, copied in order: a key may repeat, a value may be absent
/// (Karafka and the tombstones of Scheduled Messages write such headers).
pub(crate) fn copy_headers(message: &impl Message) -> Vec<(String, Option<Vec<u8>>)> {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default()
}

/// One Kafka message, copied out of librdkafka so it can outlive the poll that fetched it.
///
/// Key and payload are [`Bytes`]: cheap to clone, and possibly slices of a buffer shared with
/// the messages fetched along with this one (see the module docs). A handler that keeps a
/// message's bytes long after the job keeps that buffer; `Bytes::copy_from_slice` detaches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// Topic the message was read from (the ActiveJob `queue_name`), shared by the messages of
    /// the topic.
    pub topic: Arc<str>,
    /// Partition within the topic.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Message key, if any (Karafka OSS dispatches without one).
    pub key: Option<Bytes>,
    /// Raw payload; `None` for a tombstone.
    pub payload: Option<Bytes>,
    /// Headers in wire order; duplicates are kept.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Message timestamp in milliseconds since the Unix epoch, when the broker gave one.
    pub timestamp_ms: Option<i64>,
}

impl InboundMessage {
    /// The value of the first header called `name` (`None` when absent or null).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// A one-way switch that async code can wait on.
#[derive(Debug, Default)]
pub(crate) struct Flag {
    set: AtomicBool,
    notify: Notify,
}

impl Flag {
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Resolves once the flag is set (at once if it already is).
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registering before the check closes the window between check and await.
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// Cheap clonable view of the partition's state that a running job can poll.
///
/// A job that takes long should look at these between steps: once either is true the worker
/// will start no further job of this partition, and a job that gives up early (returns an error)
/// is retried by whoever owns the partition next.
#[derive(Debug, Clone)]
pub struct PartitionSignals {
    // One allocation per partition: a job's copy takes a reference on it alone, not on the
    // worker's stopping flag, which every partition's jobs share across threads.
    flags: Arc<SignalFlags>,
}

#[derive(Debug)]
struct SignalFlags {
    revoked: Arc<Flag>,
    stopping: Arc<Flag>,
}

impl PartitionSignals {
    pub(crate) fn new(revoked: Arc<Flag>, stopping: Arc<Flag>) -> Self {
        PartitionSignals {
            flags: Arc::new(SignalFlags { revoked, stopping }),
        }
    }

    /// Signals that never fire: for running a handler outside a worker (tests, one-off runs).
    pub fn detached() -> Self {
        PartitionSignals::new(Arc::default(), Arc::default())
    }

    /// True once the partition was taken away from this worker by a rebalance (or the
    /// assignment was lost). The job's offset can then no longer be committed by this worker.
    pub fn is_revoked(&self) -> bool {
        self.flags.revoked.is_set()
    }

    /// True once the worker is shutting down: the running job may finish, no other starts.
    pub fn is_stopping(&self) -> bool {
        self.flags.stopping.is_set()
    }

    /// Resolves when the partition is revoked or the worker starts stopping, whichever is
    /// first; a long job can `select!` on it to stop early.
    pub async fn cancelled(&self) {
        tokio::select! {
            _ = self.flags.revoked.wait() => {}
            _ = self.flags.stopping.wait() => {}
        }
    }
}

/// Sets a [`PartitionSignals`] by hand, for running handlers outside a worker (replays, tests,
/// an application's own shutdown logic).
#[derive(Debug, Clone)]
pub struct SignalSwitch {
    revoked: Arc<Flag>,
    stopping: Arc<Flag>,
}

impl SignalSwitch {
    /// A switch and the signals it controls.
    pub fn new() -> (SignalSwitch, PartitionSignals) {
        let (revoked, stopping) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
        let signals = PartitionSignals::new(revoked.clone(), stopping.clone());
        (SignalSwitch { revoked, stopping }, signals)
    }

    /// Marks the partition revoked.
    pub fn revoke(&self) {
        self.revoked.set();
    }

    /// Marks the worker stopping.
    pub fn stop(&self) {
        self.stopping.set();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn cancelled_wakes_on_either_signal() {
        let revoked = Arc::new(Flag::default());
        let stopping = Arc::new(Flag::default());
        let signals = PartitionSignals::new(revoked.clone(), stopping.clone());
        assert!(!signals.is_revoked() && !signals.is_stopping());
        let waiter = tokio::spawn({
            let s = signals.clone();
            async move { s.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        stopping.set();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(signals.is_stopping() && !signals.is_revoked());
        revoked.set();
        // Already set: resolves at once.
        signals.cancelled().await;
    }

    #[test]
    fn header_lookup() {
        let m = InboundMessage {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            key: None,
            payload: None,
            headers: vec![("a".into(), Some(b"1".to_vec())), ("b".into(), None)],
            timestamp_ms: None,
        };
        assert_eq!(&*m.topic, "t");
        assert_eq!(m.header("a"), Some(&b"1"[..]));
        assert_eq!(m.header("b"), None);
        assert_eq!(m.header("c"), None);
    }
}
