//! The engine's behaviour on hand-made observation sequences.

use std::sync::Arc;

use proptest::prelude::*;
use rollguard_core::spec::load;
use rollguard_core::*;
use rollguard_stats::Counts;

const ROLLOUT: &str = r#"
apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  service: web
  baseline: {version: v1, endpoint: "http://127.0.0.1:9001"}
  canary: {version: v2, endpoint: "http://127.0.0.1:9002"}
  strategy:
    steps:
      - setWeight: 10
      - analyze: {minDuration: 30s, maxDuration: 5m}
      - setWeight: 50
      - pause: {duration: 10s}
      - pause: {}
  analysis:
    alpha: 0.01
    metrics:
      - name: errors
        errorRate: {}
        abortAbove: 0.5
        noDataTimeout: 20s
"#;

fn engine() -> Engine {
    Engine::new(Arc::new(load(ROLLOUT, "test.yaml").expect("valid rollout")))
}

fn obs(t: u64, b: (u64, u64), c: (u64, u64)) -> Input {
    let mut metrics = std::collections::BTreeMap::new();
    metrics.insert(
        "errors".to_string(),
        MetricData::Counts {
            baseline: Counts::new(b.0, b.1),
            canary: Counts::new(c.0, c.1),
        },
    );
    Input::Observe(Observation {
        start: t.saturating_sub(1000),
        end: t,
        metrics,
    })
}

fn weights(fx: &[Effect]) -> Vec<f64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SetWeight { weight, .. } => Some(*weight),
            _ => None,
        })
        .collect()
}

#[test]
fn first_set_weight_happens_at_start() {
    let (st, fx) = engine().start(0, &mut AllowAll);
    assert_eq!(weights(&fx), vec![10.0]);
    assert_eq!(st.step_index, 1);
}

#[test]
fn bad_canary_is_rolled_back_with_a_rationale() {
    let e = engine();
    let (mut st, _) = e.start(0, &mut AllowAll);
    let mut all = Vec::new();
    for t in 1..=120u64 {
        let (s, fx) = e.step(st, obs(t * 1000, (90, 1), (10, 2)), t * 1000, &mut AllowAll);
        st = s;
        all.extend(fx);
        if st.is_done() {
            break;
        }
    }
    assert_eq!(st.outcome(), Some(Outcome::RolledBack));
    assert_eq!(weights(&all).last(), Some(&0.0));
    let rationale = all
        .iter()
        .find_map(|e| match e {
            Effect::Record(r) if r.kind == EventKind::RolledBack => Some(r.rationale.clone()),
            _ => None,
        })
        .expect("a rolled_back record");
    assert!(rationale.contains("errors"), "{rationale}");
}

#[test]
fn absolute_guard_acts_in_one_window() {
    let e = engine();
    let (st, _) = e.start(0, &mut AllowAll);
    let (st, fx) = e.step(st, obs(1000, (90, 0), (40, 30)), 1000, &mut AllowAll);
    assert_eq!(st.outcome(), Some(Outcome::RolledBack));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Record(r) if r.rationale.contains("absolute guard")))
    );
}

#[test]
fn healthy_canary_waits_for_a_person_at_pause() {
    let e = engine();
    let (mut st, _) = e.start(0, &mut AllowAll);
    let mut t = 0;
    while t < 3_600_000 && !matches!(st.status, Status::AwaitingHuman { .. }) {
        t += 1000;
        let (s, _) = e.step(st, obs(t, (900, 1), (100, 0)), t, &mut AllowAll);
        st = s;
    }
    assert!(
        matches!(st.status, Status::AwaitingHuman { .. }),
        "{:?}",
        st.status
    );
    assert_eq!(st.weight, 50.0);
    let approve = Input::Command(Command {
        kind: CommandKind::Approve,
        by: "alice".into(),
        comment: Some("looks good".into()),
    });
    let (st, fx) = e.step(st, approve, t + 1, &mut AllowAll);
    assert_eq!(st.outcome(), Some(Outcome::Promoted));
    assert_eq!(weights(&fx), vec![100.0]);
}

#[test]
fn no_data_holds_then_escalates_and_never_passes() {
    let e = engine();
    let (mut st, _) = e.start(0, &mut AllowAll);
    for t in 1..=60u64 {
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            "errors".to_string(),
            MetricData::NoData {
                reason: "scrape failed".into(),
            },
        );
        let input = Input::Observe(Observation {
            start: (t - 1) * 1000,
            end: t * 1000,
            metrics: m,
        });
        let (s, _) = e.step(st, input, t * 1000, &mut AllowAll);
        st = s;
    }
    assert_eq!(
        st.step_index, 1,
        "must not pass the analyze step without data"
    );
    assert!(
        matches!(&st.status, Status::AwaitingHuman { reason } if reason.contains("scrape failed"))
    );
}

#[test]
fn abort_sets_weight_zero_and_nothing_happens_after() {
    let e = engine();
    let (st, _) = e.start(0, &mut AllowAll);
    let abort = Input::Command(Command {
        kind: CommandKind::Abort,
        by: "bob".into(),
        comment: None,
    });
    let (st, fx) = e.step(st, abort, 5, &mut AllowAll);
    assert_eq!(st.outcome(), Some(Outcome::Aborted));
    assert_eq!(weights(&fx), vec![0.0]);
    let (st, fx) = e.step(st, obs(10_000, (1, 0), (1, 1)), 10_000, &mut AllowAll);
    assert!(fx.is_empty());
    assert_eq!(st.outcome(), Some(Outcome::Aborted));
}

struct DenyAbove(f64);
impl Gate for DenyAbove {
    fn check(
        &mut self,
        _: &Rollout,
        p: &Proposal,
        _: &[Verdict],
        _: u64,
    ) -> (GateDecision, Option<serde_json::Value>) {
        if p.to_weight > self.0 {
            (
                GateDecision::Deny {
                    reasons: vec![format!("max {}%", self.0)],
                },
                None,
            )
        } else {
            (GateDecision::Allow, None)
        }
    }
}

#[test]
fn a_denied_weight_is_held_and_recorded() {
    let e = engine();
    let mut gate = DenyAbove(5.0);
    let (st, fx) = e.start(0, &mut gate);
    assert!(weights(&fx).is_empty());
    assert!(matches!(&st.status, Status::AwaitingHuman { reason } if reason.contains("max 5%")));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Record(r) if r.kind == EventKind::Denied))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// No observation sequence promotes without the analyze step passing,
    /// acts after a terminal outcome, or sets a weight the steps do not name.
    #[test]
    fn engine_invariants(windows in proptest::collection::vec((0u64..500, 0u64..50, 0u64..100, 0u64..50, any::<bool>()), 1..200)) {
        let e = engine();
        let (mut st, _) = e.start(0, &mut AllowAll);
        let allowed = [0.0, 10.0, 50.0, 100.0];
        let mut t = 0;
        for (bn, bb, cn, cb, missing) in windows {
            t += 1000;
            let input = if missing { Input::Tick } else { obs(t, (bn, bb.min(bn)), (cn, cb.min(cn))) };
            let was_done = st.is_done();
            let step_before = st.step_index;
            let (s, fx) = e.step(st, input, t, &mut AllowAll);
            st = s;
            if was_done { prop_assert!(fx.is_empty()); }
            for w in weights(&fx) { prop_assert!(allowed.contains(&w), "weight {}", w); }
            // Leaving the analyze step (index 1) needs a StepPassed record.
            if step_before == 1 && st.step_index > 1 {
                prop_assert!(fx.iter().any(|e| matches!(e, Effect::Record(r) if r.kind == EventKind::StepPassed)));
            }
            if st.outcome() == Some(Outcome::Promoted) { prop_assert!(false, "promotion needs a person at pause {{}}"); }
        }
    }
}
