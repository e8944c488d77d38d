//! Connection settings: the one list of librdkafka properties that describe how a client
//! reaches and authenticates to the brokers, applied to every client the crate derives from a
//! user's `kafka` table, and the one lookup of the brokers.
//!
//! A client that takes the user's whole `kafka` table (the worker's consumer, the dispatcher's
//! consumer, a job producer) gets these properties anyway. The clients *derived* from another
//! client's settings (the worker's dead-letter producer and the dispatcher's producer, built
//! from the consumer's `kafka` table) copy only these: a consumer property such as
//! `enable.auto.commit` means nothing to a producer, while a TLS or SASL property it missed
//! would make it fail to connect, or worse, connect without the verification asked for.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

/// Environment variable naming the brokers when the configuration does not.
pub(crate) const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// What every "no brokers" error says.
pub(crate) const NO_BROKERS: &str = "no Kafka brokers: set bootstrap_servers, the kafka \
     property \"bootstrap.servers\" or the KAFKA_BOOTSTRAP_SERVERS environment variable";

/// The brokers: `explicit` (a `bootstrap_servers` setting), else the `bootstrap.servers` kafka
/// property, else [`BOOTSTRAP_ENV`]; blank values count as unset.
pub(crate) fn bootstrap_servers(
    explicit: Option<&str>,
    kafka: &BTreeMap<String, String>,
) -> Option<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| kafka.get("bootstrap.servers").cloned())
        .or_else(|| std::env::var(BOOTSTRAP_ENV).ok())
        .filter(|s| !s.trim().is_empty())
}

/// True for the librdkafka properties that describe the connection (brokers, identity,
/// address resolution, sockets, TLS, SASL), which every client of one application shares.
pub(crate) fn is_connection_property(key: &str) -> bool {
    matches!(
        key,
        "bootstrap.servers"
            | "metadata.broker.list"
            | "client.id"
            | "client.rack"
            | "broker.address.family"
            | "broker.address.ttl"
            | "client.dns.lookup"
            | "resolve_canonical_bootstrap_servers_only"
    ) || key.starts_with("security.")
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key.starts_with("ssl_")
        || key.starts_with("enable.ssl.")
        || key.starts_with("enable.sasl.")
        || key.starts_with("https.")
        || key.starts_with("socket.")
}

/// The settings every client starts from: the brokers, `client.id` when given, Nagle off (as
/// Karafka and WaterDrop set it) and the software name librdkafka reports to the broker.
pub(crate) fn base_config(bootstrap: &str, client_id: Option<&str>) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    if let Some(id) = client_id {
        c.set("client.id", id);
    }
    c.set("socket.nagle.disable", "true")
        .set("client.software.name", "activejob-karafka")
        .set("client.software.version", env!("CARGO_PKG_VERSION"));
    c
}

/// Copies the connection properties of `kafka` (a consumer's table) into `c`, then sets
/// `bootstrap.servers` again so that the resolved brokers win.
pub(crate) fn copy_connection(
    c: &mut ClientConfig,
    kafka: &BTreeMap<String, String>,
    bootstrap: &str,
) {
    for (k, v) in kafka {
        if is_connection_property(k) {
            c.set(k, v);
        }
    }
    c.set("bootstrap.servers", bootstrap);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property that decides how a client reaches or authenticates to the brokers is a
    /// connection property, and no consumer-only or producer-only property is.
    #[test]
    fn the_connection_list_covers_tls_sasl_sockets_and_resolution() {
        for key in [
            "bootstrap.servers",
            "client.id",
            "client.rack",
            "client.dns.lookup",
            "broker.address.family",
            "security.protocol",
            "ssl.ca.location",
            "ssl.ca.pem",
            "ssl.certificate.location",
            "ssl.key.location",
            "ssl.key.password",
            "ssl.keystore.location",
            "ssl.endpoint.identification.algorithm",
            "ssl_engine_callback_data",
            "enable.ssl.certificate.verification",
            "sasl.mechanism",
            "sasl.username",
            "sasl.password",
            "sasl.oauthbearer.config",
            "enable.sasl.oauthbearer.unsecure.jwt",
            "https.ca.location",
            "socket.keepalive.enable",
            "socket.timeout.ms",
        ] {
            assert!(
                is_connection_property(key),
                "{key} is a connection property"
            );
        }
        for key in [
            "group.id",
            "enable.auto.commit",
            "enable.auto.offset.store",
            "auto.offset.reset",
            "isolation.level",
            "partition.assignment.strategy",
            "group.protocol",
            "acks",
            "enable.idempotence",
            "compression.type",
            "statistics.interval.ms",
        ] {
            assert!(
                !is_connection_property(key),
                "{key} is not a connection property"
            );
        }
    }

    /// A derived client gets the connection properties and the resolved brokers, and nothing
    /// else of the table it is derived from.
    #[test]
    fn copy_connection_keeps_only_the_connection() {
        let kafka: BTreeMap<String, String> = [
            ("bootstrap.servers", "ignored:9092"),
            ("security.protocol", "SSL"),
            ("enable.ssl.certificate.verification", "false"),
            ("socket.keepalive.enable", "true"),
            ("enable.auto.commit", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut c = base_config("b:1", Some("me"));
        copy_connection(&mut c, &kafka, "b:1");
        assert_eq!(c.get("bootstrap.servers"), Some("b:1"));
        assert_eq!(c.get("client.id"), Some("me"));
        assert_eq!(c.get("security.protocol"), Some("SSL"));
        assert_eq!(c.get("enable.ssl.certificate.verification"), Some("false"));
        assert_eq!(c.get("socket.keepalive.enable"), Some("true"));
        assert_eq!(c.get("enable.auto.commit"), None);
    }

    /// The brokers come from the explicit setting, then the kafka table; blanks are unset.
    #[test]
    fn bootstrap_lookup_order() {
        let kafka: BTreeMap<String, String> =
            [("bootstrap.servers".to_owned(), "table:9092".to_owned())].into();
        assert_eq!(
            bootstrap_servers(Some("x:1"), &kafka).as_deref(),
            Some("x:1")
        );
        assert_eq!(
            bootstrap_servers(None, &kafka).as_deref(),
            Some("table:9092")
        );
        let blank: BTreeMap<String, String> =
            [("bootstrap.servers".to_owned(), " ".to_owned())].into();
        assert_eq!(bootstrap_servers(Some(""), &blank), None);
    }
}
