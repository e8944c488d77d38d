//! Kafka plumbing shared by every client the crate creates: the worker's consumer, its
//! dead-letter / forward producer, [`JobProducer`](crate::producer::JobProducer), the scheduled
//! messages dispatcher's consumer and producer, and [`record`](crate::record::record).
//!
//! `client.rs` owns the connection settings (which librdkafka properties describe the
//! connection, where the brokers come from, one wording for "no brokers") and `log.rs` the
//! context that sends librdkafka's log lines and errors to `tracing`.

pub(crate) mod client;
pub(crate) mod log;
pub(crate) mod watch;
