//! Ruby constant paths as `constantize` (`Object.const_get`) reads them.
//!
//! `ModuleSerializer` values and GlobalID model names reach Ruby as text that Rails turns back
//! into a constant with `constantize`. Whether a constant of that name exists depends on the
//! application's code; whether the text can name a constant at all does not: `Object.const_get`
//! takes an optional leading `::` (`"::String"` is `String`), then segments joined by `::`, each a
//! constant name (an uppercase letter, then letters, digits and `_`). Anything else raises
//! `NameError: wrong constant name`.
//!
//! Ruby also takes constant names that start with a non-ASCII uppercase letter (`Ärger`); this
//! reader cannot tell Ruby's Unicode case tables apart from its own, so it answers "unknown" for
//! them: a reader accepts such names, a writer refuses them.

/// What Ruby's `Object.const_get` makes of a constant path, as far as the text decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstantPath<'a> {
    /// A path Ruby resolves by name, without the leading `::` Ruby ignores (`"String"` for
    /// `"::String"`).
    Valid(&'a str),
    /// A path with a segment whose first letter is not ASCII: Ruby's Unicode tables decide.
    Unknown(&'a str),
    /// Text Ruby refuses with `wrong constant name`.
    Invalid,
}

/// Reads `text` as `Object.const_get` does.
///
/// One pass over the bytes: a segment starts with an ASCII uppercase letter (or any non-ASCII
/// byte, which only Ruby's Unicode tables can judge), goes on with ASCII letters, digits, `_`
/// or non-ASCII bytes, and ends at `::` or at the end of the text.
pub fn constant_path(text: &str) -> ConstantPath<'_> {
    let path = text.strip_prefix("::").unwrap_or(text);
    let bytes = path.as_bytes();
    let mut unknown = false;
    let mut at = 0;
    loop {
        match bytes.get(at) {
            Some(b) if b.is_ascii_uppercase() => {}
            Some(b) if !b.is_ascii() => unknown = true,
            _ => return ConstantPath::Invalid,
        }
        at += 1;
        loop {
            match bytes.get(at) {
                None if unknown => return ConstantPath::Unknown(path),
                None => return ConstantPath::Valid(path),
                Some(b':') if bytes.get(at + 1) == Some(&b':') => {
                    at += 2;
                    break;
                }
                Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => at += 1,
                Some(b) if !b.is_ascii() => {
                    unknown = true;
                    at += 1;
                }
                _ => return ConstantPath::Invalid,
            }
        }
    }
}

/// What a core Ruby constant that is not a Module holds, when `constantize` returns a number.
///
/// `ModuleSerializer` only writes Modules, but its reader is `constantize`: a payload naming
/// `Float::INFINITY` hands the job a Float. These are the numeric constants of Ruby's core
/// classes that every Ruby defines the same way (on IEEE 754 doubles).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoreConstant {
    /// A Float constant (`Float::INFINITY`, `Math::PI`).
    Float(f64),
    /// An Integer constant (`Float::DIG`).
    Integer(i64),
}

/// The value of a core numeric constant (`Float::INFINITY`), by its path without leading `::`.
pub fn core_constant(path: &str) -> Option<CoreConstant> {
    use CoreConstant::{Float, Integer};
    Some(match path {
        "Float::INFINITY" => Float(f64::INFINITY),
        "Float::NAN" => Float(f64::NAN),
        "Float::MAX" => Float(f64::MAX),
        "Float::MIN" => Float(f64::MIN_POSITIVE),
        "Float::EPSILON" => Float(f64::EPSILON),
        "Math::PI" => Float(std::f64::consts::PI),
        "Math::E" => Float(std::f64::consts::E),
        "Float::DIG" => Integer(15),
        "Float::MANT_DIG" => Integer(53),
        "Float::RADIX" => Integer(2),
        "Float::MAX_EXP" => Integer(1024),
        "Float::MIN_EXP" => Integer(-1021),
        "Float::MAX_10_EXP" => Integer(308),
        "Float::MIN_10_EXP" => Integer(-307),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Object.const_get's rules on the text alone (checked with Ruby 3.3).
    #[test]
    fn paths_read_as_const_get_reads_them() {
        assert_eq!(constant_path("String"), ConstantPath::Valid("String"));
        assert_eq!(constant_path("::String"), ConstantPath::Valid("String"));
        assert_eq!(
            constant_path("Billing::Invoice"),
            ConstantPath::Valid("Billing::Invoice")
        );
        assert_eq!(constant_path("A_1::B2"), ConstantPath::Valid("A_1::B2"));
        for invalid in [
            "",
            "::",
            "::::String",
            "string",
            "String::",
            "Billing:Invoice",
            "A B",
            "+ser",
            "1A",
            "A-B",
            "A::::B",
            "_A",
        ] {
            assert_eq!(constant_path(invalid), ConstantPath::Invalid, "{invalid:?}");
        }
        assert_eq!(constant_path("Ärger"), ConstantPath::Unknown("Ärger"));
        assert_eq!(constant_path("Aß"), ConstantPath::Unknown("Aß"));
    }

    /// The rules read segment by segment, as `split("::")` gives them.
    fn by_segments(text: &str) -> ConstantPath<'_> {
        let path = text.strip_prefix("::").unwrap_or(text);
        let mut unknown = false;
        for segment in path.split("::") {
            let mut chars = segment.chars();
            match chars.next() {
                Some(c) if c.is_ascii_uppercase() => {}
                Some(c) if !c.is_ascii() => unknown = true,
                _ => return ConstantPath::Invalid,
            }
            if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()) {
                return ConstantPath::Invalid;
            }
            unknown |= !segment.is_ascii();
        }
        if unknown {
            ConstantPath::Unknown(path)
        } else {
            ConstantPath::Valid(path)
        }
    }

    #[test]
    fn the_one_pass_reading_agrees_with_the_reading_by_segments() {
        let pieces = [
            "A", "b", "Z9", "_", ":", "::", "é", "Ä", "x_y", "1", " ", "-", "ß",
        ];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(longer);
        }
        for text in &texts {
            assert_eq!(constant_path(text), by_segments(text), "{text:?}");
        }
    }

    #[test]
    fn core_constants_hold_their_ruby_values() {
        assert_eq!(
            core_constant("Float::INFINITY"),
            Some(CoreConstant::Float(f64::INFINITY))
        );
        assert_eq!(
            core_constant("Float::MIN"),
            Some(CoreConstant::Float(2.2250738585072014e-308))
        );
        assert_eq!(core_constant("Float::DIG"), Some(CoreConstant::Integer(15)));
        assert_eq!(core_constant("Float"), None);
    }
}
