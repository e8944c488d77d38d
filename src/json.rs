//! JSON bytes in and out, the way ActiveSupport reads and writes them.
//!
//! Parsing keeps object key order and integers of any size (serde_json with `preserve_order` and
//! `arbitrary_precision`). Writing reproduces `ActiveSupport::JSON.encode`: `<`, `>`, `&` as
//! `\u003c`, `\u003e`, `\u0026` and U+2028/U+2029 escaped unless the application turned that off.

use crate::error::{DecodeError, DecodeErrorKind, JsonPath};
use serde_json::Value as Json;

/// How a Rails application configured ActiveSupport's JSON escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// `ActiveSupport.escape_html_entities_in_json` (default true): `<`, `>`, `&` as `\u003c`...
    pub escape_html_entities: bool,
    /// `escape_js_separators_in_json` (true before 8.1 and without `load_defaults 8.1`).
    pub escape_js_separators: bool,
}

impl Default for JsonStyle {
    fn default() -> Self {
        JsonStyle {
            escape_html_entities: true,
            escape_js_separators: true,
        }
    }
}

/// The largest payload [`parse`] accepts unless told otherwise (Kafka's own default is 1 MB).
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Parses payload bytes into an ordered JSON tree with exact numbers.
///
/// Nesting deeper than 128 levels is refused (Ruby's JSON parser refuses past 100), so no input
/// can exhaust the stack.
pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<Json, DecodeError> {
    serde_json::from_str(payload_text(bytes, max_bytes)?).map_err(not_json)
}

/// The payload as text: at most `max_bytes` long and UTF-8.
pub(crate) fn payload_text(bytes: &[u8], max_bytes: usize) -> Result<&str, DecodeError> {
    check_size(bytes, max_bytes)?;
    std::str::from_utf8(bytes).map_err(|e| {
        DecodeError::new(
            JsonPath::root(),
            DecodeErrorKind::InvalidUtf8,
            format!("payload is not UTF-8 (invalid byte at {})", e.valid_up_to()),
        )
    })
}

/// Refuses a payload above `max_bytes` before anything reads it.
pub(crate) fn check_size(bytes: &[u8], max_bytes: usize) -> Result<(), DecodeError> {
    if bytes.len() <= max_bytes {
        return Ok(());
    }
    Err(DecodeError::new(
        JsonPath::root(),
        DecodeErrorKind::TooLarge,
        format!(
            "payload is {} bytes, more than the {max_bytes} allowed",
            bytes.len()
        ),
    ))
}

/// A payload serde_json refuses.
pub(crate) fn not_json(e: serde_json::Error) -> DecodeError {
    DecodeError::new(
        JsonPath::root(),
        DecodeErrorKind::InvalidJson,
        format!("not JSON: {e}"),
    )
}

/// A JSON number from a literal this crate produced (integers, Ruby float reprs).
pub(crate) fn number(literal: &str) -> serde_json::Number {
    serde_json::from_str(literal).unwrap_or_else(|_| serde_json::Number::from(0))
}

/// Writes a JSON tree as `ActiveSupport::JSON.encode` would.
pub fn write(value: &Json, style: JsonStyle) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(value, style, &mut out);
    out
}

fn write_value(value: &Json, style: JsonStyle, out: &mut Vec<u8>) {
    match value {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(n) => out.extend_from_slice(n.as_str().as_bytes()),
        Json::String(s) => write_string(s, style, out),
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, style, out);
            }
            out.push(b']');
        }
        Json::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, style, out);
                out.push(b':');
                write_value(v, style, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, style: JsonStyle, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let escape: Option<&[u8]> = match ch {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            '<' if style.escape_html_entities => Some(b"\\u003c"),
            '>' if style.escape_html_entities => Some(b"\\u003e"),
            '&' if style.escape_html_entities => Some(b"\\u0026"),
            '\u{2028}' if style.escape_js_separators => Some(b"\\u2028"),
            '\u{2029}' if style.escape_js_separators => Some(b"\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[start..i]);
        match escape {
            Some(bytes) => out.extend_from_slice(bytes),
            None => out.extend_from_slice(format!("\\u{:04x}", ch as u32).as_bytes()),
        }
        start = i + ch.len_utf8();
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_active_support() {
        let v = Json::String(
            "<b>Tom & Jerry</b> \u{2028}\u{2029} \u{0}\u{1f}\u{7f} \"/\\ zażółć 🎉".into(),
        );
        let out = String::from_utf8(write(&v, JsonStyle::default())).unwrap();
        assert_eq!(
            out,
            "\"\\u003cb\\u003eTom \\u0026 Jerry\\u003c/b\\u003e \\u2028\\u2029 \\u0000\\u001f\u{7f} \\\"/\\\\ zażółć 🎉\""
        );
    }

    #[test]
    fn escaping_can_be_turned_off() {
        let v = Json::String("<&>\u{2028}".into());
        let style = JsonStyle {
            escape_html_entities: false,
            escape_js_separators: false,
        };
        assert_eq!(
            String::from_utf8(write(&v, style)).unwrap(),
            "\"<&>\u{2028}\""
        );
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse(deep.as_bytes(), DEFAULT_MAX_PAYLOAD_BYTES).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidJson);
        assert!(err.message.contains("recursion limit"), "{}", err.message);
    }

    #[test]
    fn refuses_invalid_utf8_and_oversize() {
        let err = parse(b"{\"a\":\"\xff\"}", DEFAULT_MAX_PAYLOAD_BYTES).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidUtf8);
        let err = parse(b"[1,2,3]", 3).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::TooLarge);
    }

    #[test]
    fn keeps_big_integers_and_float_text() {
        let v = parse(b"[18446744073709551616,1.0e+20]", 100).unwrap();
        assert_eq!(
            String::from_utf8(write(&v, JsonStyle::default())).unwrap(),
            "[18446744073709551616,1.0e+20]"
        );
    }
}
