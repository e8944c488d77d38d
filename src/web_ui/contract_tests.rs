//! Each rule of the ported contracts, one at a time: a valid report passes; breaking one field
//! (a wrong type or value, or taking it away) gives exactly that field's violation.

use serde_json::{json, Value};

use super::*;
use crate::web_ui::schema::SUPPORTED;

const SG: &str = "consumer_groups.app.subscription_groups.app_0";
const PT: &str = "consumer_groups.app.subscription_groups.app_0.topics.jobs.partitions.0";

/// A report that every rule of `schema` accepts (the shape of karafka-web's own fixtures).
fn valid_report(schema: Schema) -> Value {
    let mut state = json!({
        "state": "up", "join_state": "steady", "stateage": 9000, "rebalance_age": 9000,
        "rebalance_cnt": 1, "rebalance_reason": "", "poll_age": 12.5
    });
    let mut sg = json!({ "id": "app_0", "topics": {} });
    let mut topic = json!({ "name": "jobs", "partitions": { "0": {
        "id": 0, "lag": 0, "lag_d": 0, "lag_stored": 0, "lag_stored_d": 0,
        "committed_offset": 10, "committed_offset_fd": 0, "stored_offset": 10,
        "stored_offset_fd": 0, "fetch_state": "active", "poll_state": "active",
        "poll_state_ch": 0, "hi_offset": 11, "hi_offset_fd": 0, "lo_offset": 0,
        "eof_offset": 11, "ls_offset": 11, "ls_offset_d": 0, "ls_offset_fd": 0,
        "transactional": false
    } } });
    if schema.has_partitions_cnt() {
        topic["partitions_cnt"] = json!(1);
    }
    if schema.has_instance_id() {
        sg["instance_id"] = json!(false);
    }
    if schema.has_poll_interval() {
        state["poll_interval"] = json!(300000);
    }
    sg["state"] = state;
    sg["topics"]["jobs"] = topic;
    json!({
        "schema_version": schema.version(),
        "type": "consumer",
        "dispatched_at": 1796605136.837,
        "process": {
            "id": "host:4242:abcdef", "started_at": 1796605100.5, "status": "running",
            "execution_mode": "standalone", "listeners": { "active": 1, "standby": 0 },
            "workers": 5, "memory_usage": 20480, "memory_total_usage": 20480,
            "memory_size": 24731400, "cpus": 2, "threads": 8, "cpu_usage": [0.5, 0.4, 0.3],
            "tags": ["rust"], "bytes_received": 0, "bytes_sent": 0
        },
        "versions": {
            "ruby": "none", "karafka": "2.5.0", "karafka_core": "2.5.2",
            "karafka_web": "0.11.2", "waterdrop": "2.8.4", "rdkafka": "0.39",
            "librdkafka": "2.12.1"
        },
        "stats": {
            "busy": 1, "enqueued": 0, "waiting": 0, "utilization": 20.0,
            "total": { "jobs": 10, "batches": 10, "messages": 10, "errors": 0, "retries": 0,
                       "dead": 0 }
        },
        "consumer_groups": { "app": { "id": "app", "subscription_groups": { "app_0": sg } } },
        "jobs": [{
            "consumer": "ActiveJobKarafka::Consumer", "consumer_group": "app",
            "updated_at": 1796605134.5, "topic": "jobs", "partition": 0, "first_offset": 10,
            "last_offset": 10, "committed_offset": 9, "messages": 1, "type": "consume",
            "tags": ["active_job", "ImportJob"], "consumption_lag": 5, "processing_lag": 0,
            "status": "running"
        }]
    })
}

fn valid_error(schema: Schema) -> Value {
    let mut e = json!({
        "schema_version": schema.error_version(),
        "type": "consumer.consume.error",
        "error_class": "ImportJob::Failed",
        "error_message": "boom",
        "backtrace": "",
        "details": { "topic": "jobs", "partition": 0 },
        "occurred_at": 1796605134.25,
        "process": { "id": "host:4242:abcdef", "tags": ["rust"] }
    });
    if schema.has_error_id() {
        e["id"] = json!("0b6c3f6e-5b0e-4c55-8f3a-8f7cbb0a3a51");
    }
    e
}

/// The value at a dotted path, for changing it.
fn at<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('.').fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => &mut v[k],
    })
}

fn remove(v: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let parent = if parent.is_empty() { v } else { at(v, parent) };
    parent.as_object_mut().unwrap().remove(key).expect(path);
}

fn paths(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.path.as_str()).collect()
}

#[test]
fn the_valid_fixtures_pass_every_schema() {
    for schema in SUPPORTED {
        assert_eq!(
            check_report(schema, &valid_report(schema)),
            vec![],
            "{schema}"
        );
        assert_eq!(
            check_error(schema, &valid_error(schema)),
            vec![],
            "{schema}"
        );
    }
}

/// (field, a value its rule refuses). Every required field of every contract is here.
fn broken_values(schema: Schema) -> Vec<(String, Value)> {
    let mut cases: Vec<(String, Value)> = vec![
        ("schema_version", json!("")),
        ("dispatched_at", json!(0)),
        ("type", json!("producer")),
        ("consumer_groups", json!([])),
        ("jobs", json!({})),
        ("process", json!([])),
        ("process.started_at", json!(-1.5)),
        ("process.id", json!("host-4242")),
        ("process.cpus", json!(0)),
        ("process.memory_usage", json!(-1)),
        ("process.memory_total_usage", json!(1.5)),
        ("process.memory_size", json!("1")),
        ("process.status", json!("sleeping")),
        ("process.threads", json!(-3)),
        ("process.workers", json!(-1)),
        ("process.tags", json!([1])),
        ("process.execution_mode", json!("")),
        ("process.listeners", json!(1)),
        ("process.listeners.active", json!(-1)),
        ("process.listeners.standby", json!(0.5)),
        ("process.cpu_usage", json!([0.5, 0.4])),
        ("versions", json!("x")),
        ("versions.ruby", json!("")),
        ("versions.karafka", json!(2)),
        ("versions.karafka_core", json!(null)),
        ("versions.karafka_web", json!("")),
        ("versions.waterdrop", json!("")),
        ("versions.rdkafka", json!("")),
        ("versions.librdkafka", json!("")),
        ("stats", json!(null)),
        ("stats.busy", json!(-1)),
        ("stats.enqueued", json!(1.0)),
        ("stats.waiting", json!(-2)),
        ("stats.utilization", json!(-0.5)),
        ("stats.total", json!(3)),
        ("stats.total.jobs", json!(-1)),
        ("stats.total.batches", json!(2.5)),
        ("stats.total.messages", json!("3")),
        ("stats.total.errors", json!(-1)),
        ("stats.total.retries", json!(-1)),
        ("stats.total.dead", json!(-1)),
        ("consumer_groups.app.id", json!("")),
        ("consumer_groups.app.subscription_groups", json!([])),
        ("jobs.0.consumer", json!(1)),
        ("jobs.0.consumer_group", json!(null)),
        ("jobs.0.updated_at", json!(1796605134)),
        ("jobs.0.topic", json!(false)),
        ("jobs.0.partition", json!(-1)),
        ("jobs.0.first_offset", json!(-2)),
        ("jobs.0.last_offset", json!(-1)),
        ("jobs.0.committed_offset", json!(9.0)),
        ("jobs.0.messages", json!(-1)),
        ("jobs.0.type", json!("work")),
        ("jobs.0.tags", json!("active_job")),
        ("jobs.0.consumption_lag", json!(-2)),
        ("jobs.0.processing_lag", json!(1.5)),
        ("jobs.0.status", json!("done")),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_owned(), v))
    .collect();
    let sg = [
        ("id", json!("")),
        ("topics", json!([])),
        ("state", json!("up")),
        ("state.state", json!("")),
        ("state.join_state", json!("")),
        ("state.stateage", json!(-1)),
        ("state.rebalance_age", json!(1.5)),
        ("state.rebalance_cnt", json!(-1)),
        ("state.rebalance_reason", json!(null)),
        ("state.poll_age", json!(-0.1)),
        ("topics.jobs.name", json!("")),
        ("topics.jobs.partitions", json!([])),
    ];
    cases.extend(sg.into_iter().map(|(p, v)| (format!("{SG}.{p}"), v)));
    let pt = [
        ("id", json!(-1)),
        ("lag", json!(1.5)),
        ("lag_d", json!("0")),
        ("lag_stored", json!(null)),
        ("lag_stored_d", json!(0.0)),
        ("committed_offset", json!("10")),
        ("committed_offset_fd", json!(-1)),
        ("stored_offset", json!(10.5)),
        ("stored_offset_fd", json!(-5)),
        ("fetch_state", json!("")),
        ("poll_state", json!(1)),
        ("poll_state_ch", json!(-1)),
        ("hi_offset", json!(null)),
        ("hi_offset_fd", json!(-1)),
        ("lo_offset", json!(0.5)),
        ("eof_offset", json!("11")),
        ("ls_offset", json!(true)),
        ("ls_offset_d", json!(0.1)),
        ("ls_offset_fd", json!(-1)),
        ("transactional", json!("false")),
    ];
    cases.extend(pt.into_iter().map(|(p, v)| (format!("{PT}.{p}"), v)));
    if schema.has_partitions_cnt() {
        cases.push((format!("{SG}.topics.jobs.partitions_cnt"), json!(-1)));
    }
    if schema.has_instance_id() {
        cases.push((format!("{SG}.instance_id"), json!(true)));
    }
    if schema.has_poll_interval() {
        cases.push((format!("{SG}.state.poll_interval"), json!(0)));
    }
    cases
}

#[test]
fn each_report_rule_refuses_its_broken_value() {
    for schema in SUPPORTED {
        for (path, bad) in broken_values(schema) {
            let mut report = valid_report(schema);
            *at(&mut report, &path) = bad.clone();
            let got = check_report(schema, &report);
            // A broken schema_version also breaks the guard on it.
            let expected: Vec<&str> = if path == "schema_version" {
                vec![path.as_str(), path.as_str()]
            } else {
                vec![path.as_str()]
            };
            assert_eq!(paths(&got), expected, "{schema} {path} = {bad}: {got:?}");
        }
    }
}

#[test]
fn each_report_field_is_required() {
    for schema in SUPPORTED {
        for (path, _) in broken_values(schema) {
            let mut report = valid_report(schema);
            remove(&mut report, &path);
            let got = check_report(schema, &report);
            assert_eq!(paths(&got), vec![path.as_str()], "{schema} without {path}");
            assert_eq!(got[0].rule, "missing");
        }
    }
}

#[test]
fn fields_of_newer_schemas_are_not_required_by_older_ones() {
    let mut report = valid_report(Schema::V1_4_1);
    // 1.4.1 takes a report without partitions_cnt / instance_id / poll_interval ...
    assert!(check_report(Schema::V1_4_1, &report).is_empty());
    // ... which 1.7.0 refuses three times over (plus the schema_version guard).
    report["schema_version"] = json!("1.7.0");
    let got = check_report(Schema::V1_7_0, &report);
    assert_eq!(
        paths(&got),
        vec![
            format!("{SG}.instance_id").as_str(),
            format!("{SG}.state.poll_interval").as_str(),
            format!("{SG}.topics.jobs.partitions_cnt").as_str(),
        ]
    );
}

#[test]
fn workers_may_be_zero_from_schema_1_7_0_only() {
    for schema in SUPPORTED {
        let mut report = valid_report(schema);
        report["process"]["workers"] = json!(0);
        let refused = !check_report(schema, &report).is_empty();
        assert_eq!(refused, schema < Schema::V1_7_0, "{schema}");
    }
}

#[test]
fn the_not_available_offset_and_workless_lag_are_accepted() {
    let mut report = valid_report(Schema::V1_4_1);
    report["jobs"][0]["first_offset"] = json!(-1001);
    report["jobs"][0]["last_offset"] = json!(-1001);
    report["jobs"][0]["consumption_lag"] = json!(-1);
    report["jobs"][0]["processing_lag"] = json!(-1);
    report["process"]["cpu_usage"] = json!([-1, -1, -1]);
    *at(&mut report, &format!("{PT}.lag")) = json!(-1);
    assert_eq!(check_report(Schema::V1_4_1, &report), vec![]);
}

#[test]
fn guards_refuse_another_schema_version_and_milliseconds() {
    let mut report = valid_report(Schema::V1_4_1);
    report["schema_version"] = json!("1.5.0");
    assert_eq!(
        paths(&check_report(Schema::V1_4_1, &report)),
        vec!["schema_version"]
    );

    for path in ["dispatched_at", "process.started_at", "jobs.0.updated_at"] {
        let mut report = valid_report(Schema::V1_4_1);
        *at(&mut report, path) = json!(1796605136837.5);
        let got = check_report(Schema::V1_4_1, &report);
        assert_eq!(paths(&got), vec![path], "{path}");
        assert!(got[0].rule.starts_with("guard"), "{got:?}");
    }
}

#[test]
fn a_report_that_is_not_a_hash_is_refused() {
    assert_eq!(paths(&check_report(Schema::V1_4_1, &json!([]))), vec![""]);
    assert_eq!(paths(&check_error(Schema::V1_4_1, &json!("x"))), vec![""]);
}

#[test]
fn each_error_rule_refuses_its_broken_value_and_its_absence() {
    for schema in SUPPORTED {
        let mut cases = vec![
            ("schema_version", json!(1)),
            ("type", json!("")),
            ("error_class", json!("")),
            ("error_message", json!(null)),
            ("backtrace", json!(["a"])),
            ("details", json!("x")),
            ("occurred_at", json!(1796605134)),
            ("process", json!(null)),
            ("process.id", json!("")),
        ];
        if schema.has_error_id() {
            cases.push(("id", json!("")));
        }
        for (path, bad) in cases {
            let mut error = valid_error(schema);
            *at(&mut error, path) = bad.clone();
            let got = check_error(schema, &error);
            let expected = if path == "schema_version" {
                vec![path, path]
            } else {
                vec![path]
            };
            assert_eq!(paths(&got), expected, "{schema} {path} = {bad}");
            let mut error = valid_error(schema);
            remove(&mut error, path);
            assert_eq!(
                paths(&check_error(schema, &error)),
                vec![path],
                "{schema} -{path}"
            );
        }
        // process.tags is optional, but typed when present.
        let mut error = valid_error(schema);
        remove(&mut error, "process.tags");
        assert!(check_error(schema, &error).is_empty());
        error["process"]["tags"] = json!("rust");
        assert_eq!(paths(&check_error(schema, &error)), vec!["process.tags"]);
    }
    // 1.1.0 (karafka-web 0.11.0-0.11.3) has no id; 1.2.0 requires it.
    let mut error = valid_error(Schema::V1_4_1);
    error["schema_version"] = json!("1.2.0");
    assert_eq!(paths(&check_error(Schema::V1_5_0, &error)), vec!["id"],);
}
