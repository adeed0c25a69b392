//! The outcome of evaluating one proposed action: allow, deny or require approval, with reasons.
//!
//! Policy can deny or downgrade an action ("promote" becomes "ask a human"),
//! never upgrade it. One exception lives in code, not in policy:
//! [`PolicyDecision::effective`] allows `abort` and `rollback` whatever the
//! bundle said, because taking traffic away from a bad canary must never be
//! blocked by a rule. The bundle is still evaluated for those actions so its
//! opinion is recorded in the ledger. The caller applies the one exception to
//! the exception: a rollout declaring `onFailure: freeze` (irreversible
//! changes) holds traffic and pages a person instead of rolling back.

use serde::{Deserialize, Serialize};

use crate::input::ActionKind;

/// Reason given by [`PolicyDecision::effective_reasons`] when the engine overrides the bundle.
pub const ALWAYS_ALLOWED_REASON: &str = "abort/rollback are always allowed";

/// What policy says about an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyResult {
    /// Go ahead.
    Allow,
    /// Do not act: hold, record and escalate.
    Deny,
    /// Wait for a person's approval, then re-evaluate with it.
    RequireApproval,
}

impl PolicyResult {
    /// The snake_case name (`allow`, `deny`, `require_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::RequireApproval => "require_approval",
        }
    }
}

impl std::fmt::Display for PolicyResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bundle's verdict on one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// The action that was evaluated.
    pub action: ActionKind,
    /// `deny` if any `deny` rule fired, else `require_approval` if any
    /// `require_approval` rule fired, else `allow`.
    pub result: PolicyResult,
    /// Messages of the rules behind `result`, sorted (empty for `allow`).
    pub reasons: Vec<String>,
    /// Messages of `require_approval` rules that also fired under a `deny` (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_requires_approval: Vec<String>,
    /// Full content hash of the bundle that decided.
    pub bundle_hash: String,
}

impl PolicyDecision {
    /// Combines the fired rules into a decision. Inputs need not be sorted.
    pub fn from_rules(
        action: ActionKind,
        mut deny: Vec<String>,
        mut require_approval: Vec<String>,
        bundle_hash: impl Into<String>,
    ) -> Self {
        deny.sort();
        deny.dedup();
        require_approval.sort();
        require_approval.dedup();
        let (result, reasons, also) = if !deny.is_empty() {
            (PolicyResult::Deny, deny, require_approval)
        } else if !require_approval.is_empty() {
            (PolicyResult::RequireApproval, require_approval, Vec::new())
        } else {
            (PolicyResult::Allow, Vec::new(), Vec::new())
        };
        Self {
            action,
            result,
            reasons,
            also_requires_approval: also,
            bundle_hash: bundle_hash.into(),
        }
    }

    /// What the controller must do: `result`, except that `abort` and
    /// `rollback` are always [`PolicyResult::Allow`] (see the module docs).
    pub fn effective(&self) -> PolicyResult {
        if self.action.is_always_allowed() {
            PolicyResult::Allow
        } else {
            self.result
        }
    }

    /// Whether [`Self::effective`] differs from what the bundle said.
    pub fn is_overridden(&self) -> bool {
        self.effective() != self.result
    }

    /// The reasons behind [`Self::effective`]: the bundle's, plus
    /// [`ALWAYS_ALLOWED_REASON`] when the engine overrode it.
    pub fn effective_reasons(&self) -> Vec<String> {
        let mut reasons = self.reasons.clone();
        if self.is_overridden() {
            reasons.insert(0, ALWAYS_ALLOWED_REASON.to_string());
        }
        reasons
    }

    /// First 12 hex digits of the bundle hash.
    pub fn short_hash(&self) -> &str {
        self.bundle_hash
            .get(..crate::bundle::SHORT_HASH_LEN)
            .unwrap_or(&self.bundle_hash)
    }
}

impl std::fmt::Display for PolicyDecision {
    /// `deny promote (bundle 3f2a9c0d1e2b): reason; reason`, for people and logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} (bundle {})",
            self.effective(),
            self.action,
            self.short_hash()
        )?;
        let reasons = self.effective_reasons();
        if !reasons.is_empty() {
            write!(f, ": {}", reasons.join("; "))?;
        }
        if self.is_overridden() {
            write!(f, " [policy said {}]", self.result)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn deny_wins_over_require_approval_and_reasons_are_sorted() {
        let d =
            PolicyDecision::from_rules(ActionKind::Promote, s(&["b", "a", "b"]), s(&["z"]), "h");
        assert_eq!(d.result, PolicyResult::Deny);
        assert_eq!(d.reasons, s(&["a", "b"]));
        assert_eq!(d.also_requires_approval, s(&["z"]));
    }

    #[test]
    fn require_approval_without_deny() {
        let d = PolicyDecision::from_rules(ActionKind::SetWeight, vec![], s(&["y", "x"]), "h");
        assert_eq!(
            (d.result, d.reasons),
            (PolicyResult::RequireApproval, s(&["x", "y"]))
        );
    }

    #[test]
    fn abort_and_rollback_are_effectively_allowed_even_when_denied() {
        for action in [ActionKind::Abort, ActionKind::Rollback] {
            let d = PolicyDecision::from_rules(action, s(&["frozen"]), vec![], "h");
            assert_eq!(d.result, PolicyResult::Deny);
            assert_eq!(d.effective(), PolicyResult::Allow);
            assert_eq!(d.effective_reasons()[0], ALWAYS_ALLOWED_REASON);
        }
        let d = PolicyDecision::from_rules(ActionKind::Promote, s(&["frozen"]), vec![], "h");
        assert_eq!(d.effective(), PolicyResult::Deny);
    }

    #[test]
    fn result_serialises_snake_case() {
        let json = serde_json::to_string(&PolicyResult::RequireApproval).ok();
        assert_eq!(json.as_deref(), Some("\"require_approval\""));
    }
}
