//! The mandate gate: wraps the policy gate and, once the mandate's lease has
//! expired, denies every proposal the engine gates (raising the canary's
//! weight, promoting). The engine never gates rollback or abort, so an agent
//! cut off from the controller keeps judging and may still roll back.
//!
//! The denial reason is constant, so the engine records it once per hold,
//! not once per tick.

use std::sync::Arc;
use std::time::Instant;

use rollguard_core::{Gate, GateDecision, Millis, Proposal, Rollout, Verdict};
use serde_json::json;

use crate::lease::Lease;

/// Marker in the denial reason; the agent resumes rollouts held with it when
/// the lease is renewed.
pub const LEASE_EXPIRED: &str = "mandate lease expired";

pub struct MandateGate {
    lease: Arc<Lease>,
    inner: Box<dyn Gate + Send>,
    principal: String,
}

impl MandateGate {
    pub fn new(lease: Arc<Lease>, inner: Box<dyn Gate + Send>, principal: String) -> Self {
        MandateGate {
            lease,
            inner,
            principal,
        }
    }
}

impl Gate for MandateGate {
    fn check(
        &mut self,
        rollout: &Rollout,
        proposal: &Proposal,
        verdicts: &[Verdict],
        now: Millis,
    ) -> (GateDecision, Option<serde_json::Value>) {
        if !self.lease.valid_at(Instant::now()) {
            let reason = format!(
                "{LEASE_EXPIRED} (no contact with the controller); {} may not raise exposure until it is renewed",
                self.principal
            );
            return (
                GateDecision::Deny {
                    reasons: vec![reason],
                },
                Some(json!({"mandate": {"valid": false, "principal": self.principal}})),
            );
        }
        self.inner.check(rollout, proposal, verdicts, now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rollguard_core::AllowAll;

    use super::*;

    fn proposal() -> Proposal {
        Proposal {
            action: "set_weight",
            from_weight: 10.0,
            to_weight: 50.0,
            step_index: 2,
            step_kind: "setWeight",
            elapsed_ms: 1000,
            step_elapsed_ms: 0,
            approved: false,
        }
    }

    const SPEC: &str = "apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  service: s\n  baseline: {version: v1, endpoint: \"http://127.0.0.1:1\"}\n  canary: {version: v2, endpoint: \"http://127.0.0.1:2\"}\n  strategy:\n    steps:\n      - setWeight: 10\n  analysis:\n    metrics:\n      - name: errors\n        errorRate: {}\n        maxIncrease: {relative: 0.5, absolute: 0.01}\n";

    #[test]
    fn denies_raising_exposure_once_the_lease_expired() {
        let rollout = rollguard_core::spec::load(SPEC, "r.yaml").expect("valid spec");
        let lease = Arc::new(Lease::new(Instant::now(), Duration::from_secs(60)));
        let mut gate = MandateGate::new(lease.clone(), Box::new(AllowAll), "agent:a".into());
        assert_eq!(
            gate.check(&rollout, &proposal(), &[], 0).0,
            GateDecision::Allow
        );
        let expired = Arc::new(Lease::new(
            Instant::now() - Duration::from_secs(61),
            Duration::from_secs(60),
        ));
        let mut gate = MandateGate::new(expired, Box::new(AllowAll), "agent:a".into());
        match gate.check(&rollout, &proposal(), &[], 0).0 {
            GateDecision::Deny { reasons } => assert!(reasons[0].contains(LEASE_EXPIRED)),
            other => panic!("expected a denial, got {other:?}"),
        }
    }
}
