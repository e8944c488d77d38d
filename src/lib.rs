//! activejob-karafka: run Rails ActiveJob jobs enqueued through Karafka in Rust.
//!
//! The wire format ([`Job`], [`arguments::Value`]) reads every payload Rails 6.1 to 8.1 writes
//! with the meaning a Rails 8.1 worker gives it, and writes payloads real Ruby ActiveJob reads.
//!
//! ```
//! use activejob_karafka::{Job, arguments::Value};
//!
//! let payload = br#"{"job_class":"ImportJob","job_id":"e9737e3a-4f12-4d90-9559-a075861ccbd3",
//!   "provider_job_id":null,"queue_name":"imports","priority":null,
//!   "arguments":[42,{"mode":{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"fast"},
//!   "dry_run":true,"_aj_ruby2_keywords":["mode","dry_run"]}],"executions":0,"exception_executions":{},
//!   "locale":"en","timezone":"UTC","enqueued_at":"2026-11-24T21:27:56.175007000Z","scheduled_at":null}"#;
//! let job = Job::decode(payload)?;
//! assert_eq!(job.job_class, "ImportJob");
//!
//! #[derive(serde::Deserialize)]
//! struct ImportOptions { mode: String, dry_run: bool }
//! let (import_id, options): (i64, ImportOptions) = job.args()?;
//! assert_eq!((import_id, options.mode.as_str(), options.dry_run), (42, "fast", true));
//!
//! // Writing: Ruby reads this back as ImportJob.perform_later(7, mode: :full)
//! let bytes = Job::new("ImportJob").queue("imports").arg(7)
//!     .kwargs([("mode", Value::symbol("full"))]).encode()?;
//! assert!(bytes.starts_with(br#"{"job_class":"ImportJob""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod arguments;
pub mod cli;
pub mod consumer;
pub mod continuation;
pub mod envelope;
pub mod error;
pub mod json;
mod kafka;
pub mod metrics;
pub mod options;
pub mod payload_format;
pub mod producer;
pub mod rails_version;
pub mod record;
pub mod registry;
pub mod replay;
pub mod ruby;
pub mod scheduled;
pub mod serializers;
pub mod shadow;
pub mod topics;
pub mod typed;
pub mod view;
pub mod web_ui;
pub mod write_rules;

pub use envelope::{EnvelopeTime, Job};
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind, JsonPath};
pub use options::{ClassNames, DecodeOptions};
pub use rails_version::RailsVersion;

impl Job {
    /// The arguments as the handler's type: `(i64, Options)`, a `Vec<T>`, or a struct whose
    /// fields are the positional arguments in order.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, arguments::ArgumentError> {
        arguments::from_values(&self.arguments)
    }
}

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
