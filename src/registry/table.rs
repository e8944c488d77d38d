//! The registered job classes: one map from a Ruby class name to everything the registry needs
//! to run a job of that class (its handler and the policies for its errors), so that a message
//! costs one lookup of its `job_class`.
//!
//! The names are hashed with foldhash rather than std's SipHash, which costs several times as
//! much on a name as short as a job class. SipHash guards a map into which an attacker inserts
//! keys chosen to collide; this one is filled at start-up with the application's own class names
//! and only read afterwards, so a payload's `job_class`, whatever it is, costs one hash and a
//! probe among those names. foldhash's `RandomState` is still seeded per process.

use super::handler::ErasedHandler;
use super::policy::JobPolicies;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

/// What the registry keeps for one job class.
#[derive(Clone)]
pub(super) struct JobEntry {
    pub(super) handler: Arc<dyn ErasedHandler>,
    /// `None` until [`Registry::with_policies`](super::Registry::with_policies) sets some: a
    /// failed run of the class then follows the topic's failure path.
    pub(super) policies: Option<Arc<JobPolicies>>,
}

/// The job classes by Ruby class name.
#[derive(Clone, Default)]
pub(super) struct JobTable(HashMap<String, JobEntry, foldhash::fast::RandomState>);

impl JobTable {
    /// The entry of `job_class`, if a handler is registered for it.
    pub(super) fn get(&self, job_class: &str) -> Option<&JobEntry> {
        self.0.get(job_class)
    }

    /// Registers `handler` for `job_class`, replacing an earlier handler of the class (its
    /// policies stay).
    pub(super) fn set_handler(&mut self, job_class: String, handler: Arc<dyn ErasedHandler>) {
        match self.0.entry(job_class) {
            Entry::Occupied(mut entry) => entry.get_mut().handler = handler,
            Entry::Vacant(entry) => {
                entry.insert(JobEntry {
                    handler,
                    policies: None,
                });
            }
        }
    }

    /// Sets the policies of `job_class`; false (and nothing set) when no handler is registered
    /// for it.
    pub(super) fn set_policies(&mut self, job_class: &str, policies: JobPolicies) -> bool {
        match self.0.get_mut(job_class) {
            Some(entry) => {
                entry.policies = Some(Arc::new(policies));
                true
            }
            None => false,
        }
    }

    /// The registered class names, in no particular order.
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}
