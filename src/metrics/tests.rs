//! Unit tests of the labels, the rendering and the attempt numbering.

use std::time::Duration;

use super::labels::class_label_in;
use super::*;
use crate::consumer::{Bytes, InboundMessage, JobFailure};

#[test]
fn class_labels_read_through_the_payload_format() {
    use crate::payload_format::testing::Prefixed;
    let message = |payload: &[u8]| InboundMessage {
        topic: "jobs".into(),
        partition: 0,
        offset: 0,
        key: None,
        payload: Some(Bytes::copy_from_slice(payload)),
        headers: Vec::new(),
        timestamp_ms: None,
    };
    let wrapped = message(br##"#{"job_class":"ImportJob"}"##);
    assert_eq!(class_label_in(&wrapped, Some(&Prefixed("#"))), "ImportJob");
    assert_eq!(class_label_in(&wrapped, None), NO_CLASS_UNDECODABLE);
    let bare = message(br#"{"job_class":"ImportJob"}"#);
    assert_eq!(
        class_label_in(&bare, Some(&Prefixed("#"))),
        NO_CLASS_UNDECODABLE
    );
    assert_eq!(class_label(&bare), "ImportJob");
}

#[test]
fn job_head_reads_class_and_id_only() {
    let head = job_head(
        br#"{"arguments":[{"deep":[1,2,{"x":"\u00e9"}]}],"job_class":"A\"B","job_id":"j-1"}"#,
    )
    .unwrap();
    assert_eq!(head.job_class, "A\"B");
    assert_eq!(head.job_id.as_deref(), Some("j-1"));
    assert_eq!(job_head(b"[1]"), None);
    assert_eq!(job_head(br#"{"job_id":"x"}"#), None);
}

#[test]
fn render_has_the_metric_names() {
    let m = Metrics::new();
    let msg = InboundMessage {
        topic: "t".into(),
        partition: 0,
        offset: 5,
        key: None,
        payload: None,
        headers: vec![],
        timestamp_ms: None,
    };
    m.record(
        "A",
        &msg,
        1,
        Err(&JobFailure::Failed("x".into())),
        Duration::from_millis(3),
    );
    assert_eq!(m.attempt(&msg), 2);
    m.record("A", &msg, 2, Ok(()), Duration::from_millis(1));
    assert_eq!(m.attempt(&msg), 1);
    let text = m.render();
    assert!(
        text.contains(r#"activejob_karafka_jobs_processed_total{job_class="A",topic="t"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"activejob_karafka_jobs_failed_total{job_class="A",reason="error",topic="t"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"activejob_karafka_jobs_retried_total{job_class="A",topic="t"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("activejob_karafka_job_duration_seconds_bucket"),
        "{text}"
    );
    let s = &m.summary()["A"];
    assert_eq!((s.succeeded, s.failed, s.retried), (1, 1, 1));
    assert_eq!(m.health(), Err("no worker attached".to_owned()));
}
