//! The policy gate: the engine's [`Gate`] backed by a Rego bundle
//! ([`rollguard_policy::PolicyEngine`]).
//!
//! Every action that raises exposure is turned into a [`PolicyInput`] (the
//! action, the rollout, its state, the verdicts, the environment at the
//! engine's `now`, the principal and the approvals given for the step) and
//! evaluated. The mapping to the engine's [`GateDecision`]:
//!
//! - `deny` -> [`GateDecision::Deny`] (held, recorded, escalated);
//! - `require_approval` -> [`GateDecision::RequireApproval`], unless a person
//!   already approved this step (`proposal.approved`), then allow;
//! - an evaluation error -> [`GateDecision::Deny`] with "policy evaluation
//!   failed: ..." — an error is never an allow;
//! - the global pause (the big red button) denies any increase of weight even
//!   when the bundle has no rule for it.
//!
//! The decision (bundle hash, result, reasons, principal) is returned as JSON
//! so the engine records it in the ledger with the event.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rollguard_core::{Gate, GateDecision, Millis, Proposal, Rollout, Verdict};
use rollguard_policy::{
    Action, ActionKind, Approval, Environment, MetricVerdict, PolicyEngine, PolicyInput,
    PolicyResult, Principal, PrincipalKind, RolloutState, StepKind, VerdictDecision,
};
use serde_json::json;

/// The global facts the environment of every evaluation is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvironmentFacts {
    /// A freeze declared by the controller.
    pub freeze_active: bool,
    /// Canaries running, per environment (`labels.env`).
    pub canaries_in_use: BTreeMap<String, u32>,
    /// Fraction of the error budget left, per service.
    pub error_budget_remaining: BTreeMap<String, f64>,
    /// The big red button.
    pub global_pause: bool,
}

/// Where a gate reads the current [`EnvironmentFacts`] from (shared by every rollout of a process).
pub type EnvironmentProvider = Arc<dyn Fn() -> EnvironmentFacts + Send + Sync>;

/// A provider of fixed facts (no pause, no freeze, no budgets by default).
pub fn fixed_environment(facts: EnvironmentFacts) -> EnvironmentProvider {
    Arc::new(move || facts.clone())
}

/// The latest approval a person gave a rollout; shared by the API (which
/// records it) and the rollout's gate (which reads it when the engine says the
/// step was approved).
#[derive(Debug, Clone, Default)]
pub struct ApprovalBook {
    latest: Arc<Mutex<Option<Approval>>>,
    full_promotion: Arc<AtomicBool>,
}

impl ApprovalBook {
    /// Records `by`'s approval (or promotion) with its comment.
    pub fn record(&self, by: &str, comment: &str) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(Approval {
                by: by.to_string(),
                comment: comment.to_string(),
            });
        }
    }

    /// Records a person's order to promote to 100% (`promote --full`): it
    /// approves the final promotion whatever step the engine is at.
    pub fn record_full_promotion(&self, by: &str, comment: &str) {
        self.record(by, comment);
        self.full_promotion.store(true, Ordering::SeqCst);
    }

    /// Whether a person ordered the full promotion.
    pub fn full_promotion(&self) -> bool {
        self.full_promotion.load(Ordering::SeqCst)
    }

    /// The latest approval, if any.
    pub fn latest(&self) -> Option<Approval> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }
}

/// A [`Gate`] that asks a policy bundle.
pub struct PolicyGate {
    engine: Arc<PolicyEngine>,
    timezone: TimeZone,
    principal: Principal,
    environment: EnvironmentProvider,
    approvals: ApprovalBook,
    held_by_global_pause: Arc<AtomicBool>,
}

impl PolicyGate {
    /// A gate evaluating with `engine`, local time in `timezone` (the bundle's,
    /// [`rollguard_policy::PolicyBundle::timezone`]), facts from `environment`.
    /// The principal is the agent `rollguard` until [`Self::with_principal`].
    pub fn new(
        engine: Arc<PolicyEngine>,
        timezone: TimeZone,
        environment: EnvironmentProvider,
    ) -> Self {
        PolicyGate {
            engine,
            timezone,
            principal: Principal {
                kind: PrincipalKind::Agent,
                name: "rollguard".into(),
                roles: Vec::new(),
            },
            environment,
            approvals: ApprovalBook::default(),
            held_by_global_pause: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The agent identity the gate proposes actions as.
    pub fn with_principal(mut self, name: impl Into<String>) -> Self {
        self.principal.name = name.into();
        self
    }

    /// Reads approvals from this book (shared with whoever records them).
    pub fn with_approvals(mut self, approvals: ApprovalBook) -> Self {
        self.approvals = approvals;
        self
    }

    /// Set while the gate's last decision was a denial under the global pause,
    /// so lifting the pause can resume exactly those rollouts.
    pub fn held_by_global_pause(&self) -> Arc<AtomicBool> {
        self.held_by_global_pause.clone()
    }

    /// The policy input for `proposal`.
    pub fn input(
        &self,
        rollout: &Rollout,
        proposal: &Proposal,
        verdicts: &[Verdict],
        facts: &EnvironmentFacts,
        now: Millis,
    ) -> PolicyInput {
        let kind = if proposal.action == "promote" {
            ActionKind::Promote
        } else {
            ActionKind::SetWeight
        };
        // The engine knows whether a person let this step through; the book
        // says who and why (a restart loses the book, the ledger keeps it).
        let approvals = if self.approved(proposal) {
            vec![self.approvals.latest().unwrap_or_else(|| Approval {
                by: "a person (recorded in the ledger)".into(),
                comment: String::new(),
            })]
        } else {
            Vec::new()
        };
        PolicyInput {
            action: Action {
                kind,
                from_weight: proposal.from_weight,
                to_weight: proposal.to_weight,
            },
            rollout: policy_rollout(rollout),
            state: RolloutState {
                step_index: u32::try_from(proposal.step_index).unwrap_or(u32::MAX),
                step_kind: step_kind(proposal.step_kind),
                weight: proposal.from_weight,
                elapsed_s: proposal.elapsed_ms as f64 / 1000.0,
                step_elapsed_s: proposal.step_elapsed_ms as f64 / 1000.0,
            },
            verdicts: policy_verdicts(verdicts),
            environment: environment_at(now, &self.timezone, facts),
            principal: self.principal.clone(),
            approvals,
        }
    }
}

impl PolicyGate {
    /// The engine's word (a person let this step through), or a person's
    /// `promote --full` for the final promotion.
    fn approved(&self, proposal: &Proposal) -> bool {
        proposal.approved || (proposal.action == "promote" && self.approvals.full_promotion())
    }
}

impl Gate for PolicyGate {
    fn check(
        &mut self,
        rollout: &Rollout,
        proposal: &Proposal,
        verdicts: &[Verdict],
        now: Millis,
    ) -> (GateDecision, Option<serde_json::Value>) {
        let facts = (self.environment)();
        let input = self.input(rollout, proposal, verdicts, &facts, now);
        let raises = proposal.to_weight > proposal.from_weight;
        let approved = self.approved(proposal);
        let pause_reason = (facts.global_pause && raises).then(|| {
            format!(
                "global pause is active: {} to {}% is held",
                proposal.action, proposal.to_weight
            )
        });
        let (decision, record) = match self.engine.evaluate(&input) {
            Ok(d) => {
                let record = json!({
                    "bundle_hash": d.bundle_hash,
                    "result": d.effective(),
                    "reasons": d.effective_reasons(),
                    "principal": input.principal,
                    "approvals": input.approvals,
                    "approved": approved,
                });
                let decision = match d.effective() {
                    PolicyResult::Allow => GateDecision::Allow,
                    PolicyResult::Deny => GateDecision::Deny { reasons: d.reasons },
                    PolicyResult::RequireApproval if approved => GateDecision::Allow,
                    PolicyResult::RequireApproval => {
                        GateDecision::RequireApproval { reasons: d.reasons }
                    }
                };
                (decision, record)
            }
            Err(e) => {
                let reason =
                    format!("policy evaluation failed: {e} (held, never allowed by default)");
                let record = json!({
                    "bundle_hash": self.engine.bundle_hash(),
                    "result": "error",
                    "reasons": [reason.clone()],
                    "principal": input.principal,
                });
                (
                    GateDecision::Deny {
                        reasons: vec![reason],
                    },
                    record,
                )
            }
        };
        let decision = match (decision, pause_reason) {
            (GateDecision::Deny { mut reasons }, Some(p)) => {
                if !reasons.iter().any(|r| r.contains("global pause")) {
                    reasons.push(p);
                }
                GateDecision::Deny { reasons }
            }
            (_, Some(p)) => GateDecision::Deny { reasons: vec![p] },
            (d, None) => d,
        };
        self.held_by_global_pause.store(
            facts.global_pause && matches!(decision, GateDecision::Deny { .. }),
            Ordering::SeqCst,
        );
        (decision, Some(record))
    }
}

/// The rollout as policy sees it (name, service, namespace, labels, env).
pub fn policy_rollout(rollout: &Rollout) -> rollguard_policy::Rollout {
    rollguard_policy::Rollout::new(
        rollout.name.clone(),
        rollout.service.clone(),
        rollout.namespace.clone().unwrap_or_default(),
        rollout.labels.clone(),
    )
}

/// The environment at `now` (ms since the epoch) in `timezone`, with `facts`.
pub fn environment_at(now: Millis, timezone: &TimeZone, facts: &EnvironmentFacts) -> Environment {
    let ts = i64::try_from(now)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut env = Environment::at(ts, timezone);
    env.freeze_active = facts.freeze_active;
    env.canaries_in_use = facts.canaries_in_use.clone();
    env.error_budget_remaining = facts.error_budget_remaining.clone();
    env.global_pause = facts.global_pause;
    env
}

fn step_kind(kind: &str) -> Option<StepKind> {
    match kind {
        "set_weight" => Some(StepKind::SetWeight),
        "analyze" => Some(StepKind::Analyze),
        "pause" => Some(StepKind::Pause),
        _ => None,
    }
}

/// Verdicts keyed by metric; infinities are capped so the input stays JSON.
pub fn policy_verdicts(verdicts: &[Verdict]) -> BTreeMap<String, MetricVerdict> {
    let finite = |x: f64| {
        if x.is_finite() {
            x
        } else if x > 0.0 {
            f64::MAX
        } else if x < 0.0 {
            f64::MIN
        } else {
            0.0
        }
    };
    verdicts
        .iter()
        .map(|v| {
            let decision = match v.decision {
                rollguard_core::Decision::Fail => VerdictDecision::Fail,
                rollguard_core::Decision::Pass => VerdictDecision::Pass,
                rollguard_core::Decision::Continue => VerdictDecision::Continue,
            };
            let (lo, hi) = v.interval.unwrap_or((0.0, f64::MAX));
            (
                v.metric.clone(),
                MetricVerdict {
                    decision,
                    e_value: finite(v.e_value),
                    estimate: finite(v.estimate.unwrap_or(1.0)),
                    interval: [finite(lo), finite(hi)],
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
