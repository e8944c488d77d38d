//! `BigDecimal(string).to_s` under ActiveSupport.
//!
//! A BigDecimal reaches the wire as a string: raw `to_s` before Rails 7.2 (the job then receives
//! a String), and the `value` of a `BigDecimalSerializer` object since, which Rails reads back
//! with `BigDecimal(value)`. ActiveSupport makes `BigDecimal#to_s` default to the plain "F"
//! format (`5.0`, `0.00000000000000000001`), so the typed dump and any re-encoded payload show
//! the value that way. Which strings `BigDecimal()` accepts decides whether the argument decodes
//! at all, so its parser is reproduced: surrounding whitespace, one leading `#`, a sign, digits
//! with single `_` between them, an optional fraction that needs digits after the dot (`1.` is
//! refused up to bigdecimal 3.1.6, the version Ruby 3.3 ships; later versions accept it), an
//! exponent introduced by `e`, `E`, `d` or `D`, and the words `NaN`, `Infinity`, `+Infinity`,
//! `-Infinity`. Exponents too large for BigDecimal give `Infinity` (or `0.0` when negative), as
//! in Ruby.

/// Largest exponent BigDecimal's parser takes before treating the value as overflowing
/// (the exponent times 9, its word size, must fit a signed 64-bit integer).
const EXPONENT_LIMIT: i128 = (i64::MAX / 9) as i128;
/// Longest "F" text produced; Ruby would build longer ones (or run out of memory), but a
/// few bytes of payload should not expand into megabytes here.
const MAX_F_LEN: i128 = 1_000_000;

/// A parsed BigDecimal: special values, or digits with the position of the decimal point.
#[derive(Debug, PartialEq)]
enum Value {
    NaN,
    Infinity {
        negative: bool,
    },
    /// `0.DIGITS × 10^point`, `digits` without leading or trailing zeros (empty for zero).
    Finite {
        negative: bool,
        digits: String,
        point: i128,
    },
}

/// `BigDecimal(literal).to_s` with ActiveSupport loaded: `"123.456"`, `"5.0"`,
/// `"0.00000000000000000001"`, `"-0.0"`, `"NaN"`, `"Infinity"`.
///
/// Strings `BigDecimal()` refuses give Ruby's message, `invalid value for BigDecimal(): "abc"`
/// (`string contains null byte` for a NUL). Values whose text would exceed a million
/// characters are refused with a message of this crate's own.
pub fn bigdecimal_to_s(literal: &str) -> Result<String, String> {
    if prints_as_written(literal) {
        return Ok(literal.to_owned());
    }
    if literal.contains('\0') {
        return Err("string contains null byte".to_owned());
    }
    let value =
        parse(literal).ok_or_else(|| format!("invalid value for BigDecimal(): \"{literal}\""))?;
    to_s_f(&value).ok_or_else(|| {
        format!(
            "BigDecimal(\"{literal}\") is too large to print in full (over {MAX_F_LEN} characters)"
        )
    })
}

/// Whether `literal` is a non-zero BigDecimal that [`bigdecimal_to_s`] prints exactly as
/// written (`123.456`, `-0.5`, `5.0`, `0.00000000000000000001`: what Rails writes), told
/// without parsing it. `false` says nothing: the literal may still print as written.
pub(crate) fn prints_as_written(literal: &str) -> bool {
    // Far below the longest text printed in full.
    if literal.len() > 1_000 {
        return false;
    }
    let unsigned = literal.strip_prefix('-').unwrap_or(literal);
    let Some((int, frac)) = unsigned.split_once('.') else {
        return false;
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return false;
    }
    if int == "0" {
        // `0.` then the digits after any leading zeros, the last one not a zero.
        !frac.ends_with('0')
    } else {
        // No leading zero; `.0` alone, or a fraction without trailing zeros.
        !int.starts_with('0') && (frac == "0" || !frac.ends_with('0'))
    }
}

/// `BigDecimal(literal).to_s` for a writer: as [`bigdecimal_to_s`], but also refusing a literal
/// whose exponent overflows BigDecimal's reading (`1e99999999999999999999` reads as
/// `Infinity`, `1e-99999999999999999999` as `0.0`): Ruby would hand the job another number.
pub fn bigdecimal_literal(literal: &str) -> Result<String, String> {
    let shown = bigdecimal_to_s(literal)?;
    if exponent_overflows(literal) {
        return Err(format!(
            "BigDecimal(\"{literal}\") overflows BigDecimal's exponent: Ruby reads it as {shown}"
        ));
    }
    Ok(shown)
}

/// Whether a literal `BigDecimal()` accepts has non-zero digits and an exponent beyond
/// [`EXPONENT_LIMIT`].
fn exponent_overflows(literal: &str) -> bool {
    let bytes = literal.as_bytes();
    let mut j = bytes.iter().take_while(|b| is_space(**b)).count();
    if bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    if special(&bytes[j..]).is_some() {
        return false;
    }
    scan(&bytes[j..]).is_some_and(|scanned| {
        let nonzero = scanned.int.iter().chain(&scanned.frac).any(|d| *d != b'0');
        nonzero && exponent(&scanned.exp, scanned.exp_negative).is_none()
    })
}

/// Ruby's `ISSPACE`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The parts `BigDecimal()`'s scanner collects, underscores removed.
#[derive(Debug, Default)]
struct Scanned {
    negative: bool,
    int: Vec<u8>,
    frac: Vec<u8>,
    dot: bool,
    exp_seen: bool,
    exp_negative: bool,
    exp: Vec<u8>,
}

fn parse(literal: &str) -> Option<Value> {
    let bytes = literal.as_bytes();
    let mut j = bytes.iter().take_while(|b| is_space(**b)).count();
    if bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    if let Some(special) = special(&bytes[j..]) {
        return Some(special);
    }
    let scanned = scan(&bytes[j..])?;
    let invalid = ((scanned.int.is_empty() || scanned.dot) && scanned.frac.is_empty())
        || (scanned.exp_seen && scanned.exp.is_empty());
    (!invalid).then(|| finite(&scanned))
}

/// `NaN`, `Infinity`, `+Infinity`, `-Infinity`, followed only by whitespace.
fn special(rest: &[u8]) -> Option<Value> {
    let words: [(&[u8], Value); 4] = [
        (b"Infinity", Value::Infinity { negative: false }),
        (b"+Infinity", Value::Infinity { negative: false }),
        (b"-Infinity", Value::Infinity { negative: true }),
        (b"NaN", Value::NaN),
    ];
    words.into_iter().find_map(|(word, value)| {
        let tail = rest.strip_prefix(word)?;
        tail.iter().all(|b| is_space(*b)).then_some(value)
    })
}

/// The strict scanner: sign, integer digits, `.` and fraction digits, exponent, trailing
/// whitespace; `None` where Ruby raises.
fn scan(s: &[u8]) -> Option<Scanned> {
    let mut out = Scanned::default();
    let mut j = 0;
    if let Some(sign @ (b'+' | b'-')) = s.first() {
        out.negative = *sign == b'-';
        j += 1;
    }
    j = digits(s, j, &mut out.int, true)?;
    if s.get(j) == Some(&b'.') {
        out.dot = true;
        j = digits(s, j + 1, &mut out.frac, false)?;
    }
    if matches!(s.get(j), Some(b'e' | b'E' | b'd' | b'D')) {
        out.exp_seen = true;
        j += 1;
        if let Some(sign @ (b'+' | b'-')) = s.get(j) {
            out.exp_negative = *sign == b'-';
            j += 1;
        }
        j = digits(s, j, &mut out.exp, false)?;
    }
    s[j..].iter().all(|b| is_space(*b)).then_some(out)
}

/// Collects digits from `start`, skipping single underscores that follow a digit; the
/// integer part also allows one before the end or whitespace (`1_` is `1`). Returns where the
/// digits stop, or `None` for an underscore Ruby refuses.
fn digits(s: &[u8], start: usize, into: &mut Vec<u8>, integer: bool) -> Option<usize> {
    let mut j = start;
    while let Some(&b) = s.get(j) {
        if b.is_ascii_digit() {
            into.push(b);
        } else if b == b'_' {
            let next = s.get(j + 1).copied();
            let digit_next = next.is_some_and(|n| n.is_ascii_digit());
            let end_next = integer && !matches!(next, Some(n) if !is_space(n));
            if into.is_empty() || !(digit_next || end_next) {
                return None;
            }
        } else {
            break;
        }
        j += 1;
    }
    Some(j)
}

fn finite(scanned: &Scanned) -> Value {
    let negative = scanned.negative;
    let all: Vec<u8> = scanned.int.iter().chain(&scanned.frac).copied().collect();
    let lead = all.iter().take_while(|d| **d == b'0').count();
    let significant = &all[lead..];
    let trimmed_len =
        significant.len() - significant.iter().rev().take_while(|d| **d == b'0').count();
    let digits = String::from_utf8_lossy(&significant[..trimmed_len]).into_owned();
    let Some(exponent) = exponent(&scanned.exp, scanned.exp_negative) else {
        return if digits.is_empty() || scanned.exp_negative {
            Value::Finite {
                negative,
                digits: String::new(),
                point: 0,
            }
        } else {
            Value::Infinity { negative }
        };
    };
    let point = scanned.int.len() as i128 - lead as i128 + exponent;
    Value::Finite {
        negative,
        digits,
        point,
    }
}

/// The exponent's value, or `None` when it overflows BigDecimal.
fn exponent(digits: &[u8], negative: bool) -> Option<i128> {
    let mut e: i128 = 0;
    for d in digits {
        e = e * 10 + i128::from(d - b'0');
        if e > EXPONENT_LIMIT {
            return None;
        }
    }
    Some(if negative { -e } else { e })
}

/// `BigDecimal#to_s("F")`; `None` when the text would be unreasonably long.
fn to_s_f(value: &Value) -> Option<String> {
    let (negative, digits, point) = match value {
        Value::NaN => return Some("NaN".to_owned()),
        Value::Infinity { negative } => {
            return Some(if *negative { "-Infinity" } else { "Infinity" }.to_owned())
        }
        Value::Finite {
            negative,
            digits,
            point,
        } => (*negative, digits.as_str(), *point),
    };
    let sign = if negative { "-" } else { "" };
    if digits.is_empty() {
        return Some(format!("{sign}0.0"));
    }
    let len = digits.len() as i128;
    if point.abs() + len > MAX_F_LEN {
        return None;
    }
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= len {
        format!("{digits}{}.0", "0".repeat((point - len) as usize))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    Some(format!("{sign}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_decimals_print_as_written() {
        for literal in [
            "123.456",
            "-0.5",
            "5.0",
            "0.00000000000000000001",
            "100.0",
            "100.5",
        ] {
            assert!(prints_as_written(literal), "{literal}");
        }
        for literal in [
            "0.0", "-0.0", "5.00", "05.5", "0.10", "1e5", ".5", "5.", "+5.0", " 5.0",
        ] {
            assert!(!prints_as_written(literal), "{literal}");
        }
    }

    proptest::proptest! {
        /// What is taken as printed as written is what `to_s` prints.
        #[test]
        fn taken_as_written_is_printed_so(literal in "-?[0-9]{1,4}\\.[0-9]{1,4}") {
            if prints_as_written(&literal) {
                proptest::prop_assert_eq!(bigdecimal_to_s(&literal), Ok(literal.clone()));
                let slow = parse(&literal).and_then(|value| to_s_f(&value));
                proptest::prop_assert_eq!(slow, Some(literal));
            }
        }
    }
    use crate::ruby::system_ruby;

    fn invalid(s: &str) -> Result<String, String> {
        Err(format!("invalid value for BigDecimal(): \"{s}\""))
    }

    #[test]
    fn fixture_values() {
        let cases = [
            ("123.456", "123.456"),
            ("-0.5", "-0.5"),
            ("1e-20", "0.00000000000000000001"),
            (
                "12345678901234567890.123456789",
                "12345678901234567890.123456789",
            ),
            ("5", "5.0"),
            ("1.5", "1.5"),
            ("1.25", "1.25"),
        ];
        for (input, want) in cases {
            assert_eq!(bigdecimal_to_s(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    /// A writer refuses literals that Ruby reads as another number.
    #[test]
    fn literal_refuses_exponent_overflow() {
        assert_eq!(bigdecimal_literal(" 1_000.50 ").as_deref(), Ok("1000.5"));
        assert_eq!(bigdecimal_literal("Infinity").as_deref(), Ok("Infinity"));
        assert_eq!(
            bigdecimal_literal("0e99999999999999999999").as_deref(),
            Ok("0.0")
        );
        assert!(bigdecimal_literal("1e99999999999999999999").is_err());
        assert!(bigdecimal_literal("-1e-99999999999999999999").is_err());
        assert!(bigdecimal_literal("1.2.3").is_err());
        assert!(bigdecimal_literal("").is_err());
        assert_eq!(
            bigdecimal_to_s("1e99999999999999999999").as_deref(),
            Ok("Infinity")
        );
    }

    #[test]
    fn accepted_forms() {
        // Observed with Ruby 3.1 / bigdecimal 3.1.1 and ActiveSupport's default "F" format.
        let cases = [
            ("1.50", "1.5"),
            ("-0", "-0.0"),
            ("0", "0.0"),
            ("+0", "0.0"),
            ("-0.0", "-0.0"),
            ("0.000", "0.0"),
            ("NaN", "NaN"),
            ("Infinity", "Infinity"),
            ("+Infinity", "Infinity"),
            ("-Infinity", "-Infinity"),
            ("  NaN", "NaN"),
            ("NaN ", "NaN"),
            ("#1.5", "1.5"),
            ("#NaN", "NaN"),
            (" 1.5 ", "1.5"),
            ("\t1.5\n", "1.5"),
            ("\u{0b}1\u{0b}", "1.0"),
            ("1_000", "1000.0"),
            ("1_", "1.0"),
            ("1_2_3.4_5e1_0", "1234500000000.0"),
            ("1e5", "100000.0"),
            ("1E5", "100000.0"),
            ("1e+5", "100000.0"),
            ("1e-5", "0.00001"),
            ("1d5", "100000.0"),
            ("1D5", "100000.0"),
            (".5", "0.5"),
            ("-.5", "-0.5"),
            ("+.5", "0.5"),
            ("00012.3400", "12.34"),
            ("123e-2", "1.23"),
            ("1.23e2", "123.0"),
            ("0.1e-1", "0.01"),
            ("1e0000000000000000000000000000001", "10.0"),
            ("1000000e-3", "1000.0"),
            ("-1e-20", "-0.00000000000000000001"),
            ("  -1.5e-3  ", "-0.0015"),
            ("1e99999999999999999999", "Infinity"),
            ("-1e99999999999999999999", "-Infinity"),
            ("1e1024819115206086201", "Infinity"),
            ("0.1e1024819115206086201", "Infinity"),
            ("1e-99999999999999999999", "0.0"),
            ("-1e-99999999999999999999", "-0.0"),
            ("0e99999999999999999999", "0.0"),
            ("-0e-1000000000000000000000", "-0.0"),
        ];
        for (input, want) in cases {
            assert_eq!(bigdecimal_to_s(input).as_deref(), Ok(want), "{input:?}");
        }
        assert_eq!(bigdecimal_to_s("1e1000").unwrap().len(), 1003);
        assert_eq!(bigdecimal_to_s("1e-1000").unwrap().len(), 1002);
    }

    #[test]
    fn refused_forms() {
        for s in [
            "abc",
            "",
            " ",
            "1.2.3",
            "inf",
            "nan",
            "-NaN",
            "+NaN",
            "NaN1",
            "Infinity1",
            "1__000",
            "_1",
            "_",
            "1_.5",
            "1._5",
            "1.5_",
            "1.5__1",
            "1_e5",
            "1e_5",
            "1e5_",
            "5.",
            "1.",
            "1e",
            "1e+",
            "e5",
            ".",
            "0x10",
            "1,5",
            "1.5x",
            "1 000",
            "-",
            "+",
            "+-1",
            "1e+-5",
            "1e--5",
            "1e5.5",
            "##1",
            "# 1",
            "1.5#",
            "１",
            "1\u{a0}",
            "a\"b",
        ] {
            assert_eq!(bigdecimal_to_s(s), invalid(s), "{s:?}");
        }
        assert_eq!(
            bigdecimal_to_s("1\0"),
            Err("string contains null byte".into())
        );
        assert!(bigdecimal_to_s("1e1024819115206086200").is_err());
        assert!(bigdecimal_to_s("9.99e999999999999").is_err());
    }

    #[test]
    fn matches_system_ruby() {
        let mut rng = system_ruby::XorShift::new(0xb16d_ec1a);
        let pieces = [
            "", "-", "+", " ", "0", "00", "1", "12", "_", ".", "5", "e", "E", "d", "-", "+", "3",
            "007", "9",
        ];
        let inputs: Vec<String> = (0..system_ruby::count(500))
            .map(|_| {
                let n = 1 + rng.next() % 7;
                (0..n)
                    .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
                    .collect()
            })
            .collect();
        let script = r##"require "bigdecimal"
            STDIN.each_line { |l| s = l.chomp
              puts(begin; BigDecimal(s).to_s("F"); rescue ArgumentError => e; "E #{e.message}"; end) }"##;
        let stdin: String = inputs.iter().map(|s| format!("{s}\n")).collect();
        let Some(output) = system_ruby::run(script, &stdin) else {
            return;
        };
        for (input, ruby) in inputs.iter().zip(output.lines()) {
            let ours = bigdecimal_to_s(input).unwrap_or_else(|e| format!("E {e}"));
            if ours.contains("too large to print") {
                continue;
            }
            assert_eq!(ours, ruby, "input {input:?}");
        }
    }
}
