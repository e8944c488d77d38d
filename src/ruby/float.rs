//! Ruby's `Float#to_s`.
//!
//! ActiveSupport::JSON writes every Float with `Float#to_s`, so a payload Rust writes must spell
//! floats exactly that way (`1.0`, `1.0e+20`, `1.5e-07`) for the bytes to match what Rails
//! writes, and the typed dump reports the same text as `repr`.
//!
//! Ruby prints the shortest digit string that reads back as the same double (David Gay's
//! `dtoa` mode 0) and lays it out by the decimal exponent `decpt` (the value is
//! `0.DIGITS × 10^decpt`) and the digit count: fixed notation when the point falls inside the
//! digits, or when `decpt` is at most 15 (padding with zeros), or when `-4 < decpt <= 0`
//! (leading `0.000`); scientific otherwise. So `1e15` prints as `1.0e+15` while
//! `1442711374224820.5` stays fixed, and `0.0001` is fixed while `0.00001` is `1.0e-05`
//! (checked against Ruby 3.1 on random doubles).

/// Largest `decpt` padded with zeros in fixed notation (`DBL_DIG`).
const FIXED_MAX_PADDED_DECPT: i32 = 15;
/// Smallest `decpt` printed as `0.000…` (`0.0001` has `decpt` -3).
const FIXED_MIN_DECPT: i32 = -3;

/// Ruby's `Float#to_s`: `1.0`, `-0.0`, `0.30000000000000004`, `1.0e+16`, `1.5e-07`, `NaN`,
/// `Infinity`, `-Infinity`.
pub fn float_to_s(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f.is_infinite() {
        return format!("{sign}Infinity");
    }
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, decpt) = shortest_digits(f.abs());
    let point_inside = decpt > 0 && (decpt as usize) < digits.len();
    let body = if point_inside || (FIXED_MIN_DECPT..=FIXED_MAX_PADDED_DECPT).contains(&decpt) {
        fixed(&digits, decpt)
    } else {
        scientific(&digits, decpt)
    };
    format!("{sign}{body}")
}

/// The shortest round-trip digits of a finite positive double and its `decpt`.
///
/// Rust's `{:e}` formatting yields the shortest digits that round-trip, choosing the closest
/// candidate when several have the same length, as `dtoa` mode 0 does. The two differ only
/// when the double lies exactly halfway between two such candidates: `dtoa` then takes the one
/// with an even last digit and Rust does not (`1230051924713582.25` is `…582.2` in Ruby,
/// `…582.3` from Rust).
fn shortest_digits(f: f64) -> (String, i32) {
    let (digits, decpt) = rust_shortest(f);
    match even_neighbour_at_tie(f, &digits, decpt) {
        Some(even) => (even, decpt),
        None => (digits, decpt),
    }
}

fn rust_shortest(f: f64) -> (String, i32) {
    split_exponential(&format!("{f:e}"))
}

/// Digits and `decpt` of Rust's `{:e}` text (`1.2345e-7` → `("12345", -6)`).
fn split_exponential(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    (digits, exponent + 1)
}

/// Fewer digits leave no room for two candidates that both read back as the same double.
const MIN_TIE_DIGITS: usize = 15;

/// When `digits` ends in an odd digit and `f` is exactly halfway between it and a neighbour
/// that also reads back as `f`, the even neighbour.
fn even_neighbour_at_tie(f: f64, digits: &str, decpt: i32) -> Option<String> {
    let last = digits.bytes().last()?;
    if digits.len() < MIN_TIE_DIGITS || (last - b'0') % 2 == 0 {
        return None;
    }
    let stem = &digits[..digits.len() - 1];
    [last - 1, last + 1]
        .into_iter()
        .filter(|d| d.is_ascii_digit())
        .map(|d| format!("{stem}{}", char::from(d)))
        .find(|neighbour| {
            let lower = if neighbour.as_str() < digits {
                neighbour.as_str()
            } else {
                digits
            };
            reads_back(neighbour, decpt, f) && is_exact_midpoint(f, lower, decpt)
        })
}

fn reads_back(digits: &str, decpt: i32, f: f64) -> bool {
    format!("0.{digits}e{decpt}").parse::<f64>() == Ok(f)
}

/// Whether `f` is exactly `0.LOWER5 × 10^decpt`. Every double has a finite decimal expansion
/// of at most 767 significant digits, so 800 digits show it exactly.
fn is_exact_midpoint(f: f64, lower: &str, decpt: i32) -> bool {
    let (exact, exact_decpt) = split_exponential(&format!("{f:.800e}"));
    let exact = exact.trim_end_matches('0');
    exact_decpt == decpt && exact.strip_prefix(lower) == Some("5")
}

fn fixed(digits: &str, decpt: i32) -> String {
    if decpt <= 0 {
        let zeros = "0".repeat(decpt.unsigned_abs() as usize);
        return format!("0.{zeros}{digits}");
    }
    let point = decpt as usize;
    if digits.len() <= point {
        let zeros = "0".repeat(point - digits.len());
        format!("{digits}{zeros}.0")
    } else {
        let (int, frac) = digits.split_at(point);
        format!("{int}.{frac}")
    }
}

fn scientific(digits: &str, decpt: i32) -> String {
    let (first, rest) = digits.split_at(1);
    let rest = if rest.is_empty() { "0" } else { rest };
    let exponent = decpt - 1;
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    format!("{first}.{rest}e{exp_sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The literals are the ones the fixtures' Ruby calls used (`3.14`, `123456789.123456789`).
    #[allow(clippy::excessive_precision, clippy::approx_constant)]
    fn fixture_floats() {
        // numbers_edge.json and the float_exponent probe, as Ruby printed them.
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1.0e20, "1.0e+20"),
            (1.5e-7, "1.5e-07"),
            (123456789.123456789, "123456789.12345679"),
            (0.1 + 0.2, "0.30000000000000004"),
            (3.14, "3.14"),
            (1e3, "1000.0"),
            (0.5, "0.5"),
            (5400.0, "5400.0"),
        ];
        for (f, want) in cases {
            assert_eq!(float_to_s(f), want, "{f:e}");
        }
    }

    #[test]
    fn fixed_and_scientific_boundaries() {
        let cases = [
            (1e14, "100000000000000.0"),
            (1e15, "1.0e+15"),
            (1e16, "1.0e+16"),
            (999999999999999.9, "999999999999999.9"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (9007199254740992.0, "9.007199254740992e+15"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e15, "1.5e+15"),
            (-1e15, "-1.0e+15"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.0001234, "0.0001234"),
            (0.00001, "1.0e-05"),
            (0.00001234, "1.234e-05"),
            (100.0, "100.0"),
            (1e22, "1.0e+22"),
            (1e23, "1.0e+23"),
            (2.5e100, "2.5e+100"),
            (1e-100, "1.0e-100"),
            (5e-324, "5.0e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-123.456, "-123.456"),
            (0.1, "0.1"),
            (2.0f64.powi(60), "1.152921504606847e+18"),
            (-1442711374224820.5, "-1442711374224820.5"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1234567890123456.7, "1234567890123456.8"),
            (1.5e16, "1.5e+16"),
            (f64::from_bits(0x43117ae7201c81b9), "1230051924713582.2"),
        ];
        for (f, want) in cases {
            assert_eq!(float_to_s(f), want, "{f:e}");
        }
    }

    #[test]
    fn non_finite() {
        assert_eq!(float_to_s(f64::NAN), "NaN");
        assert_eq!(float_to_s(-f64::NAN), "NaN");
        assert_eq!(float_to_s(f64::INFINITY), "Infinity");
        assert_eq!(float_to_s(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(float_to_s(0.0), "0.0");
    }

    #[test]
    fn matches_system_ruby_on_random_doubles() {
        let mut rng = super::super::system_ruby::XorShift::new(0x5eed_f10a7);
        let mut values: Vec<f64> = (0..super::super::system_ruby::count(200) as i32)
            .map(|i| {
                let bits = rng.next();
                match i % 5 {
                    0 => f64::from_bits(bits),
                    1 => (bits >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((i % 40) - 20),
                    2 => (bits % 100_000_000) as f64 / 10f64.powi((i % 24) - 4),
                    // Binary fractions with 16-17 significant digits: where ties happen.
                    3 => {
                        ((bits >> (12 + i % 4)) as f64 + 0.25 * (1 + i % 3) as f64)
                            * 2f64.powi(i % 7 - 3)
                    }
                    _ => f64::from_bits(bits & 0x800f_ffff_ffff_ffff), // subnormals
                }
            })
            .filter(|f| f.is_finite())
            .collect();
        values.extend([1e15, 1e16, 0.0001, 0.00001, 123456789012345678.0]);
        let script = "STDIN.each_line { |l| puts [l.to_i].pack('Q').unpack1('D').to_s }";
        let input: String = values
            .iter()
            .map(|f| format!("{}\n", f.to_bits()))
            .collect();
        let Some(output) = super::super::system_ruby::run(script, &input) else {
            return;
        };
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), values.len());
        for (f, ruby) in values.iter().zip(lines) {
            assert_eq!(float_to_s(*f), ruby, "bits {:#x}", f.to_bits());
        }
    }
}
