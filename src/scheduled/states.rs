//! The `<topic>_states` records Karafka's Scheduled Messages consumer writes for the Web UI
//! (`Tracker`, `Serializer`): zlib-deflated JSON, key `"<state>_state"`, header `zlib: "true"`.

use std::io::Write;

use serde_json::{Map, Value as Json};

use crate::ruby::float::float_to_s;

/// `ScheduledMessages::STATES_SCHEMA_VERSION`.
pub(crate) const STATES_SCHEMA_VERSION: &str = "1.0.0";

/// Karafka's `State` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadState {
    Loading,
    Loaded,
    Stopped,
}

impl LoadState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LoadState::Loading => "loading",
            LoadState::Loaded => "loaded",
            LoadState::Stopped => "stopped",
        }
    }
}

/// Karafka's `Tracker`: offsets seen, schedules per day, when the load started.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    pub(crate) started_at: i64,
    low: i64,
    high: i64,
    daily: Map<String, Json>,
    reloads: u64,
}

impl Tracker {
    pub(crate) fn new(started_at: i64, reloads: u64) -> Self {
        Tracker {
            started_at,
            low: -1,
            high: -1,
            daily: Map::new(),
            reloads,
        }
    }

    pub(crate) fn offsets(&mut self, offset: i64) {
        if self.low < 0 {
            self.low = offset;
        }
        self.high = offset;
    }

    /// Counts a schedule for its UTC date.
    pub(crate) fn future(&mut self, epoch: i64) {
        let entry = self.daily.entry(date(epoch)).or_insert(Json::from(0));
        *entry = Json::from(entry.as_i64().unwrap_or(0) + 1);
    }

    /// Today's count is what the buffer holds.
    fn set_today(&mut self, held: usize) {
        self.daily.insert(date(self.started_at), Json::from(held));
    }

    /// The deflated JSON Karafka's `Serializer#state` writes.
    pub(crate) fn state_payload(&mut self, state: LoadState, held: usize, now: f64) -> Vec<u8> {
        self.set_today(held);
        let mut offsets = Map::new();
        offsets.insert("low".into(), Json::from(self.low));
        offsets.insert("high".into(), Json::from(self.high));
        let mut data = Map::new();
        data.insert("schema_version".into(), Json::from(STATES_SCHEMA_VERSION));
        // Ruby's JSON writes a Float with Float#to_s.
        let dispatched_at = float_to_s(now).parse().unwrap_or_else(|_| Json::from(0));
        data.insert("dispatched_at".into(), dispatched_at);
        data.insert("state".into(), Json::from(state.as_str()));
        data.insert("offsets".into(), Json::Object(offsets));
        data.insert("daily".into(), Json::Object(self.daily.clone()));
        data.insert("started_at".into(), Json::from(self.started_at));
        data.insert("reloads".into(), Json::from(self.reloads));
        let json = serde_json::to_vec(&Json::Object(data)).unwrap_or_default();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&json);
        z.finish().unwrap_or_default()
    }
}

/// `Time.at(epoch).utc.to_date.to_s`.
fn date(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn state_payload_is_deflated_json_in_karafkas_shape() {
        let mut t = Tracker::new(1_767_225_600, 2);
        t.offsets(5);
        t.offsets(9);
        t.future(1_767_225_600 + 10);
        t.future(1_767_225_600 + 86_400);
        let bytes = t.state_payload(LoadState::Loaded, 1, 1_767_225_612.25);
        let mut text = String::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            r#"{"schema_version":"1.0.0","dispatched_at":1767225612.25,"state":"loaded","offsets":{"low":5,"high":9},"daily":{"2026-01-01":1,"2026-01-02":1},"started_at":1767225600,"reloads":2}"#
        );
    }
}
