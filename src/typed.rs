//! The typed dump (SPEC §2): a job in the typed notation of `fixtures/README.md`.
//!
//! It states what a Rails 8.1 worker holds after decoding a payload, type by type, so Rust's
//! reading can be compared with Ruby's as plain JSON. Integers are decimal strings (no precision
//! lost), Floats carry Ruby's `repr`, times carry nine fraction digits and their offset.

use crate::arguments::GlobalId;
use crate::arguments::{CustomObject, Hash, HashKey, HashKind, Value};
use crate::continuation::Continuation;
use crate::envelope::{EnvelopeTime, Job};
use crate::json::number;
use crate::options::DecodeOptions;
use crate::ruby::constant::{core_constant, CoreConstant};
use crate::ruby::time_zone::{ZoneDatabase, ZoneSource};
use crate::ruby::{float::float_to_s, time, time_zone, Numeric};
use serde_json::{json, Map, Value as Json};

/// Where a tz database comes from, for `decode --typed --verbose`: `{"source": "directory",
/// "path": .., "version": ..}` or `{"source": "bundled", "version": ..}` (the fallback used
/// when the host has no zoneinfo, whose offsets may differ from the Ruby workers').
pub fn tz_database(zones: &ZoneDatabase) -> Json {
    match zones.source() {
        ZoneSource::Directory { path, version } => json!({
            "source": "directory",
            "path": path.display().to_string(),
            "version": version,
            "rule_horizon_year": zones.rule_horizon_year(),
        }),
        ZoneSource::Bundled { version } => json!({
            "source": "bundled",
            "version": version,
            "rule_horizon_year": zones.rule_horizon_year(),
        }),
    }
}

/// The typed dump of a decoded job, keyed as `rails81_decoded.json` entries are.
pub fn typed_dump(job: &Job, options: &DecodeOptions) -> Json {
    let mut out = Map::new();
    out.insert("job_class".into(), json!(job.job_class));
    out.insert("job_id".into(), json!(job.job_id));
    out.insert("provider_job_id".into(), json!(job.provider_job_id));
    out.insert("queue_name".into(), json!(job.queue_name));
    out.insert("priority".into(), json!(job.priority));
    out.insert("executions".into(), json!(job.executions));
    out.insert(
        "exception_executions".into(),
        job.exception_executions
            .clone()
            .map_or(Json::Null, Json::Object),
    );
    out.insert("locale".into(), json!(job.effective_locale(options)));
    out.insert("timezone".into(), json!(job.effective_timezone(options)));
    out.insert("enqueued_at".into(), envelope_time(&job.enqueued_at));
    out.insert("scheduled_at".into(), envelope_time(&job.scheduled_at));
    out.insert(
        "arguments".into(),
        Json::Array(job.arguments.iter().map(|v| describe(v, options)).collect()),
    );
    if let Some(continuation) = &job.continuation {
        out.insert("resumptions".into(), json!(job.resumptions.unwrap_or(0)));
        out.insert("continuation".into(), describe_continuation(continuation));
    }
    if let Some(keys) = options.job_attributes.get(&job.job_class) {
        for key in keys {
            let value = job.extra.get(key).cloned().unwrap_or(Json::Null);
            out.insert(key.clone(), value);
        }
    }
    Json::Object(out)
}

fn envelope_time(t: &Option<EnvelopeTime>) -> Json {
    match t {
        Some(t) => json!({"class": "Time", "iso8601": time::format_iso8601_9(&t.time)}),
        None => Json::Null,
    }
}

fn describe_continuation(c: &Continuation) -> Json {
    json!({
        "completed": c.completed,
        "current_step": c.current.as_ref().map(|s| s.name.clone()),
        // Rails 8.1 hands the step the cursor as plain decoded JSON.
        "cursor": c.current.as_ref().map(|s| describe_json(&s.cursor)),
        "started": c.is_started(),
    })
}

/// The typed notation of one argument value.
pub fn describe(value: &Value, options: &DecodeOptions) -> Json {
    match value {
        Value::Nil => json!({"type": "nil"}),
        Value::Bool(b) => json!({"type": "bool", "value": b}),
        Value::Integer(i) => json!({"type": "Integer", "value": i.to_string()}),
        Value::Float(f) => describe_float(*f),
        Value::String(s) => json!({"type": "String", "value": s}),
        Value::Symbol(s) => json!({"type": "Symbol", "value": s}),
        Value::Array(items) => json!({
            "type": "Array",
            "items": items.iter().map(|v| describe(v, options)).collect::<Vec<_>>(),
        }),
        Value::Hash(hash) => describe_hash(hash, options),
        Value::GlobalId(gid) => {
            let app = options.globalid_app.as_deref().unwrap_or(&gid.app);
            json!({
                "type": "GlobalID::Identification",
                "class": gid.model_name,
                "id": gid.model_id.to_string(),
                // A located record's own `to_global_id`: the payload's params are not in it.
                "gid": GlobalId { params: None, ..gid.clone() }.uri_in_app(app),
            })
        }
        Value::Date(d) => json!({"type": "Date", "iso8601": time::format_date(*d)}),
        Value::Time(t) => json!({
            "type": "Time",
            "iso8601": time::format_iso8601_9(t),
            "utc_offset": t.instant.offset().local_minus_utc(),
            "utc": t.utc,
        }),
        Value::DateTime(dt) => {
            json!({"type": "DateTime", "iso8601": time::format_datetime_iso8601_9(dt)})
        }
        Value::TimeWithZone(twz) => json!({
            "type": "ActiveSupport::TimeWithZone",
            "iso8601": time_zone::format_in_zone(twz.instant, &twz.zone),
            "time_zone_name": twz.zone.name(),
            "tzinfo": twz.zone.tzinfo_name(),
        }),
        Value::Duration(d) => json!({
            "type": "ActiveSupport::Duration",
            "value": numeric(&d.value),
            "seconds": d.to_integer().map(|i| Json::Number(number(&i.to_string()))),
            "parts": d.parts.iter().map(|(unit, n)| json!([unit, numeric(n)])).collect::<Vec<_>>(),
            "inspect": d.inspect(),
        }),
        Value::BigDecimal(s) => json!({"type": "BigDecimal", "value": s}),
        Value::Module(name) => {
            // `constantize` hands the job the constant's value, which for these is a number.
            match core_constant(name) {
                Some(CoreConstant::Float(f)) => return describe_float(f),
                Some(CoreConstant::Integer(i)) => {
                    return json!({"type": "Integer", "value": i.to_string()})
                }
                None => {}
            }
            let kind = if options.serializers.is_module(name) {
                "Module"
            } else {
                "Class"
            };
            json!({"type": kind, "name": name})
        }
        Value::Range(r) => json!({
            "type": "Range",
            "begin": describe(&r.begin, options),
            "end": describe(&r.end, options),
            "exclude_end": r.exclude_end,
        }),
        Value::Custom(custom) => describe_custom(custom),
    }
}

fn describe_float(f: f64) -> Json {
    let repr = float_to_s(f);
    let value = if f.is_finite() {
        Json::Number(number(&repr))
    } else {
        Json::String(repr.clone())
    };
    json!({"type": "Float", "value": value, "repr": repr})
}

fn numeric(n: &Numeric) -> Json {
    match n {
        Numeric::Integer(i) => Json::Number(number(&i.to_string())),
        Numeric::Float(f) if f.is_finite() => Json::Number(number(&float_to_s(*f))),
        Numeric::Float(f) => Json::String(float_to_s(*f)),
    }
}

fn describe_hash(hash: &Hash, options: &DecodeOptions) -> Json {
    let entries: Vec<Json> = hash
        .entries
        .iter()
        .map(|(k, v)| json!([describe_key(k), describe(v, options)]))
        .collect();
    match hash.kind {
        HashKind::Indifferent => json!({"type": "HashWithIndifferentAccess", "entries": entries}),
        kind => json!({
            "type": "Hash",
            "ruby2_keywords": kind == HashKind::Keywords,
            "entries": entries,
        }),
    }
}

fn describe_key(key: &HashKey) -> Json {
    match key {
        HashKey::String(s) => json!({"type": "String", "value": s}),
        HashKey::Symbol(s) => json!({"type": "Symbol", "value": s}),
    }
}

fn describe_custom(custom: &CustomObject) -> Json {
    match &custom.ruby_class {
        Some(class) => {
            let mut out = Map::new();
            out.insert("type".into(), json!(class));
            for (k, v) in &custom.fields {
                out.insert(k.clone(), v.clone());
            }
            Json::Object(out)
        }
        None => json!({
            "type": "opaque",
            "serializer": custom.serializer,
            "object": Json::Object(custom.fields.clone()),
        }),
    }
}

/// The typed notation of plain JSON as `ActiveSupport::JSON.decode` gives it to Ruby (Hashes
/// with String keys, no ActiveJob markers): how Rails 8.1 hands a continuation cursor back.
pub fn describe_json(raw: &Json) -> Json {
    match raw {
        Json::Null => json!({"type": "nil"}),
        Json::Bool(b) => json!({"type": "bool", "value": b}),
        Json::Number(n) if crate::error::is_integer_literal(n) => {
            json!({"type": "Integer", "value": n.as_str()})
        }
        Json::Number(n) => describe_float(n.as_str().parse().unwrap_or(f64::NAN)),
        Json::String(s) => json!({"type": "String", "value": s}),
        Json::Array(items) => json!({
            "type": "Array",
            "items": items.iter().map(describe_json).collect::<Vec<_>>(),
        }),
        Json::Object(map) => json!({
            "type": "Hash",
            "ruby2_keywords": false,
            "entries": map
                .iter()
                .map(|(k, v)| json!([{"type": "String", "value": k}, describe_json(v)]))
                .collect::<Vec<_>>(),
        }),
    }
}

/// Compares two typed dumps as SPEC §2 defines equality: equal JSON values with Integer and Float
/// kept apart, however a number is spelled (`1e+20` equals `1.0e+20`, `1` differs from `1.0`).
///
/// On a difference, returns the first differing path with both sides.
pub fn compare(left: &Json, right: &Json) -> Result<(), String> {
    compare_at(left, right, "$")
}

fn compare_at(left: &Json, right: &Json, path: &str) -> Result<(), String> {
    match (left, right) {
        (Json::Number(a), Json::Number(b)) => {
            let int = crate::error::is_integer_literal;
            let same = match (int(a), int(b)) {
                (true, true) => {
                    crate::ruby::Integer::parse(a.as_str())
                        == crate::ruby::Integer::parse(b.as_str())
                }
                (false, false) => {
                    let (x, y) = (a.as_str().parse::<f64>(), b.as_str().parse::<f64>());
                    matches!((x, y), (Ok(x), Ok(y)) if x.to_bits() == y.to_bits())
                }
                _ => false,
            };
            same.then_some(())
                .ok_or_else(|| format!("{path}: {a} vs {b}"))
        }
        (Json::Array(a), Json::Array(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: {} items vs {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .try_for_each(|(i, (x, y))| compare_at(x, y, &format!("{path}[{i}]")))
        }
        (Json::Object(a), Json::Object(b)) => {
            let (keys_a, keys_b): (Vec<&String>, Vec<&String>) =
                (a.keys().collect(), b.keys().collect());
            let mut sorted_a = keys_a.clone();
            let mut sorted_b = keys_b.clone();
            sorted_a.sort();
            sorted_b.sort();
            if sorted_a != sorted_b {
                return Err(format!("{path}: keys {keys_a:?} vs {keys_b:?}"));
            }
            a.iter()
                .try_for_each(|(k, v)| compare_at(v, &b[k], &format!("{path}.{k}")))
        }
        _ if left == right => Ok(()),
        _ => Err(format!("{path}: {left} vs {right}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn compare_keeps_integers_and_floats_apart() {
        assert!(compare(
            &j("[1e+20, -0.0, 18446744073709551616]"),
            &j("[1.0e+20, -0.0, 18446744073709551616]")
        )
        .is_ok());
        assert!(compare(&j("1"), &j("1.0")).is_err());
        assert!(compare(&j("0.0"), &j("-0.0")).is_err());
        assert_eq!(
            compare(&j(r#"{"a":[1,{"b":2}]}"#), &j(r#"{"a":[1,{"b":3}]}"#)).unwrap_err(),
            "$.a[1].b: 2 vs 3"
        );
    }
}
