//! Ruby and ActiveSupport value semantics that the wire format depends on.
//!
//! ActiveJob payloads carry values the way Ruby prints them (`Float#to_s`, `Time#iso8601(9)`,
//! `BigDecimal#to_s("F")`, Rails time zone names). These modules reproduce those rules so that what
//! Rust reads and writes matches what a Ruby worker reads and writes.

pub mod bigdecimal;
pub mod constant;
pub mod duration;
pub mod float;
pub mod number;
pub mod string;
pub mod time;
pub mod time_zone;

#[cfg(test)]
mod system_ruby;

pub use number::{Integer, Numeric};
