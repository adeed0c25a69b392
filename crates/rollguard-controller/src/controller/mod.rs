//! The controller's logic behind the API: leadership checks, the registry,
//! mandates (write-ahead: a grant is in the ledger before the agent hears of
//! it), authorization by certificate, and idempotent ingestion of agents'
//! events into the global ledger.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rollguard_ledger::{EventFilter, Ledger, NewEvent};
use rollguard_mtls::PeerIdentity;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

use crate::budget::Budgets;
use crate::leader::Leadership;
use crate::protocol::{Heartbeat, HeartbeatReply, LeaderInfo, Mandate, RolloutInfo, Submitted};
use crate::registry::{
    Assignment, GRANTED_KIND, Registry, RegistryError, SUBMITTED_KIND, Submission,
};

mod ingest;

/// Role a certificate needs to hold mandates.
pub const AGENT_ROLE: &str = "agent";
/// Role a certificate needs to submit rollouts.
pub const OPERATOR_ROLE: &str = "operator";

#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// This replica's name (ledger actor, leader row holder).
    pub replica: String,
    /// Mandate lease length.
    pub lease: Duration,
    pub budgets: Budgets,
    /// Content hash of the policy bundle agents must use.
    pub policy_bundle: Option<String>,
    /// Rollouts to register on becoming leader: (source name, YAML).
    pub rollouts: Vec<(String, String)>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    #[error("this replica is not the leader")]
    NotLeader { leader_url: Option<String> },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

struct State {
    registry: Registry,
    /// Leader term the registry was rebuilt for.
    term: Option<i64>,
}

pub struct Controller {
    cfg: ControllerConfig,
    ledger: Ledger,
    leadership: Leadership,
    state: Mutex<State>,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Controller {
    pub fn new(cfg: ControllerConfig, ledger: Ledger, leadership: Leadership) -> Arc<Controller> {
        Arc::new(Controller {
            cfg,
            ledger,
            leadership,
            state: Mutex::new(State {
                registry: Registry::default(),
                term: None,
            }),
        })
    }

    /// Rebuilds the registry as soon as this replica starts leading (so the
    /// takeover is done before the first agent asks).
    pub fn spawn_takeover_watch(self: &Arc<Self>) {
        let me = self.clone();
        let mut rx = self.leadership.subscribe();
        tokio::spawn(async move {
            loop {
                if rx.borrow_and_update().leader {
                    match me.leading().await {
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "taking over failed; retrying on the next request")
                        }
                    }
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn config(&self) -> &ControllerConfig {
        &self.cfg
    }

    /// The registry, once this replica leads and has rebuilt it for its term.
    async fn leading(&self) -> Result<MutexGuard<'_, State>, ApiFailure> {
        if !self.leadership.is_leader() {
            return Err(ApiFailure::NotLeader {
                leader_url: self.leadership.view().leader_url,
            });
        }
        let term = self.leadership.view().term;
        let mut st = self.state.lock().await;
        if st.term != Some(term) {
            let started = Instant::now();
            let events = self
                .ledger
                .events(EventFilter::default())
                .await
                .map_err(|e| ApiFailure::Internal(format!("reading the ledger: {e}")))?;
            st.registry = Registry::rebuild(&events, Instant::now(), self.cfg.lease);
            st.term = Some(term);
            for (source, yaml) in &self.cfg.rollouts {
                self.submit_locked(&mut st.registry, yaml, source).await?;
            }
            tracing::info!(
                replica = %self.cfg.replica,
                term,
                rollouts = st.registry.len(),
                events = events.len(),
                took_ms = started.elapsed().as_millis() as u64,
                "leading: registry rebuilt from the ledger"
            );
        }
        Ok(st)
    }

    /// Re-checked right before each ledger write, so a replica whose lease
    /// lapsed while it handled a request does not write. (The ledger's chain
    /// lock keeps the chain whole even if two replicas ever wrote at once,
    /// and idempotency keys keep a re-sent event single.)
    fn still_leading(&self) -> Result<(), ApiFailure> {
        if self.leadership.is_leader() {
            Ok(())
        } else {
            Err(ApiFailure::NotLeader {
                leader_url: self.leadership.view().leader_url,
            })
        }
    }

    async fn submit_locked(
        &self,
        reg: &mut Registry,
        yaml: &str,
        source: &str,
    ) -> Result<Submission, ApiFailure> {
        let outcome = reg.submit(yaml, source).map_err(|e| match e {
            RegistryError::Invalid { .. } => ApiFailure::BadRequest(e.to_string()),
            RegistryError::Conflict { .. } => ApiFailure::Conflict(e.to_string()),
        })?;
        if outcome == Submission::New {
            let Some(entry) = reg.entries().find(|e| e.spec_yaml == yaml) else {
                return Err(ApiFailure::Internal("submitted rollout vanished".into()));
            };
            let name = entry.rollout.name.clone();
            let ev = NewEvent {
                time_ms: wall_ms(),
                rollout: name.clone(),
                kind: SUBMITTED_KIND.into(),
                actor: format!("controller:{}", self.cfg.replica),
                idempotency_key: Some(format!("{name}/submitted/{}", &entry.spec_hash[..16])),
                inputs: json!({ "spec_yaml": yaml, "spec_hash": entry.spec_hash, "source": source }),
                statistics: json!({}),
                policy: None,
                rationale: format!(
                    "rollout {name} of service {} registered from {source}",
                    entry.rollout.service
                ),
            };
            self.ledger
                .append(ev)
                .await
                .map_err(|e| ApiFailure::Internal(format!("recording the submission: {e}")))?;
        }
        Ok(outcome)
    }

    pub async fn submit(&self, who: &PeerIdentity, yaml: &str) -> Result<Submitted, ApiFailure> {
        if !who.has_role(OPERATOR_ROLE) {
            tracing::warn!(peer = %who.name, "refused a submission: the certificate lacks the operator role");
            return Err(ApiFailure::Forbidden(format!(
                "{} may not submit rollouts (certificate lacks role {OPERATOR_ROLE})",
                who.name
            )));
        }
        let mut st = self.leading().await?;
        let source = format!("api:{}", who.name);
        let outcome = self.submit_locked(&mut st.registry, yaml, &source).await?;
        let rollout = st
            .registry
            .entries()
            .find(|e| e.spec_yaml == yaml)
            .map(|e| e.rollout.name.clone())
            .unwrap_or_default();
        Ok(Submitted {
            rollout,
            new: outcome == Submission::New,
        })
    }

    /// Renews and grants mandates for the agent.
    pub async fn heartbeat(
        &self,
        who: &PeerIdentity,
        hb: Heartbeat,
    ) -> Result<HeartbeatReply, ApiFailure> {
        if !who.has_role(AGENT_ROLE) {
            tracing::warn!(peer = %who.name, "refused a heartbeat: the certificate lacks the agent role");
            return Err(ApiFailure::Forbidden(format!(
                "{} is not an agent (certificate lacks role {AGENT_ROLE})",
                who.name
            )));
        }
        let mut st = self.leading().await?;
        for r in &hb.running {
            st.registry
                .record_report(&who.name, &r.rollout, &r.status, r.weight);
        }
        let grants = st
            .registry
            .heartbeat(who, Instant::now(), self.cfg.lease, &self.cfg.budgets);
        for (name, why) in &grants.waiting {
            tracing::debug!(rollout = %name, agent = %who.name, "waiting: {why}");
        }
        if let Err(e) = self.still_leading() {
            for name in &grants.granted {
                st.registry.requeue(name);
            }
            return Err(e);
        }
        // Write-ahead: grants are durable before the agent hears of them.
        let events: Vec<NewEvent> = grants
            .granted
            .iter()
            .filter_map(|name| st.registry.get(name))
            .map(|e| NewEvent {
                time_ms: wall_ms(),
                rollout: e.rollout.name.clone(),
                kind: GRANTED_KIND.into(),
                actor: format!("controller:{}", self.cfg.replica),
                idempotency_key: Some(format!(
                    "{}/mandate/{}/{}",
                    e.rollout.name,
                    &e.spec_hash[..16],
                    who.name
                )),
                inputs: json!({
                    "agent": who.name,
                    "principal": who.principal(),
                    "spec_hash": e.spec_hash,
                    "lease_ms": self.cfg.lease.as_millis() as u64,
                    "policy_bundle": self.cfg.policy_bundle,
                }),
                statistics: json!({}),
                policy: None,
                rationale: format!(
                    "mandate for {} (service {}) granted to {} with a {} ms lease",
                    e.rollout.name,
                    e.rollout.service,
                    who.principal(),
                    self.cfg.lease.as_millis()
                ),
            })
            .collect();
        if !events.is_empty()
            && let Err(e) = self.ledger.append_batch(events).await
        {
            for name in &grants.granted {
                st.registry.requeue(name);
            }
            return Err(ApiFailure::Internal(format!("recording mandates: {e}")));
        }
        for name in &grants.granted {
            tracing::info!(rollout = %name, agent = %who.name, "mandate granted");
        }
        let now_ms = wall_ms();
        let mandates = grants
            .renewed
            .iter()
            .chain(&grants.granted)
            .filter_map(|n| st.registry.get(n))
            .map(|e| Mandate {
                rollout: e.rollout.name.clone(),
                service: e.rollout.service.clone(),
                spec_yaml: e.spec_yaml.clone(),
                spec_hash: e.spec_hash.clone(),
                lease_ms: self.cfg.lease.as_millis() as u64,
                lease_expires_at_ms: now_ms + self.cfg.lease.as_millis() as i64,
                policy_bundle: self.cfg.policy_bundle.clone(),
            })
            .collect();
        Ok(HeartbeatReply {
            controller: self.cfg.replica.clone(),
            term: self.leadership.view().term,
            mandates,
        })
    }

    pub fn leader_info(&self) -> LeaderInfo {
        let v = self.leadership.view();
        LeaderInfo {
            replica: self.cfg.replica.clone(),
            leader: self.leadership.is_leader(),
            term: v.term,
            leader_url: v.leader_url,
        }
    }

    pub async fn rollouts(&self) -> Result<Vec<RolloutInfo>, ApiFailure> {
        let st = self.leading().await?;
        let now = Instant::now();
        Ok(st
            .registry
            .entries()
            .map(|e| {
                let (state, outcome, lease_left_ms) = match &e.assignment {
                    Assignment::Queued => ("queued", None, None),
                    Assignment::Assigned { lease_until, .. } => {
                        let left = if *lease_until > now {
                            (*lease_until - now).as_millis() as i64
                        } else {
                            -((now - *lease_until).as_millis() as i64)
                        };
                        ("assigned", None, Some(left))
                    }
                    Assignment::Finished { outcome, .. } => {
                        ("finished", Some(outcome.clone()), None)
                    }
                };
                RolloutInfo {
                    rollout: e.rollout.name.clone(),
                    service: e.rollout.service.clone(),
                    state: state.into(),
                    agent: e.agent().map(str::to_string),
                    outcome,
                    lease_left_ms,
                    agent_status: e.reported.as_ref().map(|r| r.0.clone()),
                    weight: e.reported.as_ref().map(|r| r.1),
                }
            })
            .collect())
    }
}
