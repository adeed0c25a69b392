//! Unit tests of the policy gate with the real default bundle.

use std::sync::Arc;

use jiff::tz::TimeZone;
use rollguard_core::{Gate, GateDecision, Proposal, Rollout};
use rollguard_policy::{PolicyBundle, PolicyEngine};

use super::*;

const ROLLOUT: &str = r#"
apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata:
  name: checkout-v42
  labels: {env: prod}
spec:
  service: checkout
  baseline: {version: v1, endpoint: "http://127.0.0.1:1"}
  canary: {version: v2, endpoint: "http://127.0.0.1:2"}
  router:
    builtin: {listen: "127.0.0.1:0"}
  strategy:
    steps:
      - setWeight: 10
      - setWeight: 75
  analysis:
    metrics:
      - name: errors
        errorRate: {}
        maxIncrease: {relative: 0.5}
"#;

/// Tuesday 2026-11-03 10:15 UTC, inside business hours.
const DAY_MS: u64 = 1_793_700_900_000;
/// Tuesday 2026-11-03 23:30 UTC, outside business hours.
const NIGHT_MS: u64 = 1_793_748_600_000;

fn rollout() -> Rollout {
    match rollguard_core::spec::load(ROLLOUT, "test.yaml") {
        Ok(r) => r,
        Err(e) => panic!("test rollout does not load: {e}"),
    }
}

fn engine() -> Arc<PolicyEngine> {
    let bundle = PolicyBundle::default_bundle().expect("default bundle loads");
    Arc::new(PolicyEngine::new(&bundle).expect("default bundle compiles"))
}

fn proposal(action: &'static str, from: f64, to: f64, approved: bool) -> Proposal {
    Proposal {
        action,
        from_weight: from,
        to_weight: to,
        step_index: 1,
        step_kind: "set_weight",
        elapsed_ms: 60_000,
        step_elapsed_ms: 0,
        approved,
    }
}

fn gate(facts: EnvironmentFacts) -> PolicyGate {
    PolicyGate::new(engine(), TimeZone::UTC, fixed_environment(facts))
}

#[test]
fn prod_above_half_requires_approval_and_records_the_bundle() {
    let mut g = gate(EnvironmentFacts::default());
    let (d, record) = g.check(
        &rollout(),
        &proposal("set_weight", 10.0, 75.0, false),
        &[],
        DAY_MS,
    );
    assert!(matches!(d, GateDecision::RequireApproval { .. }), "{d:?}");
    let record = record.expect("decision recorded");
    assert_eq!(record["result"], "require_approval");
    assert_eq!(record["bundle_hash"].as_str().map(str::len), Some(64));
}

#[test]
fn approved_step_is_allowed() {
    let book = ApprovalBook::default();
    book.record("alice", "dashboards fine");
    let mut g = gate(EnvironmentFacts::default()).with_approvals(book);
    let (d, record) = g.check(
        &rollout(),
        &proposal("set_weight", 10.0, 75.0, true),
        &[],
        DAY_MS,
    );
    assert_eq!(d, GateDecision::Allow);
    assert_eq!(record.expect("recorded")["approvals"][0]["by"], "alice");
}

#[test]
fn approval_does_not_lift_a_deny() {
    let mut g = gate(EnvironmentFacts::default());
    let (d, _) = g.check(
        &rollout(),
        &proposal("set_weight", 10.0, 75.0, true),
        &[],
        NIGHT_MS,
    );
    assert!(matches!(d, GateDecision::Deny { .. }), "{d:?}");
}

#[test]
fn global_pause_denies_raising_weight_and_marks_the_hold() {
    let mut g = gate(EnvironmentFacts {
        global_pause: true,
        ..EnvironmentFacts::default()
    });
    let held = g.held_by_global_pause();
    let (d, _) = g.check(
        &rollout(),
        &proposal("set_weight", 0.0, 10.0, false),
        &[],
        DAY_MS,
    );
    match d {
        GateDecision::Deny { reasons } => {
            assert!(
                reasons.iter().any(|r| r.contains("global pause")),
                "{reasons:?}"
            )
        }
        other => panic!("expected deny, got {other:?}"),
    }
    assert!(held.load(Ordering::SeqCst));
}

#[test]
fn global_pause_holds_even_with_a_bundle_that_allows_everything() {
    let bundle = PolicyBundle::from_files(
        "<test>",
        vec![rollguard_policy::BundleFile {
            path: "allow.rego".into(),
            contents: "package rollguard\n\ndeny contains msg if { false; msg := \"never\" }\n"
                .into(),
        }],
    )
    .expect("bundle loads");
    let engine = Arc::new(PolicyEngine::new(&bundle).expect("compiles"));
    let facts = EnvironmentFacts {
        global_pause: true,
        ..EnvironmentFacts::default()
    };
    let mut g = PolicyGate::new(engine, TimeZone::UTC, fixed_environment(facts));
    let (d, _) = g.check(
        &rollout(),
        &proposal("promote", 10.0, 100.0, true),
        &[],
        DAY_MS,
    );
    assert!(matches!(d, GateDecision::Deny { .. }), "{d:?}");
}

#[test]
fn evaluation_error_is_held_never_allowed() {
    let bundle = PolicyBundle::from_files(
        "<test>",
        vec![rollguard_policy::BundleFile {
            path: "broken.rego".into(),
            contents: "package rollguard\n\ndeny contains \"ratio too high\" if {\n  input.state.weight / input.action.from_weight > 2\n}\n".into(),
        }],
    )
    .expect("bundle loads");
    let engine = Arc::new(PolicyEngine::new(&bundle).expect("compiles"));
    let mut g = PolicyGate::new(
        engine,
        TimeZone::UTC,
        fixed_environment(EnvironmentFacts::default()),
    );
    let (d, record) = g.check(
        &rollout(),
        &proposal("set_weight", 0.0, 10.0, false),
        &[],
        DAY_MS,
    );
    match d {
        GateDecision::Deny { reasons } => {
            assert!(
                reasons[0].starts_with("policy evaluation failed"),
                "{reasons:?}"
            )
        }
        other => panic!("an evaluation error must hold, got {other:?}"),
    }
    assert_eq!(record.expect("recorded")["result"], "error");
}
