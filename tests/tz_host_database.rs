//! The host's tz database, read as Ruby's TZInfo reads it.
//!
//! Property: for every zone TZInfo lists in the host's zoneinfo, and every instant from 1850 to
//! 2200, Rust's offset (and whether Rails prints `Z`) equals TZInfo's. TZInfo (Debian's
//! ruby-tzinfo, reading the same files) dumps each zone's offset in 1850 and every transition
//! up to 2200; Rust is checked one second before and at each of those transitions, one second
//! before and at each transition in the zone's TZif data (so a change only one side has is
//! seen), and twice a year on a grid. Needs `ruby` with tzinfo (`.ci/run` installs it); without
//! it the test says so and passes, unless `RUBY_REQUIRED` is set.
//!
//! One difference is TZInfo's own: Debian's TZif files carry a no-op transition at 2^31 - 1 s
//! (2038-01-19T03:14:07Z), and TZInfo 2.0.5 then drops the first rule transition of 2038 whose
//! offset equals that no-op's, keeping the previous offset until the next one in 2039. Rust keeps
//! the tz database's answer there; the test accepts a difference only in that window and only
//! where Rust agrees with `zdump` (the C library's reading of the same file).

use activejob_karafka::ruby::time_zone::{self, RailsZone, ZoneDatabase};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

const FROM: i64 = -3_786_825_600; // 1850-01-01T00:00:00Z
const TO: i64 = 7_258_118_400; // 2200-01-01T00:00:00Z

/// Prints `H <rule horizon year>`, then per zone `Z <name> <offset> <abbreviation>` (in 1850)
/// followed by `T <unix seconds> <offset> <abbreviation>` for each transition until 2200.
const DUMP: &str = r#"
from, to = Time.at(ARGV[0].to_i).utc, Time.at(ARGV[1].to_i).utc
puts "H #{Time.now.utc.year + 100}"
TZInfo::Timezone.all_identifiers.each do |name|
  zone = TZInfo::Timezone.get(name)
  first = zone.period_for(from).offset
  puts "Z #{name} #{first.observed_utc_offset} #{first.abbreviation}"
  zone.transitions_up_to(to, from).each do |t|
    puts "T #{t.timestamp_value} #{t.offset.observed_utc_offset} #{t.offset.abbreviation}"
  end
end
"#;

/// From the 2038 no-op transition to the end of 2039: where TZInfo 2.0.5 may miss one.
const TZINFO_2038_WINDOW: std::ops::Range<i64> = 2_147_483_647..2_208_988_800;

/// The offsets `zdump -v` reports for `name` in 2038 and 2039, as a [`RubyZone`].
fn zdump_offsets(name: &str) -> RubyZone {
    let output = Command::new("zdump")
        .args(["-v", "-c", "2037,2041", name])
        .output()
        .expect("zdump (libc-bin) runs");
    let text = String::from_utf8(output.stdout).expect("zdump prints text");
    // "Zone  Sun Oct 31 01:00:00 2038 UT = Sun Oct 31 00:00:00 2038 -01 isdst=0 gmtoff=-3600"
    let mut changes = vec![(i64::MIN, 0, false)];
    for line in text.lines() {
        let Some((utc, rest)) = line.split_once(" UT = ") else {
            continue;
        };
        let when = utc.trim_start_matches(name).trim();
        let Ok(at) = chrono::NaiveDateTime::parse_from_str(when, "%a %b %e %H:%M:%S %Y") else {
            continue;
        };
        let gmtoff = rest
            .rsplit("gmtoff=")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        changes.push((at.and_utc().timestamp(), gmtoff, false));
    }
    RubyZone { changes }
}

/// One zone as TZInfo has it: the offset from 1850, then (seconds, offset, is UTC) changes.
struct RubyZone {
    changes: Vec<(i64, i32, bool)>,
}

impl RubyZone {
    fn at(&self, secs: i64) -> (i32, bool) {
        let i = self.changes.partition_point(|(t, _, _)| *t <= secs);
        let (_, offset, utc) = self.changes[i.max(1) - 1];
        (offset, utc)
    }
}

fn is_utc_abbreviation(abbreviation: &str) -> bool {
    matches!(abbreviation, "UTC" | "UCT")
}

/// TZInfo's dump, or `None` when Ruby with tzinfo cannot run here.
fn ruby_dump() -> Option<String> {
    let child = Command::new("ruby")
        .args([
            "-rtzinfo",
            "-e",
            DUMP,
            "--",
            &FROM.to_string(),
            &TO.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let output = child.ok()?.wait_with_output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).ok())
        .flatten()
}

fn parse(dump: &str) -> (i16, BTreeMap<String, RubyZone>) {
    let mut horizon = None;
    let mut zones: BTreeMap<String, RubyZone> = BTreeMap::new();
    let mut current = None;
    for line in dump.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["H", year] => horizon = Some(year.parse().expect("a year")),
            ["Z", name, offset, abbreviation] => {
                let first = (
                    i64::MIN,
                    offset.parse().unwrap(),
                    is_utc_abbreviation(abbreviation),
                );
                zones.insert(
                    (*name).to_owned(),
                    RubyZone {
                        changes: vec![first],
                    },
                );
                current = Some((*name).to_owned());
            }
            ["T", secs, offset, abbreviation] => {
                let zone = zones.get_mut(current.as_ref().unwrap()).unwrap();
                zone.changes.push((
                    secs.parse().unwrap(),
                    offset.parse().unwrap(),
                    is_utc_abbreviation(abbreviation),
                ));
            }
            _ => panic!("unexpected line from Ruby: {line:?}"),
        }
    }
    (horizon.expect("the horizon line"), zones)
}

/// The instants a zone is checked at: around TZInfo's and the TZif data's transitions, and a
/// grid of 1 January and 1 July each year.
fn instants(ruby: &RubyZone, zone: &RailsZone) -> BTreeSet<i64> {
    let mut at = BTreeSet::new();
    for &(secs, _, _) in &ruby.changes[1..] {
        at.extend([secs - 1, secs]);
    }
    let start = jiff::Timestamp::from_second(FROM).unwrap();
    for transition in zone.tz().following(start) {
        let secs = transition.timestamp().as_second();
        if secs > TO {
            break;
        }
        at.extend([secs - 1, secs]);
    }
    for year in 1850..2200 {
        for month in [1, 7] {
            let day = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap();
            at.insert(day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp());
        }
    }
    at
}

#[test]
fn every_host_zone_has_tzinfos_offsets_from_1850_to_2200() {
    let host = ZoneDatabase::system();
    let Some(dump) = ruby_dump() else {
        assert!(
            std::env::var_os("RUBY_REQUIRED").is_none(),
            "RUBY_REQUIRED is set but `ruby -rtzinfo` cannot run"
        );
        println!("skipping: `ruby -rtzinfo` cannot run here");
        return;
    };
    assert!(
        !host.source().is_bundled(),
        "Ruby reads a zoneinfo directory, Rust found none: {}",
        host.source()
    );
    let (horizon, ruby_zones) = parse(&dump);
    let db = host.with_rule_horizon_year(horizon);
    let ours: BTreeSet<&str> = db.names().collect();
    let theirs: BTreeSet<&str> = ruby_zones.keys().map(String::as_str).collect();
    assert_eq!(ours, theirs, "the zones TZInfo lists");

    let (mut checked, mut differences, mut tzinfo_2038) = (0usize, Vec::new(), 0usize);
    for (name, ruby) in &ruby_zones {
        let zone = db
            .lookup(name)
            .unwrap_or_else(|| panic!("{name} does not resolve"));
        let mut zdump = None;
        for secs in instants(ruby, &zone) {
            let instant = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let rust = (
                time_zone::utc_offset_seconds(instant, &zone),
                time_zone::is_utc(instant, &zone),
            );
            checked += 1;
            if rust == ruby.at(secs) {
                continue;
            }
            if TZINFO_2038_WINDOW.contains(&secs) {
                let zdump = zdump.get_or_insert_with(|| zdump_offsets(name));
                if zdump.at(secs).0 == rust.0 {
                    tzinfo_2038 += 1;
                    continue;
                }
            }
            differences.push(format!(
                "{name} at {instant}: Rust {rust:?}, TZInfo {:?}",
                ruby.at(secs)
            ));
        }
    }
    println!(
        "{} zones of {}, {checked} instants compared with TZInfo; {tzinfo_2038} in 2038-39 \
         where TZInfo 2.0.5 drops a transition and Rust agrees with zdump",
        ruby_zones.len(),
        db.source()
    );
    assert!(
        differences.is_empty(),
        "{} differences, first: {:#?}",
        differences.len(),
        &differences[..differences.len().min(20)]
    );
}
