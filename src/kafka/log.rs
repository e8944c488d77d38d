//! librdkafka's log lines and client errors, sent to `tracing` under the `librdkafka` target
//! with the name of the client they come from.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

/// A client context that only logs; `.0` names the client in each line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogContext(pub(crate) &'static str);

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, line: &str) {
        log_line(self.0, level, fac, line);
    }

    fn stats_raw(&self, _statistics: &[u8]) {}

    fn error(&self, error: KafkaError, reason: &str) {
        log_error(self.0, &error, reason);
    }
}

/// Logs one librdkafka log line at its level.
pub(crate) fn log_line(client: &str, level: RDKafkaLogLevel, fac: &str, line: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", client, fac, "{line}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", client, fac, "{line}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", client, fac, "{line}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", client, fac, "{line}"),
    }
}

/// Logs a client error reported through librdkafka's error callback. End-of-partition events
/// (which the dispatcher's consumer asks for) are not failures and are left out.
pub(crate) fn log_error(client: &str, error: &KafkaError, reason: &str) {
    if matches!(
        error,
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
    ) {
        return;
    }
    tracing::warn!(target: "librdkafka", client, %error, "{reason}");
}
