//! What a Kafka message carries around a job's JSON, when the Ruby application changed it.
//!
//! Karafka writes `ActiveSupport::JSON.encode(job.serialize)` as the message payload and reads it
//! back with `ActiveSupport::JSON.decode`. Since Karafka 2.5.2 an application may replace that
//! pair (`config.internal.active_job.deserializer`), for instance to wrap each job in an
//! envelope with a version and the producing service, or to compress it. A Rust worker and
//! producer must then speak the same format: a [`PayloadFormat`] says how to find the job's JSON
//! in a message payload, and how to wrap a job's JSON for a message.
//!
//! Set it in [`DecodeOptions::payload_format`](crate::DecodeOptions::payload_format) (read by
//! the worker's [`Registry`](crate::registry::Registry), `replay` and `decode`) and in
//! [`JobProducerBuilder::payload_format`](crate::producer::JobProducerBuilder::payload_format)
//! (jobs enqueued or re-enqueued from Rust). Without one, the payload is the job's JSON itself,
//! as with Karafka's default `Karafka::ActiveJob::Deserializer`.
//!
//! The format of Karafka's own documentation example, which wraps the job as
//! `{"version":1,"produced_at":"…","producer":"my-app","payload":{…job…}}` and refuses any
//! other version:
//!
//! ```
//! use activejob_karafka::payload_format::{PayloadFormat, PayloadFormatError};
//! use activejob_karafka::{DecodeOptions, Job};
//! use serde_json::value::RawValue;
//! use std::borrow::Cow;
//! use std::sync::Arc;
//!
//! #[derive(Debug)]
//! struct VersionedEnvelope {
//!     producer: String,
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Envelope<'a> {
//!     version: u32,
//!     #[serde(borrow)]
//!     payload: &'a RawValue,
//! }
//!
//! impl PayloadFormat for VersionedEnvelope {
//!     fn job_json<'a>(&self, payload: &'a [u8]) -> Result<Cow<'a, [u8]>, PayloadFormatError> {
//!         let envelope: Envelope<'a> = serde_json::from_slice(payload)?;
//!         if envelope.version != 1 {
//!             return Err(PayloadFormatError::new(format!(
//!                 "unsupported envelope version {}",
//!                 envelope.version
//!             )));
//!         }
//!         // The job's JSON as it is in the payload: borrowed, not re-encoded.
//!         Ok(Cow::Borrowed(envelope.payload.get().as_bytes()))
//!     }
//!
//!     fn payload(&self, job_json: Vec<u8>) -> Result<Vec<u8>, PayloadFormatError> {
//!         let job = RawValue::from_string(String::from_utf8(job_json)?)?;
//!         let produced_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
//!         let envelope = serde_json::json!({
//!             "version": 1,
//!             "produced_at": produced_at,
//!             "producer": self.producer,
//!             "payload": job,
//!         });
//!         Ok(serde_json::to_vec(&envelope)?)
//!     }
//! }
//!
//! let format = VersionedEnvelope { producer: "billing-rs".to_owned() };
//! let job_json = Job::new("ImportJob").arg(42).encode()?;
//! let wrapped = format.payload(job_json)?;
//!
//! let options = DecodeOptions {
//!     payload_format: Some(Arc::new(format)),
//!     ..DecodeOptions::default()
//! };
//! let job = Job::decode_with(&wrapped, &options)?;
//! assert_eq!(job.job_class, "ImportJob");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

/// How the application's Kafka messages carry a job: Karafka's `Deserializer`, in Rust.
pub trait PayloadFormat: fmt::Debug + Send + Sync {
    /// The job's JSON (what `ActiveSupport::JSON.encode(job.serialize)` writes) in a message
    /// `payload`: borrowed from it when the job is there as is, owned when it had to be decoded
    /// (decompressed, unescaped). An error makes the message undecodable: the worker's policy
    /// for bad messages applies (dead letter queue by default).
    fn job_json<'a>(&self, payload: &'a [u8]) -> Result<Cow<'a, [u8]>, PayloadFormatError>;

    /// The payload of a message that carries a job whose JSON is `job_json`.
    fn payload(&self, job_json: Vec<u8>) -> Result<Vec<u8>, PayloadFormatError>;
}

/// The job's JSON in a message `payload` written in `format`, or the payload itself without one
/// (Karafka's default).
pub(crate) fn job_json_in<'a>(
    format: Option<&dyn PayloadFormat>,
    payload: &'a [u8],
) -> Result<Cow<'a, [u8]>, PayloadFormatError> {
    match format {
        None => Ok(Cow::Borrowed(payload)),
        Some(format) => format.job_json(payload),
    }
}

/// A message payload that does not follow the application's [`PayloadFormat`], or a job that
/// cannot be wrapped in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PayloadFormatError {
    message: String,
}

impl PayloadFormatError {
    /// An error with this reason.
    pub fn new(message: impl Into<String>) -> Self {
        PayloadFormatError {
            message: message.into(),
        }
    }
}

impl From<serde_json::Error> for PayloadFormatError {
    fn from(e: serde_json::Error) -> Self {
        PayloadFormatError::new(e.to_string())
    }
}

impl From<std::string::FromUtf8Error> for PayloadFormatError {
    fn from(e: std::string::FromUtf8Error) -> Self {
        PayloadFormatError::new(format!("not UTF-8: {e}"))
    }
}

impl From<std::str::Utf8Error> for PayloadFormatError {
    fn from(e: std::str::Utf8Error) -> Self {
        PayloadFormatError::new(format!("not UTF-8: {e}"))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The job's JSON after a fixed prefix: the smallest format that is not the job's JSON.
    #[derive(Debug)]
    pub(crate) struct Prefixed(pub(crate) &'static str);

    impl PayloadFormat for Prefixed {
        fn job_json<'a>(&self, payload: &'a [u8]) -> Result<Cow<'a, [u8]>, PayloadFormatError> {
            payload
                .strip_prefix(self.0.as_bytes())
                .map(Cow::Borrowed)
                .ok_or_else(|| PayloadFormatError::new(format!("no {:?} prefix", self.0)))
        }

        fn payload(&self, job_json: Vec<u8>) -> Result<Vec<u8>, PayloadFormatError> {
            Ok([self.0.as_bytes(), &job_json].concat())
        }
    }
}
