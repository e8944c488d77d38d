//! What the worker knows about its own health, for `/health` (see
//! [`Metrics`](crate::metrics::Metrics)) and for applications that serve their own probe.
//!
//! Readiness (Kubernetes' `readinessProbe`: "is this worker doing its work?") needs all of:
//! connected to a broker, past authentication and the TLS handshake, a member of its group
//! with a settled assignment (which may be empty: with more workers than partitions some of
//! them hold none, and that is reported, not a failure), and offset commits getting through
//! (not holding new jobs, see [`CommitState`]).
//! Liveness (`livenessProbe`: "is this process stuck, so that only a restart helps?") only asks
//! whether the poller thread still runs; a broker outage or wrong credentials make a worker
//! unready, never unlive, since restarting it would not fix either.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::commit_state::CommitState;
use crate::kafka::watch::{any_broker_up, ConnectionWatch};

/// The worker's group membership as the rebalance callbacks and statistics saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Membership {
    /// Started, no assignment yet.
    Joining,
    /// In the group with this many partitions.
    Member(usize),
    /// The assignment was lost (session timed out, e.g. during a broker outage) and no new
    /// one has arrived yet.
    Lost,
    /// The group coordinator refused this member (e.g. an inconsistent group protocol).
    Refused(String),
}

/// Health facts of one running worker; read with [`WorkerHealth::readiness`].
///
/// A worker with several consumers (consumer groups, subscription groups) is ready when every
/// one of them is; each part of the answer names its consumer (`<group_id>_<n>`).
#[derive(Debug)]
pub struct WorkerHealth {
    pub(crate) connection: ConnectionWatch,
    group_id: String,
    membership: Mutex<Membership>,
    commits: Arc<CommitState>,
    /// The consumers, by subscription group name, when there are several (this record's own
    /// facts are then unused).
    members: Vec<(String, Arc<WorkerHealth>)>,
}

impl WorkerHealth {
    pub(crate) fn new(group_id: &str, commits: Arc<CommitState>) -> Self {
        WorkerHealth {
            connection: ConnectionWatch::new("consumer"),
            group_id: group_id.to_owned(),
            membership: Mutex::new(Membership::Joining),
            commits,
            members: Vec::new(),
        }
    }

    /// The health of a worker running several consumers: ready when all of them are.
    pub(crate) fn combined(
        members: Vec<(String, Arc<WorkerHealth>)>,
        commits: Arc<CommitState>,
    ) -> Self {
        WorkerHealth {
            members,
            ..WorkerHealth::new("", commits)
        }
    }

    /// Each consumer's consumer group, subscription group and whether it is ready.
    pub(crate) fn consumers(&self) -> Vec<(String, String, bool)> {
        if self.members.is_empty() {
            let group = self.group_id.clone();
            return vec![(
                group.clone(),
                format!("{group}_0"),
                self.readiness().is_ok(),
            )];
        }
        self.members
            .iter()
            .map(|(name, m)| (m.group_id.clone(), name.clone(), m.readiness().is_ok()))
            .collect()
    }

    /// Readiness of every consumer, each named: `Ok` when all are ready.
    fn members_readiness(&self) -> Result<String, String> {
        let mut ready = Vec::new();
        for (name, member) in &self.members {
            match member.readiness() {
                Ok(summary) => ready.push(format!("{name}: {summary}")),
                Err(why) => return Err(format!("{name}: {why}")),
            }
        }
        Ok(ready.join("; "))
    }

    fn membership(&self) -> std::sync::MutexGuard<'_, Membership> {
        self.membership.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a rebalance callback: the worker now holds `partitions` partitions.
    pub(crate) fn assigned(&self, partitions: usize) {
        *self.membership() = Membership::Member(partitions);
    }

    /// True until the first assignment (or settled membership) arrived.
    pub(crate) fn is_joining(&self) -> bool {
        *self.membership() == Membership::Joining
    }

    /// The assignment was lost.
    pub(crate) fn lost(&self) {
        *self.membership() = Membership::Lost;
    }

    /// Records a consumer error; true when it was a group or connection problem (then
    /// logged as an error here).
    pub(crate) fn on_error(&self, error: &KafkaError, reason: &str) -> bool {
        if self.connection.on_error(error, reason) {
            return true;
        }
        let Some(why) = group_refusal(error) else {
            return false;
        };
        let mut membership = self.membership();
        if !matches!(&*membership, Membership::Refused(w) if *w == why) {
            tracing::error!(group_id = %self.group_id, "{why}");
        }
        *membership = Membership::Refused(why);
        true
    }

    /// Reads librdkafka's statistics: a broker up ends a connection problem, and a settled
    /// group membership counts even when no rebalance callback reported it (an empty
    /// assignment under the consumer protocol).
    pub(crate) fn on_statistics(&self, json: &[u8]) {
        if any_broker_up(json) {
            self.connection.on_broker_up();
        }
        if let Some(size) = settled_assignment(json) {
            let mut membership = self.membership();
            if matches!(*membership, Membership::Joining | Membership::Lost) {
                *membership = Membership::Member(size);
            }
        }
    }

    /// `Ok` with a one-line summary when the worker is ready (see the module docs), `Err`
    /// with the reason when it is not.
    pub fn readiness(&self) -> Result<String, String> {
        if !self.members.is_empty() {
            return self.members_readiness();
        }
        if let Some(problem) = self.connection.problem() {
            return Err(problem.to_string());
        }
        let commits = self.commits.status();
        if commits.holding_jobs {
            return Err(format!(
                "offset commits are not getting through (stored offsets waiting for {:.1?}, \
                 last error: {}): new jobs wait",
                commits.uncommitted_for(Instant::now()),
                commits.last_error.as_deref().unwrap_or("none yet")
            ));
        }
        let group = &self.group_id;
        match &*self.membership() {
            Membership::Joining => Err(format!("joining consumer group {group:?}")),
            Membership::Lost => Err(format!(
                "the assignment in consumer group {group:?} was lost (session timed out); \
                 rejoining"
            )),
            Membership::Refused(why) => Err(why.clone()),
            Membership::Member(0) => Ok(format!(
                "member of consumer group {group:?} with no partitions assigned (more workers \
                 than partitions, or the topics have none yet)"
            )),
            Membership::Member(n) => Ok(format!(
                "member of consumer group {group:?} with {n} partition(s) assigned"
            )),
        }
    }
}

/// The reason the group coordinator refuses this member, for the errors that say so.
fn group_refusal(error: &KafkaError) -> Option<String> {
    let code = error.rdkafka_error_code()?;
    let why = match code {
        RDKafkaErrorCode::InconsistentGroupProtocol => {
            "cannot join the consumer group: Inconsistent group protocol (the group's other \
             members use another partition.assignment.strategy or group.protocol; set the same \
             one as the Ruby workers, see the README's \"Switch\")"
        }
        RDKafkaErrorCode::FencedInstanceId => {
            "fenced: another running worker uses the same group.instance.id; give each process \
             its own (see the README's \"Static membership\")"
        }
        RDKafkaErrorCode::GroupAuthorizationFailed => {
            "not authorized to join the consumer group (broker ACLs)"
        }
        RDKafkaErrorCode::TopicAuthorizationFailed => "not authorized to read a routed topic",
        RDKafkaErrorCode::UnsupportedVersion => {
            "the broker does not support the configured group.protocol"
        }
        _ => return None,
    };
    Some(why.to_owned())
}

/// The assignment size when the statistics show a settled membership (`cgrp.state` up,
/// `join_state` steady).
fn settled_assignment(json: &[u8]) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Stats {
        cgrp: Option<Cgrp>,
    }
    #[derive(serde::Deserialize)]
    struct Cgrp {
        #[serde(default)]
        state: String,
        #[serde(default)]
        join_state: String,
        #[serde(default)]
        assignment_size: usize,
    }
    let cgrp = serde_json::from_slice::<Stats>(json).ok()?.cgrp?;
    (cgrp.state == "up" && cgrp.join_state == "steady").then_some(cgrp.assignment_size)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A worker is unready until it joined, ready with or without partitions, unready again
    /// when the assignment is lost or the coordinator refuses it, and a connection problem
    /// comes first.
    #[test]
    fn readiness_follows_membership_and_connection() {
        let h = WorkerHealth::new("app", Arc::new(CommitState::new(Duration::from_secs(1))));
        assert!(h.readiness().unwrap_err().contains("joining"));
        h.assigned(0);
        assert!(h.readiness().unwrap().contains("no partitions"));
        h.assigned(3);
        assert!(h.readiness().unwrap().contains("3 partition"));
        h.lost();
        assert!(h.readiness().unwrap_err().contains("lost"));
        h.on_statistics(
            br#"{"brokers":{},"cgrp":{"state":"up","join_state":"steady","assignment_size":2}}"#,
        );
        assert!(h.readiness().unwrap().contains("2 partition"));
        assert!(h.on_error(
            &KafkaError::MessageConsumption(RDKafkaErrorCode::InconsistentGroupProtocol),
            ""
        ));
        assert!(h
            .readiness()
            .unwrap_err()
            .contains("Inconsistent group protocol"));
        h.assigned(1);
        assert!(h.on_error(
            &KafkaError::Global(RDKafkaErrorCode::Authentication),
            "SASL"
        ));
        assert!(h
            .readiness()
            .unwrap_err()
            .starts_with("authentication failed"));
        h.on_statistics(br#"{"brokers":{"b":{"state":"UP"}}}"#);
        assert!(h.readiness().is_ok());
    }

    /// With several consumers, the worker is ready only when each is, and the answer names
    /// the consumer (its group) that is not.
    #[test]
    fn several_consumers_are_ready_together() {
        let commits = || Arc::new(CommitState::new(Duration::from_secs(1)));
        let a = Arc::new(WorkerHealth::new("app", commits()));
        let b = Arc::new(WorkerHealth::new("reports", commits()));
        let h = WorkerHealth::combined(
            vec![("app_0".into(), a.clone()), ("reports_0".into(), b.clone())],
            commits(),
        );
        a.assigned(2);
        let why = h.readiness().unwrap_err();
        assert!(
            why.starts_with("reports_0: joining consumer group \"reports\""),
            "{why}"
        );
        b.assigned(1);
        let ok = h.readiness().unwrap();
        assert!(
            ok.contains("app_0: member of consumer group \"app\" with 2"),
            "{ok}"
        );
        assert!(
            ok.contains("reports_0: member of consumer group \"reports\" with 1"),
            "{ok}"
        );
    }
}
