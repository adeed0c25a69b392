//! Policy as code for rollguard: every action the controller proposes is
//! checked against a versioned bundle of Rego policies before it is taken.
//!
//! - [`PolicyBundle`] loads a directory of `.rego` and data files (or the
//!   embedded [`PolicyBundle::default_bundle`]), compiles it and hashes it: the
//!   hash is the bundle's version, recorded with every decision.
//! - [`PolicyEngine`] evaluates a typed [`PolicyInput`] to a [`PolicyDecision`]
//!   (`allow`, `deny` or `require_approval`, with reasons). An evaluation error is
//!   an `Err`, never an implicit allow. `abort` and `rollback` are evaluated for
//!   the record but always allowed by [`PolicyDecision::effective`].
//! - [`run_tests`] runs the bundle's `test_*` rules like `opa test`.
//! - [`bench`] measures evaluation latency with the default bundle.
//!
//! The crate reads no clock for decisions: time arrives in the input.
//!
//! ```
//! use rollguard_policy::{PolicyBundle, PolicyEngine, PolicyInput, PolicyResult};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bundle = PolicyBundle::default_bundle()?;
//! let engine = PolicyEngine::new(&bundle)?;
//! let input: PolicyInput = serde_json::from_str(r#"{
//!   "action": {"kind": "set_weight", "from_weight": 50, "to_weight": 75},
//!   "rollout": {"name": "checkout-v42", "service": "checkout", "namespace": "shop",
//!               "labels": {"env": "prod"}},
//!   "state": {"step_index": 3, "step_kind": "set_weight", "weight": 50,
//!             "elapsed_s": 900, "step_elapsed_s": 120},
//!   "environment": {"now": "2026-11-03T10:15:00Z", "hour": 10, "weekday": "tuesday"},
//!   "principal": {"kind": "agent", "name": "agent-eu-1"}
//! }"#)?;
//! let decision = engine.evaluate(&input)?; // Err => hold and escalate, never allow
//! assert_eq!(decision.effective(), PolicyResult::RequireApproval);
//! println!("{decision}"); // require_approval set_weight (bundle ...): raising checkout-v42 to 75% ...
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod bundle;
pub mod data;
pub mod decision;
pub mod engine;
pub mod error;
pub mod input;
pub mod rules;
pub mod testing;

pub use bench::{BenchReport, bench};
pub use bundle::{BundleFile, PolicyBundle};
pub use decision::{ALWAYS_ALLOWED_REASON, PolicyDecision, PolicyResult};
pub use engine::PolicyEngine;
pub use error::PolicyError;
pub use input::{
    Action, ActionKind, Approval, Environment, MetricVerdict, PolicyInput, Principal,
    PrincipalKind, Rollout, RolloutState, StepKind, VerdictDecision, Weekday,
};
pub use testing::{TestOutcome, TestReport, TestResult, run_tests};
