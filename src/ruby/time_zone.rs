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
//! Zones and their offsets come from a [`ZoneDatabase`]: the host's zoneinfo files, which is
//! what TZInfo reads (see [`database`] for the rule, the fallback and TZInfo's 100-year rule
//! horizon). A [`RailsZone`] keeps the zone data of the database it was looked up in, so a
//! TimeWithZone is written with the offsets it was read with.

pub mod database;

pub use database::{ZoneDatabase, ZoneDatabaseError, ZoneSource};

use super::time::{local_9, push_offset};
use chrono::{DateTime, TimeDelta, Utc};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

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
///
/// Two zones are equal when they have the same name and IANA identifier.
///
/// A zone is shared, not copied: cloning one (every TimeWithZone holds its zone) costs a
/// reference count.
#[derive(Clone)]
pub struct RailsZone {
    data: Arc<ZoneData>,
}

struct ZoneData {
    name: String,
    iana: String,
    tz: TimeZone,
    /// The first instant past the database's rule horizon: the offset just before it stays.
    horizon: Timestamp,
    /// The offset and whether it shows as UTC, for a zone that never changes them (`Etc/UTC`,
    /// the default `Time.zone`, or a fixed offset): the same at every instant, so they are not
    /// looked up per time.
    constant: Option<(i32, bool)>,
}

impl ZoneData {
    fn new(name: &str, iana: &str, tz: TimeZone, horizon: Timestamp) -> ZoneData {
        let constant = constant_offset(&tz);
        ZoneData {
            name: name.to_owned(),
            iana: iana.to_owned(),
            tz,
            horizon,
            constant,
        }
    }
}

/// The offset and UTC-ness of `tz` when it has no transition at all.
fn constant_offset(tz: &TimeZone) -> Option<(i32, bool)> {
    if tz.following(Timestamp::MIN).next().is_some() {
        return None;
    }
    Some(offset_info(tz, Timestamp::UNIX_EPOCH))
}

/// The offset TZInfo gives `tz` at `at`, and whether its abbreviation shows it as UTC.
fn offset_info(tz: &TimeZone, at: Timestamp) -> (i32, bool) {
    let info = tz.to_offset_info(at);
    let utc = matches!(info.abbreviation(), "UTC" | "UCT");
    (info.offset().seconds(), utc)
}

impl PartialEq for RailsZone {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
            || (self.data.name == other.data.name && self.data.iana == other.data.iana)
    }
}

impl Eq for RailsZone {}

impl std::hash::Hash for RailsZone {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.data.name.hash(state);
        self.data.iana.hash(state);
    }
}

impl std::fmt::Debug for RailsZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RailsZone")
            .field("name", &self.data.name)
            .field("tzinfo", &self.data.iana)
            .finish()
    }
}

impl RailsZone {
    /// `ActiveSupport::TimeZone#name`: the name as given to [`ZoneDatabase::lookup`]
    /// ("Berlin", "America/New_York", "UTC").
    pub fn name(&self) -> &str {
        &self.data.name
    }

    /// `TimeZone#tzinfo.name`: the IANA identifier ("Europe/Berlin"; "Etc/UTC" for "UTC").
    /// Identifiers that are links in the tz database ("Europe/Kiev") stay as written.
    pub fn tzinfo_name(&self) -> &str {
        &self.data.iana
    }

    /// The zone's data, as read from its database.
    pub fn tz(&self) -> &TimeZone {
        &self.data.tz
    }

    /// Rails' "UTC" zone, the default `config.time_zone`.
    pub fn utc() -> RailsZone {
        static UTC: OnceLock<RailsZone> = OnceLock::new();
        UTC.get_or_init(|| RailsZone {
            data: Arc::new(ZoneData::new(
                "UTC",
                "Etc/UTC",
                TimeZone::UTC,
                Timestamp::MAX,
            )),
        })
        .clone()
    }

    /// Whether the zone shows every instant as UTC (`Etc/UTC`, Rails' default `UTC`): a time
    /// in it is printed with `Z`, whatever the instant.
    pub(crate) fn is_utc_throughout(&self) -> bool {
        matches!(self.data.constant, Some((_, true)))
    }

    /// The offset and abbreviation TZInfo gives at `instant`.
    fn offset_at(&self, instant: DateTime<Utc>) -> (i32, bool) {
        if let Some(constant) = self.data.constant {
            return constant;
        }
        let at = timestamp(instant).min(self.data.horizon - jiff::SignedDuration::from_nanos(1));
        offset_info(&self.data.tz, at)
    }
}

/// The instant as a jiff timestamp, clamped to jiff's range (years -9999 to 9999), where zones
/// have long had their first or last offset.
fn timestamp(instant: DateTime<Utc>) -> Timestamp {
    let nanos = i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0);
    Timestamp::new(instant.timestamp(), nanos).unwrap_or(if instant.timestamp() < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

impl ZoneDatabase {
    /// `ActiveSupport::TimeZone[name]`: a Rails zone name through [`MAPPING`], otherwise an
    /// IANA identifier of this database; exact and case-sensitive as in Rails; `None` where
    /// Rails returns `nil`.
    ///
    /// The zones a thread looked up last are kept (a worker reads job after job in the same
    /// few zones), so looking one up again costs a comparison of names; a database's zone
    /// list never changes once read.
    pub fn lookup(&self, name: &str) -> Option<RailsZone> {
        if let Some(zone) = recent_zone(self.id(), name) {
            return Some(zone);
        }
        let iana = MAPPING
            .iter()
            .find(|(rails, _)| *rails == name)
            .map_or(name, |(_, iana)| iana);
        let tz = self.zone(iana)?;
        let zone = RailsZone {
            data: Arc::new(ZoneData::new(name, iana, tz, self.horizon())),
        };
        keep_recent_zone(self.id(), &zone);
        Some(zone)
    }

    /// Whether [`lookup`](Self::lookup) finds `name`, without handing over the zone: the check
    /// every envelope's `timezone` gets, answered from the zones the thread looked up last
    /// without taking a reference to one.
    pub(crate) fn has_zone(&self, name: &str) -> bool {
        is_recent_zone(self.id(), name) || self.lookup(name).is_some()
    }
}

/// How many zones a thread keeps from its last lookups.
const RECENT_ZONES: usize = 16;

thread_local! {
    /// The zones this thread looked up last, with the id of the database each came from, and
    /// the slot the next one replaces.
    static RECENT: RefCell<(Vec<(u64, RailsZone)>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// The zone `name` resolved to in the database `id`, when this thread looked it up lately.
fn recent_zone(id: u64, name: &str) -> Option<RailsZone> {
    with_recent_zone(id, name, RailsZone::clone)
}

fn is_recent_zone(id: u64, name: &str) -> bool {
    with_recent_zone(id, name, |_| ()).is_some()
}

/// `f` of the zone `name` of database `id` among those the thread looked up last.
fn with_recent_zone<T>(id: u64, name: &str, f: impl FnOnce(&RailsZone) -> T) -> Option<T> {
    RECENT.with(|recent| {
        let recent = recent.try_borrow().ok()?;
        recent
            .0
            .iter()
            .find(|(db, zone)| *db == id && zone.name() == name)
            .map(|(_, zone)| f(zone))
    })
}

fn keep_recent_zone(id: u64, zone: &RailsZone) {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return;
        };
        let (zones, next) = &mut *recent;
        let entry = (id, zone.clone());
        if zones.len() < RECENT_ZONES {
            zones.push(entry);
        } else {
            zones[*next] = entry;
            *next = (*next + 1) % RECENT_ZONES;
        }
    });
}

/// [`ZoneDatabase::lookup`] in the process's default database ([`ZoneDatabase::system`]: the
/// host's zoneinfo). Code that has the application's [`crate::DecodeOptions`] looks zones up in
/// its [`time_zones`](crate::DecodeOptions::time_zones) instead.
pub fn lookup(name: &str) -> Option<RailsZone> {
    ZoneDatabase::system().lookup(name)
}

/// `TimeWithZone#utc_offset` at `instant`, in seconds (DST included, as TZInfo reports it).
pub fn utc_offset_seconds(instant: DateTime<Utc>, zone: &RailsZone) -> i32 {
    zone.offset_at(instant).0
}

/// `TimeWithZone#utc?` at `instant`: the zone's abbreviation then is "UTC" or "UCT".
pub fn is_utc(instant: DateTime<Utc>, zone: &RailsZone) -> bool {
    zone.offset_at(instant).1
}

/// The offset [`format_in_zone`] prints `instant` in `zone` with: `None` for `Z`, else its
/// seconds (a text written with that offset and the same instant prints back unchanged when
/// the offset is whole minutes).
pub(crate) fn printed_offset(instant: DateTime<Utc>, zone: &RailsZone) -> Option<i32> {
    let (offset, utc) = zone.offset_at(instant);
    (!utc).then_some(offset)
}

/// `TimeWithZone#iso8601(9)`: the local time in `zone` with nine fraction digits, then `Z`
/// when [`is_utc`], else `±hh:mm` (an offset's seconds, as in pre-1900 local mean time, are
/// shown in the local time but dropped from the printed offset, as Rails prints them).
pub fn format_in_zone(instant: DateTime<Utc>, zone: &RailsZone) -> String {
    let (offset, utc) = zone.offset_at(instant);
    if utc {
        let mut text = local_9(&instant.naive_utc());
        text.push('Z');
        return text;
    }
    let utc_time = instant.naive_utc();
    let local = utc_time
        .checked_add_signed(TimeDelta::seconds(offset.into()))
        .unwrap_or(utc_time);
    let mut text = local_9(&local);
    push_offset(&mut text, offset);
    text
}

#[cfg(test)]
mod tests;
