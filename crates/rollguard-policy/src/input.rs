//! The typed input every policy evaluation receives as `input`.
//!
//! Field names are snake_case in JSON and Rego. Weights are percentages of
//! traffic sent to the canary, `0.0..=100.0`. Times are passed in, never read
//! from a clock: `environment.now` is RFC 3339 and `hour` / `weekday` are that
//! instant in the bundle's time zone (see [`Environment::at`]).
//!
//! ```json
//! {
//!   "action": {"kind": "set_weight", "from_weight": 25, "to_weight": 60},
//!   "rollout": {"name": "checkout-v42", "service": "checkout", "namespace": "shop",
//!               "labels": {"env": "prod"}, "env": "prod"},
//!   "state": {"step_index": 3, "step_kind": "set_weight", "weight": 25,
//!             "elapsed_s": 900, "step_elapsed_s": 120},
//!   "verdicts": {"error_rate": {"decision": "pass", "e_value": 0.4,
//!                               "estimate": -0.001, "interval": [-0.004, 0.002]}},
//!   "environment": {"now": "2026-11-03T10:15:00Z", "hour": 10, "weekday": "tuesday",
//!                   "freeze_active": false, "canaries_in_use": {"prod": 1},
//!                   "error_budget_remaining": {"checkout": 0.42}, "global_pause": false},
//!   "principal": {"kind": "agent", "name": "agent-eu-1", "roles": []},
//!   "approvals": []
//! }
//! ```

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Everything a policy sees about one proposed action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// The proposed action.
    pub action: Action,
    /// The rollout it applies to.
    pub rollout: Rollout,
    /// Where the rollout is now.
    pub state: RolloutState,
    /// The latest verdict per metric name.
    #[serde(default)]
    pub verdicts: BTreeMap<String, MetricVerdict>,
    /// Time and global constraints.
    pub environment: Environment,
    /// Who proposes the action.
    pub principal: Principal,
    /// Approvals already given for this step.
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

/// What the controller (or a person) proposes to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Begin a new rollout (canary at weight 0).
    Start,
    /// Move the canary weight from `from_weight` to `to_weight`.
    SetWeight,
    /// Send all traffic to the canary and finish.
    Promote,
    /// Send all traffic back to the baseline.
    Rollback,
    /// Hold at the current weight.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Stop the rollout and roll back, on a person's order.
    Abort,
    /// Record a person's approval of a gated step.
    Approve,
    /// Hold traffic and page a human (rollouts with `onFailure: freeze`).
    Freeze,
}

impl ActionKind {
    /// Actions the engine always lets through whatever the bundle says
    /// (see [`crate::PolicyDecision::effective`]).
    pub fn is_always_allowed(self) -> bool {
        matches!(self, Self::Abort | Self::Rollback)
    }

    /// The snake_case name used in Rego.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::SetWeight => "set_weight",
            Self::Promote => "promote",
            Self::Rollback => "rollback",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
            Self::Approve => "approve",
            Self::Freeze => "freeze",
        }
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The proposed action with the weights it moves between (equal when it moves none;
/// `promote` has `to_weight` 100, `rollback` / `abort` have 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// What is proposed.
    pub kind: ActionKind,
    /// Canary weight before the action, percent.
    pub from_weight: f64,
    /// Canary weight after the action, percent.
    pub to_weight: f64,
}

/// The rollout an action applies to. `env` is `labels["env"]`, filled in on
/// construction and on deserialisation when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, from = "RawRollout")]
pub struct Rollout {
    /// Rollout name.
    pub name: String,
    /// The service being rolled out.
    pub service: String,
    /// Namespace (Kubernetes namespace or logical group).
    pub namespace: String,
    /// Rollout labels.
    pub labels: BTreeMap<String, String>,
    /// The environment, from `labels.env` (`null` when unlabelled).
    pub env: Option<String>,
}

impl Rollout {
    /// A rollout, with `env` taken from `labels["env"]`.
    pub fn new(
        name: impl Into<String>,
        service: impl Into<String>,
        namespace: impl Into<String>,
        labels: BTreeMap<String, String>,
    ) -> Self {
        let env = labels.get("env").cloned();
        Self {
            name: name.into(),
            service: service.into(),
            namespace: namespace.into(),
            labels,
            env,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollout {
    name: String,
    service: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    env: Option<String>,
}

impl From<RawRollout> for Rollout {
    fn from(raw: RawRollout) -> Self {
        let env = raw.env.or_else(|| raw.labels.get("env").cloned());
        Self {
            name: raw.name,
            service: raw.service,
            namespace: raw.namespace,
            labels: raw.labels,
            env,
        }
    }
}

/// Kind of the strategy step the rollout is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A `setWeight` step.
    SetWeight,
    /// An `analyze` step.
    Analyze,
    /// A `pause` step (waits for a person).
    Pause,
}

/// Where the rollout is when the action is proposed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutState {
    /// Index of the current strategy step (0 before the first).
    pub step_index: u32,
    /// Kind of the current step (`null` before the rollout starts).
    pub step_kind: Option<StepKind>,
    /// Current canary weight, percent.
    pub weight: f64,
    /// Seconds since the rollout started.
    pub elapsed_s: f64,
    /// Seconds since the current step started.
    pub step_elapsed_s: f64,
}

/// Decision of a sequential test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictDecision {
    /// The canary is worse beyond the tolerated margin.
    Fail,
    /// The canary is not worse.
    Pass,
    /// Not enough evidence yet.
    Continue,
}

/// The latest verdict for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricVerdict {
    /// What the test decided.
    pub decision: VerdictDecision,
    /// Evidence against "canary no worse" (finite; callers cap infinities).
    pub e_value: f64,
    /// Effect estimate (canary minus baseline, in the metric's unit).
    pub estimate: f64,
    /// Confidence interval of the effect, `[lo, hi]`.
    pub interval: [f64; 2],
}

/// Day of the week, lowercase in Rego (`"monday"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<jiff::civil::Weekday> for Weekday {
    fn from(day: jiff::civil::Weekday) -> Self {
        use jiff::civil::Weekday as W;
        match day {
            W::Monday => Self::Monday,
            W::Tuesday => Self::Tuesday,
            W::Wednesday => Self::Wednesday,
            W::Thursday => Self::Thursday,
            W::Friday => Self::Friday,
            W::Saturday => Self::Saturday,
            W::Sunday => Self::Sunday,
        }
    }
}

/// Time and the global constraints that span every rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The evaluation instant (RFC 3339).
    pub now: Timestamp,
    /// Hour of `now` (0–23) in the bundle's time zone.
    pub hour: u8,
    /// Day of the week of `now` in the bundle's time zone.
    pub weekday: Weekday,
    /// A freeze declared by the controller (in addition to the bundle's windows).
    #[serde(default)]
    pub freeze_active: bool,
    /// Canaries currently running, per environment.
    #[serde(default)]
    pub canaries_in_use: BTreeMap<String, u32>,
    /// Fraction of the error budget left, per service (≤ 0 means spent).
    #[serde(default)]
    pub error_budget_remaining: BTreeMap<String, f64>,
    /// The big red button: no rollout may raise its weight.
    #[serde(default)]
    pub global_pause: bool,
}

impl Environment {
    /// The environment at `now`, with `hour` and `weekday` in `tz` (use
    /// [`crate::PolicyBundle::timezone`]), no freeze, no pause and no budgets.
    pub fn at(now: Timestamp, tz: &TimeZone) -> Self {
        let mut environment = Self {
            now,
            hour: 0,
            weekday: Weekday::Monday,
            freeze_active: false,
            canaries_in_use: BTreeMap::new(),
            error_budget_remaining: BTreeMap::new(),
            global_pause: false,
        };
        environment.localize(tz);
        environment
    }

    /// Recomputes `hour` and `weekday` from `now` in `tz`, e.g. after reading
    /// an input file whose local fields may not match the bundle's time zone.
    pub fn localize(&mut self, tz: &TimeZone) {
        let local = tz.to_datetime(self.now);
        self.hour = u8::try_from(local.hour()).unwrap_or(0);
        self.weekday = local.weekday().into();
    }
}

/// What kind of actor proposes the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// The controller or an agent acting on its own.
    Agent,
    /// A person (API token or CLI).
    Person,
}

/// Who proposes the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Agent or person.
    pub kind: PrincipalKind,
    /// Agent name or user name.
    pub name: String,
    /// Roles held (token roles, team roles).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A person's approval of the gated step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved.
    pub by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}
