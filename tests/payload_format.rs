//! An application's payload format around the job's JSON: every golden payload reads the same
//! wrapped as bare, a payload not in the format is a typed error (never a panic, never read as
//! something else), the size limit holds before the format runs, and a job the format cannot
//! wrap is refused before anything is produced.

mod common;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use activejob_karafka::payload_format::{PayloadFormat, PayloadFormatError};
use activejob_karafka::producer::{JobProducer, ProduceError};
use activejob_karafka::{DecodeErrorKind, DecodeOptions, Job};
use base64::Engine;
use common::golden_payloads;

/// The job's JSON in base64 after a `aj1:` tag (a binary-safe transport some apps use).
#[derive(Debug, Default)]
struct Base64Tagged {
    calls: AtomicUsize,
}

const TAG: &[u8] = b"aj1:";

impl PayloadFormat for Base64Tagged {
    fn job_json<'a>(&self, payload: &'a [u8]) -> Result<Cow<'a, [u8]>, PayloadFormatError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let body = payload
            .strip_prefix(TAG)
            .ok_or_else(|| PayloadFormatError::new("no aj1: tag"))?;
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(Cow::Owned)
            .map_err(|e| PayloadFormatError::new(format!("bad base64: {e}")))
    }

    fn payload(&self, job_json: Vec<u8>) -> Result<Vec<u8>, PayloadFormatError> {
        if job_json.len() > 1_000 {
            return Err(PayloadFormatError::new("job too large for this format"));
        }
        let mut out = TAG.to_vec();
        out.extend(
            base64::engine::general_purpose::STANDARD
                .encode(job_json)
                .into_bytes(),
        );
        Ok(out)
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn app_options() -> DecodeOptions {
    DecodeOptions::from_toml_file(fixtures().join("app.toml")).unwrap()
}

fn with_format(options: DecodeOptions, format: Arc<dyn PayloadFormat>) -> DecodeOptions {
    DecodeOptions {
        payload_format: Some(format),
        ..options
    }
}

#[test]
fn every_golden_payload_reads_the_same_wrapped() {
    let format = Arc::new(Base64Tagged::default());
    let wrapped_options = with_format(app_options(), format.clone());
    let mut checked = 0;
    for version in ["6.1", "7.1", "8.1"] {
        for path in golden_payloads(version) {
            let name = path.display();
            let bare = std::fs::read(&path).unwrap();
            let wrapped = [
                TAG,
                base64::engine::general_purpose::STANDARD
                    .encode(&bare)
                    .as_bytes(),
            ]
            .concat();
            let expected = Job::decode_with(&bare, &app_options()).unwrap();
            let got = Job::decode_with(&wrapped, &wrapped_options)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, expected, "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 135, "{checked} payloads");
    assert_eq!(format.calls.load(Ordering::Relaxed), checked);
}

#[test]
fn a_payload_not_in_the_format_is_a_typed_error() {
    let options = with_format(DecodeOptions::default(), Arc::new(Base64Tagged::default()));
    let bare = Job::new("ImportJob").arg(1).encode().unwrap();
    for (payload, reason) in [
        (bare.clone(), "no aj1: tag"),
        (b"aj1:%%%".to_vec(), "bad base64"),
        (Vec::new(), "no aj1: tag"),
    ] {
        let e = Job::decode_with(&payload, &options).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::PayloadFormat, "{e}");
        assert!(e.message.contains(reason), "{e}");
        assert!(e.to_string().contains("payload format: "), "{e}");
    }
    // Wrapped, but what is inside is not a job: the usual errors, about the job's JSON.
    let inside = [
        TAG,
        base64::engine::general_purpose::STANDARD
            .encode(b"[1]")
            .as_bytes(),
    ]
    .concat();
    let e = Job::decode_with(&inside, &options).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::WrongShape, "{e}");
}

#[test]
fn the_size_limit_holds_before_the_format_runs() {
    let format = Arc::new(Base64Tagged::default());
    let options = DecodeOptions {
        max_payload_bytes: 64,
        ..with_format(DecodeOptions::default(), format.clone())
    };
    let big = [TAG, &[b'A'; 100][..]].concat();
    let e = Job::decode_with(&big, &options).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooLarge);
    assert_eq!(
        format.calls.load(Ordering::Relaxed),
        0,
        "the format never saw it"
    );
}

#[tokio::test]
async fn a_job_the_format_cannot_wrap_is_refused_before_producing() {
    // No broker at this address: a job that reached librdkafka would wait for delivery instead.
    let producer = JobProducer::builder()
        .bootstrap_servers("127.0.0.1:1")
        .payload_format(Arc::new(Base64Tagged::default()))
        .build()
        .unwrap();
    let job = Job::new("ImportJob")
        .queue("imports")
        .arg("x".repeat(2_000));
    match producer.enqueue(&job).await {
        Err(ProduceError::PayloadFormat { job_class, source }) => {
            assert_eq!(job_class, "ImportJob");
            assert_eq!(source.to_string(), "job too large for this format");
        }
        other => panic!("expected a payload format error, got {other:?}"),
    }
}
