//! `record` against a real broker: golden payloads produced with keys and headers are recorded
//! byte for byte, replay runs them in the same order per partition, and the recorder leaves no
//! committed offset behind. Also: a partition from an offset with a limit, from a time, from
//! latest, and redaction.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activejob_karafka::record::RecordedMessage;
use activejob_karafka::registry::Registry;
use activejob_karafka::replay::{Outcome, Replay};
use activejob_karafka::typed::typed_dump;
use activejob_karafka::{DecodeOptions, Job};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use serde::de::IgnoredAny;
use serde_json::Value as Json;
use support::{bootstrap, committed, create_topic, produce, unique, Out};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn record(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_activejob-karafka"))
        .arg("record")
        .args(["--brokers", &bootstrap(), "--no-progress"])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("running activejob-karafka record");
    assert_eq!(
        out.status.code(),
        Some(0),
        "record {args:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn meta(dir: &Path, topic: &str, partition: i32, offset: i64) -> RecordedMessage {
    let path = dir.join(format!("{topic}-{partition}-{offset}.meta.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .unwrap()
}

/// (partition, offset) of every payload file in `dir`.
fn recorded_offsets(dir: &Path, topic: &str) -> BTreeSet<(i32, i64)> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".meta.json")?;
            let rest = stem.strip_prefix(&format!("{topic}-"))?;
            let (p, o) = rest.split_once('-')?;
            Some((p.parse().unwrap(), o.parse().unwrap()))
        })
        .collect()
}

/// A handler per job class of the golden app that notes (partition, offset, job_id) in order.
fn noting_registry(seen: Arc<Mutex<Vec<(i32, i64, String)>>>) -> Registry {
    let options =
        DecodeOptions::from_toml_file(root().join("fixtures/app.toml")).expect("app.toml");
    let continuable = options.continuable_jobs.clone().unwrap_or_default();
    let classes = options.job_classes.clone().unwrap_or_default();
    let mut registry = Registry::with_options(options);
    for class in classes {
        let seen = seen.clone();
        let note = move |ctx: &activejob_karafka::registry::JobContext| {
            seen.lock().unwrap().push((
                ctx.partition(),
                ctx.offset(),
                ctx.job_id().unwrap_or_default().to_owned(),
            ));
        };
        registry = if continuable.contains(&class) {
            registry.register_continuable(
                class,
                Default::default(),
                move |_: IgnoredAny, ctx, _steps| {
                    note(&ctx);
                    async { Ok(()) }
                },
            )
        } else {
            registry.register(class, move |_: IgnoredAny, ctx| {
                note(&ctx);
                async { Ok(()) }
            })
        };
    }
    registry
}

fn golden_payloads() -> Vec<Vec<u8>> {
    let dir = root().join("fixtures/8.1");
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| std::fs::read(dir.join(f["file"].as_str().unwrap())).unwrap())
        .collect()
}

fn job_id(payload: &[u8]) -> String {
    let v: Json = serde_json::from_slice(payload).unwrap();
    v["job_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn record_then_replay_keeps_jobs_and_order_and_commits_nothing() {
    support::init_tracing();
    let topic = unique("record");
    let group = unique("app-group");
    create_topic(&topic, 3).await;
    let payloads = golden_payloads();
    let mut messages: Vec<Out> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| Out {
            partition: None,
            key: Some(if i == 5 {
                vec![0xff, 0x00, i as u8] // not UTF-8: recorded as base64
            } else {
                format!("customer-{}", i % 7).into_bytes()
            }),
            payload: Some(payload.clone()),
            headers: vec![
                (
                    "traceparent".into(),
                    Some(format!("00-{i:032x}-01").into_bytes()),
                ),
                ("empty".into(), None),
            ],
        })
        .collect();
    messages.push(Out {
        partition: None,
        key: Some(b"customer-0".to_vec()),
        payload: None,
        headers: vec![],
    });
    let placed = produce(&topic, messages.clone()).await;
    let used: BTreeSet<i32> = placed.iter().map(|(p, _)| *p).collect();
    assert!(used.len() > 1, "keys spread over the partitions: {used:?}");

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("recorded");
    let out = record(&[
        "--topic",
        &topic,
        "--out",
        dir.to_str().unwrap(),
        "--group-id",
        &group,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("recorded {} messages", messages.len())),
        "{stdout}"
    );

    // Every message recorded: exact payload bytes and its metadata.
    assert_eq!(
        recorded_offsets(&dir, &topic),
        placed.iter().copied().collect::<BTreeSet<_>>()
    );
    for (m, &(partition, offset)) in messages.iter().zip(&placed) {
        let meta = meta(&dir, &topic, partition, offset);
        assert_eq!(
            (meta.topic.as_str(), meta.partition, meta.offset),
            (topic.as_str(), partition, offset)
        );
        assert_eq!(meta.key.as_ref().map(|k| k.0.clone()), m.key);
        let headers: Vec<(String, Option<Vec<u8>>)> = meta
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v.0.clone())))
            .collect();
        assert_eq!(headers, m.headers);
        assert!(meta.timestamp_ms.is_some());
        let payload_file = dir.join(format!("{topic}-{partition}-{offset}.json"));
        match &m.payload {
            Some(bytes) => {
                assert!(!meta.tombstone);
                assert_eq!(&std::fs::read(&payload_file).unwrap(), bytes);
            }
            None => {
                assert!(meta.tombstone);
                assert!(!payload_file.exists());
            }
        }
    }
    // The non-UTF-8 key is kept as base64 in the file.
    let (p5, o5) = placed[5];
    let raw: Json = serde_json::from_slice(
        &std::fs::read(dir.join(format!("{topic}-{p5}-{o5}.meta.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(raw["key"], serde_json::json!({"base64": "/wAF"}));
    assert_eq!(raw["headers"][1], serde_json::json!(["empty", null]));

    // Replay the recording one job at a time: same jobs, same order within each partition.
    let mut expected: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    let mut keys: BTreeMap<(i32, i64), Vec<u8>> = BTreeMap::new();
    for (m, &(p, o)) in messages.iter().zip(&placed) {
        if let Some(payload) = &m.payload {
            expected.entry(p).or_default().push((o, job_id(payload)));
            keys.insert((p, o), m.key.clone().unwrap());
        }
    }
    let by_partition = |seen: &[(i32, i64, String)]| {
        let mut got: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
        for (p, o, id) in seen {
            got.entry(*p).or_default().push((*o, id.clone()));
        }
        got
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = Replay::new(noting_registry(seen.clone()))
        .path(&dir)
        .run()
        .await
        .unwrap();
    let totals = report.totals();
    assert_eq!(
        (totals.ok, totals.bad_payload, totals.total()),
        (payloads.len(), 1, messages.len())
    );
    assert_eq!(report.class("(tombstone)").bad_payload, 1);
    assert_eq!(by_partition(&seen.lock().unwrap()), expected);

    // In parallel, as Karafka's virtual partitions do: jobs of one key stay in offset order,
    // different keys of a partition may overtake each other.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = Replay::new(noting_registry(seen.clone()))
        .path(&dir)
        .jobs(4)
        .run()
        .await
        .unwrap();
    assert_eq!(report.totals().ok, payloads.len());
    let seen = seen.lock().unwrap().clone();
    let mut per_key: BTreeMap<Vec<u8>, Vec<(i32, i64)>> = BTreeMap::new();
    for (p, o, _) in &seen {
        per_key
            .entry(keys[&(*p, *o)].clone())
            .or_default()
            .push((*p, *o));
    }
    for (key, offsets) in &per_key {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "key {key:?} out of order: {offsets:?}"
        );
    }
    let mut all = by_partition(&seen);
    all.values_mut().for_each(|v| v.sort());
    assert_eq!(all, expected);

    // The NDJSON format replays the same way.
    let ndjson = tmp.path().join("recorded.jsonl");
    record(&["--topic", &topic, "--ndjson", ndjson.to_str().unwrap()]);
    let seen_ndjson = Arc::new(Mutex::new(Vec::new()));
    let report = Replay::new(noting_registry(seen_ndjson.clone()))
        .path(&ndjson)
        .run()
        .await
        .unwrap();
    assert_eq!(report.totals().ok, payloads.len());
    assert_eq!(by_partition(&seen_ndjson.lock().unwrap()), expected);

    // Nothing committed under the recorder's group id ...
    assert_eq!(committed(&group, &topic, 3), vec![-1, -1, -1]);
    // ... so the application's group, reading the topic now, starts every partition at 0.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count < messages.len() && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            count += 1;
            first.entry(m.partition()).or_insert(m.offset());
        }
    }
    assert_eq!(count, messages.len());
    assert!(first.values().all(|&o| o == 0), "{first:?}");
}

async fn produce_at(topic: &str, partition: i32, payload: &[u8], timestamp_ms: i64) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::<(), [u8]>::to(topic)
                .partition(partition)
                .payload(payload)
                .timestamp(timestamp_ms),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_from_an_offset_a_time_or_latest_with_limits() {
    support::init_tracing();
    let topic = unique("record-range");
    create_topic(&topic, 2).await;
    // Recent timestamps: older ones would fall out of the broker's retention during the test.
    let base = chrono::Utc::now().timestamp_millis() - 60_000;
    for i in 0..10 {
        produce_at(
            &topic,
            1,
            &support::job_payload("EchoJob", i as u64),
            base + i * 1000,
        )
        .await;
    }
    for i in 0..3 {
        produce_at(
            &topic,
            0,
            &support::job_payload("EchoJob", 100 + i),
            base + i as i64,
        )
        .await;
    }
    let tmp = tempfile::tempdir().unwrap();

    // One partition, from offset 2, at most 3 messages.
    let dir = tmp.path().join("offset");
    let d = dir.to_str().unwrap();
    record(&[
        "-t",
        &topic,
        "-o",
        d,
        "--partition",
        "1",
        "--from-offset",
        "2",
        "--limit",
        "3",
    ]);
    assert_eq!(
        recorded_offsets(&dir, &topic),
        BTreeSet::from([(1, 2), (1, 3), (1, 4)])
    );

    // From a time: partition 1's messages at or after base+4.5 s; none of partition 0's.
    let dir = tmp.path().join("time");
    let at = chrono::DateTime::from_timestamp_millis(base + 4500)
        .unwrap()
        .to_rfc3339();
    record(&[
        "-t",
        &topic,
        "-o",
        dir.to_str().unwrap(),
        "--from-time",
        &at,
    ]);
    assert_eq!(
        recorded_offsets(&dir, &topic),
        (5..10).map(|o| (1, o)).collect::<BTreeSet<_>>()
    );
    assert_eq!(meta(&dir, &topic, 1, 5).timestamp_ms, Some(base + 5000));

    // From latest: only what arrives after the start, until the limit.
    let dir = tmp.path().join("latest");
    let mut child = Command::new(env!("CARGO_BIN_EXE_activejob-karafka"))
        .args(["record", "--brokers", &bootstrap(), "--no-progress"])
        .args(["-t", &topic, "-o", dir.to_str().unwrap()])
        .args([
            "--partition",
            "0",
            "--from-offset",
            "latest",
            "--limit",
            "2",
        ])
        .args(["--idle-timeout", "60"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    // Keep producing until the recorder has seen two messages: the first ones may land before
    // it took the partition's end.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "record --from-offset latest never finished"
        );
        produce_at(
            &topic,
            0,
            &support::job_payload("EchoJob", 200 + sent),
            base,
        )
        .await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(status.success());
    let got: Vec<(i32, i64)> = recorded_offsets(&dir, &topic).into_iter().collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].1 >= 3 && got[1].1 == got[0].1 + 1, "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redacted_recordings_still_decode() {
    support::init_tracing();
    let topic = unique("record-redact");
    create_topic(&topic, 1).await;
    let signup = br#"{"job_class":"EchoJob","job_id":"0b8c5d0e-1111-4d90-9559-a075861ccbd3","provider_job_id":null,"queue_name":"default","priority":null,"arguments":[7,{"email":"ann@example.com","name":"Ann \u003cAdmin\u003e","_aj_ruby2_keywords":["email","name"]},[{"password":"hunter2","_aj_symbol_keys":["password"]}]],"executions":0,"exception_executions":{},"locale":"en","timezone":"UTC","enqueued_at":"2026-11-24T21:27:56.175007000Z","scheduled_at":null}"#;
    produce(
        &topic,
        vec![
            Out {
                partition: Some(0),
                payload: Some(signup.to_vec()),
                ..Out::default()
            },
            Out {
                partition: Some(0),
                payload: Some(b"not json at all".to_vec()),
                ..Out::default()
            },
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("redacted");
    let out = record(&[
        "-t",
        &topic,
        "-o",
        dir.to_str().unwrap(),
        "--redact",
        "arguments[1].email",
        "--redact",
        "arguments[*].password",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("payloads masked: 1"), "{stdout}");
    assert!(stdout.contains("payloads left out"), "{stdout}");

    let masked = std::fs::read(dir.join(format!("{topic}-0-0.json"))).unwrap();
    // Only the masked value changed; Ruby's escaping elsewhere is kept byte for byte.
    assert_eq!(
        String::from_utf8(masked.clone()).unwrap(),
        String::from_utf8(signup.to_vec())
            .unwrap()
            .replace("ann@example.com", "[REDACTED]")
    );
    let job = Job::decode(&masked).expect("a masked payload still decodes");
    let dump = typed_dump(&job, &DecodeOptions::default());
    let email = &dump["arguments"][1]["entries"][0];
    assert_eq!(email[0]["value"], "email");
    assert_eq!(
        email[1],
        serde_json::json!({"type": "String", "value": "[REDACTED]"})
    );
    assert_eq!(dump["arguments"][1]["ruby2_keywords"], true);
    // [*] only reaches the arguments themselves: the password one level deeper is untouched.
    assert!(String::from_utf8_lossy(&masked).contains("hunter2"));
    let meta0 = meta(&dir, &topic, 0, 0);
    assert_eq!(meta0.redacted, ["arguments[1].email"]);

    // A payload that cannot be masked is left out, never written unmasked.
    assert!(!dir.join(format!("{topic}-0-1.json")).exists());
    let meta1 = meta(&dir, &topic, 0, 1);
    assert!(meta1.redaction_error.is_some() && !meta1.tombstone);
    let report =
        Replay::new(Registry::new().register("EchoJob", |_: IgnoredAny, _| async { Ok(()) }))
            .path(&dir)
            .run()
            .await
            .unwrap();
    assert_eq!(report.totals().ok, 1);
    assert_eq!(report.jobs()[1].outcome, Outcome::BadPayload);
    assert!(report.jobs()[1].reason.contains("no payload"));
}
