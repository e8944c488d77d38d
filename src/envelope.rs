//! The job envelope: the top-level keys of `job.serialize`, read and written the Rails 8.1 way.

use crate::arguments::node::{Kind, Node, Num, Object};
use crate::arguments::tape::Tape;
use crate::arguments::{
    decode_argument_list, encode_arguments_for, invalid_timezone, Ctx, Value, Zone,
};
use crate::continuation::Continuation;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, JsonPath, PathRef};
use crate::json::{self, JsonStyle};
use crate::options::DecodeOptions;
use crate::rails_version::RailsVersion;
use crate::ruby::time::{self, RubyTime};
use crate::ruby::time_zone::{RailsZone, ZoneDatabase};
use crate::write_rules;
use chrono::Utc;
use serde_json::{Map, Value as Json};

/// The keys Rails writes in every envelope, in the order it writes them, which is the order of
/// [`Fields`]. A Continuable job's `continuation` and `resumptions` follow them; anything else is
/// kept in [`Job::extra`].
pub(crate) const FIELD_KEYS: [&str; 12] = [
    "job_class",
    "job_id",
    "provider_job_id",
    "queue_name",
    "priority",
    "arguments",
    "executions",
    "exception_executions",
    "locale",
    "timezone",
    "enqueued_at",
    "scheduled_at",
];

/// Rails main's top-level key for `ActiveJob::Attributes`.
const ATTRIBUTES_KEY: &str = "attributes";

/// A time in the envelope (`enqueued_at`, `scheduled_at`), with the text it was read from so a
/// decoded job is written back unchanged (Rails 6.1 writes no fraction digits, 7.1+ writes nine).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeTime {
    /// The time as Ruby's `Time.iso8601` reads it.
    pub time: RubyTime,
    source: Option<String>,
}

impl EnvelopeTime {
    /// A time Rust sets; written as Rails 8.1 writes it (`utc.iso8601(9)`).
    pub fn new(instant: chrono::DateTime<Utc>) -> Self {
        EnvelopeTime {
            time: RubyTime {
                instant: instant.fixed_offset(),
                utc: true,
            },
            source: None,
        }
    }

    /// The current time.
    pub fn now() -> Self {
        EnvelopeTime::new(Utc::now())
    }

    /// The text written to the payload.
    pub fn to_wire(&self) -> String {
        match &self.source {
            Some(text) => text.clone(),
            None => time::format_iso8601_9(&self.time),
        }
    }

    /// The text Rails `target` writes for `enqueued_at`: `Time.now.utc.iso8601` (whole
    /// seconds, the fraction dropped as Ruby drops it) before 7.1, else as [`Self::to_wire`].
    pub fn to_wire_for(&self, target: RailsVersion) -> String {
        if target.writes_nanosecond_enqueued_at() {
            return self.to_wire();
        }
        self.time
            .instant
            .to_utc()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    /// The time `text` (the value of `key`) stands for.
    pub(crate) fn from_text(text: &str, key: &str) -> Result<Option<EnvelopeTime>, DecodeError> {
        // What Rails 7.1+ writes (nine digits, `Z`) is what `to_wire` writes back: no copy.
        if text.len() == 30 {
            if let Some(time) = time::parse_plain_utc(text) {
                return Ok(Some(EnvelopeTime { time, source: None }));
            }
        }
        EnvelopeTime::parse(text, key)
    }

    /// Any other text Ruby's `Time.iso8601` reads, kept as written.
    fn parse(text: &str, key: &str) -> Result<Option<EnvelopeTime>, DecodeError> {
        match time::parse_xmlschema(text) {
            Ok(time) => Ok(Some(EnvelopeTime {
                time,
                source: Some(text.to_owned()),
            })),
            Err(_) => Err(DecodeError::invalid(
                &JsonPath::key(key),
                format!("invalid xmlschema format: {text:?}"),
            )),
        }
    }

    fn decode<N: Node>(raw: N, key: &str) -> Result<Option<EnvelopeTime>, DecodeError> {
        match raw.into_kind() {
            Kind::Null => Ok(None),
            Kind::String(text) => EnvelopeTime::from_text(text.as_ref(), key),
            // Rails 7.1+ raises TypeError for the pre-7.1 epoch-float form.
            other => Err(DecodeError::shape(
                &JsonPath::key(key),
                format!("expected an ISO 8601 string, found {}", other.type_name()),
            )),
        }
    }
}

/// One ActiveJob job as Rails serializes it.
///
/// Build one with [`Job::new`] to enqueue from Rust, or read one with [`Job::decode`]. Missing
/// keys read as Rails reads them (`None` where Rails holds `nil`); unknown top-level keys
/// (`cattr_0`, a job's own `serialize` additions) are kept in order and written back.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The Ruby job class (`"ImportJob"`, `"Billing::SyncJob"`).
    pub job_class: String,
    /// The job's UUID, constant across retries and resumes.
    pub job_id: Option<String>,
    /// Set by some queue adapters; Karafka never sets it.
    pub provider_job_id: Option<String>,
    /// The queue, which is the Kafka topic under Karafka.
    pub queue_name: Option<String>,
    /// The priority (Karafka ignores it).
    pub priority: Option<i64>,
    /// The arguments `perform` receives.
    pub arguments: Vec<Value>,
    /// How many times the job has run so far.
    pub executions: Option<i64>,
    /// Per-`retry_on` counters and continuation interruption counters (an open map).
    pub exception_executions: Option<Map<String, Json>>,
    /// `I18n.locale` when enqueued.
    pub locale: Option<String>,
    /// `Time.zone.name` when enqueued (a Rails zone name or an IANA name).
    pub timezone: Option<String>,
    /// When the payload was serialized.
    pub enqueued_at: Option<EnvelopeTime>,
    /// When the job should run (Rails ≥ 7.1); Karafka's consumer ignores it.
    pub scheduled_at: Option<EnvelopeTime>,
    /// Progress of a continuable job (Rails 8.1).
    pub continuation: Option<Continuation>,
    /// How many times a continuable job was resumed.
    pub resumptions: Option<i64>,
    /// Unknown top-level keys, in payload order.
    pub extra: Map<String, Json>,
    /// Rails 6.1 and 7.0 write no `scheduled_at` key; keep it absent when writing such a job back.
    scheduled_at_key: bool,
}

impl Job {
    /// A new job of `job_class` with Rails' defaults for a fresh enqueue: a UUID v4 `job_id`,
    /// queue `default`, no arguments, `executions` 0, locale `en`, timezone `UTC`, enqueued now.
    pub fn new(job_class: impl Into<String>) -> Job {
        Job {
            job_class: job_class.into(),
            job_id: Some(uuid::Uuid::new_v4().to_string()),
            provider_job_id: None,
            queue_name: Some("default".to_owned()),
            priority: None,
            arguments: Vec::new(),
            executions: Some(0),
            exception_executions: Some(Map::new()),
            locale: Some("en".to_owned()),
            timezone: Some("UTC".to_owned()),
            enqueued_at: Some(EnvelopeTime::now()),
            scheduled_at: None,
            continuation: None,
            resumptions: None,
            extra: Map::new(),
            scheduled_at_key: true,
        }
    }

    /// Sets the queue (the Kafka topic).
    pub fn queue(mut self, queue_name: impl Into<String>) -> Job {
        self.queue_name = Some(queue_name.into());
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: i64) -> Job {
        self.priority = Some(priority);
        self
    }

    /// Appends a positional argument.
    pub fn arg(mut self, value: impl Into<Value>) -> Job {
        self.arguments.push(value.into());
        self
    }

    /// Appends keyword arguments (`perform(id, mode: :fast)`), the last argument by Ruby's rules.
    pub fn kwargs<K: Into<String>>(mut self, entries: impl IntoIterator<Item = (K, Value)>) -> Job {
        self.arguments.push(Value::kwargs(entries));
        self
    }

    /// Sets the locale.
    pub fn locale(mut self, locale: impl Into<String>) -> Job {
        self.locale = Some(locale.into());
        self
    }

    /// Sets the job's time zone name (`"UTC"`, `"Berlin"`, `"Eastern Time (US & Canada)"`).
    pub fn timezone(mut self, timezone: impl Into<String>) -> Job {
        self.timezone = Some(timezone.into());
        self
    }

    /// Sets `scheduled_at`.
    pub fn scheduled_at(mut self, at: chrono::DateTime<Utc>) -> Job {
        self.scheduled_at = Some(EnvelopeTime::new(at));
        self
    }

    /// Marks the job continuable (Rails 8.1 `ActiveJob::Continuable`): a fresh continuation.
    pub fn continuable(mut self) -> Job {
        self.continuation.get_or_insert_with(Continuation::default);
        self.resumptions.get_or_insert(0);
        self
    }

    /// Decodes payload bytes with default options (any job class, unknown serializers opaque,
    /// worker locale `en` and zone `UTC`).
    pub fn decode(bytes: &[u8]) -> Result<Job, DecodeError> {
        Job::decode_with(bytes, &DecodeOptions::default())
    }

    /// Decodes payload bytes with the application's options: a message payload, first
    /// unwrapped by the application's [`DecodeOptions::payload_format`] when it has one.
    ///
    /// The bytes are parsed once into a flat token tape (no `serde_json::Value` tree) and read
    /// by the same rules as [`Job::from_json`], so both give the same job and the same errors.
    pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Job, DecodeError> {
        let Some(format) = &options.payload_format else {
            return Job::decode_json(bytes, options);
        };
        json::check_size(bytes, options.max_payload_bytes)?;
        let job_json = format.job_json(bytes).map_err(|e| {
            DecodeError::new(
                JsonPath::root(),
                DecodeErrorKind::PayloadFormat,
                format!("payload format: {e}"),
            )
        })?;
        Job::decode_json(&job_json, options)
    }

    /// Decodes the job's JSON.
    fn decode_json(bytes: &[u8], options: &DecodeOptions) -> Result<Job, DecodeError> {
        let text = json::payload_text(bytes, options.max_payload_bytes)?;
        // The envelope as Rails writes it (its keys once each, in order, without escapes) is
        // read without matching keys after the scan; anything else goes the general way.
        if let Some((tape, root)) = Tape::parse_keyed(text, &FIELD_KEYS) {
            let fields = Fields::from_slots(root.slots.map(|at| at.map(|at| tape.node(at))));
            let extra = root
                .others
                .into_iter()
                .map(|(key, at)| (key.to_owned(), tape.node(at).into_json()))
                .collect();
            return Job::from_fields(fields, extra, options);
        }
        let tape = Tape::parse(text).map_err(json::not_json)?;
        Job::from_node(tape.root(), options)
    }

    /// Decodes an already parsed JSON payload.
    pub fn from_json(raw: Json, options: &DecodeOptions) -> Result<Job, DecodeError> {
        Job::from_node(raw, options)
    }

    /// Reads the envelope the way Rails 8.1's `deserialize` does, checking keys in its order
    /// whatever their order in the payload.
    fn from_node<N: Node>(raw: N, options: &DecodeOptions) -> Result<Job, DecodeError> {
        let object = match raw.into_kind() {
            Kind::Object(object) => object,
            other => {
                return Err(DecodeError::shape(
                    &JsonPath::root(),
                    format!(
                        "a job payload is a JSON object, found {}",
                        other.type_name()
                    ),
                ))
            }
        };
        let mut fields = Fields::<N>::default();
        let mut extra = Map::new();
        for (key, value) in object.into_entries() {
            let slot = match key.as_ref() {
                "job_class" => &mut fields.job_class,
                "job_id" => &mut fields.job_id,
                "provider_job_id" => &mut fields.provider_job_id,
                "queue_name" => &mut fields.queue_name,
                "priority" => &mut fields.priority,
                "arguments" => &mut fields.arguments,
                "executions" => &mut fields.executions,
                "exception_executions" => &mut fields.exception_executions,
                "locale" => &mut fields.locale,
                "timezone" => &mut fields.timezone,
                "enqueued_at" => &mut fields.enqueued_at,
                "scheduled_at" => &mut fields.scheduled_at,
                // `continuation` and `resumptions` stay here until the job is known continuable.
                _ => {
                    extra.insert(key.into(), value.into_json());
                    continue;
                }
            };
            *slot = Some(value);
        }
        Job::from_fields(fields, extra, options)
    }

    /// Applies Rails 8.1's `deserialize` to the envelope keys found and the other keys, in
    /// payload order.
    fn from_fields<N: Node>(
        fields: Fields<N>,
        mut extra: Map<String, Json>,
        options: &DecodeOptions,
    ) -> Result<Job, DecodeError> {
        let job_class = decode_job_class(fields.job_class, options)?;
        let scheduled_at_key = fields.scheduled_at.is_some();
        let mut job = Job {
            job_id: optional_string(fields.job_id, "job_id")?,
            provider_job_id: optional_string(fields.provider_job_id, "provider_job_id")?,
            queue_name: optional_string(fields.queue_name, "queue_name")?,
            priority: optional_integer(fields.priority, "priority")?,
            arguments: Vec::new(),
            executions: optional_integer(fields.executions, "executions")?,
            exception_executions: optional_object(
                fields.exception_executions,
                "exception_executions",
            )?,
            locale: optional_string(fields.locale, "locale")?,
            timezone: optional_string(fields.timezone, "timezone")?,
            enqueued_at: take_time(fields.enqueued_at, "enqueued_at")?,
            scheduled_at: take_time(fields.scheduled_at, "scheduled_at")?,
            continuation: None,
            resumptions: None,
            extra: Map::new(),
            scheduled_at_key,
            job_class,
        };
        job.decode_continuation(&mut extra, options)?;
        job.extra = extra;
        // Rails 8.1 runs every job inside `I18n.with_locale(job.locale)`.
        if let Some(locale) = &job.locale {
            if !write_rules::locale_available(locale, options.available_locales.as_deref()) {
                return Err(DecodeError::invalid(
                    &JsonPath::key("locale"),
                    format!("{locale:?} is not a valid locale"),
                ));
            }
        }
        // Rails 8.1 runs every job inside `Time.use_zone(job.timezone)`, arguments or not: an
        // unknown zone fails the job even when nothing needs it.
        let zone = job.timezone.as_deref().unwrap_or(&options.default_timezone);
        check_zone(zone, &options.time_zones)?;
        if let Some(raw) = fields.arguments {
            let zone = job.arguments_zone_name(options);
            check_zone(zone, &options.time_zones)?;
            let ctx = Ctx {
                zone: Zone::Named(zone),
                serializers: &options.serializers,
                zones: &options.time_zones,
            };
            let root = JsonPath::root();
            let root = PathRef::At(&root);
            job.arguments = decode_argument_list(raw, &ctx, root.field("arguments"))?;
        }
        Ok(job)
    }

    /// Rails 8.1 reads arguments inside `Time.use_zone(job.timezone)`: a TimeWithZone written
    /// without `time_zone` lands in the job's zone, or the worker's when the job has none.
    /// Before 8.1 ([`DecodeOptions::rails_version`]) arguments are read outside it, in the
    /// worker's own `Time.zone`.
    pub fn argument_zone(&self, options: &DecodeOptions) -> Result<RailsZone, DecodeError> {
        let name = self.arguments_zone_name(options);
        options
            .time_zones
            .lookup(name)
            .ok_or_else(|| invalid_timezone(name))
    }

    fn arguments_zone_name<'a>(&'a self, options: &'a DecodeOptions) -> &'a str {
        match &self.timezone {
            Some(zone) if options.rails_version.reads_arguments_in_job_zone() => zone,
            _ => &options.default_timezone,
        }
    }

    /// The declared attributes of a Rails main (8.2) job (`ActiveJob::Attributes`, which every
    /// Continuable job includes there), read as main reads them: the top-level `attributes` key
    /// through `ActiveJob::Arguments` (a Hash of attribute name to value). `None` when the
    /// payload has no such key, as every payload of Rails 8.1 and older. The key itself stays in
    /// [`Job::extra`] and is written back where main writes it, before `continuation`.
    pub fn attributes(&self, options: &DecodeOptions) -> Option<Result<Value, DecodeError>> {
        let raw = self.extra.get(ATTRIBUTES_KEY)?.clone();
        Some(self.argument_zone(options).and_then(|zone| {
            let ctx = crate::arguments::DecodeContext {
                zone: &zone,
                serializers: &options.serializers,
                zones: &options.time_zones,
            };
            crate::arguments::decode_argument(raw, &ctx, &JsonPath::key(ATTRIBUTES_KEY))
        }))
    }

    /// The job's locale, or the worker's default when the payload has none.
    pub fn effective_locale(&self, options: &DecodeOptions) -> String {
        self.locale
            .clone()
            .unwrap_or_else(|| options.default_locale.clone())
    }

    /// The job's time zone name, or the worker's default when the payload has none.
    pub fn effective_timezone(&self, options: &DecodeOptions) -> String {
        self.timezone
            .clone()
            .unwrap_or_else(|| options.default_timezone.clone())
    }

    fn decode_continuation(
        &mut self,
        map: &mut Map<String, Json>,
        options: &DecodeOptions,
    ) -> Result<(), DecodeError> {
        // Rails ignores these keys on jobs that are not Continuable; keep them as unknown keys.
        if !options.is_continuable(&self.job_class, map) {
            return Ok(());
        }
        self.continuation = Some(match map.shift_remove("continuation") {
            Some(raw) => Continuation::decode(raw)?,
            None => Continuation::default(),
        });
        let resumptions = map.shift_remove("resumptions");
        self.resumptions = Some(optional_integer(resumptions, "resumptions")?.unwrap_or(0));
        Ok(())
    }

    /// The payload as an ordered JSON tree, keys in Rails 8.1's order, unknown keys last.
    pub fn to_json(&self) -> Result<Json, EncodeError> {
        self.to_json_for(RailsVersion::LATEST)
    }

    /// The payload as Rails `target` writes it (see [`crate::rails_version`]), or an error
    /// naming what that version cannot read. The `timezone` is checked against the process's
    /// default tz database ([`ZoneDatabase::system`]).
    pub fn to_json_for(&self, target: RailsVersion) -> Result<Json, EncodeError> {
        self.to_json_in(target, &ZoneDatabase::system())
    }

    /// [`Self::to_json_for`] with the application's tz database
    /// ([`DecodeOptions::time_zones`]): a `timezone` it does not know is refused.
    pub fn to_json_in(
        &self,
        target: RailsVersion,
        zones: &ZoneDatabase,
    ) -> Result<Json, EncodeError> {
        if self.continuation.is_some() && !target.reads_continuations() {
            return Err(EncodeError::not_readable_by(
                &JsonPath::key("continuation"),
                target,
                "a continuation (ActiveJob::Continuable exists from Rails 8.1)",
            ));
        }
        // Two more for a continuation.
        let mut map = Map::with_capacity(FIELD_KEYS.len() + 2 + self.extra.len());
        let text = |s: &Option<String>| s.clone().map_or(Json::Null, Json::String);
        let int = |i: Option<i64>| i.map_or(Json::Null, |v| Json::Number(v.into()));
        let at =
            |t: &Option<EnvelopeTime>| t.as_ref().map_or(Json::Null, |t| Json::String(t.to_wire()));
        map.insert("job_class".into(), Json::String(self.job_class.clone()));
        map.insert("job_id".into(), text(&self.job_id));
        map.insert("provider_job_id".into(), text(&self.provider_job_id));
        map.insert("queue_name".into(), text(&self.queue_name));
        map.insert("priority".into(), int(self.priority));
        map.insert(
            "arguments".into(),
            encode_arguments_for(&self.arguments, &JsonPath::key("arguments"), target)?,
        );
        map.insert("executions".into(), int(self.executions));
        map.insert(
            "exception_executions".into(),
            self.exception_executions
                .clone()
                .map_or(Json::Null, Json::Object),
        );
        map.insert("locale".into(), text(&self.locale));
        map.insert("timezone".into(), text(&self.timezone));
        map.insert(
            "enqueued_at".into(),
            self.enqueued_at
                .as_ref()
                .map_or(Json::Null, |t| Json::String(t.to_wire_for(target))),
        );
        // Before 7.1 the time a job is scheduled for reaches only the queue adapter.
        let scheduled_at_key = self.scheduled_at_key || self.scheduled_at.is_some();
        if scheduled_at_key && target.writes_scheduled_at() {
            map.insert("scheduled_at".into(), at(&self.scheduled_at));
        }
        if let Some(continuation) = &self.continuation {
            // Rails main (`ActiveJob::Attributes`) writes `attributes` before the continuation.
            if let Some(attributes) = self.extra.get(ATTRIBUTES_KEY) {
                map.insert(ATTRIBUTES_KEY.into(), attributes.clone());
            }
            map.insert(
                "continuation".into(),
                continuation.to_json_for(target, zones)?,
            );
            map.insert(
                "resumptions".into(),
                int(Some(self.resumptions.unwrap_or(0))),
            );
        }
        for (k, v) in &self.extra {
            if !map.contains_key(k) {
                map.insert(k.clone(), v.clone());
            }
        }
        write_rules::check_timezone(self.timezone.as_deref(), zones)?;
        let payload = Json::Object(map);
        write_rules::check_nesting(&payload)?;
        Ok(payload)
    }

    /// [`encode_for`](Self::encode_for) the application's `rails_version`, refusing also what
    /// the application's own settings make Rails refuse: a `locale` outside its
    /// `available_locales`, a `timezone` its tz database does not know.
    pub fn encode_for_app(&self, app: &DecodeOptions) -> Result<Vec<u8>, EncodeError> {
        write_rules::check_locale(self.locale.as_deref(), app.available_locales.as_deref())?;
        self.encode_in(app.rails_version, &app.time_zones)
    }

    /// [`encode_for`](Self::encode_for) with the application's tz database
    /// ([`DecodeOptions::time_zones`]) checking the `timezone`.
    pub fn encode_in(
        &self,
        target: RailsVersion,
        zones: &ZoneDatabase,
    ) -> Result<Vec<u8>, EncodeError> {
        Ok(json::write(
            &self.to_json_in(target, zones)?,
            JsonStyle::default(),
        ))
    }

    /// The payload bytes as `ActiveSupport::JSON.encode(job.serialize)` writes them.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode_with(JsonStyle::default())
    }

    /// The payload bytes with an application's JSON escaping settings.
    pub fn encode_with(&self, style: JsonStyle) -> Result<Vec<u8>, EncodeError> {
        Ok(json::write(&self.to_json()?, style))
    }

    /// The payload bytes Rails `target` writes for this job (`rails_version` in `app.toml`):
    /// its envelope keys and argument forms, or an error naming what that version cannot read
    /// at all (a Range for 6.1, a continuation before 8.1).
    pub fn encode_for(&self, target: RailsVersion) -> Result<Vec<u8>, EncodeError> {
        self.encode_for_with(target, JsonStyle::default())
    }

    /// [`Self::encode_for`] with an application's JSON escaping settings.
    pub fn encode_for_with(
        &self,
        target: RailsVersion,
        style: JsonStyle,
    ) -> Result<Vec<u8>, EncodeError> {
        Ok(json::write(&self.to_json_for(target)?, style))
    }
}

/// Refuses a zone name Rails does not know, as `argument_zone` would (a zone looked up again is
/// found among those the thread looked up last: [`ZoneDatabase::lookup`]).
pub(crate) fn check_zone(name: &str, zones: &ZoneDatabase) -> Result<(), DecodeError> {
    if zones.has_zone(name) {
        Ok(())
    } else {
        Err(invalid_timezone(name))
    }
}

/// The envelope keys of a payload, as found (the last value of a repeated key).
struct Fields<N> {
    job_class: Option<N>,
    job_id: Option<N>,
    provider_job_id: Option<N>,
    queue_name: Option<N>,
    priority: Option<N>,
    arguments: Option<N>,
    executions: Option<N>,
    exception_executions: Option<N>,
    locale: Option<N>,
    timezone: Option<N>,
    enqueued_at: Option<N>,
    scheduled_at: Option<N>,
}

impl<N> Fields<N> {
    /// The values of [`FIELD_KEYS`], in that order.
    fn from_slots(slots: [Option<N>; 12]) -> Fields<N> {
        let [job_class, job_id, provider_job_id, queue_name, priority, arguments, executions, exception_executions, locale, timezone, enqueued_at, scheduled_at] =
            slots;
        Fields {
            job_class,
            job_id,
            provider_job_id,
            queue_name,
            priority,
            arguments,
            executions,
            exception_executions,
            locale,
            timezone,
            enqueued_at,
            scheduled_at,
        }
    }
}

impl<N> Default for Fields<N> {
    fn default() -> Self {
        Fields {
            job_class: None,
            job_id: None,
            provider_job_id: None,
            queue_name: None,
            priority: None,
            arguments: None,
            executions: None,
            exception_executions: None,
            locale: None,
            timezone: None,
            enqueued_at: None,
            scheduled_at: None,
        }
    }
}

fn decode_job_class<N: Node>(
    raw: Option<N>,
    options: &DecodeOptions,
) -> Result<String, DecodeError> {
    let name: String = match Kind::of(raw) {
        Kind::String(name) => name.into(),
        Kind::Null => {
            return Err(DecodeError::new(
                JsonPath::key("job_class"),
                DecodeErrorKind::MissingKey,
                "missing",
            ))
        }
        other => {
            return Err(DecodeError::shape(
                &JsonPath::key("job_class"),
                format!("expected a class name, found {}", other.type_name()),
            ))
        }
    };
    if !options.knows_job_class(&name) {
        return Err(DecodeError::new(
            JsonPath::key("job_class"),
            DecodeErrorKind::UnknownJobClass,
            format!("Failed to instantiate job, class `{name}` doesn't exist"),
        ));
    }
    Ok(name)
}

fn optional_string<N: Node>(raw: Option<N>, key: &str) -> Result<Option<String>, DecodeError> {
    match Kind::of(raw) {
        Kind::Null => Ok(None),
        Kind::String(s) => Ok(Some(s.into())),
        other => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

fn optional_integer<N: Node>(raw: Option<N>, key: &str) -> Result<Option<i64>, DecodeError> {
    match Kind::of(raw) {
        Kind::Null => Ok(None),
        Kind::Number(n) if n.as_i64().is_some() => Ok(n.as_i64()),
        other => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected an integer, found {}", other.type_name()),
        )),
    }
}

fn optional_object<N: Node>(
    raw: Option<N>,
    key: &str,
) -> Result<Option<Map<String, Json>>, DecodeError> {
    match Kind::of(raw) {
        Kind::Null => Ok(None),
        Kind::Object(object) => Ok(Some(object.into_json())),
        other => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected an object, found {}", other.type_name()),
        )),
    }
}

fn take_time<N: Node>(raw: Option<N>, key: &str) -> Result<Option<EnvelopeTime>, DecodeError> {
    match raw {
        None => Ok(None),
        Some(raw) => EnvelopeTime::decode(raw, key),
    }
}
