//! karafka-web's report contracts, ported rule by rule, plus the guards that keep a report from
//! breaking the user's dashboard.
//!
//! The rules are those of karafka-web's `Tracking::Consumers::Contracts::{Report,
//! ConsumerGroup, SubscriptionGroup, Topic, Partition, Job}` and `Tracking::Contracts::Error`
//! for each [`Schema`], checked on the JSON document as it is sent (so Ruby's `Integer` /
//! `Float` distinction is read from the number's text: `5` is an Integer, `5.0` a Float). The
//! Web UI's processing consumer does not validate what it receives, so a report that breaks a
//! rule can halt the processing of every process's reports; the reporter therefore sends
//! nothing that fails here.
//!
//! Beyond the contracts, [guards](Violation::rule) refuse what the contracts let through but the
//! Web UI cannot take: a `schema_version` other than the configured one, and times in
//! milliseconds where seconds are expected (a `dispatched_at` in milliseconds makes the
//! aggregator drop every other process).

use serde_json::{Map, Value};

use super::schema::Schema;

/// One rule a report breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as a dotted path from the top of the report (`process.cpus`,
    /// `consumer_groups.app.subscription_groups.app_0.topics.jobs.partitions.0.lag`,
    /// `jobs.0.updated_at`).
    pub path: String,
    /// The rule, as the contract states it (`"missing"` when the key is absent).
    pub rule: &'static str,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// The states of `Karafka::Status::STATES` (Karafka 2.5).
pub const PROCESS_STATES: [&str; 9] = [
    "initializing",
    "initialized",
    "supervising",
    "running",
    "quieting",
    "quiet",
    "stopping",
    "stopped",
    "terminated",
];

/// Epoch seconds beyond which a time is surely in milliseconds (year 5138).
const SECONDS_LIMIT: f64 = 1e11;

/// Checks a consumer report against every rule of `schema`'s contracts and the guards. Empty
/// means it may be sent.
pub fn check_report(schema: Schema, report: &Value) -> Vec<Violation> {
    let mut c = Checker::default();
    let Some(top) = c.object(report, "") else {
        return c.out;
    };
    c.fields(top, "", &report_rules());
    c.guard(
        top.get("schema_version").and_then(Value::as_str) == Some(schema.version())
            || top.get("schema_version").is_none(),
        "schema_version",
        "guard: must equal the configured karafka-web's schema_version",
    );
    c.seconds(top, "", "dispatched_at");
    if let Some(process) = c.nested(top, "", "process") {
        c.fields(process, "process", &process_rules(schema));
        c.seconds(process, "process", "started_at");
        if let Some(l) = c.nested(process, "process", "listeners") {
            c.fields(l, "process.listeners", &LISTENER_RULES);
        }
    }
    if let Some(v) = c.nested(top, "", "versions") {
        c.fields(v, "versions", &VERSION_RULES);
    }
    if let Some(stats) = c.nested(top, "", "stats") {
        c.fields(stats, "stats", &STATS_RULES);
        if let Some(t) = c.nested(stats, "stats", "total") {
            c.fields(t, "stats.total", &TOTAL_RULES);
        }
    }
    if let Some(Value::Object(groups)) = top.get("consumer_groups") {
        for (name, group) in groups {
            c.consumer_group(schema, group, &format!("consumer_groups.{name}"));
        }
    }
    if let Some(Value::Array(jobs)) = top.get("jobs") {
        for (i, job) in jobs.iter().enumerate() {
            let path = format!("jobs.{i}");
            if let Some(job) = c.object(job, &path) {
                c.fields(job, &path, &JOB_RULES);
                c.seconds(job, &path, "updated_at");
            }
        }
    }
    c.out
}

/// Checks an error report against `schema`'s error contract (`1.1.0`, or `1.2.0` with `id`).
pub fn check_error(schema: Schema, error: &Value) -> Vec<Violation> {
    let mut c = Checker::default();
    let Some(top) = c.object(error, "") else {
        return c.out;
    };
    c.fields(top, "", &ERROR_RULES);
    if schema.has_error_id() {
        c.fields(top, "", &[rule("id", non_empty_string, "non-empty String")]);
    }
    c.guard(
        top.get("schema_version").and_then(Value::as_str) == Some(schema.error_version())
            || top.get("schema_version").is_none(),
        "schema_version",
        "guard: must equal the error schema_version of the configured karafka-web",
    );
    c.seconds(top, "", "occurred_at");
    if let Some(process) = c.nested(top, "", "process") {
        c.fields(
            process,
            "process",
            &[rule("id", non_empty_string, "non-empty String")],
        );
        if let Some(tags) = process.get("tags") {
            c.check(tags, "process.tags", string_array, "Array of Strings");
        }
    }
    c.out
}

/// One `required(:key) { ... }` of a contract.
#[derive(Clone, Copy)]
struct Rule {
    key: &'static str,
    check: fn(&Value) -> bool,
    text: &'static str,
}

const fn rule(key: &'static str, check: fn(&Value) -> bool, text: &'static str) -> Rule {
    Rule { key, check, text }
}

#[derive(Default)]
struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn push(&mut self, path: String, rule: &'static str) {
        self.out.push(Violation { path, rule });
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            _ => {
                self.push(path.to_owned(), "must be a Hash");
                None
            }
        }
    }

    /// `nested(:key)`: the key must hold a hash; its own rules are checked by the caller.
    fn nested<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        at: &str,
        key: &str,
    ) -> Option<&'v Map<String, Value>> {
        let path = join(at, key);
        match obj.get(key) {
            None => {
                self.push(path, "missing");
                None
            }
            Some(v) => self.object(v, &path),
        }
    }

    fn check(&mut self, v: &Value, path: &str, check: fn(&Value) -> bool, text: &'static str) {
        if !check(v) {
            self.push(path.to_owned(), text);
        }
    }

    fn fields(&mut self, obj: &Map<String, Value>, at: &str, rules: &[Rule]) {
        for r in rules {
            let path = join(at, r.key);
            match obj.get(r.key) {
                None => self.push(path, "missing"),
                Some(v) => self.check(v, &path, r.check, r.text),
            }
        }
    }

    fn guard(&mut self, ok: bool, path: &str, text: &'static str) {
        if !ok {
            self.push(path.to_owned(), text);
        }
    }

    /// A time that must be epoch seconds, not milliseconds (checked only when numeric; the
    /// contract rule reports the rest).
    fn seconds(&mut self, obj: &Map<String, Value>, at: &str, key: &str) {
        if let Some(t) = obj.get(key).and_then(Value::as_f64) {
            if t >= SECONDS_LIMIT {
                self.push(join(at, key), "guard: epoch seconds, not milliseconds");
            }
        }
    }

    fn consumer_group(&mut self, schema: Schema, group: &Value, path: &str) {
        let Some(group) = self.object(group, path) else {
            return;
        };
        self.fields(group, path, &CONSUMER_GROUP_RULES);
        let Some(Value::Object(subscriptions)) = group.get("subscription_groups") else {
            return;
        };
        for (name, sg) in subscriptions {
            let sg_path = format!("{path}.subscription_groups.{name}");
            let Some(sg) = self.object(sg, &sg_path) else {
                continue;
            };
            self.fields(sg, &sg_path, &SUBSCRIPTION_GROUP_RULES);
            if schema.has_instance_id() {
                self.fields(
                    sg,
                    &sg_path,
                    &[rule("instance_id", false_or_string, "false or a String")],
                );
            }
            if let Some(state) = self.nested(sg, &sg_path, "state") {
                let state_path = format!("{sg_path}.state");
                self.fields(state, &state_path, &STATE_RULES);
                if schema.has_poll_interval() {
                    self.fields(
                        state,
                        &state_path,
                        &[rule("poll_interval", positive_int, "Integer > 0")],
                    );
                }
            }
            if let Some(Value::Object(topics)) = sg.get("topics") {
                for (name, topic) in topics {
                    self.topic(schema, topic, &format!("{sg_path}.topics.{name}"));
                }
            }
        }
    }

    fn topic(&mut self, schema: Schema, topic: &Value, path: &str) {
        let Some(topic) = self.object(topic, path) else {
            return;
        };
        self.fields(topic, path, &TOPIC_RULES);
        if schema.has_partitions_cnt() {
            self.fields(
                topic,
                path,
                &[rule("partitions_cnt", non_negative_int, "Integer >= 0")],
            );
        }
        if let Some(Value::Object(partitions)) = topic.get("partitions") {
            for (id, partition) in partitions {
                let p_path = format!("{path}.partitions.{id}");
                if let Some(partition) = self.object(partition, &p_path) {
                    self.fields(partition, &p_path, &PARTITION_RULES);
                }
            }
        }
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

// Ruby's types, read from the JSON text.

/// A JSON number written without a fraction or exponent: Ruby's JSON parses it as an Integer.
fn is_int(v: &Value) -> bool {
    match v {
        Value::Number(n) => !n.to_string().contains(['.', 'e', 'E']),
        _ => false,
    }
}

/// A JSON number with a fraction or exponent: a Ruby Float.
fn is_float(v: &Value) -> bool {
    matches!(v, Value::Number(_)) && !is_int(v)
}

fn int_value(v: &Value) -> Option<i128> {
    if is_int(v) {
        v.as_number()?.to_string().parse().ok()
    } else {
        None
    }
}

fn any_int(v: &Value) -> bool {
    is_int(v)
}
fn non_negative_int(v: &Value) -> bool {
    int_value(v).is_some_and(|i| i >= 0)
}
fn positive_int(v: &Value) -> bool {
    int_value(v).is_some_and(|i| i > 0)
}
fn at_least_one_int(v: &Value) -> bool {
    int_value(v).is_some_and(|i| i >= 1)
}
fn offset_or_na(v: &Value) -> bool {
    int_value(v).is_some_and(|i| i >= 0 || i == -1001)
}
fn lag_or_workless(v: &Value) -> bool {
    int_value(v).is_some_and(|i| i >= 0 || i == -1)
}
fn positive_number(v: &Value) -> bool {
    v.as_f64().is_some_and(|f| f > 0.0)
}
fn non_negative_number(v: &Value) -> bool {
    v.as_f64().is_some_and(|f| f >= 0.0)
}
fn non_negative_float(v: &Value) -> bool {
    is_float(v) && non_negative_number(v)
}
fn any_float(v: &Value) -> bool {
    is_float(v)
}
fn any_string(v: &Value) -> bool {
    v.is_string()
}
fn non_empty_string(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}
fn any_bool(v: &Value) -> bool {
    v.is_boolean()
}
fn any_hash(v: &Value) -> bool {
    v.is_object()
}
fn any_array(v: &Value) -> bool {
    v.is_array()
}
fn false_or_string(v: &Value) -> bool {
    matches!(v, Value::Bool(false) | Value::String(_))
}
/// `Karafka::Core::Taggable::Tags` as it goes over the wire.
fn string_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}
fn consumer_type(v: &Value) -> bool {
    v == "consumer"
}
fn process_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.matches(':').count() >= 2)
}
fn process_state(v: &Value) -> bool {
    v.as_str().is_some_and(|s| PROCESS_STATES.contains(&s))
}
fn load_averages(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.len() == 3 && a.iter().all(|x| x.as_f64().is_some_and(|f| f >= -1.0)))
}
fn job_type(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| ["consume", "revoked", "shutdown", "tick", "eofed"].contains(&s))
}
fn job_status(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s == "running" || s == "pending")
}

fn report_rules() -> [Rule; 5] {
    [
        rule("schema_version", non_empty_string, "non-empty String"),
        rule("dispatched_at", positive_number, "Numeric > 0"),
        rule("type", consumer_type, "must be \"consumer\""),
        rule("consumer_groups", any_hash, "Hash"),
        rule("jobs", any_array, "Array"),
    ]
}

fn process_rules(schema: Schema) -> Vec<Rule> {
    let workers = if schema >= Schema::V1_7_0 {
        rule("workers", non_negative_int, "Integer >= 0")
    } else {
        rule("workers", positive_int, "Integer > 0")
    };
    vec![
        rule("started_at", positive_number, "Numeric > 0"),
        rule("id", process_id, "String with at least two ':'"),
        rule("cpus", at_least_one_int, "Integer >= 1"),
        rule("memory_usage", non_negative_int, "Integer >= 0"),
        rule("memory_total_usage", non_negative_int, "Integer >= 0"),
        rule("memory_size", non_negative_int, "Integer >= 0"),
        rule("status", process_state, "one of Karafka::Status::STATES"),
        rule("threads", non_negative_int, "Integer >= 0"),
        workers,
        rule("tags", string_array, "Array of Strings"),
        rule("execution_mode", non_empty_string, "non-empty String"),
        rule(
            "cpu_usage",
            load_averages,
            "Array of 3 Numerics, each >= -1",
        ),
    ]
}

const LISTENER_RULES: [Rule; 2] = [
    rule("active", non_negative_int, "Integer >= 0"),
    rule("standby", non_negative_int, "Integer >= 0"),
];

const VERSION_RULES: [Rule; 7] = [
    rule("ruby", non_empty_string, "non-empty String"),
    rule("karafka", non_empty_string, "non-empty String"),
    rule("karafka_core", non_empty_string, "non-empty String"),
    rule("karafka_web", non_empty_string, "non-empty String"),
    rule("waterdrop", non_empty_string, "non-empty String"),
    rule("rdkafka", non_empty_string, "non-empty String"),
    rule("librdkafka", non_empty_string, "non-empty String"),
];

const STATS_RULES: [Rule; 4] = [
    rule("busy", non_negative_int, "Integer >= 0"),
    rule("enqueued", non_negative_int, "Integer >= 0"),
    rule("waiting", non_negative_int, "Integer >= 0"),
    rule("utilization", non_negative_number, "Numeric >= 0"),
];

const TOTAL_RULES: [Rule; 6] = [
    rule("jobs", non_negative_int, "Integer >= 0"),
    rule("batches", non_negative_int, "Integer >= 0"),
    rule("messages", non_negative_int, "Integer >= 0"),
    rule("errors", non_negative_int, "Integer >= 0"),
    rule("retries", non_negative_int, "Integer >= 0"),
    rule("dead", non_negative_int, "Integer >= 0"),
];

const CONSUMER_GROUP_RULES: [Rule; 2] = [
    rule("id", non_empty_string, "non-empty String"),
    rule("subscription_groups", any_hash, "Hash"),
];

const SUBSCRIPTION_GROUP_RULES: [Rule; 2] = [
    rule("id", non_empty_string, "non-empty String"),
    rule("topics", any_hash, "Hash"),
];

const STATE_RULES: [Rule; 7] = [
    rule("state", non_empty_string, "non-empty String"),
    rule("join_state", non_empty_string, "non-empty String"),
    rule("stateage", non_negative_int, "Integer >= 0"),
    rule("rebalance_age", non_negative_int, "Integer >= 0"),
    rule("rebalance_cnt", non_negative_int, "Integer >= 0"),
    rule("rebalance_reason", any_string, "String"),
    rule("poll_age", non_negative_number, "Numeric >= 0"),
];

const TOPIC_RULES: [Rule; 2] = [
    rule("name", non_empty_string, "non-empty String"),
    rule("partitions", any_hash, "Hash"),
];

const PARTITION_RULES: [Rule; 20] = [
    rule("id", non_negative_int, "Integer >= 0"),
    rule("lag", any_int, "Integer"),
    rule("lag_d", any_int, "Integer"),
    rule("lag_stored", any_int, "Integer"),
    rule("lag_stored_d", any_int, "Integer"),
    rule("committed_offset", any_int, "Integer"),
    rule("committed_offset_fd", non_negative_int, "Integer >= 0"),
    rule("stored_offset", any_int, "Integer"),
    rule("stored_offset_fd", non_negative_int, "Integer >= 0"),
    rule("fetch_state", non_empty_string, "non-empty String"),
    rule("poll_state", non_empty_string, "non-empty String"),
    rule("poll_state_ch", non_negative_int, "Integer >= 0"),
    rule("hi_offset", any_int, "Integer"),
    rule("hi_offset_fd", non_negative_int, "Integer >= 0"),
    rule("lo_offset", any_int, "Integer"),
    rule("eof_offset", any_int, "Integer"),
    rule("ls_offset", any_int, "Integer"),
    rule("ls_offset_d", any_int, "Integer"),
    rule("ls_offset_fd", non_negative_int, "Integer >= 0"),
    rule("transactional", any_bool, "true or false"),
];

const JOB_RULES: [Rule; 14] = [
    rule("consumer", any_string, "String"),
    rule("consumer_group", any_string, "String"),
    rule("updated_at", non_negative_float, "Float >= 0"),
    rule("topic", any_string, "String"),
    rule("partition", non_negative_int, "Integer >= 0"),
    rule("first_offset", offset_or_na, "Integer >= 0 or -1001"),
    rule("last_offset", offset_or_na, "Integer >= 0 or -1001"),
    rule("committed_offset", any_int, "Integer"),
    rule("messages", non_negative_int, "Integer >= 0"),
    rule(
        "type",
        job_type,
        "one of consume, revoked, shutdown, tick, eofed",
    ),
    rule("tags", string_array, "Array of Strings"),
    rule("consumption_lag", lag_or_workless, "Integer >= 0 or -1"),
    rule("processing_lag", lag_or_workless, "Integer >= 0 or -1"),
    rule("status", job_status, "running or pending"),
];

const ERROR_RULES: [Rule; 7] = [
    rule("schema_version", any_string, "String"),
    rule("type", non_empty_string, "non-empty String"),
    rule("error_class", non_empty_string, "non-empty String"),
    rule("error_message", any_string, "String"),
    rule("backtrace", any_string, "String"),
    rule("details", any_hash, "Hash"),
    rule("occurred_at", any_float, "Float"),
];

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
