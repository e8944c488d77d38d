//! Envelope-wide rules the writer applies before a payload leaves Rust: what a Rails worker
//! would refuse to read, or read otherwise.
//!
//! - **Nesting.** `ActiveSupport::JSON.decode` is Ruby's `JSON.parse`, whose `max_nesting` is
//!   100: the payload object is level 1, `arguments` level 2, so a Hash argument is level 3, and
//!   every `_aj_serialized` object, Duration part or Hash marker list is one more level. Level
//!   101 raises `JSON::NestingError: nesting of 101 is too deep`, and the job never runs.
//! - **Time zone.** Rails 8.1 runs every job inside `Time.use_zone(job.timezone)`, which raises
//!   `ArgumentError: Invalid Timezone` for a name that is neither a Rails zone name nor a tz
//!   identifier.
//! - **Locale.** It also runs the job inside `I18n.with_locale(job.locale)`, which raises
//!   `I18n::InvalidLocale` for a locale outside the application's `available_locales` (when the
//!   application lists them; see [`DecodeOptions::available_locales`]).

use crate::error::{EncodeError, EncodeErrorKind, JsonPath};
#[cfg(doc)]
use crate::options::DecodeOptions;
use crate::ruby::string::inspect_str;
use crate::ruby::time_zone::ZoneDatabase;
use serde_json::Value as Json;

/// Ruby's `JSON.parse` default `max_nesting`.
pub const MAX_NESTING: usize = 100;

/// Refuses a payload nested deeper than Ruby's JSON parser reads, naming the first array or
/// object past the limit.
pub fn check_nesting(payload: &Json) -> Result<(), EncodeError> {
    match too_deep(payload, 1, JsonPath::root()) {
        None => Ok(()),
        Some(path) => Err(EncodeError::refused(
            &path,
            EncodeErrorKind::TooDeep,
            format!(
                "nesting of {} is too deep: Ruby's JSON parser reads at most {MAX_NESTING} levels",
                MAX_NESTING + 1
            ),
        )),
    }
}

/// The path of the first array or object at a level past [`MAX_NESTING`], `level` being the
/// level of `value` if it is one.
fn too_deep(value: &Json, level: usize, path: JsonPath) -> Option<JsonPath> {
    let nested = matches!(value, Json::Array(_) | Json::Object(_));
    if nested && level > MAX_NESTING {
        return Some(path);
    }
    match value {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| too_deep(item, level + 1, path.index(i))),
        Json::Object(map) => map
            .iter()
            .find_map(|(key, item)| too_deep(item, level + 1, path.field(key))),
        _ => None,
    }
}

/// Refuses a `timezone` that Rails' `Time.find_zone!` does not know `zones` (the application's tz database).
pub fn check_timezone(timezone: Option<&str>, zones: &ZoneDatabase) -> Result<(), EncodeError> {
    match timezone {
        Some(name) if zones.lookup(name).is_none() => Err(EncodeError::refused(
            &JsonPath::key("timezone"),
            EncodeErrorKind::TimeZone,
            format!("Invalid Timezone: {name} (neither a Rails zone name nor a tz identifier)"),
        )),
        _ => Ok(()),
    }
}

/// Whether I18n takes `locale`: any locale when the application lists none.
pub(crate) fn locale_available(locale: &str, available: Option<&[String]>) -> bool {
    available.is_none_or(|available| available.iter().any(|a| a == locale))
}

/// Refuses a `locale` outside the application's `available_locales`
/// ([`DecodeOptions::available_locales`]); any locale when the application lists none.
pub fn check_locale(locale: Option<&str>, available: Option<&[String]>) -> Result<(), EncodeError> {
    match (locale, available) {
        (Some(locale), Some(available)) if !locale_available(locale, Some(available)) => {
            Err(EncodeError::refused(
                &JsonPath::key("locale"),
                EncodeErrorKind::Locale,
                format!(
                    "{} is not a valid locale (available: {})",
                    inspect_str(locale),
                    available.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested_arrays(levels: usize) -> Json {
        (1..levels).fold(json!([]), |inner, _| json!([inner]))
    }

    /// 100 levels are read by Ruby's parser, 101 are not (JSON 2.7, Ruby 3.3).
    #[test]
    fn nesting_is_counted_as_ruby_counts_it() {
        assert_eq!(check_nesting(&nested_arrays(100)), Ok(()));
        let err = check_nesting(&nested_arrays(101)).expect_err("101 levels");
        assert_eq!(err.kind, EncodeErrorKind::TooDeep);
        assert_eq!(err.path.as_str(), "[0]".repeat(100));
        // Scalars do not count as a level.
        let envelope = json!({"arguments": [nested_arrays(98)]});
        assert_eq!(check_nesting(&envelope), Ok(()));
        let envelope = json!({"arguments": [nested_arrays(99)]});
        let err = check_nesting(&envelope).expect_err("101 levels");
        assert!(
            err.path.as_str().starts_with("arguments[0]"),
            "{}",
            err.path
        );
    }

    #[test]
    fn timezone_must_be_a_zone() {
        let zones = ZoneDatabase::system();
        for name in [
            "UTC",
            "Berlin",
            "Europe/Berlin",
            "Eastern Time (US & Canada)",
        ] {
            assert_eq!(check_timezone(Some(name), &zones), Ok(()), "{name}");
        }
        assert_eq!(check_timezone(None, &zones), Ok(()));
        let err = check_timezone(Some("Mars/Olympus"), &zones).expect_err("not a zone");
        assert_eq!(err.kind, EncodeErrorKind::TimeZone);
        assert_eq!(err.path.as_str(), "timezone");
    }

    #[test]
    fn locale_must_be_available_when_the_app_lists_them() {
        assert_eq!(check_locale(Some("xx"), None), Ok(()));
        let available = ["en".to_owned(), "pt-BR".to_owned()];
        let available = Some(&available[..]);
        assert_eq!(check_locale(Some("pt-BR"), available), Ok(()));
        assert_eq!(check_locale(None, available), Ok(()));
        for bad in ["pt-br", "de", ""] {
            let err = check_locale(Some(bad), available).expect_err(bad);
            assert_eq!(err.kind, EncodeErrorKind::Locale);
            assert_eq!(err.path.as_str(), "locale");
        }
    }
}
