//! Skipping over JSON values in place: checked as serde_json checks them, or only delimited.

use crate::arguments::lexer::Lexer;
use crate::arguments::lexer::NUMBER_TOKEN;

/// Deeper documents go the owned way (serde_json's recursion limit is 128).
pub(crate) const MAX_DEPTH: u32 = 100;

/// Consumes one JSON value at `depth`, checking its syntax as serde_json does; `None` where
/// serde_json would refuse it or read it other than as plain JSON (an object whose key is
/// serde_json's number token).
pub(crate) fn skip_json(lex: &mut Lexer<'_>, depth: u32) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    match lex.peek()? {
        b'"' => lex.string().map(drop),
        b'-' | b'0'..=b'9' => lex.number().map(drop),
        b't' => lex.literal("true"),
        b'f' => lex.literal("false"),
        b'n' => lex.literal("null"),
        b'[' => {
            lex.at += 1;
            if lex.peek()? == b']' {
                lex.at += 1;
                return Some(());
            }
            loop {
                skip_json(lex, depth + 1)?;
                if !lex.separator(b']')? {
                    return Some(());
                }
            }
        }
        b'{' => {
            lex.at += 1;
            if lex.peek()? == b'}' {
                lex.at += 1;
                return Some(());
            }
            loop {
                if lex.peek()? != b'"' || lex.string()? == NUMBER_TOKEN {
                    return None;
                }
                lex.eat(b':')?;
                skip_json(lex, depth + 1)?;
                if !lex.separator(b'}')? {
                    return Some(());
                }
            }
        }
        _ => None,
    }
}

/// Where the value starting at `start` (a `[` or `{`) ends, found by its brackets and quotes
/// alone, and how deep it nests. The syntax is not checked: whoever reads the value does.
pub(crate) fn skip_raw(bytes: &[u8], start: usize) -> Option<Delimited> {
    let mut depth = 0_u32;
    let mut deepest = 0_u32;
    let mut at = start;
    loop {
        match *bytes.get(at)? {
            b'"' => {
                at += 1;
                loop {
                    at += crate::arguments::lexer::closing_quote(bytes.get(at..)?)?;
                    if bytes[at] == b'"' {
                        break;
                    }
                    // An escape: the backslash and the character it escapes.
                    at += 2;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(Delimited {
                        end: at + 1,
                        depth: deepest,
                    });
                }
            }
            _ => {}
        }
        at += 1;
    }
}

/// Where the array or object starting at `start` (a `[` or `{`) ends: the index after its
/// closing bracket, found by its brackets and quotes alone, as [`skip_raw`] finds it, control
/// characters in strings aside (`skip_raw` refuses them, this may not). The syntax is not
/// checked: whoever reads the value does.
pub(crate) fn delimit(bytes: &[u8], start: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    return blocks::delimit(bytes, start);
    #[cfg(not(target_arch = "x86_64"))]
    return skip_raw(bytes, start).map(|found| found.end);
}

/// A value found by [`skip_raw`].
pub(crate) struct Delimited {
    /// The index after its closing bracket.
    pub(crate) end: usize,
    /// How many brackets deep it nests (1 for `[]`).
    pub(crate) depth: u32,
}

#[cfg(target_arch = "x86_64")]
mod blocks;

#[cfg(test)]
mod tests {
    use super::skip_raw;

    #[test]
    fn delimits_a_value_by_its_brackets_outside_strings() {
        let text = br#"[1,{"a":"]}\"[","b":[[]]}] ,"x""#;
        let found = skip_raw(text, 0).expect("delimited");
        assert_eq!((&text[..found.end], found.depth), (&text[..26], 4));
        assert!(skip_raw(b"[1,[2]", 0).is_none());
    }
}
