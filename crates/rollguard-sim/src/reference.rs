//! Plugging the reference judges of `rollguard-stats` into the real engine,
//! with the configurations from each tool's own documentation.
//!
//! A reference judge only ever fails a canary: its `Fail` becomes the engine's
//! `Fail` (rollback), and otherwise it reports `Pass` whenever the engine asks
//! for a detailed verdict, so with these judges an `analyze` step behaves like
//! a pause of its `minDuration` (these tools gate on time, not on evidence).
//! Kayenta is the exception: when its lifetime ends its last score decides.
//! No absolute guards apply (the tools have none besides their thresholds).
//!
//! Configurations, as documented:
//! - **Argo Rollouts**, background analysis example
//!   (argoproj.github.io/argo-rollouts/features/analysis, "Background
//!   Analysis"): `interval: 5m`, `successCondition: result[0] >= 0.95`,
//!   `failureLimit: 3` on the success rate; the rollout steps 20%, 40%, 60%,
//!   80% with `pause: {duration: 10m}` after each. Only the success rate is
//!   measured (the example has no latency metric).
//! - **Flagger**, Istio progressive delivery tutorial and "Metrics Analysis"
//!   (docs.flagger.app/usage/metrics): `interval: 1m`, `threshold: 5`,
//!   `maxWeight: 50`, `stepWeight: 10`; `request-success-rate`
//!   `thresholdRange.min: 99` and `request-duration` (p99)
//!   `thresholdRange.max: 500` ms. Promotion after the 50% check.
//!   Median metrics have no Flagger builtin and are not judged.
//! - **Kayenta** (spinnaker.io/guides/user/canary/judge and Deck's help:
//!   "The recommended interval is at least 30 minutes"): NetflixACAJudge,
//!   Mann-Whitney at 98% confidence, one point per 60 s, interval 30 min,
//!   lifetime 1 h, marginal 50, pass 75; the canary at 10% for the lifetime.
//! - **Wald oracle**: the SPRT that knows the scenario's true healthy and
//!   regressed rates of each metric (a yardstick, not a usable judge).

use rollguard_core::judge::{Judge, JudgeFactory, JudgeInput, Verdict};
use rollguard_core::spec::{MetricSource, MetricSpec, Rollout, Step};
use rollguard_core::{Decision, Millis};
use rollguard_stats::Counts;
use rollguard_stats::LatencyHistogram;
use rollguard_stats::reference::{
    ArgoConfig, ArgoJudge, FlaggerConfig, FlaggerJudge, KayentaConfig, KayentaJudge, MetricWindow,
    ReferenceJudge, WaldOracle, WaldOracleConfig,
};
use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::traffic::BucketSampler;

/// Which judge the engine runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeChoice {
    Rollguard,
    Argo,
    Flagger,
    Kayenta,
    Oracle,
}

impl JudgeChoice {
    pub const ALL: [JudgeChoice; 5] = [
        JudgeChoice::Rollguard,
        JudgeChoice::Argo,
        JudgeChoice::Flagger,
        JudgeChoice::Kayenta,
        JudgeChoice::Oracle,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            JudgeChoice::Rollguard => "rollguard",
            JudgeChoice::Argo => "argo",
            JudgeChoice::Flagger => "flagger",
            JudgeChoice::Kayenta => "kayenta",
            JudgeChoice::Oracle => "oracle",
        }
    }

    /// The step schedule the tool's documentation uses, replacing the steps of
    /// `rollout`; rollguard and the oracle keep the rollout's own steps.
    pub fn documented_schedule(&self, rollout: &Rollout) -> Rollout {
        let mut r = rollout.clone();
        let min = |m: Millis| Step::Pause(Some(m));
        match self {
            JudgeChoice::Rollguard | JudgeChoice::Oracle => {}
            JudgeChoice::Argo => {
                r.steps = [20.0, 40.0, 60.0, 80.0]
                    .iter()
                    .flat_map(|w| [Step::SetWeight(*w), min(600_000)])
                    .collect();
            }
            JudgeChoice::Flagger => {
                r.steps = [10.0, 20.0, 30.0, 40.0, 50.0]
                    .iter()
                    .flat_map(|w| [Step::SetWeight(*w), min(60_000)])
                    .collect();
            }
            JudgeChoice::Kayenta => {
                r.steps = vec![
                    Step::SetWeight(10.0),
                    Step::Analyze {
                        min: 3_600_000,
                        max: 3_600_000,
                    },
                ];
            }
        }
        r
    }
}

impl std::fmt::Display for JudgeChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JudgeChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JudgeChoice::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| {
                format!("unknown judge {s:?}: use rollguard, argo, flagger, kayenta or oracle")
            })
    }
}

/// Argo's documented success-rate threshold: `result >= 0.95`.
pub const ARGO_MAX_ERROR_RATE: f64 = 0.05;
/// Flagger's documented `request-success-rate` minimum, 99%.
pub const FLAGGER_MAX_ERROR_RATE: f64 = 0.01;
/// Flagger's documented `request-duration` (p99) maximum.
pub const FLAGGER_MAX_P99_MS: f64 = 500.0;

/// Makes reference judges for the engine. The oracle needs the truth of the
/// scenario: the healthy and regressed rate of each metric.
pub struct ReferenceJudges {
    pub choice: JudgeChoice,
    /// Rollguard only: skip the detailed verdict while a pass is impossible
    /// (see [`FastPass`]). On by default; replay never uses it.
    pub fast_pass: bool,
    baseline: BucketSampler,
    canary: BucketSampler,
    baseline_error: f64,
    canary_error: f64,
}

impl ReferenceJudges {
    pub fn new(choice: JudgeChoice, scenario: &Scenario) -> Self {
        let regressed = scenario.final_canary();
        ReferenceJudges {
            choice,
            fast_pass: true,
            baseline: BucketSampler::new(&scenario.baseline.latency),
            canary: BucketSampler::new(&regressed.latency),
            baseline_error: scenario.baseline.error_rate,
            canary_error: regressed.error_rate,
        }
    }

    /// `(p0, p1, latency bucket)` of a metric under the scenario's truth.
    pub fn truth(&self, metric: &MetricSpec) -> Option<(f64, f64, usize)> {
        match metric.source {
            MetricSource::ErrorRate => Some((self.baseline_error, self.canary_error, 0)),
            MetricSource::LatencyQuantile(q) => {
                let b = self.baseline.quantile_bucket(q);
                Some((self.baseline.exceedance(b), self.canary.exceedance(b), b))
            }
            MetricSource::LatencyThreshold(ms) => {
                let b = LatencyHistogram::bucket_at_or_above_ms(ms);
                Some((self.baseline.exceedance(b), self.canary.exceedance(b), b))
            }
            MetricSource::Prometheus { .. } => None,
        }
    }

    fn inner(&self, metric: &MetricSpec, alpha: f64) -> Option<Box<dyn ReferenceJudge>> {
        let quantile = match metric.source {
            MetricSource::LatencyQuantile(q) => Some(q),
            MetricSource::LatencyThreshold(_) => Some(0.99),
            _ => None,
        };
        match self.choice {
            JudgeChoice::Rollguard => None,
            JudgeChoice::Argo => quantile.is_none().then(|| {
                Box::new(ArgoJudge::new(ArgoConfig {
                    interval_ms: 300_000,
                    failure_limit: 3,
                    max_value: ARGO_MAX_ERROR_RATE,
                    latency_quantile: 0.99,
                })) as Box<dyn ReferenceJudge>
            }),
            JudgeChoice::Flagger => {
                let max_value = match quantile {
                    None => FLAGGER_MAX_ERROR_RATE,
                    Some(q) if q >= 0.99 => FLAGGER_MAX_P99_MS,
                    Some(_) => return None,
                };
                Some(Box::new(FlaggerJudge::new(FlaggerConfig {
                    interval_ms: 60_000,
                    threshold: 5,
                    max_value,
                    latency_quantile: 0.99,
                    promote_after_checks: None,
                })))
            }
            JudgeChoice::Kayenta => Some(Box::new(KayentaJudge::new(KayentaConfig {
                interval_ms: 1_800_000,
                point_ms: 60_000,
                latency_quantile: quantile.unwrap_or(0.99),
                lifetime_ms: Some(3_600_000),
                ..KayentaConfig::default()
            }))),
            JudgeChoice::Oracle => {
                let (p0, p1, bucket) = self.truth(metric)?;
                // No regression on this metric: the oracle has nothing to detect.
                (p1 > p0 && p0 > 0.0 && p1 < 1.0).then(|| {
                    Box::new(WaldOracle::new(WaldOracleConfig {
                        p0,
                        p1,
                        alpha,
                        latency_bucket: bucket,
                    })) as Box<dyn ReferenceJudge>
                })
            }
        }
    }
}

impl JudgeFactory for ReferenceJudges {
    fn make(&self, metric: &MetricSpec, alpha: f64, pass_alpha: f64) -> Box<dyn Judge> {
        if self.choice == JudgeChoice::Rollguard {
            let inner = rollguard_core::judge::SequentialJudges.make(metric, alpha, pass_alpha);
            if !self.fast_pass {
                return inner;
            }
            return Box::new(FastPass { inner });
        }
        Box::new(ReferenceAdapter {
            name: metric.name.clone(),
            tool: self.choice,
            inner: self.inner(metric, alpha),
            decision: Decision::Continue,
            baseline: Counts::default(),
            canary: Counts::default(),
        })
    }
}

/// A reference judge seen through the engine's [`Judge`] trait.
struct ReferenceAdapter {
    name: String,
    tool: JudgeChoice,
    /// `None`: the tool's documented configuration does not judge this metric.
    inner: Option<Box<dyn ReferenceJudge>>,
    decision: Decision,
    baseline: Counts,
    canary: Counts,
}

impl Judge for ReferenceAdapter {
    fn observe(&mut self, at: Millis, input: JudgeInput<'_>) {
        let window = match input {
            JudgeInput::Counts { baseline, canary } => {
                self.baseline.add(baseline);
                self.canary.add(canary);
                MetricWindow::Counts { baseline, canary }
            }
            JudgeInput::Latency { baseline, canary } => {
                self.baseline.add(Counts::new(baseline.total(), 0));
                self.canary.add(Counts::new(canary.total(), 0));
                MetricWindow::Latency { baseline, canary }
            }
        };
        if let Some(judge) = &mut self.inner
            && self.decision == Decision::Continue
        {
            self.decision = judge.observe(at, window);
        }
    }

    fn verdict(&self, detailed: bool) -> Verdict {
        let decision = match self.decision {
            Decision::Fail => Decision::Fail,
            Decision::Pass => Decision::Pass,
            Decision::Continue if detailed => Decision::Pass,
            Decision::Continue => Decision::Continue,
        };
        let note = match &self.inner {
            Some(j) => format!("{} judge", j.name()),
            None => format!("not judged by the documented {} configuration", self.tool),
        };
        Verdict {
            metric: self.name.clone(),
            decision,
            e_value: if decision == Decision::Fail {
                f64::INFINITY
            } else {
                1.0
            },
            threshold: f64::INFINITY,
            estimate: None,
            interval: None,
            canary_rate: self.canary.rate(),
            baseline_rate: self.baseline.rate(),
            canary: self.canary,
            baseline: self.baseline,
            note: Some(note),
        }
    }

    fn last_window(&self) -> Option<(Counts, Counts)> {
        None
    }
}

/// rollguard's own judge, kept as the `fast_pass` switch of the benchmark.
///
/// It used to re-implement the pass rule to skip the ratio interval on every
/// tick; the pass rule now carries per-window state (the canary's rate
/// sequence borrows the baseline's counts, see `rollguard_stats::count_test`)
/// and the plain judge itself computes the interval only on decisions, so
/// this wrapper simply delegates. A test compares whole simulations with and
/// without it.
struct FastPass {
    inner: Box<dyn Judge>,
}

impl Judge for FastPass {
    fn observe(&mut self, at: Millis, input: JudgeInput<'_>) {
        self.inner.observe(at, input);
    }

    fn verdict(&self, detailed: bool) -> Verdict {
        self.inner.verdict(detailed)
    }

    fn last_window(&self) -> Option<(Counts, Counts)> {
        self.inner.last_window()
    }
}
