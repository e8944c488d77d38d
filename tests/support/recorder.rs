//! A recorder of job runs, and the handler most worker tests run: it reads the job id of a
//! [`job_payload`](super::job_payload), records the run, and lets the test say how it goes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use activejob_karafka::consumer::{
    handler_fn, InboundMessage, JobFailure, MessageHandler, PartitionSignals,
};
use futures::FutureExt;

use super::parse_job;

/// One run of one job.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: u64,
    pub partition: i32,
    pub offset: i64,
    pub started: Instant,
    pub finished: Option<Instant>,
    pub ok: bool,
}

/// Collects job runs from handlers.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Run>>>);

impl Recorder {
    /// Notes the start of a run; returns its index for [`Recorder::finish`].
    pub fn start(&self, id: u64, m: &InboundMessage) -> usize {
        let mut v = self.0.lock().unwrap();
        v.push(Run {
            id,
            partition: m.partition,
            offset: m.offset,
            started: Instant::now(),
            finished: None,
            ok: false,
        });
        v.len() - 1
    }

    /// Notes the end of the run `index`.
    pub fn finish(&self, index: usize, ok: bool) {
        let mut v = self.0.lock().unwrap();
        v[index].finished = Some(Instant::now());
        v[index].ok = ok;
    }

    /// Notes the end of a run and gives the handler's result: `Ok`, or a failed job with `why`.
    pub fn finish_as(&self, index: usize, ok: bool, why: &str) -> Result<(), JobFailure> {
        self.finish(index, ok);
        if ok {
            Ok(())
        } else {
            Err(JobFailure::Failed(why.into()))
        }
    }

    /// Every run so far, in the order they started.
    pub fn runs(&self) -> Vec<Run> {
        self.0.lock().unwrap().clone()
    }

    /// Ids that completed successfully, with how many times each did.
    pub fn succeeded(&self) -> BTreeMap<u64, usize> {
        let mut m = BTreeMap::new();
        for r in self.0.lock().unwrap().iter().filter(|r| r.ok) {
            *m.entry(r.id).or_insert(0) += 1;
        }
        m
    }

    /// How many runs started.
    pub fn started_count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Ids run per partition, in the order they started.
    pub fn ids_by_partition(&self) -> BTreeMap<i32, Vec<u64>> {
        let mut by_partition: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
        for r in self.0.lock().unwrap().iter() {
            by_partition.entry(r.partition).or_default().push(r.id);
        }
        by_partition
    }

    /// A handler that records every run of a `job_payload` job: `job` gets the job's id, the
    /// message and the partition's signals, and says how the run goes (`Err(why)`: it fails).
    /// A message that is no such job fails as `parse_job` says, unrecorded.
    pub fn handler<F, Fut>(&self, job: F) -> impl MessageHandler
    where
        F: Fn(u64, Arc<InboundMessage>, PartitionSignals) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let recorder = self.clone();
        let job = Arc::new(job);
        handler_fn(move |m, signals| {
            let (recorder, job) = (recorder.clone(), job.clone());
            async move {
                let id = parse_job(&m)?;
                let run = recorder.start(id, &m);
                let outcome = job(id, m, signals).await;
                recorder.finish_as(run, outcome.is_ok(), outcome.err().as_deref().unwrap_or(""))
            }
            .boxed()
        })
    }
}

/// Runs of each id, in the order they started.
pub fn runs_by_id(runs: &[Run]) -> BTreeMap<u64, Vec<Run>> {
    let mut m: BTreeMap<u64, Vec<Run>> = BTreeMap::new();
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|r| r.started);
    for r in sorted {
        m.entry(r.id).or_default().push(r);
    }
    m
}

/// How many distinct jobs succeeded on any of `recorders` (workers sharing a group).
pub fn succeeded_on_any(recorders: &[&Recorder]) -> usize {
    let mut all = BTreeMap::new();
    for r in recorders {
        all.extend(r.succeeded());
    }
    all.len()
}

/// Asserts that each partition ran the ids `Out::job(id, (id % partitions) as i32)` put on it
/// from the first, consecutively: in offset order, none skipped or repeated.
pub fn assert_round_robin_order(by_partition: &BTreeMap<i32, Vec<u64>>, partitions: i32) {
    for (partition, ids) in by_partition {
        let expected: Vec<u64> = (0..ids.len() as u64)
            .map(|k| k * partitions as u64 + *partition as u64)
            .collect();
        assert_eq!(
            ids, &expected,
            "partition {partition}: in order, none skipped or repeated"
        );
    }
}
