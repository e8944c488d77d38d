//! The job envelope: the top-level keys of `job.serialize`, read and written the Rails 8.1 way.

use crate::arguments::{decode_arguments, encode_arguments, DecodeContext, Value};
use crate::continuation::Continuation;
use crate::error::{json_type_name, DecodeError, DecodeErrorKind, EncodeError, JsonPath};
use crate::json::{self, JsonStyle};
use crate::options::DecodeOptions;
use crate::ruby::time::{self, RubyTime};
use crate::ruby::time_zone::{self, RailsZone};
use chrono::Utc;
use serde_json::{Map, Value as Json};

/// The keys Rails writes, in the order it writes them. Anything else is kept in [`Job::extra`].
const ENVELOPE_KEYS: [&str; 14] = [
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
    "continuation",
    "resumptions",
];

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

    fn decode(raw: Json, path: &JsonPath) -> Result<Option<EnvelopeTime>, DecodeError> {
        match raw {
            Json::Null => Ok(None),
            Json::String(text) => match time::parse_xmlschema(&text) {
                Ok(time) => Ok(Some(EnvelopeTime {
                    time,
                    source: Some(text),
                })),
                Err(_) => Err(DecodeError::invalid(
                    path,
                    format!("invalid xmlschema format: {text:?}"),
                )),
            },
            // Rails 7.1+ raises TypeError for the pre-7.1 epoch-float form.
            other => Err(DecodeError::shape(
                path,
                format!(
                    "expected an ISO 8601 string, found {}",
                    json_type_name(&other)
                ),
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

    /// Decodes payload bytes with the application's options.
    pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Job, DecodeError> {
        let raw = json::parse(bytes, options.max_payload_bytes)?;
        Job::from_json(raw, options)
    }

    /// Decodes an already parsed JSON payload.
    pub fn from_json(raw: Json, options: &DecodeOptions) -> Result<Job, DecodeError> {
        let mut map = match raw {
            Json::Object(map) => map,
            other => {
                return Err(DecodeError::shape(
                    &JsonPath::root(),
                    format!(
                        "a job payload is a JSON object, found {}",
                        json_type_name(&other)
                    ),
                ))
            }
        };
        let job_class = decode_job_class(map.shift_remove("job_class"), options)?;
        let scheduled_at_key = map.contains_key("scheduled_at");
        let mut job = Job {
            job_id: optional_string(&mut map, "job_id")?,
            provider_job_id: optional_string(&mut map, "provider_job_id")?,
            queue_name: optional_string(&mut map, "queue_name")?,
            priority: optional_integer(&mut map, "priority")?,
            arguments: Vec::new(),
            executions: optional_integer(&mut map, "executions")?,
            exception_executions: optional_object(&mut map, "exception_executions")?,
            locale: optional_string(&mut map, "locale")?,
            timezone: optional_string(&mut map, "timezone")?,
            enqueued_at: take_time(&mut map, "enqueued_at")?,
            scheduled_at: take_time(&mut map, "scheduled_at")?,
            continuation: None,
            resumptions: None,
            extra: Map::new(),
            scheduled_at_key,
            job_class,
        };
        job.decode_continuation(&mut map, options)?;
        let raw_arguments = map.shift_remove("arguments");
        job.extra = map;
        if let Some(raw) = raw_arguments {
            let zone = job.argument_zone(options)?;
            let ctx = DecodeContext {
                zone: &zone,
                serializers: &options.serializers,
            };
            job.arguments = decode_arguments(raw, &ctx, &JsonPath::key("arguments"))?;
        }
        Ok(job)
    }

    /// Rails 8.1 reads arguments inside `Time.use_zone(job.timezone)`: a TimeWithZone written
    /// without `time_zone` lands in the job's zone, or the worker's when the job has none.
    pub fn argument_zone(&self, options: &DecodeOptions) -> Result<RailsZone, DecodeError> {
        let name = self.effective_timezone(options);
        time_zone::lookup(&name).ok_or_else(|| {
            DecodeError::invalid(
                &JsonPath::key("timezone"),
                format!("Invalid Timezone: {name}"),
            )
        })
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
        self.resumptions = Some(optional_integer(map, "resumptions")?.unwrap_or(0));
        Ok(())
    }

    /// The payload as an ordered JSON tree, keys in Rails 8.1's order, unknown keys last.
    pub fn to_json(&self) -> Result<Json, EncodeError> {
        let mut map = Map::with_capacity(ENVELOPE_KEYS.len() + self.extra.len());
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
            encode_arguments(&self.arguments, &JsonPath::key("arguments"))?,
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
        map.insert("enqueued_at".into(), at(&self.enqueued_at));
        if self.scheduled_at_key || self.scheduled_at.is_some() {
            map.insert("scheduled_at".into(), at(&self.scheduled_at));
        }
        if let Some(continuation) = &self.continuation {
            map.insert("continuation".into(), continuation.to_json());
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
        Ok(Json::Object(map))
    }

    /// The payload bytes as `ActiveSupport::JSON.encode(job.serialize)` writes them.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode_with(JsonStyle::default())
    }

    /// The payload bytes with an application's JSON escaping settings.
    pub fn encode_with(&self, style: JsonStyle) -> Result<Vec<u8>, EncodeError> {
        Ok(json::write(&self.to_json()?, style))
    }
}

fn decode_job_class(raw: Option<Json>, options: &DecodeOptions) -> Result<String, DecodeError> {
    let path = JsonPath::key("job_class");
    let name = match raw {
        Some(Json::String(name)) => name,
        None | Some(Json::Null) => {
            return Err(DecodeError::new(
                path,
                DecodeErrorKind::MissingKey,
                "missing",
            ))
        }
        Some(other) => {
            return Err(DecodeError::shape(
                &path,
                format!("expected a class name, found {}", json_type_name(&other)),
            ))
        }
    };
    if !options.knows_job_class(&name) {
        return Err(DecodeError::new(
            path,
            DecodeErrorKind::UnknownJobClass,
            format!("Failed to instantiate job, class `{name}` doesn't exist"),
        ));
    }
    Ok(name)
}

fn optional_string(map: &mut Map<String, Json>, key: &str) -> Result<Option<String>, DecodeError> {
    match map.shift_remove(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected a string, found {}", json_type_name(&other)),
        )),
    }
}

fn optional_integer(map: &mut Map<String, Json>, key: &str) -> Result<Option<i64>, DecodeError> {
    match map.shift_remove(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) if n.as_i64().is_some() && crate::error::is_integer_literal(&n) => {
            Ok(n.as_i64())
        }
        Some(other) => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected an integer, found {}", json_type_name(&other)),
        )),
    }
}

fn optional_object(
    map: &mut Map<String, Json>,
    key: &str,
) -> Result<Option<Map<String, Json>>, DecodeError> {
    match map.shift_remove(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(obj)) => Ok(Some(obj)),
        Some(other) => Err(DecodeError::shape(
            &JsonPath::key(key),
            format!("expected an object, found {}", json_type_name(&other)),
        )),
    }
}

fn take_time(map: &mut Map<String, Json>, key: &str) -> Result<Option<EnvelopeTime>, DecodeError> {
    match map.shift_remove(key) {
        None => Ok(None),
        Some(raw) => EnvelopeTime::decode(raw, &JsonPath::key(key)),
    }
}
