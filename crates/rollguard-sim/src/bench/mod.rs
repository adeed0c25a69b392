//! The detection benchmark: scenarios × judges on the real engine.
//!
//! Every case ([`cases::cases`]) is simulated with each judge: rollguard's
//! anytime-valid count tests on `examples/rollouts/bench.yaml`
//! (5% -> 25% -> 50% -> 100% with an analyze step after each), the Wald
//! oracle on the same steps, and Argo Rollouts, Flagger and Kayenta with the
//! configurations and step schedules of their own documentation
//! ([`crate::reference`]).
//!
//! Columns: the share of runs rolled back with a 95% Clopper-Pearson interval
//! (false rollbacks in A/A cases, detections otherwise); mean / median / p90
//! detection delay in canary requests served since the regression began and
//! in seconds (detected runs only); the Wald bound `ln(1/α_m) / KL(p1 || p0)`
//! at the errors metric's alpha share `α_m = α / 3` (for a median shift the
//! log-normal shift bound `ln(1/α_m) / (Δ² / 2σ²)`, for the p99 case the
//! exceedance bound at the baseline's p99) and the ratio of the mean delay to
//! it; failed canary requests served since the regression (all runs); and the
//! median time to promote (promoted runs) with the share promoted.

pub mod cases;

use std::sync::Arc;

use rollguard_core::SpecError;
use rollguard_core::spec::Rollout;
use rollguard_core::{Millis, format_millis};
use serde::{Deserialize, Serialize};

use crate::reference::JudgeChoice;
use crate::scenario::Truth;
use crate::simulator::simulate;
use crate::summary::{Rate, Spread};

/// The rollout the benchmark runs.
pub const BENCH_ROLLOUT: &str = include_str!("../../../../examples/rollouts/bench.yaml");

/// Runs per case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchSize {
    pub aa_runs: usize,
    pub regression_runs: usize,
}

impl BenchSize {
    pub fn new(quick: bool) -> Self {
        if quick {
            BenchSize {
                aa_runs: 200,
                regression_runs: 60,
            }
        } else {
            BenchSize {
                aa_runs: 3000,
                regression_runs: 500,
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionRow {
    pub case: String,
    pub judge: JudgeChoice,
    pub truth: Truth,
    pub runs: usize,
    /// False rollbacks (A/A) or detections (regressions).
    pub rollback: Rate,
    pub delay_requests: Option<Spread>,
    pub delay_seconds: Option<Spread>,
    pub wald_bound: Option<f64>,
    /// Mean delay in canary requests over the Wald bound.
    pub wald_ratio: Option<f64>,
    pub bad_served: Option<Spread>,
    pub promoted: Rate,
    pub promote_seconds: Option<Spread>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionTable {
    pub quick: bool,
    pub size: BenchSize,
    pub alpha: f64,
    pub seed: u64,
    pub rows: Vec<DetectionRow>,
}

/// The benchmark rollout, parsed.
pub fn bench_rollout() -> Result<Rollout, SpecError> {
    rollguard_core::spec::load(BENCH_ROLLOUT, "examples/rollouts/bench.yaml")
}

/// Runs every case with every judge.
pub fn bench_detection(quick: bool) -> Result<DetectionTable, SpecError> {
    bench_detection_with(quick, BenchSize::new(quick), 20_261_126, &JudgeChoice::ALL)
}

/// As [`bench_detection`], with explicit run counts, seed and judges.
pub fn bench_detection_with(
    quick: bool,
    size: BenchSize,
    seed: u64,
    judges: &[JudgeChoice],
) -> Result<DetectionTable, SpecError> {
    let base = Arc::new(bench_rollout()?);
    let alpha = base.analysis.alpha;
    let alpha_metric = alpha / base.analysis.metrics.len().max(1) as f64;
    let mut rows = Vec::new();
    for (ci, case) in cases::cases(alpha_metric).iter().enumerate() {
        let runs = match case.scenario.truth {
            Truth::Healthy => size.aa_runs,
            Truth::Regressed => size.regression_runs,
        };
        for (ji, judge) in judges.iter().enumerate() {
            let rollout = cases::rollout_for(&base, *judge, case);
            let case_seed = seed ^ ((ci as u64) << 32) ^ ((ji as u64) << 48);
            let rep = simulate(&rollout, &case.scenario, runs, case_seed, *judge);
            let s = rep.summary;
            let wald_ratio = match (case.wald_bound, s.delay_requests) {
                (Some(b), Some(d)) if b > 0.0 => Some(d.mean / b),
                _ => None,
            };
            rows.push(DetectionRow {
                case: case.name.clone(),
                judge: *judge,
                truth: case.scenario.truth,
                runs,
                rollback: s.rollback_rate,
                delay_requests: s.delay_requests,
                delay_seconds: s.delay_seconds,
                wald_bound: case.wald_bound,
                wald_ratio,
                bad_served: s.bad_served,
                promoted: Rate::new(s.promoted, runs as u64),
                promote_seconds: s.promote_seconds,
            });
        }
    }
    Ok(DetectionTable {
        quick,
        size,
        alpha,
        seed,
        rows,
    })
}

fn secs(s: f64) -> String {
    format_millis((s * 1000.0).round() as Millis)
}

impl DetectionTable {
    pub fn render_markdown(&self) -> String {
        let mut out = format!(
            "Detection benchmark ({} mode: {} runs per A/A case, {} per regression; alpha {}; seed {}).\n\n",
            if self.quick { "quick" } else { "full" },
            self.size.aa_runs,
            self.size.regression_runs,
            self.alpha,
            self.seed
        );
        out += "| scenario | judge | rolled back (95% CI) | delay, canary requests (mean / median / p90) | delay (mean / median / p90) | Wald bound | × bound | bad served (mean) | promoted, median time |\n";
        out += "|---|---|---|---|---|---|---|---|---|\n";
        for r in &self.rows {
            let dash = || "—".to_string();
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.case,
                r.judge,
                r.rollback.display(),
                r.delay_requests.map_or_else(dash, |d| format!(
                    "{:.0} / {:.0} / {:.0}",
                    d.mean, d.median, d.p90
                )),
                r.delay_seconds.map_or_else(dash, |d| format!(
                    "{} / {} / {}",
                    secs(d.mean),
                    secs(d.median),
                    secs(d.p90)
                )),
                r.wald_bound.map_or_else(dash, |b| format!("{b:.0}")),
                r.wald_ratio.map_or_else(dash, |x| format!("{x:.2}")),
                r.bad_served.map_or_else(dash, |b| format!("{:.1}", b.mean)),
                match r.promote_seconds {
                    Some(p) => format!("{:.0}%, {}", 100.0 * r.promoted.rate, secs(p.median)),
                    None => "0%".into(),
                },
            );
        }
        out
    }

    pub fn render_text(&self) -> String {
        self.render_markdown()
    }
}
