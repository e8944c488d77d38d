//! The report schemas of the karafka-web releases the worker can report to.

use std::fmt;

/// The consumer report schema (`schema_version`) of one range of karafka-web releases.
///
/// The Web UI's processing consumer compares a report's `schema_version` with its own exactly:
/// an older one hides the process, a newer one halts the processing of every report (the Ruby
/// processes' too). So the schema is chosen from the karafka-web version the user runs, never
/// guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Schema {
    /// `1.4.1`: karafka-web 0.11.0 to 0.11.3.
    V1_4_1,
    /// `1.5.0`: karafka-web 0.11.4 and 0.11.5. Adds `partitions_cnt` to each topic, and an
    /// `id` to error reports (error schema `1.2.0`).
    V1_5_0,
    /// `1.6.0`: karafka-web 0.11.6. Adds `instance_id` (`false` or the `group.instance.id`) to
    /// each subscription group.
    V1_6_0,
    /// `1.7.0`: karafka-web 1.0.x. Adds `poll_interval` (`max.poll.interval.ms`) to each
    /// subscription group's state and allows `process.workers` to be 0.
    V1_7_0,
}

/// Every supported schema, oldest first.
pub const SUPPORTED: [Schema; 4] = [
    Schema::V1_4_1,
    Schema::V1_5_0,
    Schema::V1_6_0,
    Schema::V1_7_0,
];

impl Schema {
    /// The consumer report's `schema_version`.
    pub fn version(self) -> &'static str {
        match self {
            Schema::V1_4_1 => "1.4.1",
            Schema::V1_5_0 => "1.5.0",
            Schema::V1_6_0 => "1.6.0",
            Schema::V1_7_0 => "1.7.0",
        }
    }

    /// The error report's `schema_version` that goes with it.
    pub fn error_version(self) -> &'static str {
        match self {
            Schema::V1_4_1 => "1.1.0",
            _ => "1.2.0",
        }
    }

    /// The karafka-web releases that use this schema, for messages and docs.
    pub fn karafka_web_releases(self) -> &'static str {
        match self {
            Schema::V1_4_1 => "0.11.0-0.11.3",
            Schema::V1_5_0 => "0.11.4-0.11.5",
            Schema::V1_6_0 => "0.11.6",
            Schema::V1_7_0 => "1.0.x",
        }
    }

    /// The schema of a karafka-web release (`"0.11.2"`, `"1.0.1"`); `None` for a release the
    /// worker does not know (older than 0.11.0, or newer than 1.0.x).
    pub fn for_karafka_web(version: &str) -> Option<Schema> {
        let parts: Vec<&str> = version.trim().split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return None;
        };
        let num = |s: &str| s.parse::<u32>().ok();
        // Pre-releases ("0.11.0.rc1") have a fourth part and are refused above.
        match (num(major)?, num(minor)?, num(patch)?) {
            (0, 11, 0..=3) => Some(Schema::V1_4_1),
            (0, 11, 4..=5) => Some(Schema::V1_5_0),
            (0, 11, 6) => Some(Schema::V1_6_0),
            (1, 0, _) => Some(Schema::V1_7_0),
            _ => None,
        }
    }

    /// The schema whose `schema_version` is `version` exactly.
    pub fn for_schema_version(version: &str) -> Option<Schema> {
        SUPPORTED
            .into_iter()
            .find(|s| s.version() == version.trim())
    }

    /// Whether topics carry `partitions_cnt`.
    pub(crate) fn has_partitions_cnt(self) -> bool {
        self >= Schema::V1_5_0
    }

    /// Whether subscription groups carry `instance_id`.
    pub(crate) fn has_instance_id(self) -> bool {
        self >= Schema::V1_6_0
    }

    /// Whether subscription group states carry `poll_interval`.
    pub(crate) fn has_poll_interval(self) -> bool {
        self >= Schema::V1_7_0
    }

    /// Whether error reports carry an `id`.
    pub(crate) fn has_error_id(self) -> bool {
        self >= Schema::V1_5_0
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karafka_web_releases_map_to_their_schema() {
        for (release, schema) in [
            ("0.11.0", Some(Schema::V1_4_1)),
            ("0.11.2", Some(Schema::V1_4_1)),
            ("0.11.3", Some(Schema::V1_4_1)),
            ("0.11.4", Some(Schema::V1_5_0)),
            ("0.11.5", Some(Schema::V1_5_0)),
            ("0.11.6", Some(Schema::V1_6_0)),
            ("1.0.0", Some(Schema::V1_7_0)),
            ("1.0.3", Some(Schema::V1_7_0)),
            ("0.10.4", None),
            ("0.11.7", None),
            ("1.1.0", None),
            ("0.11.0.rc1", None),
            ("0.11", None),
            ("", None),
        ] {
            assert_eq!(Schema::for_karafka_web(release), schema, "{release}");
        }
    }

    #[test]
    fn schema_versions_are_read_exactly() {
        for s in SUPPORTED {
            assert_eq!(Schema::for_schema_version(s.version()), Some(s));
        }
        assert_eq!(Schema::for_schema_version("1.4.0"), None);
        assert_eq!(Schema::for_schema_version("1.8.0"), None);
        assert_eq!(Schema::V1_4_1.error_version(), "1.1.0");
        assert_eq!(Schema::V1_7_0.error_version(), "1.2.0");
    }
}
