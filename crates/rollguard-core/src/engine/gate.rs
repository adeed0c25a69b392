//! The policy gate: every proposed action that raises exposure (a higher
//! weight, a promotion) is checked before it is taken. Rollback and abort are
//! never gated. The gate is called synchronously and must be deterministic
//! for a given input (policy evaluation is pure; the environment it reads,
//! such as the time, is passed in), so replay re-decides the same way.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::judge::Verdict;
use crate::spec::Rollout;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// `set_weight` or `promote`.
    pub action: &'static str,
    pub from_weight: f64,
    pub to_weight: f64,
    pub step_index: usize,
    pub step_kind: &'static str,
    pub elapsed_ms: Millis,
    pub step_elapsed_ms: Millis,
    pub approved: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum GateDecision {
    Allow,
    Deny { reasons: Vec<String> },
    RequireApproval { reasons: Vec<String> },
}

pub trait Gate {
    fn check(
        &mut self,
        rollout: &Rollout,
        proposal: &Proposal,
        verdicts: &[Verdict],
        now: Millis,
    ) -> (GateDecision, Option<serde_json::Value>);
}

/// Allows everything: no policy bundle configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Gate for AllowAll {
    fn check(
        &mut self,
        _: &Rollout,
        _: &Proposal,
        _: &[Verdict],
        _: Millis,
    ) -> (GateDecision, Option<serde_json::Value>) {
        (GateDecision::Allow, None)
    }
}
