//! ActiveSupport::TimeZone: Rails zone names, their IANA zones, and how a TimeWithZone prints.
//!
//! A payload's `timezone` is `Time.zone.name`, which is a Rails name ("Eastern Time (US &
//! Canada)", "Berlin", "UTC") or whatever IANA name the app assigned; a TimeWithZone argument
//! carries `time_zone.tzinfo.name` (an IANA identifier, "Etc/UTC" for Rails' "UTC"). Reading
//! either needs Rails' name table, and writing a TimeWithZone needs Rails' printing rule: the
//! local time with nine fraction digits and `Z` only when the zone's abbreviation at that
//! instant is "UTC" or "UCT" (`TimeWithZone#utc?`), so "Etc/UTC" prints `Z` but "Europe/London"
//! in winter and "Etc/GMT" print `+00:00`.
//!
//! `ActiveSupport::TimeZone[name]` looks the name up in the table first and otherwise asks
//! TZInfo for an IANA zone of exactly that name: both are case-sensitive, and an unknown name
//! gives `nil` (`Time.zone = "Nope"` raises "Invalid Timezone: Nope").
//!
//! Offsets come from chrono-tz's copy of the tz database. A worker's TZInfo data can differ
//! before 1970 where the tz database merged zones: Debian's zoneinfo keeps the old local mean
//! time of Europe/Amsterdam (+00:19:32 in 1850), chrono-tz has Europe/Brussels' (+00:17:30).

use super::time::{format_offset, local_9};
use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetName, Tz};

/// `ActiveSupport::TimeZone::MAPPING` of Rails 8.1: Rails zone name → IANA identifier, in
/// Rails' order.
///
/// Changes between the Rails versions this crate reads (each entry's value as of 8.1):
/// - 7.1: "Canberra" was "Australia/Melbourne" before.
/// - 7.2: "Astana" was "Asia/Dhaka" before.
/// - 8.1: "Asuncion" added; "Greenland" was "America/Godthab" before.
/// - main (8.2, unreleased): adds "Pacific Time (Canada)" (America/Vancouver) and "Alberta"
///   (America/Edmonton), "Kyiv" becomes "Europe/Kyiv" and "Rangoon" becomes "Asia/Yangon".
///
/// A payload written by an older Rails carries the zone's *name* in `timezone`, which 8.1 maps
/// with this table, and the IANA identifier of its own table in a TimeWithZone's `time_zone`,
/// which is looked up directly, so both still read as Rails 8.1 reads them.
pub const MAPPING: &[(&str, &str)] = &[
    ("International Date Line West", "Etc/GMT+12"),
    ("Midway Island", "Pacific/Midway"),
    ("American Samoa", "Pacific/Pago_Pago"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Alaska", "America/Juneau"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Tijuana", "America/Tijuana"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Arizona", "America/Phoenix"),
    ("Chihuahua", "America/Chihuahua"),
    ("Mazatlan", "America/Mazatlan"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Saskatchewan", "America/Regina"),
    ("Guadalajara", "America/Mexico_City"),
    ("Mexico City", "America/Mexico_City"),
    ("Monterrey", "America/Monterrey"),
    ("Central America", "America/Guatemala"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Indiana (East)", "America/Indiana/Indianapolis"),
    ("Bogota", "America/Bogota"),
    ("Lima", "America/Lima"),
    ("Quito", "America/Lima"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Caracas", "America/Caracas"),
    ("La Paz", "America/La_Paz"),
    ("Santiago", "America/Santiago"),
    ("Asuncion", "America/Asuncion"),
    ("Newfoundland", "America/St_Johns"),
    ("Brasilia", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Montevideo", "America/Montevideo"),
    ("Georgetown", "America/Guyana"),
    ("Puerto Rico", "America/Puerto_Rico"),
    ("Greenland", "America/Nuuk"),
    ("Mid-Atlantic", "Atlantic/South_Georgia"),
    ("Azores", "Atlantic/Azores"),
    ("Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("Dublin", "Europe/Dublin"),
    ("Edinburgh", "Europe/London"),
    ("Lisbon", "Europe/Lisbon"),
    ("London", "Europe/London"),
    ("Casablanca", "Africa/Casablanca"),
    ("Monrovia", "Africa/Monrovia"),
    ("UTC", "Etc/UTC"),
    ("Belgrade", "Europe/Belgrade"),
    ("Bratislava", "Europe/Bratislava"),
    ("Budapest", "Europe/Budapest"),
    ("Ljubljana", "Europe/Ljubljana"),
    ("Prague", "Europe/Prague"),
    ("Sarajevo", "Europe/Sarajevo"),
    ("Skopje", "Europe/Skopje"),
    ("Warsaw", "Europe/Warsaw"),
    ("Zagreb", "Europe/Zagreb"),
    ("Brussels", "Europe/Brussels"),
    ("Copenhagen", "Europe/Copenhagen"),
    ("Madrid", "Europe/Madrid"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Berlin", "Europe/Berlin"),
    ("Bern", "Europe/Zurich"),
    ("Zurich", "Europe/Zurich"),
    ("Rome", "Europe/Rome"),
    ("Stockholm", "Europe/Stockholm"),
    ("Vienna", "Europe/Vienna"),
    ("West Central Africa", "Africa/Algiers"),
    ("Bucharest", "Europe/Bucharest"),
    ("Cairo", "Africa/Cairo"),
    ("Helsinki", "Europe/Helsinki"),
    ("Kyiv", "Europe/Kiev"),
    ("Riga", "Europe/Riga"),
    ("Sofia", "Europe/Sofia"),
    ("Tallinn", "Europe/Tallinn"),
    ("Vilnius", "Europe/Vilnius"),
    ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"),
    ("Minsk", "Europe/Minsk"),
    ("Jerusalem", "Asia/Jerusalem"),
    ("Harare", "Africa/Harare"),
    ("Pretoria", "Africa/Johannesburg"),
    ("Kaliningrad", "Europe/Kaliningrad"),
    ("Moscow", "Europe/Moscow"),
    ("St. Petersburg", "Europe/Moscow"),
    ("Volgograd", "Europe/Volgograd"),
    ("Samara", "Europe/Samara"),
    ("Kuwait", "Asia/Kuwait"),
    ("Riyadh", "Asia/Riyadh"),
    ("Nairobi", "Africa/Nairobi"),
    ("Baghdad", "Asia/Baghdad"),
    ("Tehran", "Asia/Tehran"),
    ("Abu Dhabi", "Asia/Muscat"),
    ("Muscat", "Asia/Muscat"),
    ("Baku", "Asia/Baku"),
    ("Tbilisi", "Asia/Tbilisi"),
    ("Yerevan", "Asia/Yerevan"),
    ("Kabul", "Asia/Kabul"),
    ("Ekaterinburg", "Asia/Yekaterinburg"),
    ("Islamabad", "Asia/Karachi"),
    ("Karachi", "Asia/Karachi"),
    ("Tashkent", "Asia/Tashkent"),
    ("Chennai", "Asia/Kolkata"),
    ("Kolkata", "Asia/Kolkata"),
    ("Mumbai", "Asia/Kolkata"),
    ("New Delhi", "Asia/Kolkata"),
    ("Kathmandu", "Asia/Kathmandu"),
    ("Dhaka", "Asia/Dhaka"),
    ("Sri Jayawardenepura", "Asia/Colombo"),
    ("Almaty", "Asia/Almaty"),
    ("Astana", "Asia/Almaty"),
    ("Novosibirsk", "Asia/Novosibirsk"),
    ("Rangoon", "Asia/Rangoon"),
    ("Bangkok", "Asia/Bangkok"),
    ("Hanoi", "Asia/Bangkok"),
    ("Jakarta", "Asia/Jakarta"),
    ("Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("Beijing", "Asia/Shanghai"),
    ("Chongqing", "Asia/Chongqing"),
    ("Hong Kong", "Asia/Hong_Kong"),
    ("Urumqi", "Asia/Urumqi"),
    ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
    ("Singapore", "Asia/Singapore"),
    ("Taipei", "Asia/Taipei"),
    ("Perth", "Australia/Perth"),
    ("Irkutsk", "Asia/Irkutsk"),
    ("Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Seoul", "Asia/Seoul"),
    ("Osaka", "Asia/Tokyo"),
    ("Sapporo", "Asia/Tokyo"),
    ("Tokyo", "Asia/Tokyo"),
    ("Yakutsk", "Asia/Yakutsk"),
    ("Darwin", "Australia/Darwin"),
    ("Adelaide", "Australia/Adelaide"),
    ("Canberra", "Australia/Canberra"),
    ("Melbourne", "Australia/Melbourne"),
    ("Sydney", "Australia/Sydney"),
    ("Brisbane", "Australia/Brisbane"),
    ("Hobart", "Australia/Hobart"),
    ("Vladivostok", "Asia/Vladivostok"),
    ("Guam", "Pacific/Guam"),
    ("Port Moresby", "Pacific/Port_Moresby"),
    ("Magadan", "Asia/Magadan"),
    ("Srednekolymsk", "Asia/Srednekolymsk"),
    ("Solomon Is.", "Pacific/Guadalcanal"),
    ("New Caledonia", "Pacific/Noumea"),
    ("Fiji", "Pacific/Fiji"),
    ("Kamchatka", "Asia/Kamchatka"),
    ("Marshall Is.", "Pacific/Majuro"),
    ("Auckland", "Pacific/Auckland"),
    ("Wellington", "Pacific/Auckland"),
    ("Nuku'alofa", "Pacific/Tongatapu"),
    ("Tokelau Is.", "Pacific/Fakaofo"),
    ("Chatham Is.", "Pacific/Chatham"),
    ("Samoa", "Pacific/Apia"),
];

/// An `ActiveSupport::TimeZone`: the name it was looked up by and the IANA zone behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RailsZone {
    name: String,
    tz: Tz,
}

impl RailsZone {
    /// `ActiveSupport::TimeZone#name`: the name as given to [`lookup`] ("Berlin",
    /// "America/New_York", "UTC").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `TimeZone#tzinfo.name`: the IANA identifier ("Europe/Berlin"; "Etc/UTC" for "UTC").
    /// Identifiers that are links in the tz database ("Europe/Kiev") stay as written.
    pub fn tzinfo_name(&self) -> &'static str {
        self.tz.name()
    }

    /// The IANA zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Rails' "UTC" zone, the default `config.time_zone`.
    pub fn utc() -> RailsZone {
        RailsZone {
            name: "UTC".to_owned(),
            tz: Tz::Etc__UTC,
        }
    }
}

/// `ActiveSupport::TimeZone[name]`: a Rails zone name through [`MAPPING`], otherwise an IANA
/// identifier; exact and case-sensitive as in Rails; `None` where Rails returns `nil`.
///
/// The IANA names come from chrono-tz's copy of the tz database. TZInfo on a Debian host also
/// knows "Factory", which is not found here.
pub fn lookup(name: &str) -> Option<RailsZone> {
    let iana = MAPPING
        .iter()
        .find(|(rails, _)| *rails == name)
        .map_or(name, |(_, iana)| iana);
    let tz = iana.parse::<Tz>().ok()?;
    Some(RailsZone {
        name: name.to_owned(),
        tz,
    })
}

/// `TimeWithZone#utc_offset` at `instant`, in seconds (DST included, as TZInfo reports it).
pub fn utc_offset_seconds(instant: DateTime<Utc>, zone: &RailsZone) -> i32 {
    zone.tz
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc()
}

/// `TimeWithZone#utc?` at `instant`: the zone's abbreviation then is "UTC" or "UCT".
pub fn is_utc(instant: DateTime<Utc>, zone: &RailsZone) -> bool {
    let offset = zone.tz.offset_from_utc_datetime(&instant.naive_utc());
    matches!(offset.abbreviation(), Some("UTC" | "UCT"))
}

/// `TimeWithZone#iso8601(9)`: the local time in `zone` with nine fraction digits, then `Z`
/// when [`is_utc`], else `±hh:mm` (an offset's seconds, as in pre-1900 local mean time, are
/// shown in the local time but dropped from the printed offset, as Rails prints them).
pub fn format_in_zone(instant: DateTime<Utc>, zone: &RailsZone) -> String {
    if is_utc(instant, zone) {
        return format!("{}Z", local_9(&instant.naive_utc()));
    }
    let local = instant.with_timezone(&zone.tz).naive_local();
    let offset = utc_offset_seconds(instant, zone);
    format!("{}{}", local_9(&local), format_offset(offset))
}

#[cfg(test)]
mod tests;
