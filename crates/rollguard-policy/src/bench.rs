//! Latency benchmark of policy evaluation with the default bundle (`rollguard bench policy`).
//!
//! Each measured evaluation is what the controller pays per proposed action:
//! encoding the typed input, cloning the prepared engine, evaluating `deny` and
//! `require_approval`, and building the decision. The inputs cycle through a
//! realistic mix (weight steps by day and by night, prod steps above 50%,
//! starts at the concurrency limit, promotions by agents and people, rollbacks
//! during a freeze). The target is p99 below 1 ms per action in a release build.
//! This is the only module that reads the clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::bundle::PolicyBundle;
use crate::engine::PolicyEngine;
use crate::error::PolicyError;
use crate::input::{
    Action, ActionKind, Approval, Environment, MetricVerdict, PolicyInput, Principal,
    PrincipalKind, Rollout, RolloutState, StepKind, VerdictDecision,
};

/// Latency figures of a policy benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Number of timed evaluations.
    pub evaluations: usize,
    /// Median latency per evaluation, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Slowest evaluation, microseconds.
    pub max_us: f64,
    /// Evaluations per second on one thread.
    pub evals_per_s: f64,
    /// Short hash of the bundle measured.
    pub bundle_hash: String,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "policy evaluation, bundle {}: {} evaluations, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, {:.0} evals/s",
            self.bundle_hash,
            self.evaluations,
            self.p50_us,
            self.p99_us,
            self.max_us,
            self.evals_per_s
        )
    }
}

/// Evaluates the default bundle `n` times (at least once) over [`sample_inputs`]
/// and reports latency percentiles. Errs if the bundle fails to compile or any
/// evaluation fails.
#[allow(clippy::disallowed_methods)] // the benchmark is the one place that reads the clock
pub fn bench(n: usize) -> Result<BenchReport, PolicyError> {
    let bundle = PolicyBundle::default_bundle()?;
    let engine = PolicyEngine::new(&bundle)?;
    let inputs = sample_inputs(&bundle);
    let n = n.max(1);
    // Warm-up: one pass over the inputs, not timed.
    for input in &inputs {
        engine.evaluate(input)?;
    }
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for input in inputs.iter().cycle().take(n) {
        let t0 = Instant::now();
        engine.evaluate(input)?;
        samples.push(t0.elapsed());
    }
    let total = started.elapsed();
    samples.sort_unstable();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(BenchReport {
        evaluations: n,
        p50_us: micros(percentile(&samples, 0.50)),
        p99_us: micros(percentile(&samples, 0.99)),
        max_us: micros(samples.last().copied().unwrap_or_default()),
        evals_per_s: n as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
        bundle_hash: bundle.short_hash().to_string(),
    })
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A realistic mix of proposed actions, evaluated in the bundle's time zone.
pub fn sample_inputs(bundle: &PolicyBundle) -> Vec<PolicyInput> {
    let day = Timestamp::from_second(1_793_700_900).unwrap_or(Timestamp::UNIX_EPOCH); // Tue 2026-11-03 10:15 UTC
    let night = Timestamp::from_second(1_793_748_600).unwrap_or(Timestamp::UNIX_EPOCH); // 23:30 UTC
    let agent = Principal {
        kind: PrincipalKind::Agent,
        name: "agent-eu-1".into(),
        roles: vec![],
    };
    let person = Principal {
        kind: PrincipalKind::Person,
        name: "alice".into(),
        roles: vec!["release-manager".into()],
    };
    let approval = vec![Approval {
        by: "alice".into(),
        comment: "dashboards look fine".into(),
    }];
    let mk = |kind,
              from,
              to,
              env: &str,
              now,
              principal: &Principal,
              approvals: &Vec<Approval>,
              freeze| {
        let mut environment = Environment::at(now, bundle.timezone());
        environment.freeze_active = freeze;
        environment.canaries_in_use = BTreeMap::from([("prod".into(), 2), ("staging".into(), 1)]);
        environment.error_budget_remaining =
            BTreeMap::from([("checkout".into(), 0.35), ("search".into(), 0.0)]);
        PolicyInput {
            action: Action {
                kind,
                from_weight: from,
                to_weight: to,
            },
            rollout: Rollout::new(
                "checkout-v42",
                "checkout",
                "shop",
                BTreeMap::from([
                    ("env".into(), env.into()),
                    ("team".into(), "payments".into()),
                ]),
            ),
            state: RolloutState {
                step_index: 3,
                step_kind: Some(StepKind::SetWeight),
                weight: from,
                elapsed_s: 900.0,
                step_elapsed_s: 120.0,
            },
            verdicts: BTreeMap::from([
                (
                    "error_rate".into(),
                    verdict(VerdictDecision::Pass, 0.4, -0.001, [-0.004, 0.002]),
                ),
                (
                    "latency_p99".into(),
                    verdict(VerdictDecision::Continue, 2.1, 3.5, [-1.0, 8.0]),
                ),
            ]),
            environment,
            principal: principal.clone(),
            approvals: approvals.clone(),
        }
    };
    let none = Vec::new();
    vec![
        mk(
            ActionKind::SetWeight,
            10.0,
            25.0,
            "staging",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::SetWeight,
            25.0,
            50.0,
            "prod",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::SetWeight,
            50.0,
            75.0,
            "prod",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::SetWeight,
            50.0,
            75.0,
            "prod",
            day,
            &agent,
            &approval,
            false,
        ),
        mk(
            ActionKind::SetWeight,
            5.0,
            25.0,
            "staging",
            night,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::Start,
            0.0,
            0.0,
            "prod",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::Start,
            0.0,
            0.0,
            "staging",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::Promote,
            75.0,
            100.0,
            "prod",
            day,
            &person,
            &approval,
            false,
        ),
        mk(
            ActionKind::Promote,
            50.0,
            100.0,
            "staging",
            day,
            &agent,
            &none,
            false,
        ),
        mk(
            ActionKind::Rollback,
            25.0,
            0.0,
            "prod",
            day,
            &agent,
            &none,
            true,
        ),
        mk(
            ActionKind::Pause,
            25.0,
            25.0,
            "prod",
            night,
            &agent,
            &none,
            false,
        ),
    ]
}

fn verdict(
    decision: VerdictDecision,
    e_value: f64,
    estimate: f64,
    interval: [f64; 2],
) -> MetricVerdict {
    MetricVerdict {
        decision,
        e_value,
        estimate,
        interval,
    }
}
