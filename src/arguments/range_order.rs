//! Whether Ruby can build a Range from two ends: `Range.new(a, b)` raises `ArgumentError: bad
//! value for range` when `a <=> b` is `nil` (a `nil` end makes a beginless or endless range and
//! is never compared).
//!
//! `<=>` is Ruby's, with ActiveSupport's coercions loaded (checked with Ruby 3.3 and Rails 8.1):
//! numbers compare with numbers and Durations (`1..2.days`); Date, Time, DateTime and
//! TimeWithZone compare with each other; Strings with Strings, Symbols with Symbols; `true..true`
//! is a range (`Object#<=>` is 0 for equal objects) but `true..false` is not. A BigDecimal NaN
//! compares with nothing. An Integer, Float, BigDecimal, Duration, String, Symbol or boolean
//! begin with an end of another kind gives `nil` (`5..Date.today` raises).
//!
//! Some pairs depend on more than the kinds: `Date.today..5` is a range (Date compares with
//! numbers by Julian day) and `Time.now.."2024-01-01"` too (a String that parses as a time),
//! Arrays compare element by element, Modules by inheritance. Those are [`Order::Unknown`]: a
//! reader accepts them, the writer refuses them. Records (GlobalID) and application serializer
//! objects compare as the application's classes define: a range of two of them is accepted both
//! ways (Active Record compares records of one class by key); one of them with an end of another
//! kind is [`Order::Unknown`] (`Object#<=>` gives `nil` unless the class says otherwise).

use super::value::Value;
use crate::ruby::bigdecimal::bigdecimal_to_s;

/// What `Range.new(begin, end)` does with two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Ruby builds the range (or the application's classes decide).
    Comparable,
    /// Ruby raises `bad value for range`.
    Incomparable,
    /// Ruby's answer depends on the values, not only their kinds.
    Unknown,
}

/// How a Range end takes part in `<=>`.
#[derive(Debug, PartialEq)]
enum Kind<'a> {
    /// `nil`, or a non-finite Float (written as JSON `null`, read back as `nil`).
    Nil,
    /// Integer, finite Float, BigDecimal other than NaN, Duration.
    Number,
    NaN,
    String,
    Symbol,
    Bool(bool),
    TimeLike,
    Module(&'a str),
    /// GlobalID records and application serializer objects.
    AppDefined,
    /// Arrays, Hashes and Ranges.
    Other,
}

fn kind(value: &Value) -> Kind<'_> {
    match value {
        Value::Nil => Kind::Nil,
        Value::Float(f) if !f.is_finite() => Kind::Nil,
        Value::Integer(_) | Value::Float(_) | Value::Duration(_) => Kind::Number,
        Value::BigDecimal(text) => match bigdecimal_to_s(text) {
            Ok(shown) if shown == "NaN" => Kind::NaN,
            _ => Kind::Number,
        },
        Value::String(_) => Kind::String,
        Value::Symbol(_) => Kind::Symbol,
        Value::Bool(b) => Kind::Bool(*b),
        Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::TimeWithZone(_) => {
            Kind::TimeLike
        }
        Value::Module(name) => Kind::Module(name),
        Value::GlobalId(_) | Value::Custom(_) => Kind::AppDefined,
        Value::Array(_) | Value::Hash(_) | Value::Range(_) => Kind::Other,
    }
}

/// What `Range.new(begin, end)` does with these ends (see the module docs).
pub(crate) fn range_order(begin: &Value, end: &Value) -> Order {
    use Kind::*;
    match (kind(begin), kind(end)) {
        (Nil, _) | (_, Nil) | (AppDefined, AppDefined) => Order::Comparable,
        (AppDefined, _) | (_, AppDefined) => Order::Unknown,
        (NaN, _) | (_, NaN) => Order::Incomparable,
        (Number, Number) | (String, String) | (Symbol, Symbol) | (TimeLike, TimeLike) => {
            Order::Comparable
        }
        (Bool(a), Bool(b)) if a == b => Order::Comparable,
        (Module(a), Module(b)) if a == b => Order::Comparable,
        (Number | String | Symbol | Bool(_), _) => Order::Incomparable,
        _ => Order::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruby::duration::Duration;
    use crate::ruby::{Integer, Numeric};
    use chrono::NaiveDate;

    fn invoice() -> Value {
        crate::arguments::GlobalId::new("shop", "Billing::Invoice", "7").into()
    }

    fn date() -> Value {
        Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"))
    }

    /// Each pair as Ruby 3.3 with ActiveSupport answers `Range.new(a, b)`.
    #[test]
    fn pairs_follow_range_new() {
        let two = || Numeric::Integer(Integer::Small(2));
        let days = Value::Duration(
            Duration::from_wire(
                Numeric::Integer(Integer::Small(172_800)),
                vec![("days".into(), two())],
            )
            .expect("a duration"),
        );
        let cases = [
            (Value::from(1), Value::from("a"), Order::Incomparable),
            (Value::from(1), Value::from(2.5), Order::Comparable),
            (Value::from(1), days.clone(), Order::Comparable),
            (
                days.clone(),
                Value::BigDecimal("1".into()),
                Order::Comparable,
            ),
            (
                Value::BigDecimal("NaN".into()),
                Value::from(1),
                Order::Incomparable,
            ),
            (
                Value::BigDecimal("NaN".into()),
                Value::Nil,
                Order::Comparable,
            ),
            (
                Value::from(1),
                Value::from(f64::INFINITY),
                Order::Comparable,
            ),
            (Value::from("a"), Value::symbol("b"), Order::Incomparable),
            (Value::symbol("a"), Value::symbol("b"), Order::Comparable),
            (Value::Bool(true), Value::Bool(true), Order::Comparable),
            (Value::Bool(true), Value::Bool(false), Order::Incomparable),
            (Value::from(5), date(), Order::Incomparable),
            (date(), Value::from(5), Order::Unknown),
            (date(), date(), Order::Comparable),
            (
                Value::Module("String".into()),
                Value::Module("String".into()),
                Order::Comparable,
            ),
            (
                Value::Module("String".into()),
                Value::Module("Object".into()),
                Order::Unknown,
            ),
            (Value::from(vec![1]), Value::from(vec![2]), Order::Unknown),
            (Value::Nil, Value::from(vec![2]), Order::Comparable),
            (invoice(), invoice(), Order::Comparable),
            (invoice(), Value::from(1), Order::Unknown),
            (Value::from(1), invoice(), Order::Unknown),
        ];
        for (begin, end, want) in cases {
            assert_eq!(range_order(&begin, &end), want, "{begin}..{end}");
        }
    }
}
