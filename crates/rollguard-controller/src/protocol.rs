//! The JSON messages agents and the controller exchange over mutual TLS.
//!
//! - `POST /v1/heartbeat` ([`Heartbeat`] -> [`HeartbeatReply`]): the agent
//!   reports in; the reply holds every mandate the agent holds, each with a
//!   renewed lease, plus any newly granted.
//! - `POST /v1/events` ([`ShipEvents`] -> [`ShipReply`]): the agent ships
//!   buffered ledger events in order; idempotency keys make re-sends no-ops.
//! - `POST /v1/rollouts` (rollout YAML -> [`Submitted`]): an operator
//!   certificate (role `operator`) submits a rollout.
//! - `GET /v1/leader` -> [`LeaderInfo`], `GET /v1/rollouts` -> [`RolloutInfo`]s.
//!
//! A replica that is not the leader answers 503 with [`NotLeader`] naming
//! the leader's URL, so agents can go there.

use rollguard_ledger::NewEvent;
use serde::{Deserialize, Serialize};

/// Header a follower sets to the leader's URL on a 503.
pub const LEADER_HEADER: &str = "x-rollguard-leader";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Rollouts the agent is running or has finished since it started.
    #[serde(default)]
    pub running: Vec<RunningRollout>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunningRollout {
    pub rollout: String,
    /// `progressing`, `awaiting_human`, `paused`, `done`.
    pub status: String,
    pub weight: f64,
}

/// A rollout handed to an agent, bounded by a lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mandate {
    pub rollout: String,
    pub service: String,
    /// The rollout file as submitted; the agent validates it again.
    pub spec_yaml: String,
    /// SHA-256 of `spec_yaml`, hex.
    pub spec_hash: String,
    /// How long the lease lasts from the moment the agent sent the heartbeat
    /// this reply answers (measured on the agent's monotonic clock).
    pub lease_ms: u64,
    /// The controller's wall-clock view of the expiry, for people only:
    /// agents never compare it with their own clock.
    pub lease_expires_at_ms: i64,
    /// Content hash of the policy bundle the agent must judge with.
    pub policy_bundle: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatReply {
    /// The replica that answered.
    pub controller: String,
    /// Leader term (PostgreSQL leader lease), 0 for a single controller.
    pub term: i64,
    pub mandates: Vec<Mandate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipEvents {
    pub events: Vec<NewEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipReply {
    /// Events acknowledged (stored now or before).
    pub acknowledged: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submitted {
    pub rollout: String,
    /// `false` when the same spec was already registered.
    pub new: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotLeader {
    pub error: String,
    pub leader: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaderInfo {
    pub replica: String,
    pub leader: bool,
    pub term: i64,
    pub leader_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RolloutInfo {
    pub rollout: String,
    pub service: String,
    /// `queued`, `assigned`, `finished`.
    pub state: String,
    pub agent: Option<String>,
    pub outcome: Option<String>,
    /// Milliseconds left on the lease (assigned only; negative once expired).
    pub lease_left_ms: Option<i64>,
    /// The holding agent's last report: `progressing`, `awaiting_human`, ...
    pub agent_status: Option<String>,
    /// The canary weight the holding agent last reported.
    pub weight: Option<f64>,
}

/// Body of every 4xx answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}
