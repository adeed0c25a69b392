//! The benchmark's scenarios, built in code around one base service: 100 rps,
//! 0.5% errors, log-normal latency with median 100 ms and sigma 0.5.

use rollguard_core::Millis;
use rollguard_core::spec::{Rollout, Step};
use rollguard_stats::wald::{wald_bound_lognormal_shift, wald_bound_requests};

use crate::reference::JudgeChoice;
use crate::scenario::{
    Behaviour, Change, Diurnal, LatencyModel, Overdispersion, Scenario, SplitDrift, Truth,
};
use crate::traffic::BucketSampler;

const MIN: Millis = 60_000;
const BASE_ERRORS: f64 = 0.005;
const MEDIAN_MS: f64 = 100.0;
const SIGMA: f64 = 0.5;

/// One row group of the table.
#[derive(Debug, Clone)]
pub struct BenchCase {
    pub name: String,
    pub scenario: Scenario,
    /// Stretch every timed step so the rollout lasts this long (long A/A).
    pub stretch_to: Option<Millis>,
    /// Wald's bound in canary requests at the errors metric's alpha share,
    /// or the parametric ideal for latency; `None` when not defined (ramps).
    pub wald_bound: Option<f64>,
}

fn base() -> Behaviour {
    Behaviour::new(BASE_ERRORS, LatencyModel::lognormal(MEDIAN_MS, SIGMA))
}

fn aa(name: &str, duration: Millis) -> Scenario {
    Scenario::steady(name, duration, 100.0, base())
}

fn regressed(name: &str, canary: Behaviour) -> Scenario {
    let mut s = aa(name, 30 * MIN);
    s.canary = canary;
    s.truth = Truth::Regressed;
    s
}

/// All cases; `alpha_metric` is the alpha share of one metric.
pub fn cases(alpha_metric: f64) -> Vec<BenchCase> {
    let case = |name: &str, scenario: Scenario, wald: Option<f64>| BenchCase {
        name: name.to_string(),
        scenario,
        stretch_to: None,
        wald_bound: wald,
    };
    let mut out = vec![case("A/A 30 min", aa("aa-30m", 30 * MIN), None)];
    let mut long = case(
        "A/A 2 h (steps stretched to 2 h)",
        aa("aa-2h", 120 * MIN),
        None,
    );
    long.stretch_to = Some(120 * MIN);
    out.push(long);
    let mut bursty = aa("aa-bursty", 30 * MIN);
    bursty.overdispersion = Some(Overdispersion {
        cv: 1.0,
        shared: true,
    });
    out.push(case("A/A bursty errors (shared Gamma, cv 1)", bursty, None));
    let mut diurnal = aa("aa-diurnal", 30 * MIN);
    diurnal.diurnal = Some(Diurnal {
        amplitude: 0.5,
        period: 20 * MIN,
    });
    out.push(case(
        "A/A diurnal load (±50%, 20 min period)",
        diurnal,
        None,
    ));
    let mut drift = aa("aa-split-drift", 30 * MIN);
    drift.split_drift = Some(SplitDrift {
        amplitude: 0.3,
        period: 7 * MIN,
    });
    out.push(case("A/A split drift (±30%)", drift, None));
    let mut missing = aa("aa-missing", 30 * MIN);
    missing.missing_prob = 0.05;
    missing.gaps = vec![(3 * MIN, 3 * MIN + 30_000)];
    out.push(case("A/A missing scrapes (5% + 30 s gap)", missing, None));

    for p1 in [0.0075, 0.01, 0.02, 0.05, 0.5] {
        let name = format!("errors 0.5% -> {}%", p1 * 100.0);
        let s = regressed(&name, Behaviour::new(p1, base().latency));
        out.push(case(
            &name,
            s,
            Some(wald_bound_requests(BASE_ERRORS, p1, alpha_metric)),
        ));
    }
    for shift in [0.05, 0.10, 0.25] {
        let name = format!("latency median +{}%", shift * 100.0);
        let lat = LatencyModel::lognormal(MEDIAN_MS * (1.0 + shift), SIGMA);
        let s = regressed(&name, Behaviour::new(BASE_ERRORS, lat));
        let bound = wald_bound_lognormal_shift((1.0 + shift).ln(), SIGMA, alpha_metric);
        out.push(case(&name, s, Some(bound)));
    }
    let tail = LatencyModel {
        tail_prob: 0.02,
        tail_factor: 6.4,
        ..base().latency
    };
    let p99 = regressed("p99-only x2", Behaviour::new(BASE_ERRORS, tail));
    let (b, c) = (
        BucketSampler::new(&base().latency),
        BucketSampler::new(&tail),
    );
    let bucket = b.quantile_bucket(0.99);
    let bound = wald_bound_requests(b.exceedance(bucket), c.exceedance(bucket), alpha_metric);
    out.push(case("p99 only x2 (median unchanged)", p99, Some(bound)));

    let mut gradual = aa("gradual", 40 * MIN);
    gradual.truth = Truth::Regressed;
    gradual.changes = vec![Change {
        at: 5 * MIN,
        ramp: 20 * MIN,
        canary: Behaviour::new(0.02, base().latency),
    }];
    out.push(case(
        "gradual 0.5% -> 2% over 20 min from 5 min",
        gradual,
        None,
    ));

    for (rps, hours) in [(1.0, 4), (10.0, 1)] {
        let name = format!("low traffic {rps} rps, errors 0.5% -> 5%");
        let mut s = regressed(&name, Behaviour::new(0.05, base().latency));
        s.rps = rps;
        s.duration = hours * 60 * MIN;
        out.push(case(
            &name,
            s,
            Some(wald_bound_requests(BASE_ERRORS, 0.05, alpha_metric)),
        ));
    }
    let mut miss = regressed("missing-2pct", Behaviour::new(0.02, base().latency));
    miss.missing_prob = 0.05;
    miss.gaps = vec![(MIN, MIN + 30_000)];
    out.push(case(
        "missing scrapes, errors 0.5% -> 2%",
        miss,
        Some(wald_bound_requests(BASE_ERRORS, 0.02, alpha_metric)),
    ));
    out
}

/// The rollout a judge runs in a case: the tool's documented schedule,
/// stretched for the long A/A case.
pub fn rollout_for(base: &Rollout, judge: JudgeChoice, case: &BenchCase) -> Rollout {
    let mut r = judge.documented_schedule(base);
    if let Some(total) = case.stretch_to {
        let timed: Millis = r
            .steps
            .iter()
            .map(|s| match s {
                Step::Analyze { min, .. } => *min,
                Step::Pause(Some(d)) => *d,
                _ => 0,
            })
            .sum();
        if timed > 0 && timed < total {
            let factor = total as f64 / timed as f64;
            for s in &mut r.steps {
                match s {
                    Step::Analyze { min, max } => {
                        *min = (*min as f64 * factor) as Millis;
                        *max = (*max).max(*min);
                    }
                    Step::Pause(Some(d)) => *d = (*d as f64 * factor) as Millis,
                    _ => {}
                }
            }
        }
    }
    r
}
