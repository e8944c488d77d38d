//! The dispatcher's consumer loop. One thread owns the consumer and the producer: rebalance
//! callbacks, consumed messages and ticks never run at the same time, so a tick always finishes
//! (targets acknowledged, then tombstones acknowledged) before a partition can be revoked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{DeliveryFuture, FutureProducer, Producer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::buffer::{self, check_schema, PartitionSchedules, Processed, ProxyRecord};
use super::states::LoadState;
use super::{ScheduledConfig, ScheduledError};
use crate::consumer::{copy_headers, partition_for_key};
use crate::kafka::client;
use crate::kafka::log::LogContext;
use crate::producer::{
    text_header, try_enqueue, Outgoing, PartitionCounts, QUEUE_FULL_PAUSE, QUEUE_FULL_TIMEOUT,
};

/// Karafka's `max_messages` for the schedules topic.
const MAX_BATCH: usize = 10_000;
/// Longest poll, so a shutdown request is seen quickly.
const MAX_POLL: Duration = Duration::from_millis(100);
/// Pause before dispatching again from a partition whose produce failed.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

enum Event {
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
    RevokedAll,
}

/// Reads every assigned partition from the beginning: the consumer's context assigns with
/// `Offset::Beginning` instead of the committed offsets.
struct Ctx {
    topic: String,
    log: LogContext,
    events: Mutex<Vec<Event>>,
}

impl Ctx {
    fn push(&self, e: Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, line: &str) {
        self.log.log(level, fac, line);
    }

    fn stats_raw(&self, _statistics: &[u8]) {}

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ConsumerContext for Ctx {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let partitions: Vec<i32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Err(e) = tpl.set_all_offsets(Offset::Beginning) {
                    tracing::error!(%e, "could not start assigned partitions at the beginning");
                }
                tracing::info!(topic = %self.topic, ?partitions, "schedules assigned");
                self.push(Event::Assigned(partitions));
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(topic = %self.topic, ?partitions, "schedules revoked");
                self.push(Event::Revoked(partitions));
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance failed");
                self.push(Event::RevokedAll);
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(%e, "applying the rebalance failed");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    Loaded,
}

/// One assigned partition.
struct Part {
    schedules: PartitionSchedules,
    phase: Phase,
    reloads: u64,
    /// A reload's seek to the beginning has not happened yet: its messages are ignored.
    needs_seek: bool,
    /// Stopped at a message it refuses.
    halted: Option<String>,
    last_offset: Option<i64>,
    states_at: Option<Instant>,
    retry_after: Option<Instant>,
}

impl Part {
    fn new(now: i64, reloads: u64) -> Self {
        Part {
            schedules: PartitionSchedules::new(now, reloads),
            phase: Phase::Loading,
            reloads,
            needs_seek: false,
            halted: None,
            last_offset: None,
            states_at: None,
            retry_after: None,
        }
    }

    fn active(&self) -> bool {
        !self.needs_seek && self.halted.is_none()
    }

    fn load_state(&self) -> LoadState {
        match self.phase {
            Phase::Loading => LoadState::Loading,
            Phase::Loaded => LoadState::Loaded,
        }
    }
}

fn unix_now() -> (i64, i64, f64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        d.as_secs_f64(),
    )
}

fn consumer_config(c: &ScheduledConfig, bootstrap: &str) -> ClientConfig {
    let mut cc = client::base_config(bootstrap, Some(&c.client_id));
    cc.set("group.id", &c.group_id)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "5000")
        .set("partition.assignment.strategy", "range,roundrobin")
        .set("allow.auto.create.topics", "true")
        .set("fetch.queue.backoff.ms", "10");
    for (k, v) in &c.kafka {
        cc.set(k, v);
    }
    // The load needs EOF events, and offsets are stored only once loaded.
    cc.set("bootstrap.servers", bootstrap)
        .set("enable.partition.eof", "true")
        .set("enable.auto.offset.store", "false");
    cc
}

fn producer_config(c: &ScheduledConfig, bootstrap: &str) -> ClientConfig {
    let mut pc = client::base_config(bootstrap, Some(&c.client_id));
    pc.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "consistent_random");
    client::copy_connection(&mut pc, &c.kafka, bootstrap);
    for (k, v) in &c.producer_kafka {
        pc.set(k, v);
    }
    // The resolved brokers win over a producer override, as on the consumer.
    pc.set("bootstrap.servers", bootstrap);
    pc
}

pub(super) fn run(config: ScheduledConfig, stop: &AtomicBool) -> Result<(), ScheduledError> {
    let bootstrap = client::bootstrap_servers(config.bootstrap_servers.as_deref(), &config.kafka)
        .ok_or(ScheduledError::NoBrokers)?;
    let consumer: BaseConsumer<Ctx> = consumer_config(&config, &bootstrap)
        .create_with_context(Ctx {
            topic: config.topic.clone(),
            log: LogContext("scheduled-messages consumer"),
            events: Mutex::new(Vec::new()),
        })
        .map_err(|source| ScheduledError::Client {
            client: "consumer",
            source,
        })?;
    let producer: FutureProducer<LogContext> = producer_config(&config, &bootstrap)
        .create_with_context(LogContext("scheduled-messages producer"))
        .map_err(|source| ScheduledError::Client {
            client: "producer",
            source,
        })?;
    consumer
        .subscribe(&[&config.topic])
        .map_err(|source| ScheduledError::Subscribe {
            topic: config.topic.clone(),
            source,
        })?;
    let mut daemon = Daemon {
        next_tick: Instant::now() + config.interval,
        config,
        consumer,
        producer,
        parts: BTreeMap::new(),
        counts: PartitionCounts::default(),
        pending_states: Vec::new(),
    };
    let result = daemon.run(stop);
    daemon.shutdown();
    result
}

struct Daemon {
    config: ScheduledConfig,
    consumer: BaseConsumer<Ctx>,
    producer: FutureProducer<LogContext>,
    parts: BTreeMap<i32, Part>,
    counts: PartitionCounts,
    next_tick: Instant,
    pending_states: Vec<DeliveryFuture>,
}

impl Daemon {
    fn run(&mut self, stop: &AtomicBool) -> Result<(), ScheduledError> {
        while !stop.load(Ordering::SeqCst) {
            let timeout = self.poll_timeout();
            let mut polled = self.consumer.poll(timeout).map(detach);
            let mut touched: BTreeMap<i32, Option<i64>> = BTreeMap::new();
            let mut eofs: BTreeSet<i32> = BTreeSet::new();
            let mut count = 0;
            loop {
                // Rebalance callbacks ran inside that poll, before anything it returned.
                self.apply_events();
                let Some(item) = polled.take() else { break };
                match item {
                    Ok(record) => self.handle_message(record, &mut touched),
                    Err(KafkaError::PartitionEOF(p)) => {
                        eofs.insert(p);
                    }
                    Err(e @ KafkaError::MessageConsumptionFatal(_)) => {
                        return Err(ScheduledError::Fatal(e));
                    }
                    Err(e) => tracing::warn!(%e, "consumer error"),
                }
                count += 1;
                if count < MAX_BATCH {
                    polled = self.consumer.poll(Duration::ZERO).map(detach);
                }
            }
            for (p, timestamp_ms) in touched {
                self.after_batch(p, timestamp_ms);
            }
            for p in eofs {
                self.eofed(p);
            }
            self.retry_seeks();
            self.periodic();
            self.check_states_deliveries();
        }
        Ok(())
    }

    fn apply_events(&mut self) {
        let events: Vec<Event> = std::mem::take(
            &mut *self
                .consumer
                .context()
                .events
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let (now, _, _) = unix_now();
        for event in events {
            match event {
                Event::Assigned(ps) => {
                    // A partition this member stopped at a refused message earlier starts over.
                    let mut tpl = TopicPartitionList::new();
                    for p in &ps {
                        tpl.add_partition(&self.config.topic, *p);
                    }
                    let _ = self.consumer.resume(&tpl);
                    for p in ps {
                        // Karafka's first act on a new assignment is a reload.
                        self.parts.insert(p, Part::new(now, 1));
                    }
                }
                Event::Revoked(ps) => {
                    for p in ps {
                        self.parts.remove(&p);
                    }
                }
                Event::RevokedAll => self.parts.clear(),
            }
        }
    }

    /// Up to [`MAX_POLL`], less when a tick or (with `wake_at_due`) a schedule is due sooner.
    fn poll_timeout(&self) -> Duration {
        let mut t = MAX_POLL.min(self.next_tick.saturating_duration_since(Instant::now()));
        if self.config.wake_at_due {
            let (_, now_ms, _) = unix_now();
            for part in self.parts.values() {
                if part.phase != Phase::Loaded || !part.active() || part.retry_after.is_some() {
                    continue;
                }
                if let Some(epoch) = part.schedules.buffer.next_epoch() {
                    let wait_ms = epoch.saturating_mul(1000).saturating_sub(now_ms).max(0);
                    t = t.min(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)));
                }
            }
        }
        t
    }

    fn handle_message(&mut self, record: ProxyRecord, touched: &mut BTreeMap<i32, Option<i64>>) {
        let p = record.partition;
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        if !part.active() {
            return;
        }
        if let Err(reason) = check_schema(&record) {
            tracing::error!(
                topic = %self.config.topic,
                partition = p,
                offset = record.offset,
                %reason,
                "incompatible schedule: partition stopped"
            );
            part.halted = Some(reason);
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&self.config.topic, p);
            let _ = self.consumer.pause(&tpl);
            return;
        }
        let offset = record.offset;
        let timestamp = record.timestamp_ms;
        if let Processed::Skipped(why) = part.schedules.process(record) {
            tracing::warn!(topic = %self.config.topic, partition = p, offset, %why, "message skipped");
        }
        part.last_offset = Some(offset);
        touched.insert(p, timestamp);
    }

    /// Karafka's `consume` after its messages: the load check, then tick and mark once loaded.
    fn after_batch(&mut self, p: i32, timestamp_ms: Option<i64>) {
        let grace = i64::try_from(self.config.loaded_grace.as_secs()).unwrap_or(i64::MAX);
        let (now, _, _) = unix_now();
        self.report_state(p, false);
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        if !part.active() {
            return;
        }
        let recent = timestamp_ms.unwrap_or(0).div_euclid(1000).min(now);
        if part.phase == Phase::Loading && recent > part.schedules.tracker.started_at + grace {
            self.loaded(p);
        }
        if self.parts.get(&p).is_some_and(|x| x.phase == Phase::Loaded) {
            self.tick(p);
            self.store_offset(p);
        }
    }

    fn eofed(&mut self, p: i32) {
        let Some(part) = self.parts.get(&p) else {
            return;
        };
        if !part.active() {
            return;
        }
        if part.phase == Phase::Loading {
            self.loaded(p);
        }
        self.tick(p);
        self.store_offset(p);
    }

    fn loaded(&mut self, p: i32) {
        if let Some(part) = self.parts.get_mut(&p) {
            part.phase = Phase::Loaded;
            tracing::info!(
                topic = %self.config.topic,
                partition = p,
                schedules = part.schedules.buffer.len(),
                "schedules loaded"
            );
        }
        self.report_state(p, true);
    }

    /// Every `interval`: a tick for each partition; in between, a tick for any partition whose
    /// next schedule is due (with `wake_at_due`).
    fn periodic(&mut self) {
        let now = Instant::now();
        let all = now >= self.next_tick;
        if all {
            self.next_tick = now + self.config.interval;
        }
        let (secs, _, _) = unix_now();
        let ps: Vec<i32> = self
            .parts
            .iter()
            .filter(|(_, part)| {
                if part.retry_after.is_some_and(|t| now < t) {
                    return false;
                }
                all || (self.config.wake_at_due
                    && part
                        .schedules
                        .buffer
                        .next_epoch()
                        .is_some_and(|e| e <= secs))
            })
            .map(|(p, _)| *p)
            .collect();
        for p in ps {
            self.tick(p);
        }
    }

    /// Karafka's `tick`: a reload when the day has ended, else dispatch what is due.
    fn tick(&mut self, p: i32) {
        let (now, _, _) = unix_now();
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        if part.phase != Phase::Loaded || !part.active() {
            return;
        }
        if part.retry_after.is_some_and(|t| Instant::now() < t) {
            return;
        }
        part.retry_after = None;
        if part.schedules.day.ended(now) {
            self.reload(p);
            return;
        }
        if !self.dispatch_due(p, now) {
            if let Some(part) = self.parts.get_mut(&p) {
                part.retry_after = Some(Instant::now() + RETRY_AFTER_FAILURE);
            }
        }
        self.report_state(p, false);
    }

    /// Rebuilds the partition from its beginning (a new UTC day).
    fn reload(&mut self, p: i32) {
        let (now, _, _) = unix_now();
        if let Some(part) = self.parts.get_mut(&p) {
            let reloads = part.reloads + 1;
            *part = Part::new(now, reloads);
            part.needs_seek = true;
            tracing::info!(topic = %self.config.topic, partition = p, "new day: reloading schedules");
        }
        self.retry_seeks();
    }

    fn retry_seeks(&mut self) {
        for (p, part) in self.parts.iter_mut().filter(|(_, x)| x.needs_seek) {
            match self.consumer.seek(
                &self.config.topic,
                *p,
                Offset::Beginning,
                Duration::from_secs(5),
            ) {
                Ok(()) => part.needs_seek = false,
                Err(e) => {
                    tracing::warn!(partition = *p, %e, "seek to the beginning failed; retrying")
                }
            }
        }
    }

    /// Dispatches due schedules of `p` in (epoch, offset) order, in batches: targets, then the
    /// tombstones of acknowledged targets, then forgets what was tombstoned. False when
    /// anything failed (it is retried on a later tick).
    fn dispatch_due(&mut self, p: i32, now: i64) -> bool {
        let Daemon {
            config,
            producer,
            parts,
            counts,
            ..
        } = self;
        let Some(part) = parts.get_mut(&p) else {
            return true;
        };
        let held = &mut part.schedules.buffer;
        let due = held.due(now);
        for chunk in due.chunks(config.flush_batch_size) {
            let mut ok = true;
            // Targets not yet acknowledged.
            let mut sends = Vec::new();
            for key in chunk {
                let Some(entry) = held.get(key) else {
                    continue;
                };
                if entry.dispatched {
                    continue;
                }
                let out = target_message(counts, producer, &config.topic, &entry.record);
                sends.push((key.clone(), out.topic.clone(), send(producer, &out)));
            }
            for (key, topic, result) in wait_all(sends) {
                match result {
                    Ok((target_partition, offset)) => {
                        tracing::debug!(partition = p, target = %topic, target_partition, offset, "dispatched");
                        held.mark_dispatched(&key);
                    }
                    Err(e) => {
                        ok = false;
                        tracing::error!(partition = p, target = %topic, %e, "dispatch failed; retrying later");
                    }
                }
            }
            // Tombstones for everything acknowledged.
            let mut sends = Vec::new();
            for key in chunk {
                let Some(entry) = held.get(key) else {
                    continue;
                };
                if !entry.dispatched {
                    continue;
                }
                let out = Outgoing {
                    topic: config.topic.clone(),
                    partition: Some(entry.record.partition),
                    key: entry.record.key.clone(),
                    payload: None,
                    headers: buffer::tombstone_headers(&entry.record),
                };
                sends.push((key.clone(), out.topic.clone(), send(producer, &out)));
            }
            for (key, _, result) in wait_all(sends) {
                match result {
                    Ok(_) => held.delete(&key),
                    Err(e) => {
                        ok = false;
                        tracing::error!(partition = p, %e, "tombstone failed; retrying later");
                    }
                }
            }
            if !ok {
                return false;
            }
        }
        true
    }

    fn store_offset(&self, p: i32) {
        let Some(offset) = self.parts.get(&p).and_then(|x| x.last_offset) else {
            return;
        };
        let mut tpl = TopicPartitionList::new();
        if tpl
            .add_partition_offset(&self.config.topic, p, Offset::Offset(offset + 1))
            .is_ok()
        {
            let _ = self.consumer.store_offsets(&tpl);
        }
    }

    /// A `<topic>_states` record, at most every `states_interval` unless `force`d.
    fn report_state(&mut self, p: i32, force: bool) {
        self.report_state_as(p, force, None);
    }

    fn report_state_as(&mut self, p: i32, force: bool, state: Option<LoadState>) {
        if !self.config.states {
            return;
        }
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        if !force
            && part
                .states_at
                .is_some_and(|t| t.elapsed() < self.config.states_interval)
        {
            return;
        }
        part.states_at = Some(Instant::now());
        let state = state.unwrap_or_else(|| part.load_state());
        let (_, _, now_f) = unix_now();
        let held = part.schedules.buffer.len();
        let payload = part.schedules.tracker.state_payload(state, held, now_f);
        let out = Outgoing {
            topic: format!("{}{}", self.config.topic, self.config.states_postfix),
            partition: Some(p),
            key: Some(format!("{}_state", state.as_str()).into_bytes()),
            payload: Some(payload),
            headers: vec![text_header("zlib", "true")],
        };
        match send(&self.producer, &out) {
            Ok(f) => self.pending_states.push(f),
            Err(e) => tracing::warn!(%e, "states record not produced"),
        }
    }

    fn check_states_deliveries(&mut self) {
        self.pending_states.retain_mut(|f| match f.now_or_never() {
            None => true,
            Some(Ok(Err((e, _)))) => {
                tracing::warn!(%e, "states record not delivered");
                false
            }
            Some(_) => false,
        });
    }

    fn shutdown(&mut self) {
        let ps: Vec<i32> = self.parts.keys().copied().collect();
        for p in ps {
            self.report_state_as(p, true, Some(LoadState::Stopped));
        }
        if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
            tracing::warn!(%e, "scheduled messages producer did not flush");
        }
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::debug!(%e, "final commit"),
        }
        self.consumer.unsubscribe();
    }
}

/// Karafka's `Dispatcher#<<` target, with a partition key hashed as rdkafka-ruby does.
fn target_message(
    counts: &PartitionCounts,
    producer: &FutureProducer<LogContext>,
    source_topic: &str,
    record: &ProxyRecord,
) -> Outgoing {
    let t = buffer::target(record, source_topic);
    let mut partition = t.partition;
    if let Some(pk) = &t.partition_key {
        if let Some(n) = counts.fetch(producer.client(), &t.topic, Duration::from_secs(5)) {
            partition = Some(partition_for_key(pk.as_bytes(), n));
        }
    }
    Outgoing {
        topic: t.topic,
        partition,
        key: t.key.map(String::into_bytes),
        payload: t.payload,
        headers: t.headers,
    }
}

/// Copies a consumed message out of librdkafka's buffer.
fn detach(item: Result<BorrowedMessage<'_>, KafkaError>) -> Result<ProxyRecord, KafkaError> {
    let m = item?;
    Ok(ProxyRecord {
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        headers: copy_headers(&m),
        timestamp_ms: m.timestamp().to_millis(),
    })
}

fn send(
    producer: &FutureProducer<LogContext>,
    out: &Outgoing,
) -> Result<DeliveryFuture, KafkaError> {
    let deadline = Instant::now() + QUEUE_FULL_TIMEOUT;
    loop {
        match try_enqueue(producer, out, deadline) {
            Some(sent) => return sent,
            None => std::thread::sleep(QUEUE_FULL_PAUSE),
        }
    }
}

type Sent = (Option<Vec<u8>>, String, Result<DeliveryFuture, KafkaError>);

/// (key, topic, (partition, offset) or the error).
type Acked = (Option<Vec<u8>>, String, Result<(i32, i64), KafkaError>);

/// Waits for every send.
fn wait_all(sends: Vec<Sent>) -> Vec<Acked> {
    futures::executor::block_on(futures::future::join_all(sends.into_iter().map(
        |(key, topic, sent)| async move {
            let result = match sent {
                Err(e) => Err(e),
                Ok(f) => match f.await {
                    Ok(Ok(d)) => Ok((d.partition, d.offset)),
                    Ok(Err((e, _))) => Err(e),
                    Err(_) => Err(KafkaError::Canceled),
                },
            };
            (key, topic, result)
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatcher's producer reaches the brokers the way its consumer does: every
    /// connection property of `kafka` (TLS verification, sockets, address resolution) is
    /// copied, and consumer-only properties are not.
    #[test]
    fn the_producer_shares_the_consumers_connection() {
        let mut config = ScheduledConfig::builder("schedules").build();
        for (k, v) in [
            ("security.protocol", "SSL"),
            ("enable.ssl.certificate.verification", "false"),
            ("ssl.ca.location", "/ca.pem"),
            ("socket.keepalive.enable", "true"),
            (
                "client.dns.lookup",
                "resolve_canonical_bootstrap_servers_only",
            ),
            ("enable.auto.commit", "false"),
        ] {
            config.kafka.insert(k.to_owned(), v.to_owned());
        }
        let consumer = consumer_config(&config, "b:1");
        let producer = producer_config(&config, "b:1");
        for key in [
            "security.protocol",
            "enable.ssl.certificate.verification",
            "ssl.ca.location",
            "socket.keepalive.enable",
            "client.dns.lookup",
        ] {
            assert_eq!(producer.get(key), consumer.get(key), "{key}");
            assert!(producer.get(key).is_some(), "{key}");
        }
        assert_eq!(producer.get("enable.auto.commit"), None);
        assert_eq!(producer.get("bootstrap.servers"), Some("b:1"));
    }
}
