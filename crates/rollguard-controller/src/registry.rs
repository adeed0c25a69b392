//! The rollout registry: which rollouts exist, which agent holds each one's
//! mandate and until when, and which have finished. Pure state over a
//! monotonic `now` passed in; the controller persists every change that
//! matters (submissions, grants, outcomes) as ledger events, and a new leader
//! rebuilds the registry from them ([`Registry::rebuild`]).
//!
//! A mandate is sticky: once an agent holds a rollout, the rollout stays with
//! that agent even after the lease expires (the agent owns the data plane it
//! set up); an expired lease only stops the agent from raising exposure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rollguard_core::Rollout;
use rollguard_ledger::Event;
use rollguard_mtls::PeerIdentity;
use sha2::{Digest, Sha256};

use crate::budget::Budgets;

/// Event kinds after which a rollout is over.
pub const TERMINAL_KINDS: [&str; 4] = ["promoted", "rolled_back", "aborted", "frozen"];
/// Ledger kind of a submission (inputs: `spec_yaml`).
pub const SUBMITTED_KIND: &str = "rollout_submitted";
/// Ledger kind of a mandate grant (inputs: `agent`, `spec_hash`).
pub const GRANTED_KIND: &str = "mandate_granted";

#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    Queued,
    Assigned {
        agent: String,
        lease_until: Instant,
    },
    Finished {
        agent: Option<String>,
        outcome: String,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub rollout: Arc<Rollout>,
    pub spec_yaml: String,
    pub spec_hash: String,
    pub assignment: Assignment,
    /// What the holding agent last reported: (status, canary weight).
    pub reported: Option<(String, f64)>,
}

impl Entry {
    pub fn agent(&self) -> Option<&str> {
        match &self.assignment {
            Assignment::Assigned { agent, .. } => Some(agent),
            Assignment::Finished { agent, .. } => agent.as_deref(),
            Assignment::Queued => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("rollout spec {source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
    #[error(
        "rollout {rollout} is already registered with a different spec and has not finished; abort it first"
    )]
    Conflict { rollout: String },
}

/// What happened to a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    New,
    Unchanged,
}

/// The result of one agent's heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Rollouts the agent already held (lease renewed).
    pub renewed: Vec<String>,
    /// Rollouts granted now.
    pub granted: Vec<String>,
    /// Rollouts the agent could drive but that wait for a budget.
    pub waiting: Vec<(String, String)>,
}

pub fn spec_hash(yaml: &str) -> String {
    hex::encode(Sha256::digest(yaml.as_bytes()))
}

#[derive(Debug, Default)]
pub struct Registry {
    entries: BTreeMap<String, Entry>,
    /// Rollouts currently assigned, by agent (heartbeats touch only these).
    by_agent: HashMap<String, BTreeSet<String>>,
    queued: BTreeSet<String>,
}

impl Registry {
    pub fn get(&self, rollout: &str) -> Option<&Entry> {
        self.entries.get(rollout)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Validates and registers a rollout. Re-submitting the same text is a
    /// no-op; a different spec under a finished name starts a new rollout.
    pub fn submit(&mut self, yaml: &str, source_name: &str) -> Result<Submission, RegistryError> {
        let rollout =
            rollguard_core::spec::load(yaml, source_name).map_err(|e| RegistryError::Invalid {
                source_name: source_name.to_string(),
                message: e.to_string(),
            })?;
        let hash = spec_hash(yaml);
        if let Some(existing) = self.entries.get(&rollout.name) {
            if existing.spec_hash == hash {
                return Ok(Submission::Unchanged);
            }
            if !matches!(existing.assignment, Assignment::Finished { .. }) {
                return Err(RegistryError::Conflict {
                    rollout: rollout.name.clone(),
                });
            }
        }
        self.unassign(&rollout.name);
        self.queued.insert(rollout.name.clone());
        self.entries.insert(
            rollout.name.clone(),
            Entry {
                rollout: Arc::new(rollout),
                spec_yaml: yaml.to_string(),
                spec_hash: hash,
                assignment: Assignment::Queued,
                reported: None,
            },
        );
        Ok(Submission::New)
    }

    /// Renews the agent's leases and grants queued rollouts whose service its
    /// certificate lists, within the budgets.
    pub fn heartbeat(
        &mut self,
        agent: &PeerIdentity,
        now: Instant,
        lease: Duration,
        budgets: &Budgets,
    ) -> Grants {
        let mut grants = Grants::default();
        if let Some(held) = self.by_agent.get(&agent.name) {
            for name in held {
                if let Some(Entry {
                    assignment: Assignment::Assigned { lease_until, .. },
                    ..
                }) = self.entries.get_mut(name)
                {
                    *lease_until = now + lease;
                    grants.renewed.push(name.clone());
                }
            }
        }
        let queued: Vec<String> = self
            .queued
            .iter()
            .filter(|n| {
                self.entries
                    .get(*n)
                    .is_some_and(|e| agent.may_drive(&e.rollout.service))
            })
            .cloned()
            .collect();
        for name in queued {
            let Some(labels) = self.entries.get(&name).map(|e| e.rollout.labels.clone()) else {
                continue;
            };
            let active = self
                .entries
                .values()
                .filter(|e| matches!(e.assignment, Assignment::Assigned { .. }))
                .map(|e| &e.rollout.labels);
            if let Some(b) = budgets.exceeded(&labels, active) {
                grants.waiting.push((
                    name,
                    format!(
                        "budget {}={}: at most {} canaries at once",
                        b.key, b.value, b.max
                    ),
                ));
                continue;
            }
            self.assign(&name, &agent.name, now + lease);
            grants.granted.push(name);
        }
        grants
    }

    /// Records what `agent` reports about the rollouts it holds (reports
    /// about rollouts it does not hold are ignored).
    pub fn record_report(&mut self, agent: &str, rollout: &str, status: &str, weight: f64) {
        if let Some(e) = self.entries.get_mut(rollout)
            && e.agent() == Some(agent)
        {
            e.reported = Some((status.to_string(), weight));
        }
    }

    /// Takes back a grant that could not be recorded.
    pub fn requeue(&mut self, rollout: &str) {
        self.unassign(rollout);
        if let Some(e) = self.entries.get_mut(rollout) {
            e.assignment = Assignment::Queued;
            self.queued.insert(rollout.to_string());
        }
    }

    fn assign(&mut self, rollout: &str, agent: &str, lease_until: Instant) {
        if let Some(e) = self.entries.get_mut(rollout) {
            e.assignment = Assignment::Assigned {
                agent: agent.to_string(),
                lease_until,
            };
            self.queued.remove(rollout);
            self.by_agent
                .entry(agent.to_string())
                .or_default()
                .insert(rollout.to_string());
        }
    }

    /// Drops `rollout` from the agent index and the queue.
    fn unassign(&mut self, rollout: &str) {
        self.queued.remove(rollout);
        let Some(agent) = self.entries.get(rollout).and_then(|e| match &e.assignment {
            Assignment::Assigned { agent, .. } => Some(agent.clone()),
            _ => None,
        }) else {
            return;
        };
        if let Some(set) = self.by_agent.get_mut(&agent) {
            set.remove(rollout);
            if set.is_empty() {
                self.by_agent.remove(&agent);
            }
        }
    }

    /// Marks a rollout over (an agent shipped its terminal event).
    pub fn finish(&mut self, rollout: &str, outcome: &str) {
        self.unassign(rollout);
        if let Some(e) = self.entries.get_mut(rollout) {
            let agent = e.agent().map(str::to_string);
            e.assignment = Assignment::Finished {
                agent,
                outcome: outcome.to_string(),
            };
        }
    }

    /// Rebuilds the registry from ledger events (seq order). Mandates held
    /// before get a fresh lease from `now`: the new leader cannot know how
    /// much of the old lease is left, and the agent's own lease is never
    /// longer than the old leader's grant.
    pub fn rebuild(events: &[Event], now: Instant, lease: Duration) -> Registry {
        let mut reg = Registry::default();
        for ev in events {
            match ev.kind.as_str() {
                SUBMITTED_KIND => {
                    let yaml = ev.inputs.get("spec_yaml").and_then(|v| v.as_str());
                    if let Some(yaml) = yaml
                        && let Err(e) = reg.submit(yaml, &format!("ledger seq {}", ev.seq))
                    {
                        tracing::warn!(seq = ev.seq, error = %e, "skipping a recorded submission");
                    }
                }
                GRANTED_KIND => {
                    let agent = ev.inputs.get("agent").and_then(|v| v.as_str());
                    let hash = ev.inputs.get("spec_hash").and_then(|v| v.as_str());
                    if let (Some(agent), Some(hash), Some(e)) =
                        (agent, hash, reg.entries.get(&ev.rollout))
                        && e.spec_hash == hash
                        && e.assignment == Assignment::Queued
                    {
                        reg.assign(&ev.rollout, agent, now + lease);
                    }
                }
                k if TERMINAL_KINDS.contains(&k) => reg.finish(&ev.rollout, k),
                _ => {}
            }
        }
        reg
    }
}
