//! Ruby `Date`'s calendar: Julian before the Gregorian reform of 1582-10-15 (`Date::ITALY`),
//! Gregorian from then on.
//!
//! `Date.iso8601` validates a date by converting it to a Julian Day Number and back, so
//! `1500-02-29` is a date in Ruby (a Julian leap day) while `1582-10-10` (lost in the reform) is
//! not. The conversions mirror `date_core.c`'s floating-point formulas (Meeus), which are exact
//! for the years handled here.

/// Julian Day Number of 1582-10-15, the first Gregorian day (`Date::ITALY`).
const ITALY: f64 = 2_299_161.0;

/// Civil date labels as Ruby prints them.
pub(super) type Civil = (i64, i64, i64);

fn civil_to_jd(year: i64, mon: i64, day: i64) -> i64 {
    let (y, m) = if mon <= 2 {
        (year - 1, mon + 12)
    } else {
        (year, mon)
    };
    let (y, m, d) = (y as f64, m as f64, day as f64);
    let a = (y / 100.0).floor();
    let b = 2.0 - a + (a / 4.0).floor();
    let mut jd = (365.25 * (y + 4716.0)).floor() + (30.6001 * (m + 1.0)).floor() + d + b - 1524.0;
    if jd < ITALY {
        jd -= b;
    }
    jd as i64
}

/// The civil labels of a Julian Day Number.
pub(super) fn jd_to_civil(jd: i64) -> Civil {
    let jd = jd as f64;
    let a = if jd < ITALY {
        jd
    } else {
        let x = ((jd - 1_867_216.25) / 36_524.25).floor();
        jd + 1.0 + x - (x / 4.0).floor()
    };
    let b = a + 1524.0;
    let c = ((b - 122.1) / 365.25).floor();
    let d = (365.25 * c).floor();
    let e = ((b - d) / 30.6001).floor();
    let dom = b - d - (30.6001 * e).floor();
    let (m, y) = if e <= 13.0 {
        (e - 1.0, c - 4716.0)
    } else {
        (e - 13.0, c - 4715.0)
    };
    (y as i64, m as i64, dom as i64)
}

/// The Julian Day Number of a civil date Ruby accepts.
pub(super) fn valid_civil(year: i64, mon: i64, day: i64) -> Option<i64> {
    let jd = civil_to_jd(year, mon, day);
    (jd_to_civil(jd) == (year, mon, day)).then_some(jd)
}

/// First day of `year` (January 1 in both calendars, searched as Ruby does).
fn first_day_of_year(year: i64) -> Option<i64> {
    (1..31).find_map(|day| valid_civil(year, 1, day))
}

/// The Julian Day Number of day `yday` of `year`, if that day exists.
pub(super) fn valid_ordinal(year: i64, yday: i64) -> Option<i64> {
    let jd = first_day_of_year(year)? + yday - 1;
    let (y, _, _) = jd_to_civil(jd);
    let back = jd - first_day_of_year(y)? + 1;
    (y == year && back == yday).then_some(jd)
}

fn commercial_to_jd(year: i64, week: i64, wday: i64) -> Option<i64> {
    let thursday_ish = first_day_of_year(year)? + 3;
    Some(thursday_ish - thursday_ish.rem_euclid(7) + 7 * (week - 1) + (wday - 1))
}

fn jd_to_commercial(jd: i64) -> Option<Civil> {
    let (a, _, _) = jd_to_civil(jd - 3);
    let next = commercial_to_jd(a + 1, 1, 1)?;
    let (year, start) = if jd >= next {
        (a + 1, next)
    } else {
        (a, commercial_to_jd(a, 1, 1)?)
    };
    let week = 1 + (jd - start).div_euclid(7);
    let wday = match (jd + 1).rem_euclid(7) {
        0 => 7,
        d => d,
    };
    Some((year, week, wday))
}

/// The Julian Day Number of ISO week date `year`-W`week`-`wday`, if it exists.
pub(super) fn valid_commercial(year: i64, week: i64, wday: i64) -> Option<i64> {
    let jd = commercial_to_jd(year, week, wday)?;
    (jd_to_commercial(jd)? == (year, week, wday)).then_some(jd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reform_gap_and_julian_leap_days() {
        assert!(valid_civil(2024, 2, 29).is_some());
        assert!(valid_civil(2023, 2, 29).is_none());
        assert!(valid_civil(2024, 2, 30).is_none());
        assert!(valid_civil(1500, 2, 29).is_some());
        assert!(valid_civil(1700, 2, 29).is_none());
        assert!(valid_civil(1582, 10, 4).is_some());
        assert!(valid_civil(1582, 10, 5).is_none());
        assert!(valid_civil(1582, 10, 14).is_none());
        assert_eq!(valid_civil(1582, 10, 15), Some(2_299_161));
        assert!(valid_civil(2024, 0, 10).is_none());
        assert!(valid_civil(2024, 13, 1).is_none());
        assert!(valid_civil(2024, 1, 0).is_none());
    }

    #[test]
    fn ordinal_and_week_dates() {
        let civil = |jd: Option<i64>| jd.map(jd_to_civil);
        assert_eq!(civil(valid_ordinal(2024, 60)), Some((2024, 2, 29)));
        assert_eq!(civil(valid_ordinal(2024, 366)), Some((2024, 12, 31)));
        assert_eq!(valid_ordinal(2023, 366), None);
        assert_eq!(valid_ordinal(2023, 0), None);
        assert_eq!(civil(valid_ordinal(1582, 277)), Some((1582, 10, 4)));
        assert_eq!(civil(valid_ordinal(1582, 278)), Some((1582, 10, 15)));
        assert_eq!(civil(valid_commercial(2024, 9, 4)), Some((2024, 2, 29)));
        assert_eq!(civil(valid_commercial(2020, 53, 1)), Some((2020, 12, 28)));
        assert_eq!(valid_commercial(2024, 53, 1), None);
        assert_eq!(valid_commercial(2024, 1, 0), None);
        assert_eq!(civil(valid_commercial(2024, 1, 7)), Some((2024, 1, 7)));
    }
}
