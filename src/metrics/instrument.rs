//! [`Instrumented`]: a handler wrapper that runs each job in a `job` span and records it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tracing::Instrument;

use super::labels::{job_head_in, NO_CLASS_TOMBSTONE, NO_CLASS_UNDECODABLE};
use super::Metrics;
use crate::consumer::{InboundMessage, JobFailure, MessageHandler, PartitionSignals};
use crate::payload_format::PayloadFormat;

/// A [`MessageHandler`] that runs another in a `job` span and records each run in [`Metrics`];
/// see [`Metrics::instrument`].
pub struct Instrumented<H> {
    pub(super) inner: H,
    pub(super) metrics: Metrics,
    pub(super) format: Option<Arc<dyn PayloadFormat>>,
}

impl<H: MessageHandler> MessageHandler for Instrumented<H> {
    fn handle(
        &self,
        message: Arc<InboundMessage>,
        signals: PartitionSignals,
    ) -> BoxFuture<'static, Result<(), JobFailure>> {
        let format = self.format.as_deref();
        let head = message
            .payload
            .as_deref()
            .and_then(|p| job_head_in(p, format));
        let class = match (&message.payload, &head) {
            (None, _) => NO_CLASS_TOMBSTONE.to_owned(),
            (Some(_), None) => NO_CLASS_UNDECODABLE.to_owned(),
            (Some(_), Some(h)) => h.job_class.clone(),
        };
        let attempt = self.metrics.attempt(&message);
        let span = tracing::info_span!(
            "job",
            job_class = %class,
            job_id = head.as_ref().and_then(|h| h.job_id.as_deref()).unwrap_or(""),
            topic = %message.topic,
            partition = message.partition,
            offset = message.offset,
            attempt,
        );
        let started = Instant::now();
        // The handler's synchronous part (decoding) runs inside the span too.
        let run = span.in_scope(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.inner.handle(Arc::clone(&message), signals)
            }))
        });
        let metrics = self.metrics.clone();
        async move {
            // A panic is a failed run, as the worker counts it; catching it here keeps the
            // metrics right, and the worker gets the same failure it would have made of it.
            let outcome = match run {
                Ok(run) => AssertUnwindSafe(run)
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|p| Err(JobFailure::from_panic(p))),
                Err(p) => Err(JobFailure::from_panic(p)),
            };
            let took = started.elapsed();
            match &outcome {
                Ok(()) => tracing::debug!(took = ?took, "job succeeded"),
                Err(e) => tracing::warn!(took = ?took, error = %e, "job failed"),
            }
            metrics.record(
                &class,
                &message,
                attempt,
                outcome.as_ref().map(|_| ()),
                took,
            );
            outcome
        }
        .instrument(span)
        .boxed()
    }

    fn payload_format(&self) -> Option<Arc<dyn PayloadFormat>> {
        self.inner.payload_format()
    }
}
