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
