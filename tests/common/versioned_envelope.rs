//! The payload format of Karafka's own documentation example for a custom
//! `Karafka::ActiveJob::Deserializer`: the job wrapped as
//! `{"version":1,"produced_at":"…","producer":"…","payload":{…job…}}`, other versions refused.
//! `ruby_interop/typed_dump.rb --envelope payload` reads it the way that Ruby deserializer does.

use std::borrow::Cow;

use activejob_karafka::payload_format::{PayloadFormat, PayloadFormatError};
use serde_json::value::RawValue;

#[derive(Debug)]
pub struct VersionedEnvelope;

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    version: u32,
    #[serde(borrow)]
    payload: &'a RawValue,
}

impl PayloadFormat for VersionedEnvelope {
    fn job_json<'a>(&self, payload: &'a [u8]) -> Result<Cow<'a, [u8]>, PayloadFormatError> {
        let envelope: Envelope<'a> = serde_json::from_slice(payload)?;
        if envelope.version != 1 {
            return Err(PayloadFormatError::new(format!(
                "unsupported version {}",
                envelope.version
            )));
        }
        Ok(Cow::Borrowed(envelope.payload.get().as_bytes()))
    }

    fn payload(&self, job_json: Vec<u8>) -> Result<Vec<u8>, PayloadFormatError> {
        let job = RawValue::from_string(String::from_utf8(job_json)?)?;
        Ok(serde_json::to_vec(&serde_json::json!({
            "version": 1,
            "produced_at": chrono::Utc::now().to_rfc3339(),
            "producer": "billing-rs",
            "payload": job,
        }))?)
    }
}
