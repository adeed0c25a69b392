//! Policy for the control plane: which bundle a rollout runs under, and the
//! check of people's commands and of rollout starts.
//!
//! A command from a person (approve, pause, resume, promote) and a start are
//! evaluated with the person as principal (`kind: person`, the token name, the
//! token role plus its extra roles). `deny` refuses the command; an evaluation
//! error refuses it too (never an allow). `require_approval` does not refuse a
//! person's command: the person issuing it is the approval the rule asks for.
//! Abort is never checked. While the global pause is on, start, resume and
//! promote are refused whatever the bundle says.

use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;
use rollguard_core::{Millis, Rollout};
use rollguard_policy::{
    Action, ActionKind, PolicyBundle, PolicyDecision, PolicyEngine, PolicyInput, PolicyResult,
    Principal, PrincipalKind, RolloutState, StepKind,
};
use rollguard_runtime::{EnvironmentFacts, StatusView, environment_at, policy_rollout};

use crate::auth::Caller;
use crate::error::ApiError;

/// A compiled bundle and the time zone its rules think in.
#[derive(Clone)]
pub struct Policy {
    pub engine: Arc<PolicyEngine>,
    pub timezone: TimeZone,
    /// Directory, or `<embedded default>`.
    pub source: String,
}

impl Policy {
    /// Loads and compiles a bundle directory. The error names file:line.
    pub fn load(dir: &Path) -> Result<Policy, rollguard_policy::PolicyError> {
        Self::from_bundle(PolicyBundle::load(dir)?)
    }

    /// The shipped default bundle.
    pub fn default_bundle() -> Result<Policy, rollguard_policy::PolicyError> {
        Self::from_bundle(PolicyBundle::default_bundle()?)
    }

    /// Compiles a loaded bundle.
    pub fn from_bundle(bundle: PolicyBundle) -> Result<Policy, rollguard_policy::PolicyError> {
        let engine = PolicyEngine::new(&bundle)?;
        Ok(Policy {
            engine: Arc::new(engine),
            timezone: bundle.timezone().clone(),
            source: bundle.source().to_string(),
        })
    }

    pub fn bundle_hash(&self) -> &str {
        self.engine.bundle_hash()
    }
}

/// A person's proposed action, before it is sent to the rollout.
pub struct PersonAction<'a> {
    pub kind: ActionKind,
    pub rollout: &'a Rollout,
    pub status: Option<&'a StatusView>,
    pub to_weight: f64,
    pub caller: &'a Caller,
    pub now: Millis,
}

/// Evaluates a person's action. `Ok` carries the decision for the ledger;
/// `Err` is the refusal to send back.
pub fn check_person(
    policy: &Policy,
    facts: &EnvironmentFacts,
    action: &PersonAction<'_>,
) -> Result<PolicyDecision, ApiError> {
    let principal = Principal {
        kind: PrincipalKind::Person,
        name: action.caller.name.clone(),
        roles: action.caller.policy_roles(),
    };
    if facts.global_pause
        && matches!(
            action.kind,
            ActionKind::Start | ActionKind::Resume | ActionKind::Promote
        )
    {
        return Err(ApiError::PolicyDenied {
            action: action.kind.to_string(),
            principal: principal.name,
            reasons: vec![format!(
                "global pause is active: {} is refused until an admin lifts it (rollguard resume-all)",
                action.kind
            )],
            bundle_hash: policy.bundle_hash().to_string(),
        });
    }
    let weight = action.status.map(|s| s.weight).unwrap_or(0.0);
    let state = RolloutState {
        step_index: action
            .status
            .map(|s| u32::try_from(s.step.saturating_sub(1)).unwrap_or(u32::MAX))
            .unwrap_or(0),
        step_kind: action.status.and_then(|s| match s.step_kind.as_str() {
            "set_weight" => Some(StepKind::SetWeight),
            "analyze" => Some(StepKind::Analyze),
            "pause" => Some(StepKind::Pause),
            _ => None,
        }),
        weight,
        elapsed_s: action
            .status
            .map(|s| action.now.saturating_sub(s.started_at) as f64 / 1000.0)
            .unwrap_or(0.0),
        step_elapsed_s: 0.0,
    };
    let input = PolicyInput {
        action: Action {
            kind: action.kind,
            from_weight: weight,
            to_weight: action.to_weight,
        },
        rollout: policy_rollout(action.rollout),
        state,
        verdicts: action
            .status
            .map(|s| rollguard_runtime::policy_verdicts(&s.verdicts))
            .unwrap_or_default(),
        environment: environment_at(action.now, &policy.timezone, facts),
        principal: principal.clone(),
        approvals: Vec::new(),
    };
    let decision = policy
        .engine
        .evaluate(&input)
        .map_err(|e| ApiError::PolicyDenied {
            action: action.kind.to_string(),
            principal: principal.name.clone(),
            reasons: vec![format!(
                "policy evaluation failed: {e} (held, never allowed by default)"
            )],
            bundle_hash: policy.bundle_hash().to_string(),
        })?;
    match decision.effective() {
        PolicyResult::Deny => Err(ApiError::PolicyDenied {
            action: action.kind.to_string(),
            principal: principal.name,
            reasons: decision.reasons.clone(),
            bundle_hash: decision.bundle_hash.clone(),
        }),
        PolicyResult::Allow | PolicyResult::RequireApproval => Ok(decision),
    }
}

/// The weight a `promote` (without `--full`) leads to: the next `setWeight`
/// above the current weight, else 100.
pub fn next_weight(rollout: &Rollout, status: Option<&StatusView>) -> f64 {
    let current = status.map(|s| s.weight).unwrap_or(0.0);
    let from = status.map(|s| s.step.saturating_sub(1)).unwrap_or(0);
    rollout
        .steps
        .iter()
        .skip(from)
        .find_map(|s| match s {
            rollguard_core::spec::Step::SetWeight(w) if *w > current => Some(*w),
            _ => None,
        })
        .unwrap_or(100.0)
}
