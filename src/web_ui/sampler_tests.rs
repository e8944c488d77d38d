//! The sampler's reports: what goes into them, and that they pass the contracts of every
//! schema as built (the reporter sends nothing that does not).

use std::sync::atomic::Ordering;

use super::*;
use crate::consumer::Bytes;
use crate::web_ui::contract::{check_error, check_report};
use crate::web_ui::schema::SUPPORTED;

fn identity(schema: Schema) -> Identity {
    Identity {
        schema,
        process_id: "host:42:abcdef".to_owned(),
        tags: vec!["rust".to_owned()],
        group_id: "app".to_owned(),
        subscription_group: "app_0".to_owned(),
        concurrency: 5,
        max_poll_interval_ms: 300_000,
        instance_id: None,
        karafka_web_version: "0.11.2".to_owned(),
    }
}

fn message(offset: i64) -> InboundMessage {
    InboundMessage {
        topic: "jobs".into(),
        partition: 0,
        offset,
        key: None,
        payload: Some(Bytes::from_static(br#"{"job_class":"ImportJob"}"#)),
        headers: Vec::new(),
        timestamp_ms: Some((now_secs() * 1000.0) as i64 - 1500),
    }
}

fn statistics(age_us: i64) -> Vec<u8> {
    serde_json::json!({
        "name": "c", "age": age_us,
        "cgrp": { "state": "up", "join_state": "steady", "stateage": 9000,
                  "rebalance_age": 8000, "rebalance_cnt": 1, "rebalance_reason": "" },
        "topics": { "jobs": { "partitions": {
            "0": { "partition": 0, "fetch_state": "active", "consumer_lag": 3,
                   "consumer_lag_stored": 3, "committed_offset": 7, "stored_offset": 7,
                   "hi_offset": 10, "lo_offset": 0, "eof_offset": 10, "ls_offset": 10 }
        } } }
    })
    .to_string()
    .into_bytes()
}

fn json(draft: &Draft) -> serde_json::Value {
    serde_json::to_value(&draft.report).unwrap()
}

#[test]
fn reports_of_every_schema_pass_their_contract() {
    for schema in SUPPORTED {
        let sampler = Arc::new(Sampler::new(identity(schema), Arc::default()));
        // Before statistics: no group yet, and still a valid report.
        let draft = sampler.draft(Status::Running);
        assert_eq!(check_report(schema, &json(&draft)), vec![], "{schema}");
        assert_eq!(json(&draft)["consumer_groups"], serde_json::json!({}));

        sampler.statistics(&statistics(1_000_000));
        let _running = sampler.job_started(&message(8), "ImportJob");
        sampler.job_finished(
            &message(7),
            "ImportJob",
            2,
            Some(&JobFailure::Failed("boom".into())),
            Duration::from_millis(20),
        );
        let draft = sampler.draft(Status::Stopping);
        let report = json(&draft);
        assert_eq!(check_report(schema, &report), vec![], "{schema}: {report}");
        assert_eq!(report["schema_version"], schema.version());
        assert_eq!(report["process"]["status"], "stopping");
        let sg = &report["consumer_groups"]["app"]["subscription_groups"]["app_0"];
        assert_eq!(sg["topics"]["jobs"]["partitions"]["0"]["lag"], 3);
        assert_eq!(
            sg["topics"]["jobs"].get("partitions_cnt").is_some(),
            schema >= Schema::V1_5_0
        );
        assert_eq!(sg.get("instance_id").is_some(), schema >= Schema::V1_6_0);
        assert_eq!(
            sg["state"].get("poll_interval").is_some(),
            schema >= Schema::V1_7_0
        );

        assert_eq!(draft.errors.len(), 1);
        let error = serde_json::to_value(&draft.errors[0]).unwrap();
        assert_eq!(check_error(schema, &error), vec![], "{schema}: {error}");
        assert_eq!(error["details"]["offset"], serde_json::Value::Null);
        assert_eq!(error["details"]["first_offset"], 7);
        assert_eq!(
            error["details"]["tags"],
            serde_json::json!(["active_job", "ImportJob"])
        );
        assert_eq!(error["error_class"], "ActiveJobKarafka::JobFailure::Failed");
    }
}

#[test]
fn running_jobs_are_listed_until_their_run_ends() {
    let sampler = Arc::new(Sampler::new(identity(Schema::V1_4_1), Arc::default()));
    let running = sampler.job_started(&message(8), "ImportJob");
    let report = json(&sampler.draft(Status::Running));
    assert_eq!(report["stats"]["busy"], 1);
    let job = &report["jobs"][0];
    assert_eq!(job["tags"], serde_json::json!(["active_job", "ImportJob"]));
    assert_eq!(
        (
            job["first_offset"].as_i64(),
            job["committed_offset"].as_i64()
        ),
        (Some(8), Some(7))
    );
    assert!(job["consumption_lag"].as_i64().unwrap() >= 1500);
    drop(running);
    let report = json(&sampler.draft(Status::Running));
    assert_eq!(
        (
            report["stats"]["busy"].as_u64(),
            report["jobs"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn window_totals_count_since_the_last_report_sent() {
    let stats = Arc::new(WorkerStats::default());
    let sampler = Sampler::new(identity(Schema::V1_4_1), stats.clone());
    stats.jobs_succeeded.fetch_add(4, Ordering::Relaxed);
    stats.job_failures.fetch_add(2, Ordering::Relaxed);
    stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
    sampler.job_finished(&message(1), "A", 2, None, Duration::ZERO);
    let draft = sampler.draft(Status::Running);
    let total = draft.report.stats.total;
    assert_eq!(
        (
            total.jobs,
            total.batches,
            total.messages,
            total.errors,
            total.retries,
            total.dead
        ),
        (6, 6, 6, 2, 1, 1)
    );
    // Not sent: the next report counts the same window again.
    assert_eq!(sampler.draft(Status::Running).report.stats.total, total);
    sampler.sent(&draft);
    stats.jobs_succeeded.fetch_add(1, Ordering::Relaxed);
    let total = sampler.draft(Status::Running).report.stats.total;
    assert_eq!(
        (total.jobs, total.errors, total.retries, total.dead),
        (1, 0, 0, 0)
    );
}

#[test]
fn paused_partitions_are_reported_paused() {
    let sampler = Sampler::new(identity(Schema::V1_4_1), Arc::default());
    sampler.statistics(&statistics(1));
    sampler.paused("jobs", 0);
    let state = |s: &Sampler| {
        json(&s.draft(Status::Running))["consumer_groups"]["app"]["subscription_groups"]["app_0"]
            ["topics"]["jobs"]["partitions"]["0"]["poll_state"]
            .clone()
    };
    assert_eq!(state(&sampler), "paused");
    sampler.resumed("jobs", 0);
    assert_eq!(state(&sampler), "active");
}

#[test]
fn the_stopped_report_has_no_active_listener() {
    let sampler = Sampler::new(identity(Schema::V1_7_0), Arc::default());
    let report = json(&sampler.draft(Status::Stopped));
    assert_eq!(report["process"]["status"], "stopped");
    assert_eq!(
        report["process"]["listeners"],
        serde_json::json!({"active": 0, "standby": 1})
    );
    assert_eq!(check_report(Schema::V1_7_0, &report), vec![]);
}
