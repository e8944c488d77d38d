//! Writes a broad corpus of payloads with this crate's encoder, for a hand check against real
//! Rails (scripts/oracle-compare.sh): what Rails reads from each line must be what Rust reads.
//!
//! The corpus is built for the fixture app (fixtures/app.toml, the oracle's app):
//! - every value kind at its edges, one payload each;
//! - seeded random jobs from the generators of the writer's property test
//!   (tests/generated/values.rs), records and modules mapped onto ones the app defines;
//! - continuable jobs at every stage, with cursors of every JSON shape;
//! - every golden fixture decoded and written back, as a retry or a resume does.
//!
//! What the writer refuses is not written: those are counted by rule on stderr.
//!
//! ```sh
//! cargo run --example write_corpus -- --seed 7 --random 600 --out corpus.jsonl
//! ```

#[path = "../tests/generated/values.rs"]
mod generated;

use activejob_karafka::arguments::{GlobalId, ModelId, Value};
use activejob_karafka::continuation::{Continuation, CurrentStep};
use activejob_karafka::ruby::time::RubyTime;
use activejob_karafka::{DecodeOptions, EnvelopeTime, Job};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

struct Args {
    seed: u64,
    random: usize,
    out: PathBuf,
    /// Payloads nested deeper are left out: the oracle on ruby.wasm runs out of stack past
    /// about 20 levels (the 100-level limit itself is checked with Ruby's JSON parser directly).
    max_depth: usize,
}

fn args() -> Args {
    let mut args = Args {
        seed: 1,
        random: 500,
        out: PathBuf::from("corpus.jsonl"),
        max_depth: usize::MAX,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => args.seed = value.parse().expect("--seed N"),
            "--random" => args.random = value.parse().expect("--random N"),
            "--out" => args.out = PathBuf::from(value),
            "--max-depth" => args.max_depth = value.parse().expect("--max-depth N"),
            other => {
                panic!("unknown option {other} (--seed N, --random N, --out FILE, --max-depth N)")
            }
        }
    }
    args
}

fn main() {
    let args = args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = DecodeOptions::from_toml_file(root.join("fixtures/app.toml")).expect("app.toml");
    let mut jobs: Vec<(String, Job)> = Vec::new();
    jobs.extend(edge_jobs());
    jobs.extend(random_jobs(args.seed, args.random));
    jobs.extend(continuation_jobs(args.seed));
    jobs.extend(rewritten_fixtures(root, &app));

    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.out).expect("--out"));
    let mut names = std::io::BufWriter::new(
        std::fs::File::create(args.out.with_extension("names")).expect("names file"),
    );
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut written = 0;
    let mut too_deep = 0;
    for (name, job) in &jobs {
        match job.encode_for_app(&app) {
            Ok(bytes) if depth(&serde_json::from_slice(&bytes).expect("JSON")) > args.max_depth => {
                too_deep += 1;
            }
            Ok(bytes) => {
                out.write_all(&bytes).expect("write");
                out.write_all(b"\n").expect("write");
                writeln!(names, "{name}").expect("write");
                written += 1;
            }
            Err(e) => *refused.entry(format!("{:?}", e.kind)).or_default() += 1,
        }
    }
    out.flush().expect("flush");
    names.flush().expect("flush");
    let total_refused: usize = refused.values().sum();
    eprintln!(
        "{} jobs: {written} written to {}, {too_deep} deeper than {} left out, {total_refused} refused {refused:?}",
        jobs.len(),
        args.out.display(),
        args.max_depth,
    );
}

/// Levels of arrays and objects, as Ruby's JSON parser counts them.
fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn at(offset: i32, y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset)
        .unwrap()
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
}

fn echo(name: &str, args: Vec<Value>) -> (String, Job) {
    let mut job = Job::new("EchoJob");
    job.arguments = args;
    (format!("edge/{name}"), job)
}

/// One payload per kind, at the values Ruby reads specially.
fn edge_jobs() -> Vec<(String, Job)> {
    let invoice = |id: &str| Value::GlobalId(GlobalId::new("shop", "Billing::Invoice", id));
    let time = |instant: DateTime<FixedOffset>| {
        Value::Time(RubyTime {
            instant,
            utc: false,
        })
    };
    let utc = |y, mo, d| Utc.with_ymd_and_hms(y, mo, d, 12, 0, 0).unwrap();
    let zone = |name| activejob_karafka::ruby::time_zone::lookup(name).expect("zone");
    vec![
        echo(
            "global_ids",
            [
                "2024/05/7",
                "a/b c+d%e",
                " ",
                "+",
                "%2F",
                "zażółć/日本?#&=",
                "~._-",
                "//a//",
            ]
            .into_iter()
            .map(invoice)
            .collect(),
        ),
        echo(
            "global_id_params",
            vec![Value::GlobalId(GlobalId {
                params: Some("database=replica&x=1".into()),
                ..GlobalId::new("shop", "User", "8")
            })],
        ),
        echo(
            "offset_seconds_time",
            vec![
                time(at(21_208, 1800, 1, 1, 0, 0, 0)),
                time(at(-75, 1840, 6, 1, 12, 30, 15)),
                time(at(-17_762, 1880, 12, 31, 23, 59, 59)),
                time(at(-30, 1900, 1, 1, 0, 0, 0)),
                time(at(86_399, 2000, 1, 1, 0, 0, 0)),
            ],
        ),
        echo(
            "offset_seconds_datetime",
            vec![
                Value::DateTime(at(21_208, 1850, 3, 1, 10, 0, 0)),
                Value::DateTime(at(-75, 1700, 1, 1, 0, 0, 0)),
                Value::DateTime(at(-4_772, 1600, 2, 29, 23, 59, 59)),
            ],
        ),
        echo(
            "time_with_zone_lmt",
            vec![
                Value::time_with_zone(utc(1800, 1, 1), zone("Kolkata")),
                Value::time_with_zone(utc(1840, 6, 1), zone("Europe/London")),
            ],
        ),
        echo(
            "modules",
            [
                "::String",
                "Float::INFINITY",
                "Float::NAN",
                "Math::PI",
                "Float::DIG",
                "Float::MIN",
            ]
            .into_iter()
            .chain([
                "Comparable",
                "Reporting",
                "::Billing::Invoice",
                "Float::MAX",
            ])
            .map(|n| Value::Module(n.into()))
            .collect(),
        ),
        echo(
            "big_decimals",
            [
                " 1_000.50 ",
                "1e-20",
                "-0",
                "NaN",
                "-Infinity",
                "0e99999999999999999999",
                "#12",
            ]
            .into_iter()
            .map(|t| Value::BigDecimal(t.into()))
            .collect(),
        ),
        echo(
            "floats",
            vec![
                Value::Float(f64::INFINITY),
                Value::Float(-0.0),
                Value::Float(5e-324),
                Value::Float(f64::MAX),
                Value::Float(1e16),
            ],
        ),
        echo("deep_100", vec![nested(98)]),
        echo("deep_101", vec![nested(99)]),
    ]
}

/// A String inside `levels` Arrays.
fn nested(levels: usize) -> Value {
    (0..levels).fold(Value::from("x"), |inner, _| Value::Array(vec![inner]))
}

/// Seeded random jobs from the property test's generators, onto the fixture app.
fn random_jobs(seed: u64, count: usize) -> Vec<(String, Job)> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let arguments = proptest::prop_oneof![
        8 => proptest::collection::vec(generated::value(false, 3), 0..4),
        1 => proptest::collection::vec(generated::deep_value(), 1..2),
    ];
    // Mostly what the app reads, so that most jobs are written; now and then what it does not.
    let envelope = (
        proptest::prop_oneof![
            6 => proptest::sample::select(generated::AVAILABLE_LOCALES.to_vec()),
            1 => proptest::sample::select(generated::LOCALES.to_vec()),
        ],
        proptest::prop_oneof![
            6 => proptest::sample::select(vec!["UTC", "Berlin", "Asia/Kolkata", "Eastern Time (US & Canada)"]),
            1 => proptest::sample::select(generated::TIMEZONES.to_vec()),
        ],
    );
    let strategy = (arguments, envelope);
    (0..count)
        .map(|i| {
            let (arguments, (locale, timezone)) =
                strategy.new_tree(&mut runner).expect("a job").current();
            let mut job = Job::new("EchoJob").locale(locale).timezone(timezone);
            job.arguments = arguments.iter().map(for_the_app).collect();
            (format!("random/{i}"), job)
        })
        .collect()
}

/// Records and constants the fixture app defines: `Billing::Invoice` takes any id (a composite
/// key becomes one id); other GlobalIDs keep their model (refused or not by the writer's rules).
fn for_the_app(value: &Value) -> Value {
    use activejob_karafka::arguments::{Hash, Range};
    match value {
        Value::GlobalId(gid) if gid.check().is_ok() => {
            let id = match &gid.model_id {
                ModelId::Single(id) => id.clone(),
                ModelId::Composite(parts) => parts.join("-"),
            };
            Value::GlobalId(GlobalId {
                model_name: "Billing::Invoice".into(),
                model_id: ModelId::Single(id),
                ..gid.clone()
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(for_the_app).collect()),
        Value::Hash(hash) => Value::Hash(Hash {
            entries: hash
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), for_the_app(v)))
                .collect(),
            kind: hash.kind,
        }),
        Value::Range(range) => Value::Range(Box::new(Range {
            begin: for_the_app(&range.begin),
            end: for_the_app(&range.end),
            exclude_end: range.exclude_end,
        })),
        other => other.clone(),
    }
}

/// Continuable jobs: fresh, interrupted and resumed, with cursors of every JSON shape.
fn continuation_jobs(seed: u64) -> Vec<(String, Job)> {
    let cursors = vec![
        json!(null),
        json!(6),
        serde_json::from_str("1180591620717411303424").expect("a bignum cursor"),
        json!(2.5),
        json!("a/b"),
        json!([1, "x", null]),
        json!({"page": 3, "token": "abc", "nested": {"a": [1, 2]}}),
    ];
    let mut out = Vec::new();
    for (i, cursor) in cursors.into_iter().enumerate() {
        for class in ["CursorTypesJob", "ProcessImportJob"] {
            let mut job = Job::new(class).continuable().arg("hash");
            job.continuation = Some(Continuation {
                completed: vec!["prepare".into()],
                current: Some(CurrentStep {
                    name: "walk".into(),
                    cursor: cursor.clone(),
                }),
            });
            job.resumptions = Some(i as i64 + (seed % 3) as i64);
            job.executions = Some(i as i64 + 1);
            job.exception_executions = Some(
                [(
                    "[ActiveJob::Continuation::Interrupt]".to_owned(),
                    json!(i + 1),
                )]
                .into_iter()
                .collect(),
            );
            job.enqueued_at = Some(EnvelopeTime::now());
            job.scheduled_at = Some(EnvelopeTime::new(Utc::now()));
            out.push((format!("continuation/{class}/{i}"), job));
        }
    }
    out.push((
        "continuation/fresh".into(),
        Job::new("ProcessImportJob").continuable().arg(1),
    ));
    out
}

/// Every golden fixture decoded and written back, as a retry or a resume writes it again.
fn rewritten_fixtures(root: &Path, app: &DecodeOptions) -> Vec<(String, Job)> {
    let mut files = Vec::new();
    for version in ["6.1", "7.1", "8.1"] {
        let dir = root.join("fixtures").join(version);
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && name != "manifest.json" && name != "rails81_decoded.json"
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).expect("fixture");
            let job = Job::decode_with(&bytes, app).ok()?;
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            Some((format!("rewritten/{name}"), job))
        })
        .collect()
}
