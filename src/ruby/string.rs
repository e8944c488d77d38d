//! Ruby's `String#inspect`, for error messages that quote the offending input.
//!
//! Ruby errors such as `invalid xmlschema format: "yesterday"` embed `input.inspect`. Reporting the
//! same text lets a Rust error be matched against what a Ruby worker logs for the same payload.

/// Ruby's `String#inspect` of a UTF-8 string: the text in double quotes with `"`, `\` and
/// interpolation-looking `#{`, `#$`, `#@` escaped, named escapes for common control characters
/// and `\uXXXX` / `\u{XXXXX}` for other characters Ruby does not print.
///
/// Ruby decides printability from its Unicode tables; this treats every assigned-looking
/// character as printable and escapes control characters, U+2028, U+2029 and noncharacters,
/// which is what Ruby 3.1 does for them. Unassigned code points are printed raw here while Ruby
/// escapes them.
pub fn inspect_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            _ => push_char(&mut out, c),
        }
    }
    out.push('"');
    out
}

fn push_char(out: &mut String, c: char) {
    if let Some(named) = named_escape(c) {
        out.push_str(named);
    } else if is_printable(c) {
        out.push(c);
    } else if (c as u32) < 0x10000 {
        out.push_str(&format!("\\u{:04X}", c as u32));
    } else {
        out.push_str(&format!("\\u{{{:X}}}", c as u32));
    }
}

fn named_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{0c}' => "\\f",
        '\u{0b}' => "\\v",
        '\u{08}' => "\\b",
        '\u{07}' => "\\a",
        '\u{1b}' => "\\e",
        _ => return None,
    })
}

fn is_printable(c: char) -> bool {
    let cp = c as u32;
    let control = cp < 0x20 || ((0x7f..=0x9f).contains(&cp) && cp != 0x85);
    let separator = cp == 0x2028 || cp == 0x2029;
    let noncharacter = (0xfdd0..=0xfdef).contains(&cp) || cp & 0xfffe == 0xfffe;
    !(control || separator || noncharacter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_plain_text() {
        assert_eq!(inspect_str("yesterday"), "\"yesterday\"");
        assert_eq!(inspect_str(""), "\"\"");
        assert_eq!(inspect_str("zażółć 日本語 🎉"), "\"zażółć 日本語 🎉\"");
    }

    #[test]
    fn escapes_quotes_backslashes_and_interpolation() {
        assert_eq!(inspect_str(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            inspect_str("#{x} #$y #@z #x #"),
            r#""\#{x} \#$y \#@z #x #""#
        );
    }

    #[test]
    fn escapes_control_characters_like_ruby() {
        assert_eq!(
            inspect_str("\n\r\t\u{0c}\u{0b}\u{08}\u{07}\u{1b}"),
            r#""\n\r\t\f\v\b\a\e""#
        );
        assert_eq!(
            inspect_str("\u{0}\u{1f}\u{7f}\u{80}\u{9f}"),
            r#""\u0000\u001F\u007F\u0080\u009F""#
        );
        assert_eq!(inspect_str("\u{85}\u{a0}"), "\"\u{85}\u{a0}\"");
        assert_eq!(inspect_str("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(inspect_str("\u{fffe}\u{10ffff}"), r#""\uFFFE\u{10FFFF}""#);
    }
}
