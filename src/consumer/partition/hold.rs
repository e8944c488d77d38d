//! `hold_until_scheduled`: a job whose `scheduled_at` is in the future holds its partition,
//! paused in librdkafka and without a concurrency slot, until it is due.

use std::time::{Duration, SystemTime};

use super::PartitionTask;
use crate::consumer::message::InboundMessage;
use crate::consumer::observer::PauseReason;

impl PartitionTask {
    /// When `message` must wait for its `scheduled_at`: the time it is due, if in the future.
    pub(super) fn not_due(&mut self, message: &InboundMessage) -> Option<SystemTime> {
        let at = match self.peeked_schedule {
            Some((offset, at)) if offset == message.offset => at,
            _ => {
                let at = message.payload.as_deref().and_then(|p| {
                    let format = self.worker.payload_format.as_deref();
                    crate::consumer::peek::peek(p, format, false).scheduled_at
                });
                self.peeked_schedule = Some((message.offset, at));
                at
            }
        };
        at.filter(|due| *due > SystemTime::now())
    }

    /// Keeps the partition paused in librdkafka until `due` (wall clock), then resumes it.
    /// False when revoked or stopping meanwhile.
    pub(super) async fn hold_until(&mut self, due: SystemTime) -> bool {
        let wait = due
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tracing::debug!(
            topic = %self.shared.topic,
            partition = self.shared.partition,
            wait_ms = wait.as_millis() as u64,
            "next job is scheduled later; holding the partition"
        );
        self.pause_for(wait, PauseReason::Scheduled).await
    }
}
