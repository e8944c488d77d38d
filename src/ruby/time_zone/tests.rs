use super::*;
use crate::ruby::system_ruby::{self, XorShift};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn shown(instant: &str, zone: &str) -> String {
    format_in_zone(at(instant), &lookup(zone).unwrap())
}

#[test]
fn fixture_values() {
    let t = "2024-03-15T12:30:45.123456789Z";
    assert_eq!(
        shown(t, "Eastern Time (US & Canada)"),
        "2024-03-15T08:30:45.123456789-04:00"
    );
    assert_eq!(
        shown(t, "America/New_York"),
        "2024-03-15T08:30:45.123456789-04:00"
    );
    assert_eq!(
        shown("2024-03-15T08:30:45.123456789-04:00", "Tokyo"),
        "2024-03-15T21:30:45.123456789+09:00"
    );
    assert_eq!(shown(t, "Etc/UTC"), "2024-03-15T12:30:45.123456789Z");
    assert_eq!(shown(t, "UTC"), "2024-03-15T12:30:45.123456789Z");
    assert_eq!(
        shown(t, "Europe/Warsaw"),
        "2024-03-15T13:30:45.123456789+01:00"
    );
    assert_eq!(
        shown("2024-01-01T00:00:00Z", "Asia/Kolkata"),
        "2024-01-01T05:30:00.000000000+05:30"
    );
    assert_eq!(
        shown("2024-06-01T07:00:00Z", "Berlin"),
        "2024-06-01T09:00:00.000000000+02:00"
    );
    assert_eq!(
        shown("2024-05-01T00:00:00Z", "Asia/Tokyo"),
        "2024-05-01T09:00:00.000000000+09:00"
    );
    // Rails' own test: Time.new(2002, 10, 31, 2, 2, 2) (a UTC host) in "Alaska".
    assert_eq!(
        shown("2002-10-31T02:02:02Z", "Alaska"),
        "2002-10-30T17:02:02.000000000-09:00"
    );
    assert_eq!(lookup("Alaska").unwrap().tzinfo_name(), "America/Juneau");
}

#[test]
fn z_only_for_utc_abbreviations() {
    let t = "2024-03-15T12:30:45.123456789Z";
    for zone in [
        "UCT",
        "Etc/UCT",
        "Zulu",
        "Universal",
        "Etc/Universal",
        "Etc/Zulu",
    ] {
        assert_eq!(shown(t, zone), "2024-03-15T12:30:45.123456789Z", "{zone}");
    }
    for zone in [
        "GMT",
        "Etc/GMT",
        "Europe/London",
        "London",
        "Africa/Abidjan",
        "Antarctica/Troll",
    ] {
        assert_eq!(
            shown(t, zone),
            "2024-03-15T12:30:45.123456789+00:00",
            "{zone}"
        );
    }
    assert_eq!(
        shown(t, "International Date Line West"),
        "2024-03-15T00:30:45.123456789-12:00"
    );
}

#[test]
fn local_mean_time_offsets_drop_seconds() {
    assert_eq!(
        shown("1850-01-01T00:00:00Z", "Europe/Brussels"),
        "1850-01-01T00:17:30.000000000+00:17"
    );
    assert_eq!(
        shown("1850-01-01T00:00:00Z", "Europe/Paris"),
        "1850-01-01T00:09:21.000000000+00:09"
    );
    assert_eq!(
        shown("1850-01-01T00:00:00Z", "America/New_York"),
        "1849-12-31T19:03:58.000000000-04:56"
    );
    assert_eq!(
        utc_offset_seconds(
            at("1850-01-01T00:00:00Z"),
            &lookup("America/New_York").unwrap()
        ),
        -17762
    );
}

#[test]
fn lookup_like_rails() {
    let zone = lookup("Eastern Time (US & Canada)").unwrap();
    assert_eq!(
        (zone.name(), zone.tzinfo_name()),
        ("Eastern Time (US & Canada)", "America/New_York")
    );
    let zone = lookup("UTC").unwrap();
    assert_eq!((zone.name(), zone.tzinfo_name()), ("UTC", "Etc/UTC"));
    assert_eq!(zone, RailsZone::utc());
    let zone = lookup("Etc/UTC").unwrap();
    assert_eq!((zone.name(), zone.tzinfo_name()), ("Etc/UTC", "Etc/UTC"));
    let zone = lookup("Kyiv").unwrap();
    assert_eq!((zone.name(), zone.tzinfo_name()), ("Kyiv", "Europe/Kiev"));
    assert_eq!(lookup("Greenland").unwrap().tzinfo_name(), "America/Nuuk");
    assert_eq!(
        lookup("Canberra").unwrap().tzinfo_name(),
        "Australia/Canberra"
    );
    assert_eq!(lookup("Astana").unwrap().tzinfo_name(), "Asia/Almaty");
    assert_eq!(lookup("EST").unwrap().tzinfo_name(), "EST");
    for missing in [
        "utc",
        "eastern time (us & canada)",
        "america/new_york",
        " UTC",
        "",
        "Nope",
        "posixrules",
        "right/UTC",
    ] {
        assert_eq!(lookup(missing), None, "{missing:?}");
    }
}

#[test]
fn mapping_is_complete_and_resolves() {
    assert_eq!(MAPPING.len(), 152);
    for (i, (name, iana)) in MAPPING.iter().enumerate() {
        assert!(
            MAPPING[..i].iter().all(|(other, _)| other != name),
            "duplicate {name}"
        );
        let zone = lookup(name).unwrap_or_else(|| panic!("{name} does not resolve"));
        assert_eq!(zone.tzinfo_name(), *iana);
    }
}

#[test]
fn matches_system_ruby_for_mapped_zones() {
    let mut rng = XorShift::new(0x2073_11ee);
    let lines: Vec<(i64, &str)> = MAPPING
        .iter()
        .flat_map(|(_, iana)| {
            [0, 1, 2].map(|_| (946_684_800 + (rng.next() % 788_918_400) as i64, *iana))
        })
        .collect();
    let input: String = lines.iter().map(|(t, z)| format!("{t} {z}\n")).collect();
    let script = r##"require "active_support"; require "active_support/time"
        STDIN.each_line { |l| t, z = l.chomp.split(" ", 2)
          w = Time.at(t.to_i, 123456789, :nsec).utc.in_time_zone(z)
          puts "#{w.iso8601(9)} #{w.utc_offset}" }"##;
    let Some(output) = system_ruby::run(script, &input) else {
        return;
    };
    for ((secs, iana), ruby) in lines.iter().zip(output.lines()) {
        let instant = DateTime::from_timestamp(*secs, 123_456_789).unwrap();
        let zone = lookup(iana).unwrap();
        let ours = format!(
            "{} {}",
            format_in_zone(instant, &zone),
            utc_offset_seconds(instant, &zone)
        );
        assert_eq!(ours, ruby, "{secs} in {iana}");
    }
}

/// A zoneinfo directory holding one zone file, `Asia/Tokyo`'s data under `name`.
fn directory_with_tokyo_as(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ajk-zoneinfo-{}-{}",
        std::process::id(),
        name.replace('/', "-")
    ));
    let file = dir.join(name);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let tokyo = ZoneDatabase::system().zone("Asia/Tokyo").unwrap();
    let data =
        std::fs::read(std::path::Path::new("/usr/share/zoneinfo").join(tokyo.iana_name().unwrap()))
            .unwrap();
    std::fs::write(&file, data).unwrap();
    std::fs::write(dir.join("tzdata.zi"), "# version 2031x\n").unwrap();
    dir
}

#[test]
fn zones_come_from_the_database_they_are_looked_up_in() {
    // Property: a database of another directory answers with that directory's data (here a
    // "New York" that keeps Tokyo's offsets), knows only its own zones, and says its version.
    let dir = directory_with_tokyo_as("America/New_York");
    let db = ZoneDatabase::from_dir(&dir).unwrap();
    assert_eq!(db.source().version(), Some("2031x"));
    assert_eq!(db.names().collect::<Vec<_>>(), ["America/New_York"]);
    let zone = db.lookup("Eastern Time (US & Canada)").unwrap();
    assert_eq!(
        format_in_zone(at("2024-07-01T00:00:00Z"), &zone),
        "2024-07-01T09:00:00.000000000+09:00"
    );
    assert_eq!(db.lookup("Berlin"), None);
    assert_eq!(db.lookup("america/new_york"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn offsets_stop_at_tzinfos_rule_horizon() {
    // Property: as TZInfo, rule transitions stop after the horizon year, and the offset of the
    // last one stays (New York keeps EST in July after it).
    let db = ZoneDatabase::system().with_rule_horizon_year(2126);
    let ny = db.lookup("America/New_York").unwrap();
    let july = |year: i32| at(&format!("{year}-07-01T12:00:00Z"));
    assert_eq!(utc_offset_seconds(july(2126), &ny), -4 * 3600);
    assert_eq!(utc_offset_seconds(july(2127), &ny), -5 * 3600);
    assert_eq!(utc_offset_seconds(july(9000), &ny), -5 * 3600);
    let later = ZoneDatabase::system().with_rule_horizon_year(2300);
    let ny = later.lookup("America/New_York").unwrap();
    assert_eq!(utc_offset_seconds(july(2127), &ny), -4 * 3600);
    // Sydney's last transition of a year starts its summer: that offset stays.
    let sydney = db.lookup("Australia/Sydney").unwrap();
    assert_eq!(utc_offset_seconds(july(2200), &sydney), 11 * 3600);
}

#[test]
fn app_toml_names_the_zoneinfo_directory_for_reading_and_writing() {
    // Property: with `zoneinfo_dir`, a payload's TimeWithZone is read with that directory's
    // offsets and a job whose `timezone` it does not know is refused when written; a directory
    // without zones is an error, not a silent fallback.
    use crate::envelope::Job;
    use crate::options::DecodeOptions;
    let dir = directory_with_tokyo_as("America/New_York");
    let app = DecodeOptions::from_toml_str(&format!("zoneinfo_dir = {:?}", dir)).unwrap();
    let payload =
        br#"{"job_class":"EchoJob","job_id":"j","queue_name":"q","timezone":"America/New_York",
        "arguments":[{"_aj_serialized":"ActiveJob::Serializers::TimeWithZoneSerializer",
        "value":"2024-07-01T00:00:00.000000000Z","time_zone":"America/New_York"}]}"#;
    let mut job = Job::decode_with(payload, &app).unwrap();
    let Some(crate::arguments::Value::TimeWithZone(twz)) = job.arguments.first() else {
        panic!("{:?}", job.arguments)
    };
    assert_eq!(
        format_in_zone(twz.instant, &twz.zone),
        "2024-07-01T09:00:00.000000000+09:00"
    );
    let written = String::from_utf8(job.encode_for_app(&app).unwrap()).unwrap();
    assert!(
        written.contains("2024-07-01T09:00:00.000000000+09:00"),
        "{written}"
    );
    job.timezone = Some("Berlin".into());
    let err = job
        .encode_for_app(&app)
        .expect_err("Berlin is not in the directory");
    assert_eq!(err.path.as_str(), "timezone");
    assert!(
        job.encode_for(crate::RailsVersion::LATEST).is_ok(),
        "the host's database knows Berlin"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let err = DecodeOptions::from_toml_str(&format!("zoneinfo_dir = {:?}", dir))
        .expect_err("no such directory");
    assert!(err.to_string().contains("zoneinfo_dir"), "{err}");
}

#[test]
fn a_zone_that_never_changes_gives_its_one_offset_without_looking_it_up() {
    let instants = [
        "1850-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2024-03-31T01:30:00Z",
        "2024-10-27T00:59:59.999999999Z",
        "2150-07-01T12:00:00Z",
    ];
    let looked_up = |zone: &RailsZone, instant: &str| {
        let at =
            timestamp(at(instant)).min(zone.data.horizon - jiff::SignedDuration::from_nanos(1));
        offset_info(&zone.data.tz, at)
    };
    for name in [
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "Etc/GMT",
        "Etc/GMT+5",
        "Etc/GMT-14",
    ] {
        let zone = lookup(name).unwrap();
        assert!(zone.data.constant.is_some(), "{name}");
        for instant in instants {
            assert_eq!(
                zone.offset_at(at(instant)),
                looked_up(&zone, instant),
                "{name} {instant}"
            );
        }
    }
    assert_eq!(RailsZone::utc().data.constant, Some((0, true)));
    for name in [
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Europe/London",
    ] {
        assert_eq!(lookup(name).unwrap().data.constant, None, "{name}");
    }
}
