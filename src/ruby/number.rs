//! Ruby numbers as they appear on the wire: integers of any size and IEEE doubles.

use num_bigint::BigInt;
use std::fmt;

/// A Ruby `Integer`: fits in an `i64` almost always, arbitrary precision otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Integer {
    /// A value in `i64` range.
    Small(i64),
    /// A value outside `i64` range (Ruby Bignum), e.g. `2**64`.
    Big(BigInt),
}

impl Integer {
    /// Parses a JSON integer literal (an optional `-` and decimal digits) without losing precision.
    pub fn parse(literal: &str) -> Option<Integer> {
        if let Ok(small) = literal.parse::<i64>() {
            return Some(Integer::Small(small));
        }
        literal.parse::<BigInt>().ok().map(Integer::from)
    }

    /// The value as an `i64`, when it fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Integer::Small(v) => Some(*v),
            Integer::Big(_) => None,
        }
    }

    /// The value as an `f64` (Ruby's `Integer#to_f`; may round for big values).
    pub fn to_f64(&self) -> f64 {
        match self {
            Integer::Small(v) => *v as f64,
            Integer::Big(b) => b.to_string().parse().unwrap_or(f64::NAN),
        }
    }
}

impl From<i64> for Integer {
    fn from(v: i64) -> Self {
        Integer::Small(v)
    }
}

impl From<BigInt> for Integer {
    fn from(v: BigInt) -> Self {
        match i64::try_from(&v) {
            Ok(small) => Integer::Small(small),
            Err(_) => Integer::Big(v),
        }
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Integer::Small(v) => write!(f, "{v}"),
            Integer::Big(v) => write!(f, "{v}"),
        }
    }
}

/// A Ruby `Integer` or `Float`, kept apart as Ruby keeps them (`5` and `5.0` differ).
#[derive(Debug, Clone, PartialEq)]
pub enum Numeric {
    /// An integer of any size.
    Integer(Integer),
    /// A double.
    Float(f64),
}

impl Numeric {
    /// Ruby's `to_s` of the number (`5`, `1.5`, `1.0e+20`).
    pub fn ruby_to_s(&self) -> String {
        match self {
            Numeric::Integer(i) => i.to_string(),
            Numeric::Float(f) => super::float::float_to_s(*f),
        }
    }

    /// Ruby's `to_i` (truncation toward zero for floats; saturates outside `i64`).
    pub fn to_i64_truncated(&self) -> Option<i64> {
        match self {
            Numeric::Integer(i) => i.as_i64(),
            Numeric::Float(f) if f.is_finite() => Some(f.trunc() as i64),
            Numeric::Float(_) => None,
        }
    }
}
