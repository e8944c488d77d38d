use super::*;

fn header<'a>(h: &'a [(String, Option<Vec<u8>>)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
        .map(|v| std::str::from_utf8(v).unwrap())
}

#[test]
fn proxy_headers_follow_karafka_order_and_routing() {
    let p = proxy_message("jobs", &Details::Partition(3), 1_900_000_000);
    let names: Vec<&str> = p.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "schedule_schema_version",
            "schedule_target_epoch",
            "schedule_source_type",
            "schedule_target_topic",
            "schedule_target_partition"
        ]
    );
    assert_eq!(
        header(&p.headers, "schedule_target_epoch"),
        Some("1900000000")
    );
    assert_eq!(p.partition_key.as_deref(), Some("3"));
    assert!(p.key.starts_with("jobs-"));
    assert_eq!(p.key.len(), "jobs-".len() + 36);

    let k = proxy_message("jobs", &Details::Key("user-1".into()), 1);
    assert_eq!(header(&k.headers, "schedule_target_key"), Some("user-1"));
    assert_eq!(k.partition_key, None);

    let pk = proxy_message("jobs", &Details::PartitionKey("acct".into()), 1);
    assert_eq!(
        header(&pk.headers, "schedule_target_partition_key"),
        Some("acct")
    );
    assert_eq!(pk.partition_key.as_deref(), Some("acct"));

    let none = proxy_message("jobs", &Details::None, 1);
    assert_eq!(none.headers.len(), 4);
    assert_eq!(none.partition_key, None);
}

#[test]
fn partitioner_values_are_validated_like_waterdrop() {
    let opts = |t, v: Option<&'static str>| Resolved {
        partitioner: Some(Arc::new(move |_: &Job| v.map(str::to_string))),
        partition_key_type: t,
        dispatch_method: DispatchMethod::Async,
        dispatch_many_method: DispatchManyMethod::Async,
        scheduled_messages_topic: None,
        producer: 0,
    };
    let job = Job::new("A");
    use PartitionKeyType::*;
    assert_eq!(
        details(&job, &opts(Key, Some("k"))).unwrap(),
        Details::Key("k".into())
    );
    assert_eq!(details(&job, &opts(Key, None)).unwrap(), Details::None);
    assert!(details(&job, &opts(Key, Some(""))).is_err());
    assert!(details(&job, &opts(PartitionKey, Some(""))).is_err());
    assert_eq!(
        details(&job, &opts(Partition, Some("2"))).unwrap(),
        Details::Partition(2)
    );
    assert!(details(&job, &opts(Partition, Some("x"))).is_err());
    assert!(details(&job, &opts(Partition, Some("-2"))).is_err());
    assert!(details(&job, &opts(Partition, None)).is_err());
}

#[test]
fn class_options_merge_over_defaults() {
    let base = JobOptions::new()
        .scheduled_messages_topic("s")
        .producer_config("acks", "1")
        .producer_config("linger.ms", "5");
    let merged = JobOptions::new()
        .dispatch_method(DispatchMethod::Sync)
        .producer_config("acks", "all")
        .merged_over(&base);
    assert_eq!(merged.scheduled_messages_topic.as_deref(), Some("s"));
    assert_eq!(merged.dispatch_method, Some(DispatchMethod::Sync));
    assert_eq!(merged.producer_config["acks"], "all");
    assert_eq!(merged.producer_config["linger.ms"], "5");
}

#[test]
fn topics_follow_waterdrop_rules() {
    assert!(check_topic("jobs.default-1_x").is_ok());
    assert!(check_topic("").is_err());
    assert!(check_topic("a b").is_err());
    assert!(check_topic("a/b").is_err());
}

#[tokio::test]
async fn a_timezone_the_apps_tz_database_lacks_is_refused_before_producing() {
    // Property: the producer checks a job's `timezone` against the application's tz database
    // (`time_zones`), not the host's: a zone missing from it fails with a typed error and
    // nothing is produced (no broker is reachable here).
    let dir = std::env::temp_dir().join(format!("ajk-producer-zones-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("Asia")).unwrap();
    std::fs::copy("/usr/share/zoneinfo/Asia/Tokyo", dir.join("Asia/Tokyo")).unwrap();
    let zones = ZoneDatabase::from_dir(&dir).unwrap();
    let producer = JobProducer::builder()
        .bootstrap_servers("127.0.0.1:1")
        .time_zones(zones)
        .build()
        .unwrap();
    let mut job = Job::new("EchoJob").queue("q");
    job.timezone = Some("Berlin".into());
    let err = producer
        .enqueue(&job)
        .await
        .expect_err("Berlin is not in the directory");
    assert!(
        matches!(&err, ProduceError::Encode { source, .. }
            if source.kind == crate::error::EncodeErrorKind::TimeZone),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
