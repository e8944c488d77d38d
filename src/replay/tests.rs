use super::inputs::{as_record, natural_cmp};

#[test]
fn natural_order_compares_numbers_as_numbers() {
    let mut names = vec![
        "t-0-10.json",
        "t-0-9.json",
        "t-1-0.json",
        "t-0-09x",
        "a.json",
    ];
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        names,
        [
            "a.json",
            "t-0-9.json",
            "t-0-09x",
            "t-0-10.json",
            "t-1-0.json"
        ]
    );
}

#[test]
fn record_lines_are_told_from_payload_lines() {
    assert!(as_record(br#"{"topic":"t","partition":0,"offset":3,"payload":"{}"}"#).is_some());
    assert!(as_record(br#"{"topic":"t","partition":0,"offset":3,"tombstone":true}"#).is_some());
    assert!(as_record(br#"{"job_class":"A","arguments":[]}"#).is_none());
    assert!(as_record(b"not json").is_none());
}
