use super::*;
use crate::ruby::system_ruby::{self, XorShift};

fn xml(s: &str) -> Result<(String, bool), String> {
    parse_xmlschema(s)
        .map(|t| (format_iso8601_9(&t), t.utc))
        .map_err(|e| {
            e.ruby_message()
                .unwrap_or_else(|| format!("unsupported: {e}"))
        })
}

fn ok(iso: &str, utc: bool) -> Result<(String, bool), String> {
    Ok((iso.to_owned(), utc))
}

fn err(message: &str) -> Result<(String, bool), String> {
    Err(message.to_owned())
}

#[test]
fn xmlschema_fixture_values() {
    // enqueued_at as 6.1/7.0 (no fraction) and 7.1+ (nine digits) write it, and the garbage probe.
    assert_eq!(
        xml("2024-01-01T00:00:00Z"),
        ok("2024-01-01T00:00:00.000000000Z", true)
    );
    assert_eq!(
        xml("2024-01-01T00:00:00.123456789Z"),
        ok("2024-01-01T00:00:00.123456789Z", true)
    );
    assert_eq!(
        parse_xmlschema("yesterday").unwrap_err().to_string(),
        r#"invalid xmlschema format: "yesterday""#
    );
    let t = parse_xmlschema("2024-03-15T14:30:45.500000000+02:00").unwrap();
    assert_eq!((t.utc, t.utc_offset()), (false, 7200));
    assert_eq!(format_iso8601_9(&t), "2024-03-15T14:30:45.500000000+02:00");
    assert_eq!(
        xml("2002-10-31T02:02:02.123456789+02:00"),
        ok("2002-10-31T02:02:02.123456789+02:00", false)
    );
}

#[test]
fn xmlschema_accepts_what_ruby_accepts() {
    // Each line observed with Ruby 3.1 `Time.xmlschema` (TZ=UTC) and `iso8601(9)`.
    let cases = [
        (
            "2024-03-15T12:30:45.1234567891234Z",
            ok("2024-03-15T12:30:45.123456789Z", true),
        ),
        (
            "2024-03-15t12:30:45z",
            ok("2024-03-15T12:30:45.000000000Z", true),
        ),
        (
            " \t2024-03-15T12:30:45Z\n",
            ok("2024-03-15T12:30:45.000000000Z", true),
        ),
        (
            "2024-03-15T12:30:45+0200",
            ok("2024-03-15T12:30:45.000000000+02:00", false),
        ),
        (
            "2024-03-15T12:30:45+02",
            ok("2024-03-15T12:30:45.000000000+02:00", false),
        ),
        (
            "2024-03-15T12:30:45",
            ok("2024-03-15T12:30:45.000000000+00:00", false),
        ),
        (
            "2024-01-01T00:00:00+00:00",
            ok("2024-01-01T00:00:00.000000000+00:00", false),
        ),
        (
            "2024-01-01T00:00:00-00:00",
            ok("2024-01-01T00:00:00.000000000Z", true),
        ),
        (
            "2024-01-01T00:00:00-0000",
            ok("2024-01-01T00:00:00.000000000Z", true),
        ),
        (
            "2024-01-01T00:00:00-00",
            ok("2024-01-01T00:00:00.000000000Z", true),
        ),
        (
            "2024-01-01T00:00:00+23:59",
            ok("2024-01-01T00:00:00.000000000+23:59", false),
        ),
        (
            "2024-02-30T00:00:00Z",
            ok("2024-03-01T00:00:00.000000000Z", true),
        ),
        (
            "2023-02-29T00:00:00Z",
            ok("2023-03-01T00:00:00.000000000Z", true),
        ),
        (
            "2024-01-01T24:00:00Z",
            ok("2024-01-02T00:00:00.000000000Z", true),
        ),
        (
            "2024-01-01T24:00:00.5Z",
            ok("2024-01-02T00:00:00.500000000Z", true),
        ),
        (
            "2024-01-01T23:59:60Z",
            ok("2024-01-02T00:00:00.000000000Z", true),
        ),
        (
            "2024-02-30T01:00:00+02:00",
            ok("2024-03-01T01:00:00.000000000+02:00", false),
        ),
        (
            "2024-02-30T23:00:00-02:00",
            ok("2024-02-29T23:00:00.000000000-02:00", false),
        ),
        (
            "2024-01-00T01:00:00+02:00",
            ok("2024-01-01T01:00:00.000000000+02:00", false),
        ),
        (
            "2024-00-31T23:00:00-02:00",
            ok("2023-12-31T23:00:00.000000000-02:00", false),
        ),
        (
            "2024-01-01T25:00:00+02:00",
            ok("2024-01-02T01:00:00.000000000+02:00", false),
        ),
        (
            "2024-01-01T00:75:00+00:30",
            ok("2024-01-01T01:15:00.000000000+00:30", false),
        ),
        (
            "2024-01-01T00:00:60-00:30",
            ok("2024-01-01T00:01:00.000000000-00:30", false),
        ),
        (
            "2024-01-32T01:00:00+02:00",
            ok("2024-02-01T01:00:00.000000000+02:00", false),
        ),
        (
            "-0001-01-01T00:00:00Z",
            ok("-0001-01-01T00:00:00.000000000Z", true),
        ),
        (
            "0000-01-01T00:00:00Z",
            ok("0000-01-01T00:00:00.000000000Z", true),
        ),
        (
            "12345-01-01T00:00:00Z",
            ok("12345-01-01T00:00:00.000000000Z", true),
        ),
        (
            "24-01-01T00:00:00Z",
            ok("0024-01-01T00:00:00.000000000Z", true),
        ),
        (
            "1969-12-31T23:59:59.999999999Z",
            ok("1969-12-31T23:59:59.999999999Z", true),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(xml(input), want, "{input:?}");
    }
}

#[test]
fn xmlschema_refuses_what_ruby_refuses() {
    let format = |s: &str| format!("invalid xmlschema format: {}", inspect_str(s));
    for s in [
        "yesterday",
        "",
        "2024-03-15",
        "2024-03-15Z",
        "2024-1-01T00:00:00Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00,5Z",
        "2024-01-01 00:00:00Z",
        "２０２４-01-01T00:00:00Z",
        "+2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00 +02:00",
        "2024-01-01T00:00:00+02:0",
        "2024-01-01T00:00:00+23:59:59",
        "2024-01-01T00:00",
        "\"quoted\"\n",
    ] {
        assert_eq!(xml(s), Err(format(s)), "{s:?}");
    }
    let cases = [
        ("2024-02-32T00:00:00Z", "argument out of range"),
        ("2024-13-01T00:00:00Z", "mon out of range"),
        ("2024-00-01T00:00:00Z", "mon out of range"),
        ("2024-16-01T00:00:00Z", "argument out of range"),
        ("2024-13-32T00:00:00Z", "argument out of range"),
        ("2024-01-00T00:00:00Z", "mday out of range"),
        ("2024-01-01T24:00:01Z", "sec out of range"),
        ("2024-01-01T24:01:00Z", "min out of range"),
        ("2024-01-01T25:00:00Z", "hour out of range"),
        ("2024-01-01T32:00:00Z", "argument out of range"),
        ("2024-01-01T23:60:00Z", "min out of range"),
        ("2024-01-01T23:64:00Z", "argument out of range"),
        ("2024-01-01T23:59:61Z", "sec out of range"),
        ("2024-01-01T00:00:00+24:00", "utc_offset out of range"),
        ("2024-01-01T00:00:00+99:99", "utc_offset out of range"),
        ("2024-14-01T01:00:00+02:00", "mon out of range"),
    ];
    for (input, message) in cases {
        assert_eq!(xml(input), err(message), "{input:?}");
    }
}

#[test]
fn xmlschema_error_display_and_unsupported_years() {
    let e = parse_xmlschema("2024-13-01T00:00:00Z").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#""2024-13-01T00:00:00Z" is not a time: mon out of range"#
    );
    assert_eq!(e.ruby_class(), Some("ArgumentError"));
    let e = parse_xmlschema("99999999999999999999-01-01T00:00:00Z").unwrap_err();
    assert!(matches!(e.kind(), TimeParseErrorKind::Unsupported(_)));
    assert_eq!(e.ruby_message(), None);
}

#[test]
fn formats_time_like_ruby() {
    let t = RubyTime::from_utc(DateTime::from_timestamp(1_710_505_845, 123_456_789).unwrap());
    assert_eq!(format_iso8601_9(&t), "2024-03-15T12:30:45.123456789Z");
    let odd = FixedOffset::west_opt(1521).unwrap();
    let t = RubyTime {
        instant: t.instant.with_timezone(&odd),
        utc: false,
    };
    assert_eq!(format_iso8601_9(&t), "2024-03-15T12:05:24.123456789-00:25");
    assert_eq!(format_offset(-1521), "-00:25");
    assert_eq!(format_offset(19800), "+05:30");
    assert_eq!(format_offset(0), "+00:00");
}

fn date(s: &str) -> Result<String, String> {
    parse_date(s).map(format_date).map_err(|e| {
        e.ruby_message()
            .unwrap_or_else(|| format!("unsupported: {e}"))
    })
}

fn datetime(s: &str) -> Result<String, String> {
    parse_datetime(s)
        .map(|dt| format_datetime_iso8601_9(&dt))
        .map_err(|e| {
            e.ruby_message()
                .unwrap_or_else(|| format!("unsupported: {e}"))
        })
}

#[test]
fn dates_like_ruby() {
    let invalid = Err("invalid date".to_owned());
    let cases = [
        ("2024-02-29", Ok("2024-02-29")),
        ("2001-02-03", Ok("2001-02-03")),
        ("2024-02-30", Err("invalid date")),
        ("2023-02-29", Err("invalid date")),
        ("20240229", Ok("2024-02-29")),
        ("2024-060", Ok("2024-02-29")),
        ("2024060", Ok("2024-02-29")),
        ("2024-W09-4", Ok("2024-02-29")),
        ("2024W094", Ok("2024-02-29")),
        ("2024-02", Ok("2024-02-01")),
        ("24-02-29", Ok("2024-02-29")),
        ("-24-02-29", Ok("1976-02-29")),
        (" 2024-02-29 ", Ok("2024-02-29")),
        ("2024-02-29\n", Ok("2024-02-29")),
        ("2024-02-29T10:00:00Z", Ok("2024-02-29")),
        ("2024-02-29T25:00:00Z", Ok("2024-02-29")),
        ("2024-02-29T10:00:61", Ok("2024-02-29")),
        ("+2024-02-29", Ok("2024-02-29")),
        ("-2024-02-29", Ok("-2024-02-29")),
        ("02024-02-29", Ok("2024-02-29")),
        ("0000-01-01", Ok("0000-01-01")),
        ("-0001-12-31", Ok("-0001-12-31")),
        ("1582-10-04", Ok("1582-10-04")),
        ("1582-10-10", Err("invalid date")),
        ("1582-278", Ok("1582-10-15")),
        ("1582-279", Ok("1582-10-16")),
        ("2020-W53-1", Ok("2020-12-28")),
        ("2024-W53-1", Err("invalid date")),
        ("2024-W01-0", Err("invalid date")),
        ("2024-w01-7", Ok("2024-01-07")),
        ("2024-", Ok("2024-01-01")),
        ("2024--29", Ok("2024-01-29")),
        ("2024", Err("invalid date")),
        ("2024-2-29", Err("invalid date")),
        ("2024-02-29 10:00", Err("invalid date")),
        ("2024-02-29x", Err("invalid date")),
        ("2024-02-29T10", Err("invalid date")),
        ("2024-13-01", Err("invalid date")),
        ("2024-29", Err("invalid date")),
        ("10:00", Err("invalid date")),
        ("", Err("invalid date")),
        ("x", Err("invalid date")),
        ("20240229T1030", Ok("2024-02-29")),
        ("202402291030", Ok("2024-02-29")),
        ("2024022910", Err("invalid date")),
    ];
    for (input, want) in cases {
        let want = want.map(str::to_owned).map_err(str::to_owned);
        assert_eq!(date(input), want, "{input:?}");
    }
    assert_eq!(
        date(&"a".repeat(200)),
        Err("string length (200) exceeds the limit 128".into())
    );
    assert_eq!(date("2024-02-30"), invalid);
    let e = parse_date("2024-02-30").unwrap_err();
    assert_eq!(e.to_string(), r#""2024-02-30" is not a date"#);
    assert_eq!(e.ruby_class(), Some("Date::Error"));
    assert!(matches!(
        parse_date("1500-02-29").unwrap_err().kind(),
        TimeParseErrorKind::Unsupported(_)
    ));
    assert!(matches!(
        parse_date("--02-29").unwrap_err().kind(),
        TimeParseErrorKind::Unsupported(_)
    ));
}

#[test]
fn datetimes_like_ruby() {
    let cases = [
        (
            "2001-02-03T04:05:06.123456000+03:00",
            Ok("2001-02-03T04:05:06.123456000+03:00"),
        ),
        (
            "2024-03-15T12:30:45.250000000+05:30",
            Ok("2024-03-15T12:30:45.250000000+05:30"),
        ),
        (
            "2001-02-03T04:05:06Z",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06.1234567891+03:00",
            Ok("2001-02-03T04:05:06.123456789+03:00"),
        ),
        (
            "2001-02-03T04:05:06+0300",
            Ok("2001-02-03T04:05:06.000000000+03:00"),
        ),
        (
            "2001-02-03T04:05:06+03",
            Ok("2001-02-03T04:05:06.000000000+03:00"),
        ),
        ("2001-02-03", Ok("2001-02-03T00:00:00.000000000+00:00")),
        (
            "2001-02-03T04:05",
            Ok("2001-02-03T04:05:00.000000000+00:00"),
        ),
        ("2001-02-30T04:05:06Z", Err("invalid date")),
        (
            "2001-02-03T24:00:00Z",
            Ok("2001-02-04T00:00:00.000000000+00:00"),
        ),
        (
            "2024-02-29T24:00:00.5",
            Ok("2024-03-01T00:00:00.500000000+00:00"),
        ),
        (
            "2001-02-03T23:59:60Z",
            Ok("2001-02-03T23:59:59.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06-00:00",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06+25:00",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06+23:59",
            Ok("2001-02-03T04:05:06.000000000+23:59"),
        ),
        (
            "20010203T040506Z",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06,5Z",
            Ok("2001-02-03T04:05:06.500000000+00:00"),
        ),
        (
            "2001-02-03t04:05:06z",
            Ok("2001-02-03T04:05:06.000000000+00:00"),
        ),
        (
            "2001-02-03T04:05:06.5-01:30",
            Ok("2001-02-03T04:05:06.500000000-01:30"),
        ),
        (
            "-0001-02-03T04:05:06Z",
            Ok("-0001-02-03T04:05:06.000000000+00:00"),
        ),
        ("2001-02-03T25:00:00Z", Err("invalid date")),
        ("2001-02-03T04:60:00Z", Err("invalid date")),
        ("2001-02-03T04:05:61Z", Err("invalid date")),
        (
            "2024-060T23:59:61",
            Ok("2024-02-29T23:59:59.000000000+00:00"),
        ),
        (
            "2024-02T10:00:61",
            Ok("2024-02-01T10:00:59.000000000+00:00"),
        ),
        ("2024--29", Ok("2024-01-29T00:00:00.000000000+00:00")),
        (
            "2024-02-29T10:00+0530",
            Ok("2024-02-29T10:00:00.000000000+05:30"),
        ),
        ("yesterday", Err("invalid date")),
    ];
    for (input, want) in cases {
        let want = want.map(str::to_owned).map_err(str::to_owned);
        assert_eq!(datetime(input), want, "{input:?}");
    }
    assert!(matches!(
        parse_datetime("2001-02-03T04:05:06+24:00")
            .unwrap_err()
            .kind(),
        TimeParseErrorKind::Unsupported(_)
    ));
    assert!(matches!(
        parse_datetime("10:00").unwrap_err().kind(),
        TimeParseErrorKind::Unsupported(_)
    ));
}

#[test]
fn formats_dates_like_ruby() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(format_date(d(2024, 2, 29)), "2024-02-29");
    assert_eq!(format_date(d(-1, 12, 31)), "-0001-12-31");
    assert_eq!(format_date(d(12345, 1, 1)), "12345-01-01");
    assert_eq!(format_date(d(24, 1, 1)), "0024-01-01");
    let dt = FixedOffset::east_opt(0)
        .unwrap()
        .with_ymd_and_hms(-12345, 1, 1, 0, 0, 0)
        .unwrap();
    assert_eq!(
        format_datetime_iso8601_9(&dt),
        "-12345-01-01T00:00:00.000000000+00:00"
    );
}

use chrono::TimeZone;

/// Random inputs in the shape Ruby's parsers care about, with out-of-range fields mixed in.
struct Gen(XorShift);

impl Gen {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.0.next() % options.len() as u64) as usize]
    }

    fn num(&mut self, below: u64) -> u64 {
        self.0.next() % below
    }

    fn two(&mut self, below: u64) -> String {
        format!("{:02}", self.num(below))
    }

    fn year(&mut self) -> String {
        match self.num(8) {
            0 => self
                .pick(&["0000", "-0001", "24", "1582", "1500", "12345", "-0400"])
                .to_owned(),
            1 => format!("{:04}", 1500 + self.num(200)),
            _ => format!("{:04}", 1900 + self.num(200)),
        }
    }

    fn fraction(&mut self) -> String {
        let len = self.num(14) as usize;
        let digits: String = (0..len)
            .map(|_| char::from(b'0' + self.num(10) as u8))
            .collect();
        match self.num(4) {
            0 => String::new(),
            _ => format!(".{digits}"),
        }
    }

    fn xmlschema(&mut self) -> String {
        let zone = self.pick(&[
            "", "Z", "z", "+00:00", "-00:00", "+0530", "-02", "+23:59", "+24:00", "-11:30", "+14",
            "-0000", "+01:00", "-01:00", "+99:99", "+02:0",
        ]);
        let (mon, day) = (self.two(17), self.two(34));
        let (hour, min, sec) = (self.two(34), self.two(66), self.two(66));
        let t = self.pick(&["T", "T", "T", "t", " "]);
        let lead = self.pick(&["", "", "", " ", "\t"]);
        let year = self.year();
        let fraction = self.fraction();
        self.mutate(format!(
            "{lead}{year}-{mon}-{day}{t}{hour}:{min}:{sec}{fraction}{zone}"
        ))
    }

    fn date(&mut self) -> String {
        let year = self.year();
        let date = match self.num(7) {
            0 => format!("{year}-{}", self.two(14)),
            1 => format!("{year}-{:03}", self.num(370)),
            2 => format!("{year}-W{}-{}", self.two(55), self.num(9)),
            3 => format!("{}{}{}", 1900 + self.num(200), self.two(14), self.two(33)),
            4 => format!("{}-{}-{}", self.two(100), self.two(14), self.two(33)),
            _ => format!("{year}-{}-{}", self.two(14), self.two(33)),
        };
        let time = match self.num(5) {
            0 => format!("T{}:{}", self.two(26), self.two(61)),
            1 => format!(
                "T{}:{}:{}{}{}",
                self.two(26),
                self.two(61),
                self.two(62),
                self.fraction(),
                self.pick(&["", "Z", "+05:30", "-0800", "+25:00", "-00:00"])
            ),
            _ => String::new(),
        };
        self.mutate(format!("{date}{time}"))
    }

    /// Sometimes deletes, inserts or replaces one character, to reach shapes the templates miss.
    fn mutate(&mut self, text: String) -> String {
        const ALPHABET: &[u8] = b"0123456789-:T.Zw+ ,";
        let mut out = text.into_bytes();
        if self.num(3) == 0 && !out.is_empty() {
            let at = self.num(out.len() as u64) as usize;
            let byte = ALPHABET[self.num(ALPHABET.len() as u64) as usize];
            match self.num(3) {
                0 => drop(out.remove(at)),
                1 => out.insert(at, byte),
                _ => out[at] = byte,
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[test]
fn xmlschema_matches_system_ruby() {
    let mut gen = Gen(XorShift::new(0x7153_c4e3a));
    let inputs: Vec<String> = (0..system_ruby::count(400))
        .map(|_| gen.xmlschema())
        .collect();
    let script = r##"require "time"; ENV["TZ"] = "UTC"
        STDIN.each_line { |l| s = l.chomp
          begin; t = Time.xmlschema(s); puts "#{t.iso8601(9)} #{t.utc?}"
          rescue ArgumentError => e; puts "E #{e.message}"; end }"##;
    compare_with_ruby(&inputs, script, |s| match xml(s) {
        Ok((iso, utc)) => Some(format!("{iso} {utc}")),
        Err(m) if m.starts_with("unsupported") => None,
        Err(m) => Some(format!("E {m}")),
    });
}

#[test]
fn dates_match_system_ruby() {
    let mut gen = Gen(XorShift::new(0xda7e_5eed));
    let inputs: Vec<String> = (0..system_ruby::count(400)).map(|_| gen.date()).collect();
    let script = r##"require "date"
        STDIN.each_line { |l| s = l.chomp
          d = (Date.iso8601(s).iso8601 rescue "E #{$!.message}")
          t = (DateTime.iso8601(s).iso8601(9) rescue "E #{$!.message}")
          puts "#{d} #{t}" }"##;
    compare_with_ruby(&inputs, script, |s| {
        let d = date(s).unwrap_or_else(|m| format!("E {m}"));
        let t = datetime(s).unwrap_or_else(|m| format!("E {m}"));
        (!d.contains("unsupported") && !t.contains("unsupported")).then(|| format!("{d} {t}"))
    });
}

fn compare_with_ruby(inputs: &[String], script: &str, ours: impl Fn(&str) -> Option<String>) {
    let stdin: String = inputs.iter().map(|s| format!("{s}\n")).collect();
    let Some(output) = system_ruby::run(script, &stdin) else {
        return;
    };
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), inputs.len());
    for (input, ruby) in inputs.iter().zip(lines) {
        if let Some(ours) = ours(input) {
            assert_eq!(ours, ruby, "input {input:?}");
        }
    }
}

/// The fast path for Rails' own `enqueued_at` form must read every text it takes exactly as the
/// general scanner does, and leave everything else to it.
#[test]
fn plain_utc_agrees_with_the_general_scanner() {
    let general = |s: &str| xmlschema_general(s);
    let mut rng = XorShift::new(0x5eed_cafe);
    let mut taken = 0;
    for _ in 0..20_000 {
        let year = 1500 + (rng.next() % 600);
        let (mon, day) = ((rng.next() % 14), (rng.next() % 33));
        let (hour, min, sec) = ((rng.next() % 26), (rng.next() % 62), (rng.next() % 62));
        let digits = (rng.next() % 11) as usize;
        let fraction: String = (0..digits)
            .map(|_| char::from(b'0' + (rng.next() % 10) as u8))
            .collect();
        let dot = if digits > 0 || (rng.next() % 8) == 0 {
            "."
        } else {
            ""
        };
        let text =
            format!("{year:04}-{mon:02}-{day:02}T{hour:02}:{min:02}:{sec:02}{dot}{fraction}Z");
        if let Some(fast) = xmlschema::plain_utc(text.as_bytes()) {
            taken += 1;
            assert_eq!(Some(fast), general(&text), "{text}");
        }
    }
    assert!(taken > 5_000, "the fast path took only {taken} texts");
    for text in [
        "2024-03-15t12:30:45Z",
        "2024-03-15T12:30:45+00:00",
        "2024-03-15T12:30:45.Z",
    ] {
        assert_eq!(xmlschema::plain_utc(text.as_bytes()), None, "{text}");
    }
}

/// The fast path for Rails' Time-with-offset form must read every text it takes exactly as the
/// general scanner does (and as `DateTime.iso8601` does), print it back as written either way,
/// and leave everything else to the general readers.
#[test]
fn plain_offset_agrees_with_the_general_readers() {
    let mut rng = XorShift::new(0x0ff5_e7ed);
    let mut taken = 0;
    for _ in 0..40_000 {
        let year = 1500 + (rng.next() % 600);
        let (mon, day) = ((rng.next() % 14), (rng.next() % 33));
        let (hour, min, sec) = ((rng.next() % 26), (rng.next() % 62), (rng.next() % 62));
        let digits = [9, 9, 9, 8, 10][(rng.next() % 5) as usize];
        let fraction: String = (0..digits)
            .map(|_| char::from(b'0' + (rng.next() % 10) as u8))
            .collect();
        let sign = if rng.next() % 2 == 0 { '+' } else { '-' };
        let (offset_hours, offset_minutes) = match rng.next() % 4 {
            0 => (0, 0),
            _ => (
                rng.next() % 26,
                [0, 30, 45, 59, 60][(rng.next() % 5) as usize],
            ),
        };
        let text = format!(
            "{year:04}-{mon:02}-{day:02}T{hour:02}:{min:02}:{sec:02}.{fraction}\
             {sign}{offset_hours:02}:{offset_minutes:02}"
        );
        if let Some(fast) = xmlschema::plain_offset(text.as_bytes()) {
            taken += 1;
            assert_eq!(Some(fast), xmlschema_general(&text), "{text}");
            assert_eq!(format_iso8601_9(&fast), text);
            let datetime = parse_datetime(&text).map(|dt| format_datetime_iso8601_9(&dt));
            assert_eq!(datetime.as_deref(), Ok(text.as_str()));
        }
    }
    assert!(taken > 5_000, "the fast path took only {taken} texts");
    for text in [
        "2024-03-15T12:30:45.123456789-00:00",
        "2024-03-15T12:30:45.123456789+24:00",
        "2024-03-15T12:30:45.123456789+0200",
        "2024-03-15t12:30:45.123456789+02:00",
        "1582-03-15T12:30:45.123456789+02:00",
        "2024-02-30T12:30:45.123456789+02:00",
    ] {
        assert_eq!(xmlschema::plain_offset(text.as_bytes()), None, "{text}");
    }
}

fn xmlschema_general(s: &str) -> Option<RubyTime> {
    xmlschema::scan(s).and_then(|fields| xmlschema::build(fields).ok())
}

/// A date taken as printed as written is one `parse_date` reads and `format_date` prints back
/// exactly; every `YYYY-MM-DD` of the years around the reform and the leap rules is tried.
#[test]
fn dates_taken_as_written_print_back_unchanged() {
    let mut taken = 0;
    for year in [0, 1, 1500, 1582, 1583, 1900, 2000, 2023, 2024, 9999] {
        for month in 0..=13 {
            for day in 0..=32 {
                let text = format!("{year:04}-{month:02}-{day:02}");
                if date_prints_as_written(&text) {
                    taken += 1;
                    let read = parse_date(&text).map(format_date);
                    assert_eq!(read.as_deref(), Ok(text.as_str()), "{text}");
                }
            }
        }
    }
    // 1583, 1900, 2023 and 9999 of 365 days, 2000 and 2024 of 366.
    assert_eq!(taken, 4 * 365 + 2 * 366);
    for text in [
        "2024-2-29",
        "2024-02-29T10:00:00Z",
        "20240229",
        "2024-060",
        "+2024-02-29",
    ] {
        assert!(!date_prints_as_written(text), "{text}");
    }
}
