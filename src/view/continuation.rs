//! A continuable job's progress checked in place, in the one pass that checks its syntax.
//!
//! The owned decoding reads a continuable job's `continuation` with [`Continuation::decode`],
//! which takes an object whose `completed` (if any) lists step names and whose `current` (if
//! any) is a `[step, cursor]` pair, and ignores its other keys. [`progress`] answers whether it
//! would, without building the `serde_json::Value` it reads; a repeated key is not taken (the
//! owned decoding then decides).
//!
//! [`Continuation::decode`]: crate::continuation::Continuation::decode

use super::syntax::skip_json;
use crate::arguments::lexer::{Lexer, NUMBER_TOKEN};

/// Consumes the `continuation` value at the cursor (a top-level value, at depth 1), its syntax
/// checked as [`skip_json`] checks it: `None` where that refuses it, else whether
/// `Continuation::decode` takes it.
pub(super) fn progress(lex: &mut Lexer<'_>) -> Option<bool> {
    if lex.peek()? != b'{' {
        skip_json(lex, 1)?;
        return Some(false);
    }
    lex.at += 1;
    if lex.peek()? == b'}' {
        lex.at += 1;
        return Some(true);
    }
    let (mut completed, mut current) = (false, false);
    let mut taken = true;
    loop {
        if lex.peek()? != b'"' {
            return None;
        }
        let key = lex.string()?;
        if key == NUMBER_TOKEN {
            return None;
        }
        lex.eat(b':')?;
        let member_taken = match key.as_ref() {
            "completed" => !std::mem::replace(&mut completed, true) & step_names(lex)?,
            "current" => !std::mem::replace(&mut current, true) & current_step(lex)?,
            _ => skip_json(lex, 2).map(|()| true)?,
        };
        taken &= member_taken;
        if !lex.separator(b'}')? {
            return Some(taken);
        }
    }
}

/// Consumes `completed` (at depth 2): whether it is a list of strings.
fn step_names(lex: &mut Lexer<'_>) -> Option<bool> {
    let mut names = true;
    let count = list(lex, |lex, _| {
        names &= lex.peek()? == b'"';
        skip_json(lex, 3)
    })?;
    Some(count.is_some() && names)
}

/// Consumes `current` (at depth 2): whether it is a list of two, a string and any cursor.
fn current_step(lex: &mut Lexer<'_>) -> Option<bool> {
    let mut named = false;
    let count = list(lex, |lex, index| {
        if index == 0 {
            named = lex.peek()? == b'"';
        }
        skip_json(lex, 3)
    })?;
    Some(count == Some(2) && named)
}

/// Consumes a value (at depth 2), each element of a list by `element` (with its index): the
/// number of elements of a list, `Some(None)` for any other value.
fn list(
    lex: &mut Lexer<'_>,
    mut element: impl FnMut(&mut Lexer<'_>, usize) -> Option<()>,
) -> Option<Option<usize>> {
    if lex.peek()? != b'[' {
        return skip_json(lex, 2).map(|()| None);
    }
    lex.at += 1;
    if lex.peek()? == b']' {
        lex.at += 1;
        return Some(Some(0));
    }
    let mut count = 0;
    loop {
        element(lex, count)?;
        count += 1;
        if !lex.separator(b']')? {
            return Some(Some(count));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::progress;
    use crate::arguments::lexer::Lexer;
    use crate::continuation::Continuation;

    /// What the owned decoding answers: `None` for text serde_json refuses.
    fn owned(text: &str) -> Option<bool> {
        let raw: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(Continuation::decode(raw).is_ok())
    }

    #[test]
    fn takes_what_the_owned_decoding_takes() {
        for text in [
            r#"{}"#,
            r#"{"completed":[],"current":["walk",3]}"#,
            r#"{"completed":["a","b"]}"#,
            r#"{"current":["walk",{"page":[1,2]}],"other":[1,{"x":null}]}"#,
            r#" { "completed" : [ "a" ] , "current" : [ "s" , null ] } "#,
            r#"{"compl\u0065ted":["a"]}"#,
            r#"{"completed":["a",1]}"#,
            r#"{"completed":"a"}"#,
            r#"{"completed":null}"#,
            r#"{"current":["walk"]}"#,
            r#"{"current":["walk",1,2]}"#,
            r#"{"current":[1,2]}"#,
            r#"{"current":null}"#,
            r#"{"current":[]}"#,
            r#"[]"#,
            r#""x""#,
            r#"3"#,
            r#"null"#,
        ] {
            let mut lex = Lexer::new(text);
            let taken = progress(&mut lex);
            assert_eq!(taken, owned(text), "{text}");
            lex.skip_whitespace();
            assert_eq!(lex.at, text.len(), "{text}");
        }
    }

    #[test]
    fn refuses_a_repeated_key_and_bad_syntax() {
        for text in [
            r#"{"completed":[],"completed":[]}"#,
            r#"{"current":["a",1],"current":["b",2]}"#,
        ] {
            assert_eq!(progress(&mut Lexer::new(text)), Some(false), "{text}");
        }
        for text in [
            r#"{"completed":[,]}"#,
            r#"{"current":["a" 1]}"#,
            r#"{"$serde_json::private::Number":"1"}"#,
            r#"{"current":["a",01]}"#,
        ] {
            let mut lex = Lexer::new(text);
            let done = progress(&mut lex).is_some() && lex.at == text.len();
            assert!(!done, "{text}");
        }
    }
}
