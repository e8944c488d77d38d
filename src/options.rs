//! What the consuming application knows that a payload does not say.
//!
//! A Rails worker resolves constants against its own code: which job classes exist, which are
//! Continuable, which `_aj_serialized` names it registered, whether `Reporting` is a Module, its
//! `GlobalID.app`, its default locale and `Time.zone`. [`DecodeOptions`] states those facts for
//! Rust, in code or in an `app.toml` file.

use crate::json::DEFAULT_MAX_PAYLOAD_BYTES;
use crate::payload_format::PayloadFormat;
use crate::rails_version::RailsVersion;
use crate::ruby::time_zone::ZoneDatabase;
use crate::serializers::SerializerRegistry;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// A set of Ruby class names, looked up once per job.
///
/// Hashed with foldhash rather than std's SipHash, which costs several times as much on names of
/// a few dozen bytes. The set is the application's own configuration, so a payload cannot fill
/// it with colliding names; foldhash's `RandomState` is still seeded per process. Build one with
/// `collect()`: `["ImportJob".to_owned()].into_iter().collect::<ClassNames>()`.
pub type ClassNames = HashSet<String, foldhash::fast::RandomState>;

/// Facts about the consuming application that decoding depends on.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// `I18n.default_locale` of the worker, used when a payload has no `locale` (default `en`).
    pub default_locale: String,
    /// `Time.zone` of the worker, used when a payload has no `timezone` (default `UTC`).
    pub default_timezone: String,
    /// `I18n.available_locales` of the application: Rails runs a job inside
    /// `I18n.with_locale(job.locale)`, which raises `I18n::InvalidLocale` for any other locale,
    /// so such a payload is refused when read and when written. `None`: no check.
    pub available_locales: Option<Vec<String>>,
    /// `GlobalID.app` of the worker: Rails locates records by model and id whatever app a GID
    /// names, and prints them with its own app name. `None` keeps the payload's app name.
    pub globalid_app: Option<String>,
    /// Application serializers and modules.
    pub serializers: SerializerRegistry,
    /// Job classes that `include ActiveJob::Continuable`. `None`: a payload carrying a
    /// `continuation` or `resumptions` key is taken as continuable.
    pub continuable_jobs: Option<ClassNames>,
    /// Job classes the application defines. `None`: any class name is accepted.
    pub job_classes: Option<ClassNames>,
    /// Top-level keys a job class reads in its own `deserialize` override (shown in typed dumps).
    pub job_attributes: HashMap<String, Vec<String>>,
    /// The largest payload accepted, in bytes.
    pub max_payload_bytes: usize,
    /// How messages carry a job when the Ruby application replaced Karafka's
    /// `Deserializer`. `None`: the payload is the job's JSON, as Karafka writes it by default.
    pub payload_format: Option<Arc<dyn PayloadFormat>>,
    /// The Rails version of the Ruby application (default 8.1): what a producer given these
    /// options writes for it ([`crate::rails_version`]), and, before 8.1, the zone a
    /// TimeWithZone without `time_zone` is read in (the worker's, not the job's).
    pub rails_version: RailsVersion,
    /// The tz database zones are read and written with: the host's zoneinfo, as the Ruby
    /// workers' TZInfo reads it (default [`ZoneDatabase::system`]; `zoneinfo_dir` in
    /// `app.toml` names another directory). See [`crate::ruby::time_zone::database`].
    pub time_zones: ZoneDatabase,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            default_locale: "en".to_owned(),
            default_timezone: "UTC".to_owned(),
            available_locales: None,
            globalid_app: None,
            serializers: SerializerRegistry::new(),
            continuable_jobs: None,
            job_classes: None,
            job_attributes: HashMap::new(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            payload_format: None,
            rails_version: RailsVersion::default(),
            time_zones: ZoneDatabase::system(),
        }
    }
}

/// An `app.toml` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid {path}: {source}")]
    Toml {
        /// The file.
        path: String,
        /// The cause.
        source: toml::de::Error,
    },
}

/// The `app.toml` shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppFile {
    default_locale: Option<String>,
    default_timezone: Option<String>,
    available_locales: Option<Vec<String>>,
    globalid_app: Option<String>,
    job_classes: Option<Vec<String>>,
    continuable_jobs: Option<Vec<String>>,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    strict_serializers: bool,
    /// Serializer name → the Ruby class it makes.
    #[serde(default)]
    serializers: HashMap<String, String>,
    #[serde(default)]
    job_attributes: HashMap<String, Vec<String>>,
    max_payload_bytes: Option<usize>,
    rails_version: Option<RailsVersion>,
    /// A zoneinfo directory to read zones from instead of the host's.
    zoneinfo_dir: Option<std::path::PathBuf>,
}

impl DecodeOptions {
    /// Reads an `app.toml` file (see `fixtures/app.toml` for every key).
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<DecodeOptions, OptionsError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| OptionsError::Io {
            path: shown.clone(),
            source,
        })?;
        DecodeOptions::from_toml_str(&text).map_err(|source| OptionsError::Toml {
            path: shown,
            source,
        })
    }

    /// Reads `app.toml` text.
    pub fn from_toml_str(text: &str) -> Result<DecodeOptions, toml::de::Error> {
        let file: AppFile = toml::from_str(text)?;
        let mut options = DecodeOptions::default();
        if let Some(locale) = file.default_locale {
            options.default_locale = locale;
        }
        if let Some(zone) = file.default_timezone {
            options.default_timezone = zone;
        }
        options.available_locales = file.available_locales;
        options.globalid_app = file.globalid_app;
        options.job_classes = file.job_classes.map(|v| v.into_iter().collect());
        options.continuable_jobs = file.continuable_jobs.map(|v| v.into_iter().collect());
        options.job_attributes = file.job_attributes;
        for module in file.modules {
            options.serializers.declare_module(module);
        }
        for (name, class) in file.serializers {
            options.serializers.register(name, class);
        }
        options.serializers.set_strict(file.strict_serializers);
        if let Some(max) = file.max_payload_bytes {
            options.max_payload_bytes = max;
        }
        if let Some(version) = file.rails_version {
            options.rails_version = version;
        }
        if let Some(dir) = file.zoneinfo_dir {
            // A directory the application names must hold zones: no silent fallback.
            options.time_zones = ZoneDatabase::from_dir(&dir)
                .map_err(|e| serde::de::Error::custom(format!("zoneinfo_dir: {e}")))?;
        }
        Ok(options)
    }

    /// Whether the application defines `job_class`.
    pub fn knows_job_class(&self, job_class: &str) -> bool {
        self.job_classes
            .as_ref()
            .is_none_or(|known| known.contains(job_class))
    }

    /// Whether a job of `job_class` with these top-level keys is read as Continuable (never
    /// before Rails 8.1: older workers ignore the continuation keys).
    pub fn is_continuable(
        &self,
        job_class: &str,
        keys: &serde_json::Map<String, serde_json::Value>,
    ) -> bool {
        let continuation_keys =
            keys.contains_key("continuation") || keys.contains_key("resumptions");
        self.is_continuable_with(job_class, continuation_keys)
    }

    /// [`is_continuable`](Self::is_continuable) for a payload that has (or has not) a
    /// `continuation` or `resumptions` key.
    pub(crate) fn is_continuable_with(&self, job_class: &str, continuation_keys: bool) -> bool {
        if !self.rails_version.reads_continuations() {
            return false;
        }
        match &self.continuable_jobs {
            Some(known) => known.contains(job_class),
            None => continuation_keys,
        }
    }
}
