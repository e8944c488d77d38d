//! A realistic job for the end-to-end and latency benches: typed arguments of the kinds Rails
//! apps pass, serialized as Rails 8.1 writes them through Karafka.
//!
//! `BillingJob.perform_later(id, "customer-#{id}", priority: :high, at: Time.current)`, with
//! `Time.zone = "UTC"`: an Integer, a String, and keyword arguments (`_aj_ruby2_keywords`)
//! holding a Symbol (`SymbolSerializer`) and an `ActiveSupport::TimeWithZone`
//! (`TimeWithZoneSerializer`, nine fraction digits). The handler takes them as a Rust
//! application would: the Symbol as an enum, the time as the crate's [`RubyTime`].

use activejob_karafka::ruby::time::RubyTime;

/// The job class the benches register.
pub const JOB_CLASS: &str = "BillingJob";

/// A billing run's priority, a Symbol in Ruby.
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// `:low`.
    Low,
    /// `:normal`.
    Normal,
    /// `:high`.
    High,
}

/// The keyword arguments of [`payload`], as a handler takes them.
#[derive(Debug, serde::Deserialize)]
pub struct BillingOptions {
    /// `priority: :high`.
    pub priority: Priority,
    /// `at: Time.current`: the instant and its offset.
    pub at: RubyTime,
}

/// The handler's arguments: `(id, customer, options)`.
pub type BillingArgs = (i64, String, BillingOptions);

/// What the handler does with its arguments: checks them and hands the time back, so nothing is
/// optimized away.
pub fn perform(args: &BillingArgs) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    let (id, customer, options) = args;
    anyhow::ensure!(*id >= 0 && !customer.is_empty(), "bad arguments");
    anyhow::ensure!(options.priority == Priority::High, "bad priority");
    Ok(options.at.instant)
}

/// The payload of job `id`, enqueued at `enqueued_at` (Rails' `Time.now.utc.iso8601(9)`).
pub fn payload(id: u64, enqueued_at: &str) -> String {
    format!(
        concat!(
            r#"{{"job_class":"BillingJob","job_id":"{:08x}-7c1e-4b5d-9f3a-6a2b8c4d0e1f","provider_job_id":null,"#,
            r#""queue_name":"billing","priority":null,"arguments":[{},"customer-{}","#,
            r#"{{"priority":{{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"high"}},"#,
            r#""at":{{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer","value":"{}","time_zone":"UTC"}},"#,
            r#""_aj_ruby2_keywords":["priority","at"]}}],"executions":0,"exception_executions":{{}},"#,
            r#""locale":"en","timezone":"UTC","enqueued_at":"{}","scheduled_at":null}}"#
        ),
        id, id, id, enqueued_at, enqueued_at
    )
}
