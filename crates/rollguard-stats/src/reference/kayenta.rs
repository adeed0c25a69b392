//! Kayenta (Spinnaker automated canary analysis) style judge: the
//! `NetflixACAJudge` with its `MannWhitneyClassifier`, for one metric.
//!
//! The metric is collected as a time series with one point per `point_ms`
//! (the metric step, e.g. 60 s): the point's bad rate, or a latency quantile
//! of its merged histogram; points where a version served nothing are NaN
//! and removed (`nanStrategy: remove`). Every `interval_ms` (the canary
//! analysis interval) the judge classifies all points since the start of the
//! analysis (Spinnaker's default without `lookback`):
//!
//! 1. either series empty: `Nodata` (left out of the score; with one metric
//!    there is then no score and no decision);
//! 2. identical series, or a single distinct value: `Pass`;
//! 3. Mann-Whitney U at `confidence` (0.98) with the Hodges-Lehmann interval
//!    of the shift canary − baseline; the metric is `High` when the whole
//!    interval lies above the tolerance band `fraction × |estimate|`
//!    (fraction 0.25) and the effect size — the ratio of the canary mean to
//!    the baseline mean — is at least `allowed_increase` (Kayenta's
//!    `effectSize.allowedIncrease`, 1.0 by default); else `Pass`.
//!
//! The score is 100 × passed / classified metrics, so 100 or 0 here. A score
//! below `marginal` fails the canary at once. At the end of `lifetime_ms`
//! (when set) the last score decides: `Pass` when ≥ `pass`, else `Fail`.
//! Only increases are judged (`direction: increase`), as for error rates and
//! latencies.

use super::{IntervalClock, IntervalData, MetricWindow, ReferenceJudge, mann_whitney};
use crate::count_test::Decision;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KayentaConfig {
    pub interval_ms: u64,
    pub point_ms: u64,
    pub confidence: f64,
    pub allowed_increase: f64,
    /// Tolerance band as a fraction of the Hodges-Lehmann estimate.
    pub fraction: f64,
    pub marginal: f64,
    pub pass: f64,
    pub latency_quantile: f64,
    pub lifetime_ms: Option<u64>,
}

impl Default for KayentaConfig {
    fn default() -> Self {
        Self {
            interval_ms: 3_600_000,
            point_ms: 60_000,
            confidence: 0.98,
            allowed_increase: 1.0,
            fraction: 0.25,
            marginal: 50.0,
            pass: 75.0,
            latency_quantile: 0.99,
            lifetime_ms: None,
        }
    }
}

/// How Kayenta classified the metric in one analysis interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    Pass,
    High,
    Nodata,
}

#[derive(Debug, Clone)]
pub struct KayentaJudge {
    cfg: KayentaConfig,
    point_clock: IntervalClock,
    interval_clock: IntervalClock,
    point: IntervalData,
    canary_points: Vec<f64>,
    baseline_points: Vec<f64>,
    last_score: Option<f64>,
    decided: Option<Decision>,
}

impl KayentaJudge {
    pub fn new(cfg: KayentaConfig) -> Self {
        Self {
            cfg,
            point_clock: IntervalClock::new(cfg.point_ms),
            interval_clock: IntervalClock::new(cfg.interval_ms),
            point: IntervalData::default(),
            canary_points: Vec::new(),
            baseline_points: Vec::new(),
            last_score: None,
            decided: None,
        }
    }

    /// Score of the last classified interval.
    pub fn last_score(&self) -> Option<f64> {
        self.last_score
    }

    /// Classifies the points collected so far.
    pub fn classify(&self) -> Classification {
        let (x, y) = (&self.canary_points, &self.baseline_points);
        if x.is_empty() || y.is_empty() {
            return Classification::Nodata;
        }
        let mut xs = x.clone();
        let mut ys = y.clone();
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        let first = xs[0];
        if xs == ys || xs.iter().chain(&ys).all(|v| *v == first) {
            return Classification::Pass;
        }
        let Some(mw) = mann_whitney(x, y, self.cfg.confidence) else {
            return Classification::Nodata;
        };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        // 0/0 is NaN and never High; c/0 is +inf, as in Kayenta.
        let effect = mean(x) / mean(y);
        let band = self.cfg.fraction * mw.estimate.abs();
        if mw.lower > band && effect >= self.cfg.allowed_increase {
            Classification::High
        } else {
            Classification::Pass
        }
    }
}

impl ReferenceJudge for KayentaJudge {
    fn name(&self) -> &'static str {
        "kayenta"
    }

    fn observe(&mut self, at_ms: u64, window: MetricWindow<'_>) -> Decision {
        if let Some(d) = self.decided {
            return d;
        }
        self.point.add(window);
        if self.point_clock.closes(at_ms) {
            let q = self.cfg.latency_quantile;
            if let Some(v) = self.point.canary_value(q) {
                self.canary_points.push(v);
            }
            if let Some(v) = self.point.baseline_value(q) {
                self.baseline_points.push(v);
            }
            self.point.clear();
        }
        if self.interval_clock.closes(at_ms) {
            let score = match self.classify() {
                Classification::Pass => Some(100.0),
                Classification::High => Some(0.0),
                Classification::Nodata => None,
            };
            if score.is_some() {
                self.last_score = score;
            }
            if score.is_some_and(|s| s < self.cfg.marginal) {
                self.decided = Some(Decision::Fail);
                return Decision::Fail;
            }
        }
        if self.cfg.lifetime_ms.is_some_and(|end| at_ms >= end) {
            let verdict = if self.last_score.is_some_and(|s| s >= self.cfg.pass) {
                Decision::Pass
            } else {
                Decision::Fail
            };
            self.decided = Some(verdict);
            return verdict;
        }
        Decision::Continue
    }
}
