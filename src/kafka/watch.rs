//! What a client learned about its connection: librdkafka retries a refused login, a failed
//! TLS handshake or an unreachable broker in the background forever, reporting each attempt
//! only through its error callback. [`ConnectionWatch`] keeps the latest such problem, logs it
//! as an error (once per distinct problem, then at most once a minute), and forgets it once
//! librdkafka's statistics show a broker up again, so that `/health` and error messages can
//! name the cause instead of a timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// How often the same problem is logged again at error level while it lasts.
const RELOG_EVERY: Duration = Duration::from_secs(60);

/// Why a client cannot work with the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectionProblem {
    /// The broker refused the SASL login.
    Authentication(String),
    /// The TLS handshake failed (unknown CA, missing or refused client certificate, ...).
    Tls(String),
    /// No broker could be reached.
    Unreachable(String),
}

impl ConnectionProblem {
    /// The problem an error reported by librdkafka stands for, if it is one.
    pub(crate) fn classify(error: &KafkaError, reason: &str) -> Option<Self> {
        let code = error.rdkafka_error_code();
        let text = reason.to_ascii_lowercase();
        if code == Some(RDKafkaErrorCode::Authentication)
            || text.contains("sasl authentication")
            || text.contains("authentication failed")
        {
            return Some(ConnectionProblem::Authentication(reason.to_owned()));
        }
        // A broker that requires a client certificate and got none (or an untrusted one)
        // answers with a TLS alert right after the handshake.
        // A connection reset during the handshake is a broker going away, not a TLS setting,
        // whether librdkafka words it as a failed handshake or as a disconnection in the
        // handshake state ("Disconnected: connection reset by peer (... in state
        // SSL_HANDSHAKE)", seen while a TLS broker shuts down).
        let reset = text.contains("handshake failed: disconnected")
            || text.contains("disconnected: connection reset by peer");
        if !reset && code == Some(RDKafkaErrorCode::SSL)
            || !reset && text.contains("ssl") && text.contains("handshake")
            || text.contains("certificate verify failed")
            || text.contains("alert bad certificate")
            || text.contains("alert certificate required")
        {
            return Some(ConnectionProblem::Tls(reason.to_owned()));
        }
        match code {
            Some(
                RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::BrokerTransportFailure,
            ) => Some(ConnectionProblem::Unreachable(reason.to_owned())),
            _ if reset => Some(ConnectionProblem::Unreachable(reason.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for ConnectionProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionProblem::Authentication(m) => write!(
                f,
                "authentication failed: {m} (check sasl.mechanism, sasl.username and \
                 sasl.password against the broker's users)"
            ),
            ConnectionProblem::Tls(m) => write!(
                f,
                "TLS handshake failed: {m} (check ssl.ca.location for the broker's CA, and \
                 ssl.certificate.location / ssl.key.location when the broker requires a client \
                 certificate)"
            ),
            ConnectionProblem::Unreachable(m) => write!(f, "no broker reachable: {m}"),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    problem: Option<(ConnectionProblem, Instant)>,
    logged: Option<(ConnectionProblem, Instant)>,
}

/// The latest connection problem of one client; see the module docs.
#[derive(Debug)]
pub(crate) struct ConnectionWatch {
    client: &'static str,
    state: Mutex<State>,
}

impl ConnectionWatch {
    /// A watch for the client named `client` in log lines.
    pub(crate) fn new(client: &'static str) -> Self {
        ConnectionWatch {
            client,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads a librdkafka log line: the lines about a failed connection carry the details
    /// (the broker's refusal, the certificate check) that the error events lack. Such a
    /// line is kept as the problem's text; the line itself is logged by the caller.
    pub(crate) fn on_log(&self, line: &str) {
        let text = line.to_ascii_lowercase();
        if !(text.contains("handshake failed")
            || text.contains("alert bad certificate")
            || text.contains("alert certificate required")
            || text.contains("sasl authentication")
            || text.contains("authentication failed"))
        {
            return;
        }
        if let Some(problem) = ConnectionProblem::classify(&KafkaError::Canceled, line) {
            self.state().problem = Some((problem, Instant::now()));
        }
    }

    /// Records an error from librdkafka's error callback or a consumer error event; true when
    /// it was a connection problem (then logged here, as an error).
    pub(crate) fn on_error(&self, error: &KafkaError, reason: &str) -> bool {
        let Some(problem) = ConnectionProblem::classify(error, reason) else {
            return false;
        };
        let now = Instant::now();
        let mut state = self.state();
        // An error event often names only the kind, or only the disconnection that followed
        // a refused handshake or login: keep what a more detailed report said just before.
        let problem = match &state.problem {
            Some((known, at))
                if now.duration_since(*at) < RELOG_EVERY
                    && (std::mem::discriminant(known) == std::mem::discriminant(&problem)
                        || matches!(problem, ConnectionProblem::Unreachable(_))) =>
            {
                known.clone()
            }
            _ => problem,
        };
        let log = match &state.logged {
            Some((last, at)) => *last != problem || now.duration_since(*at) >= RELOG_EVERY,
            None => true,
        };
        if log {
            // Unreachable brokers during a restart are expected and librdkafka retries; the
            // refused login and the failed handshake never fix themselves.
            match &problem {
                ConnectionProblem::Unreachable(_) => {
                    tracing::warn!(client = self.client, "{problem}")
                }
                _ => tracing::error!(client = self.client, "{problem}"),
            }
            state.logged = Some((problem.clone(), now));
        }
        state.problem = Some((problem, now));
        true
    }

    /// Records that a broker is up (seen in librdkafka's statistics): problems reported before
    /// are over.
    pub(crate) fn on_broker_up(&self) {
        let mut state = self.state();
        state.problem = None;
        state.logged = None;
    }

    /// The problem reported since a broker was last seen up, if any.
    pub(crate) fn problem(&self) -> Option<ConnectionProblem> {
        self.state().problem.as_ref().map(|(p, _)| p.clone())
    }
}

/// True when librdkafka's statistics (`statistics.interval.ms`) show at least one broker
/// connection up (past authentication).
pub(crate) fn any_broker_up(statistics: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Stats {
        #[serde(default)]
        brokers: std::collections::BTreeMap<String, Broker>,
    }
    #[derive(serde::Deserialize)]
    struct Broker {
        #[serde(default)]
        state: String,
    }
    serde_json::from_slice::<Stats>(statistics)
        .map(|s| s.brokers.values().any(|b| b.state == "UP"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// librdkafka's error codes and texts for a refused login, a failed handshake and
    /// unreachable brokers each map to their problem; other errors are none.
    #[test]
    fn classifies_librdkafka_errors() {
        let global = |code| KafkaError::Global(code);
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::Authentication),
                "SASL authentication error: Authentication failed during authentication due to \
                 invalid credentials with SASL mechanism SCRAM-SHA-512"
            ),
            Some(ConnectionProblem::Authentication(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::SSL),
                "ssl://127.0.0.1:39496/bootstrap: SSL handshake failed: certificate verify failed"
            ),
            Some(ConnectionProblem::Tls(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::BrokerTransportFailure),
                "127.0.0.1:39496/bootstrap: SSL handshake failed: tlsv13 alert certificate required"
            ),
            Some(ConnectionProblem::Tls(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::BrokerTransportFailure),
                "ssl://127.0.0.1:39496/bootstrap: Receive failed: error:0A000412:SSL \
                 routines::sslv3 alert bad certificate: SSL alert number 42"
            ),
            Some(ConnectionProblem::Tls(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::AllBrokersDown),
                "1/1 brokers are down"
            ),
            Some(ConnectionProblem::Unreachable(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::SSL),
                "GroupCoordinator: 127.0.0.1:39497: SSL handshake failed: Disconnected: connection \
                 reset by peer"
            ),
            Some(ConnectionProblem::Unreachable(_))
        ));
        assert!(matches!(
            ConnectionProblem::classify(
                &global(RDKafkaErrorCode::BrokerTransportFailure),
                "GroupCoordinator: 127.0.0.1:39001: Disconnected: connection reset by peer (after \
                 0ms in state SSL_HANDSHAKE)"
            ),
            Some(ConnectionProblem::Unreachable(_))
        ));
        assert_eq!(
            ConnectionProblem::classify(&global(RDKafkaErrorCode::PollExceeded), "poll"),
            None
        );
    }

    /// A problem lasts until a broker is seen up.
    #[test]
    fn a_broker_up_clears_the_problem() {
        let w = ConnectionWatch::new("test");
        assert!(w.on_error(&KafkaError::Global(RDKafkaErrorCode::Authentication), "bad"));
        assert!(w.problem().unwrap().to_string().contains("sasl.password"));
        assert!(!any_broker_up(
            br#"{"brokers":{"b":{"state":"AUTH_HANDSHAKE"}}}"#
        ));
        assert!(any_broker_up(
            br#"{"brokers":{"a":{"state":"DOWN"},"b":{"state":"UP"}}}"#
        ));
        w.on_broker_up();
        assert_eq!(w.problem(), None);
    }
}
