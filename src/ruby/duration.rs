//! `ActiveSupport::Duration` as Rails 8.1's `DurationSerializer` rebuilds it.
//!
//! The wire form is a total (`value`, seconds, Integer or Float) plus `parts`, a list of
//! `[unit, amount]` pairs. Rails 8.1 turns the list into a Hash (`parts.to_h`, so a repeated
//! unit keeps its first position and its last amount) and calls `Duration.new(value, parts)`,
//! which drops parts whose amount is zero unless the total is zero. Nothing checks the unit
//! names or that the parts add up to the total: the job receives exactly that. The typed dump
//! shows the duration's `inspect` and `to_i`, so both are reproduced here, including
//! `inspect`'s unit ordering, singular forms (`1.0 hour`) and its failure when a unit Rails does
//! not know is sorted against one it does.

use super::number::{Integer, Numeric};
use num_bigint::BigInt;
use std::collections::HashMap;

/// Rails' unit order for `inspect` (`ActiveSupport::Duration::PARTS`).
const PARTS: [&str; 7] = [
    "years", "months", "weeks", "days", "hours", "minutes", "seconds",
];

/// An `ActiveSupport::Duration`: its total and its parts, in the order the Hash keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct Duration {
    /// `Duration#value`: the total in seconds (`300`, or `5400.0` for `1.5.hours`).
    pub value: Numeric,
    /// `Duration#parts`: unit name (`"minutes"`) and amount, in Hash order.
    pub parts: Vec<(String, Numeric)>,
}

/// Up to this many parts, repeated units are found by scanning.
const FEW_PARTS: usize = 16;

impl Duration {
    /// What `DurationSerializer#deserialize` builds from a payload's `value` and `parts` (unit
    /// names already read from their SymbolSerializer objects): `Duration.new(value,
    /// parts.to_h)`.
    ///
    /// Rails accepts any unit name here, so this never fails; the `Result` leaves room for
    /// the shape checks Ruby applies before (`parts` elements that are not pairs raise
    /// `TypeError: wrong element type Integer at 0 (expected array)` or `ArgumentError: wrong
    /// array length at 0 (expected 2, was 3)`, which the caller sees first), and a missing or
    /// `null` `parts` is an empty list (`nil.to_h`).
    pub fn from_wire(value: Numeric, parts: Vec<(String, Numeric)>) -> Result<Duration, String> {
        let mut hash: Vec<(String, Numeric)> = Vec::with_capacity(parts.len());
        // `to_h` keeps a repeated unit's first position and last amount. Durations have a few
        // parts: a scan finds repeats; a hand-made payload with many parts gets an index.
        let mut positions: Option<HashMap<String, usize>> =
            (parts.len() > FEW_PARTS).then(|| HashMap::with_capacity(parts.len()));
        for (unit, amount) in parts {
            let seen = match &mut positions {
                Some(positions) => positions.get(&unit).copied(),
                None => hash.iter().position(|(u, _)| *u == unit),
            };
            match seen {
                Some(at) => hash[at].1 = amount,
                None => {
                    if let Some(positions) = &mut positions {
                        positions.insert(unit.clone(), hash.len());
                    }
                    hash.push((unit, amount));
                }
            }
        }
        if !is_zero(&value) {
            hash.retain(|(_, amount)| !is_zero(amount));
        }
        Ok(Duration { value, parts: hash })
    }

    /// `Duration#inspect` (`5 minutes`, `1 day and 2 hours`, `1.5 hours`, `1 hour, 1 minute,
    /// and 40 seconds`, `-10 minutes`, `300 seconds` when there are no parts).
    ///
    /// Where Ruby's `inspect` raises (see [`Duration::try_inspect`]) this lists the parts in
    /// Hash order instead.
    pub fn inspect(&self) -> String {
        self.try_inspect()
            .unwrap_or_else(|_| sentence(self.parts.iter().map(|(u, a)| describe(u, a)).collect()))
    }

    /// `Duration#inspect`, or the `ArgumentError` message Ruby raises when a unit outside
    /// Rails' list is sorted against a known one (`comparison of NilClass with 5 failed`).
    ///
    /// The comparison order, and so the message, is that of the merge sort glibc's `qsort_r`
    /// performs, which Ruby uses on Linux.
    pub fn try_inspect(&self) -> Result<String, String> {
        if self.parts.is_empty() {
            return Ok(format!("{} seconds", self.value.ruby_to_s()));
        }
        let sorted = merge_sort(self.parts.iter().collect(), &|a, b| {
            compare_units(&a.0, &b.0)
        })?;
        Ok(sentence(
            sorted.into_iter().map(|(u, a)| describe(u, a)).collect(),
        ))
    }

    /// `Duration#to_i`: the total truncated to an integer; `None` for a NaN or infinite total
    /// (Ruby raises `FloatDomainError`) or one beyond `i64` (see [`Duration::to_integer`]).
    pub fn seconds(&self) -> Option<i64> {
        self.to_integer()?.as_i64()
    }

    /// `Duration#to_i` at any size (`1.0e19` seconds is `10000000000000000000`).
    pub fn to_integer(&self) -> Option<Integer> {
        match &self.value {
            Numeric::Integer(i) => Some(i.clone()),
            Numeric::Float(f) if f.is_finite() => {
                let digits = format!("{:.0}", f.trunc());
                digits.parse::<BigInt>().ok().map(Integer::from)
            }
            Numeric::Float(_) => None,
        }
    }
}

/// Ruby's `zero?` / `== 0` (true for `0`, `0.0` and `-0.0`).
fn is_zero(n: &Numeric) -> bool {
    match n {
        Numeric::Integer(i) => i.as_i64() == Some(0),
        Numeric::Float(f) => *f == 0.0,
    }
}

/// Ruby's `val == 1` (true for `1` and `1.0`).
fn is_one(n: &Numeric) -> bool {
    match n {
        Numeric::Integer(i) => i.as_i64() == Some(1),
        Numeric::Float(f) => *f == 1.0,
    }
}

/// `"#{val} #{val == 1 ? unit.chop : unit}"`.
fn describe(unit: &str, amount: &Numeric) -> String {
    let unit = if is_one(amount) { chop(unit) } else { unit };
    format!("{} {unit}", amount.ruby_to_s())
}

/// Ruby's `String#chop`: drops the last character, or a trailing `\r\n` pair.
fn chop(s: &str) -> &str {
    if let Some(stripped) = s.strip_suffix("\r\n") {
        return stripped;
    }
    let mut chars = s.chars();
    chars.next_back();
    chars.as_str()
}

/// `Array#to_sentence(locale: false)`: `a`, `a and b`, `a, b, and c`.
fn sentence(mut words: Vec<String>) -> String {
    match words.len() {
        0 => String::new(),
        1 => words.remove(0),
        2 => format!("{} and {}", words[0], words[1]),
        n => {
            let last = words.remove(n - 1);
            format!("{}, and {last}", words.join(", "))
        }
    }
}

/// `PARTS.index(a) <=> PARTS.index(b)` as `sort_by` evaluates it: unknown units have index
/// `nil`, which compares equal to `nil` and raises against an Integer.
fn compare_units(a: &str, b: &str) -> Result<std::cmp::Ordering, String> {
    let index = |unit: &str| PARTS.iter().position(|p| *p == unit);
    match (index(a), index(b)) {
        (Some(x), Some(y)) => Ok(x.cmp(&y)),
        (None, None) => Ok(std::cmp::Ordering::Equal),
        (None, Some(y)) => Err(format!("comparison of NilClass with {y} failed")),
        (Some(_), None) => Err("comparison of Integer with nil failed".to_owned()),
    }
}

type Compare<'a, T> = dyn Fn(&T, &T) -> Result<std::cmp::Ordering, String> + 'a;

/// glibc's `msort`: split in halves (first half `n / 2`), sort each, merge taking from the
/// left unless it compares greater; stops at the first comparison that fails.
fn merge_sort<T: Copy>(items: Vec<T>, cmp: &Compare<T>) -> Result<Vec<T>, String> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mid = items.len() / 2;
    let left = merge_sort(items[..mid].to_vec(), cmp)?;
    let right = merge_sort(items[mid..].to_vec(), cmp)?;
    let mut merged = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&left[i], &right[j])?.is_gt() {
            merged.push(right[j]);
            j += 1;
        } else {
            merged.push(left[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i64) -> Numeric {
        Numeric::Integer(Integer::Small(v))
    }

    fn duration(value: Numeric, parts: &[(&str, Numeric)]) -> Duration {
        let parts = parts
            .iter()
            .map(|(u, a)| (u.to_string(), a.clone()))
            .collect();
        Duration::from_wire(value, parts).unwrap()
    }

    /// `parts.to_h`: a repeated unit keeps its first position and its last amount, whether the
    /// repeats are found by scanning (few parts) or through an index (many).
    #[test]
    fn repeated_units_keep_first_position_and_last_amount() {
        let few = duration(
            int(7),
            &[("hours", int(1)), ("minutes", int(2)), ("hours", int(3))],
        );
        assert_eq!(
            few.parts,
            vec![("hours".to_owned(), int(3)), ("minutes".to_owned(), int(2))]
        );
        let mut many: Vec<(String, Numeric)> = (0..40)
            .map(|i| (format!("unit{}", i % 20), int(i)))
            .collect();
        many.insert(0, ("seconds".to_owned(), int(1)));
        let many = Duration::from_wire(int(0), many).unwrap();
        assert_eq!(many.parts.len(), 21);
        assert_eq!(many.parts[0], ("seconds".to_owned(), int(1)));
        assert_eq!(many.parts[1], ("unit0".to_owned(), int(20)));
        assert_eq!(many.parts[20], ("unit19".to_owned(), int(39)));
    }

    #[test]
    fn fixture_durations() {
        // durations.json: value, parts, inspect and to_i as Rails 8.1 decodes them.
        let cases = [
            (int(300), vec![("minutes", int(5))], "5 minutes", 300),
            (
                int(93600),
                vec![("days", int(1)), ("hours", int(2))],
                "1 day and 2 hours",
                93600,
            ),
            (int(3), vec![("seconds", int(3))], "3 seconds", 3),
            (
                Numeric::Float(5400.0),
                vec![("hours", Numeric::Float(1.5))],
                "1.5 hours",
                5400,
            ),
            (int(1209600), vec![("weeks", int(2))], "2 weeks", 1209600),
            (int(2629746), vec![("months", int(1))], "1 month", 2629746),
            (int(31556952), vec![("years", int(1))], "1 year", 31556952),
            (
                int(3700),
                vec![("hours", int(1)), ("minutes", int(1)), ("seconds", int(40))],
                "1 hour, 1 minute, and 40 seconds",
                3700,
            ),
            (int(-600), vec![("minutes", int(-10))], "-10 minutes", -600),
            (int(604800), vec![("weeks", int(1))], "1 week", 604800),
        ];
        for (value, parts, inspect, seconds) in cases {
            let d = duration(value, &parts);
            assert_eq!(d.inspect(), inspect);
            assert_eq!(d.seconds(), Some(seconds));
            assert_eq!(d.parts.len(), parts.len());
        }
    }

    #[test]
    fn zero_parts_dropped_unless_total_is_zero() {
        let d = duration(int(300), &[("minutes", int(5)), ("hours", int(0))]);
        assert_eq!(d.parts, vec![("minutes".to_owned(), int(5))]);
        let d = duration(int(0), &[("minutes", int(0)), ("hours", int(0))]);
        assert_eq!(d.inspect(), "0 hours and 0 minutes");
        let d = duration(Numeric::Float(-0.0), &[("minutes", int(0))]);
        assert_eq!(d.inspect(), "0 minutes");
        let d = duration(
            int(7),
            &[("minutes", Numeric::Float(0.0)), ("seconds", int(7))],
        );
        assert_eq!(d.inspect(), "7 seconds");
    }

    #[test]
    fn empty_parts_print_the_total() {
        assert_eq!(duration(int(0), &[]).inspect(), "0 seconds");
        assert_eq!(duration(Numeric::Float(0.0), &[]).inspect(), "0.0 seconds");
        assert_eq!(duration(int(300), &[]).inspect(), "300 seconds");
    }

    #[test]
    fn unit_order_and_duplicates() {
        let d = duration(
            int(3700),
            &[("seconds", int(40)), ("hours", int(1)), ("minutes", int(1))],
        );
        assert_eq!(d.inspect(), "1 hour, 1 minute, and 40 seconds");
        assert_eq!(d.parts[0].0, "seconds");
        let d = duration(
            int(120),
            &[
                ("minutes", int(1)),
                ("seconds", int(5)),
                ("minutes", int(2)),
            ],
        );
        assert_eq!(
            d.parts,
            vec![("minutes".into(), int(2)), ("seconds".into(), int(5))]
        );
    }

    #[test]
    fn singular_forms() {
        assert_eq!(
            duration(int(3600), &[("hours", Numeric::Float(1.0))]).inspect(),
            "1.0 hour"
        );
        assert_eq!(
            duration(int(-1), &[("seconds", int(-1))]).inspect(),
            "-1 seconds"
        );
        assert_eq!(
            duration(int(7), &[("minutes\r\n", int(1))]).inspect(),
            "1 minutes"
        );
        assert_eq!(duration(int(7), &[("", int(1))]).inspect(), "1 ");
    }

    #[test]
    fn unknown_units() {
        assert_eq!(
            duration(int(10), &[("fortnights", int(1))]).inspect(),
            "1 fortnight"
        );
        assert_eq!(
            duration(int(10), &[("fortnights", int(2))]).inspect(),
            "2 fortnights"
        );
        let d = duration(int(10), &[("fortnights", int(2)), ("minutes", int(1))]);
        assert_eq!(
            d.try_inspect(),
            Err("comparison of NilClass with 5 failed".into())
        );
        assert_eq!(d.inspect(), "2 fortnights and 1 minute");
        let d = duration(int(10), &[("minutes", int(1)), ("fortnights", int(2))]);
        assert_eq!(
            d.try_inspect(),
            Err("comparison of Integer with nil failed".into())
        );
        let d = duration(
            int(10),
            &[
                ("minutes", int(1)),
                ("hours", int(2)),
                ("fortnights", int(2)),
            ],
        );
        assert_eq!(
            d.try_inspect(),
            Err("comparison of Integer with nil failed".into())
        );
        let d = duration(int(10), &[("b", int(1)), ("a", int(2)), ("c", int(3))]);
        assert_eq!(d.try_inspect(), Ok("1 , 2 a, and 3 c".into()));
    }

    #[test]
    fn to_i_of_large_and_non_finite_totals() {
        let d = duration(Numeric::Float(1e19), &[("seconds", int(1))]);
        assert_eq!(d.seconds(), None);
        assert_eq!(d.to_integer().unwrap().to_string(), "10000000000000000000");
        let d = duration(Numeric::Float(1e20), &[("seconds", Numeric::Float(1e20))]);
        assert_eq!(d.inspect(), "1.0e+20 seconds");
        let d = duration(
            Numeric::Float(f64::NAN),
            &[("seconds", Numeric::Float(f64::NAN))],
        );
        assert_eq!((d.inspect().as_str(), d.seconds()), ("NaN seconds", None));
        let big = Integer::parse("1180591620717411303424").unwrap();
        let d = duration(
            Numeric::Integer(big.clone()),
            &[("seconds", Numeric::Integer(big))],
        );
        assert_eq!(d.inspect(), "1180591620717411303424 seconds");
        assert_eq!(d.seconds(), None);
        assert_eq!(
            duration(Numeric::Float(-5400.7), &[]).seconds(),
            Some(-5400)
        );
    }
}
