//! The consumer sides under test: the worker, and a bare rdkafka consumer for the floor. Each
//! records when each message reached it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activejob_karafka::consumer::{Worker, WorkerConfig};
use activejob_karafka::registry::{JobContext, Registry};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{ClientContext, Message};

use crate::billing_job::{perform, BillingArgs, JOB_CLASS};
use crate::statistics::FetchStatistics;
use crate::wall_clock_us;

/// When the consumer side got each message: (partition, offset, wall clock µs).
pub(crate) type Arrivals = Arc<Mutex<Vec<(i32, i64, i64)>>>;

/// What a consumer side records.
#[derive(Clone, Default)]
pub(crate) struct Probe {
    pub(crate) arrivals: Arrivals,
    pub(crate) statistics: Arc<FetchStatistics>,
}

/// A consumer side under test, running until it is told to stop.
pub(crate) trait ConsumerSide {
    /// True once every partition is assigned.
    fn assigned(&self, partitions: usize) -> bool;
    /// True if it stopped by itself (a failure).
    fn failed(&self) -> bool;
    /// Stops it.
    async fn stop(self) -> anyhow::Result<()>;
}

/// The worker, performing jobs through the `Registry`: arrival = the handler's start.
pub(crate) struct WorkerSide {
    stats: Arc<activejob_karafka::consumer::WorkerStats>,
    stop: activejob_karafka::consumer::ShutdownHandle,
    running: tokio::task::JoinHandle<Result<(), activejob_karafka::consumer::WorkerError>>,
}

impl WorkerSide {
    pub(crate) fn start(config: WorkerConfig, probe: Probe) -> Self {
        let arrivals = probe.arrivals;
        let registry =
            Registry::new().register(JOB_CLASS, move |args: BillingArgs, ctx: JobContext| {
                let at = wall_clock_us();
                arrivals
                    .lock()
                    .unwrap()
                    .push((ctx.partition(), ctx.offset(), at));
                let outcome = perform(&args).map(std::hint::black_box);
                async move {
                    outcome?;
                    Ok(())
                }
            });
        let worker = Worker::new(config, registry)
            .observer(probe.statistics)
            .handle_signals(false);
        WorkerSide {
            stats: worker.stats(),
            stop: worker.shutdown_handle(),
            running: tokio::spawn(worker.run()),
        }
    }
}

impl ConsumerSide for WorkerSide {
    fn assigned(&self, partitions: usize) -> bool {
        self.stats.snapshot().partitions_assigned >= partitions as u64
    }

    fn failed(&self) -> bool {
        self.running.is_finished()
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.stop.shutdown();
        self.running.await??;
        Ok(())
    }
}

/// A bare `BaseConsumer` with the worker's librdkafka settings, one thread polling:
/// arrival = the poll that returned the message.
pub(crate) struct BareSide {
    assigned: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl BareSide {
    pub(crate) fn start(
        config: &WorkerConfig,
        partitions: usize,
        probe: Probe,
    ) -> anyhow::Result<Self> {
        let consumer: BaseConsumer<BareContext> = config
            .consumer_config()
            .create_with_context(BareContext(probe.statistics))?;
        let arrivals = probe.arrivals;
        consumer.subscribe(&config.topic_names())?;
        let assigned = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (assigned, stop) = (assigned.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let at = wall_clock_us();
                            arrivals
                                .lock()
                                .unwrap()
                                .push((m.partition(), m.offset(), at));
                        }
                        Some(Err(e)) => anyhow::bail!("bare consumer: {e}"),
                        None => {}
                    }
                    if assigned.load(Ordering::Relaxed) < partitions {
                        // Asked only until all are assigned: the call waits on librdkafka's
                        // main thread.
                        let count = consumer.assignment().map_or(0, |a| a.count());
                        assigned.store(count, Ordering::Release);
                    }
                }
                Ok(())
            })
        };
        Ok(BareSide {
            assigned,
            stop,
            thread,
        })
    }
}

impl ConsumerSide for BareSide {
    fn assigned(&self, partitions: usize) -> bool {
        self.assigned.load(Ordering::Acquire) >= partitions
    }

    fn failed(&self) -> bool {
        self.thread.is_finished()
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Release);
        tokio::task::spawn_blocking(move || self.thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the bare consumer panicked"))?
    }
}

/// The bare consumer's context: its statistics go to a [`FetchStatistics`].
pub(crate) struct BareContext(Arc<FetchStatistics>);

impl ClientContext for BareContext {
    fn stats_raw(&self, json: &[u8]) {
        self.0.record(json);
    }
}

impl ConsumerContext for BareContext {}
