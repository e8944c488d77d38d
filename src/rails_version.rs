//! The Rails version of the Ruby application that reads what Rust writes (`rails_version` in
//! `app.toml`, default 8.1).
//!
//! Every Rails series from 6.1 on reads the payloads it writes itself, but not always those of a
//! newer series: Rails 6.1 has no `RangeSerializer`, 6.1 and 7.0 no `BigDecimalSerializer`, and
//! only 8.1 reads continuations. A [`RailsVersion`] names the series the writer targets, and the
//! encoder writes the form that series writes, or refuses with
//! [`EncodeErrorKind::NotReadableBy`](crate::error::EncodeErrorKind::NotReadableBy) a value it
//! cannot read at all:
//!
//! | what | 6.1 | 7.0 | 7.1 | 7.2 | 8.0 | 8.1 |
//! |---|---|---|---|---|---|---|
//! | `enqueued_at` | `…:SSZ` | `…:SSZ` | `.nnnnnnnnnZ` | same | same | same |
//! | `scheduled_at` key | absent | absent | written | written | written | written |
//! | BigDecimal | JSON string (the job gets a String) | JSON string | `BigDecimalSerializer` | same | same | same |
//! | TimeWithZone | `value` only (read in the worker's `Time.zone`) | `value` + `time_zone` | same | same | same | same |
//! | Range | refused | `RangeSerializer` | same | same | same | same |
//! | composite GlobalID id | refused | refused | written | written | written | written |
//! | continuation | refused | refused | refused | refused | refused | written |
//! | cursor | - | - | - | - | - | raw JSON (`as_json`) |
//!
//! Rails main (the future 8.2; `rails_version = "8.2"` or `"main"`) writes what 8.1 writes, except
//! a continuation's cursor, which goes through `ActiveJob::Arguments` (a Date cursor is a
//! `DateSerializer` object, a Symbol a `SymbolSerializer` one, a Hash carries `_aj_symbol_keys`;
//! see [`crate::continuation`]). It is not the default: 8.1 reads a raw cursor as main reads it,
//! but main's serialized cursor is a Hash of markers to 8.1.
//!
//! The reading side follows the same version: a TimeWithZone written without `time_zone` is put
//! in the worker's `Time.zone` before 8.1 (arguments are deserialized outside the job's
//! `Time.use_zone`) and in the job's `timezone` from 8.1.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;

/// A Rails release series, as far as the ActiveJob wire format tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum RailsVersion {
    /// Rails 6.1.
    V6_1,
    /// Rails 7.0 (7.0.9 or later: the first to write and read TimeWithZone's `time_zone`).
    V7_0,
    /// Rails 7.1 (7.1.3 or later, for the same reason).
    V7_1,
    /// Rails 7.2.
    V7_2,
    /// Rails 8.0.
    V8_0,
    /// Rails 8.1, the default.
    #[default]
    V8_1,
    /// Rails main, unreleased (8.2): `"8.2"` or `"main"`.
    V8_2,
}

/// Every series, oldest first.
pub const ALL_RAILS_VERSIONS: [RailsVersion; 7] = [
    RailsVersion::V6_1,
    RailsVersion::V7_0,
    RailsVersion::V7_1,
    RailsVersion::V7_2,
    RailsVersion::V8_0,
    RailsVersion::V8_1,
    RailsVersion::V8_2,
];

impl RailsVersion {
    /// The newest released series this crate knows (the default target).
    pub const LATEST: RailsVersion = RailsVersion::V8_1;

    /// `"6.1"`, `"7.0"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            RailsVersion::V6_1 => "6.1",
            RailsVersion::V7_0 => "7.0",
            RailsVersion::V7_1 => "7.1",
            RailsVersion::V7_2 => "7.2",
            RailsVersion::V8_0 => "8.0",
            RailsVersion::V8_1 => "8.1",
            RailsVersion::V8_2 => "8.2",
        }
    }

    /// `enqueued_at` with nine fraction digits (7.1+; before, `Time.now.utc.iso8601`).
    pub fn writes_nanosecond_enqueued_at(self) -> bool {
        self >= RailsVersion::V7_1
    }

    /// Whether `serialize` writes a `scheduled_at` key (7.1+).
    pub fn writes_scheduled_at(self) -> bool {
        self >= RailsVersion::V7_1
    }

    /// Whether `RangeSerializer` exists (7.0+).
    pub fn reads_ranges(self) -> bool {
        self >= RailsVersion::V7_0
    }

    /// Whether `BigDecimalSerializer` exists (7.1+; 7.1 writes it with `load_defaults 7.1`,
    /// 7.2 always). Before, a BigDecimal travels as a JSON string and the job gets a String.
    pub fn reads_big_decimal_serializer(self) -> bool {
        self >= RailsVersion::V7_1
    }

    /// Whether a GlobalID with a composite id (`gid://shop/Order/3/17`) reads as one record
    /// (GlobalID 1.2, which Rails 7.1's composite primary keys came with); before, the id
    /// `3/17` is one id.
    pub fn reads_composite_global_ids(self) -> bool {
        self >= RailsVersion::V7_1
    }

    /// Whether TimeWithZone's `time_zone` key is written and read (7.0.9+, 7.1.3+).
    pub fn reads_time_zone_key(self) -> bool {
        self >= RailsVersion::V7_0
    }

    /// Whether `ActiveJob::Continuable` exists (8.1+).
    pub fn reads_continuations(self) -> bool {
        self >= RailsVersion::V8_1
    }

    /// Whether a continuation's cursor is written through `ActiveJob::Arguments` (Rails main);
    /// before, as raw JSON.
    pub fn writes_cursor_as_argument(self) -> bool {
        self >= RailsVersion::V8_2
    }

    /// Whether arguments are deserialized inside the job's `Time.use_zone(timezone)` (8.1's
    /// `ExecutionState`); before, in the worker's own `Time.zone`.
    pub fn reads_arguments_in_job_zone(self) -> bool {
        self >= RailsVersion::V8_1
    }
}

impl fmt::Display for RailsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `rails_version` that names no series this crate writes for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Rails version {given:?}: expected one of 6.1, 7.0, 7.1, 7.2, 8.0, 8.1, 8.2 (main)"
)]
pub struct UnknownRailsVersion {
    /// The text given.
    pub given: String,
}

impl FromStr for RailsVersion {
    type Err = UnknownRailsVersion;

    /// `"6.1"`, or a full release (`"6.1.7.10"`, `"7.0.10"`) of a known series; `"main"` is
    /// 8.2.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed == "main" {
            return Ok(RailsVersion::V8_2);
        }
        let mut parts = trimmed.split('.');
        let series = match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => format!("{major}.{minor}"),
            _ => String::new(),
        };
        let rest_is_numeric = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        ALL_RAILS_VERSIONS
            .into_iter()
            .find(|v| rest_is_numeric && v.as_str() == series)
            .ok_or_else(|| UnknownRailsVersion {
                given: text.to_owned(),
            })
    }
}

impl<'de> Deserialize<'de> for RailsVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_releases_parse_other_text_does_not() {
        assert_eq!("6.1".parse(), Ok(RailsVersion::V6_1));
        assert_eq!("7.0.10".parse(), Ok(RailsVersion::V7_0));
        assert_eq!(" 8.1.3.1 ".parse(), Ok(RailsVersion::V8_1));
        assert_eq!("8.2".parse(), Ok(RailsVersion::V8_2));
        assert_eq!("main".parse(), Ok(RailsVersion::V8_2));
        for bad in ["6.0", "8.3", "6", "", "7.1.x", "7.1.", "v7.1", "Main"] {
            assert!(bad.parse::<RailsVersion>().is_err(), "{bad:?}");
        }
        assert_eq!(RailsVersion::default(), RailsVersion::LATEST);
        for v in ALL_RAILS_VERSIONS {
            assert_eq!(v.as_str().parse(), Ok(v));
        }
    }
}
