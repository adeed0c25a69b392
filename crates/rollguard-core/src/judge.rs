//! Per-metric judges as the engine sees them.
//!
//! The engine feeds each metric's window to a [`Judge`] and asks for a
//! [`Verdict`]. The default, [`SequentialJudge`], is rollguard's anytime-valid
//! count test from `rollguard-stats`: error metrics feed it directly; latency
//! metrics feed it the number of requests slower than a threshold, where the
//! threshold is either an SLO or the baseline's own quantile, fixed from
//! warm-up windows that are then not reused (so the threshold is predictable
//! and the test stays valid). The simulator swaps in reference judges through
//! the same trait.
//!
//! The fail test's prior over rate ratios is chosen from the spec alone
//! (never from counts, which keeps it a valid e-process): latency metrics at
//! the baseline's `q`-quantile can only reach ratios up to `1 / (1 - q)` and
//! get [`EffectPrior::for_quantile`] (centred on 1.19 at the median), error,
//! SLO-threshold and Prometheus metrics the wide default (centred on 3).
//!
//! A detailed verdict checks the pass criterion (two bisections, cheap) on
//! every call, but computes the ratio confidence interval (a grid scan) only
//! when the metric has decided, where it is shown.

use rollguard_stats::count_config::EffectPrior;
use rollguard_stats::{CountTest, CountTestConfig};
use rollguard_stats::{Counts, LatencyHistogram};
use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::observation::MetricData;
use crate::spec::{MetricSource, MetricSpec};

pub use rollguard_stats::Decision;

/// A metric's judgement at one moment, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub metric: String,
    pub decision: Decision,
    /// Evidence that the canary is worse (reject at `threshold`).
    pub e_value: f64,
    pub threshold: f64,
    /// Canary bad rate / baseline bad rate.
    pub estimate: Option<f64>,
    /// Anytime-valid confidence interval on that ratio (computed by detailed
    /// verdicts that decide, `None` otherwise).
    pub interval: Option<(f64, f64)>,
    pub canary_rate: Option<f64>,
    pub baseline_rate: Option<f64>,
    pub canary: Counts,
    pub baseline: Counts,
    /// Why the judge is not deciding yet, or what it compares against.
    pub note: Option<String>,
}

/// One window of a metric, as a judge reads it.
#[derive(Debug, Clone, Copy)]
pub enum JudgeInput<'a> {
    Counts {
        baseline: Counts,
        canary: Counts,
    },
    Latency {
        baseline: &'a LatencyHistogram,
        canary: &'a LatencyHistogram,
    },
}

impl<'a> JudgeInput<'a> {
    pub fn from_data(data: &'a MetricData) -> Option<Self> {
        match data {
            MetricData::Counts { baseline, canary } => Some(JudgeInput::Counts {
                baseline: *baseline,
                canary: *canary,
            }),
            MetricData::Latency { baseline, canary } => {
                Some(JudgeInput::Latency { baseline, canary })
            }
            MetricData::NoData { .. } => None,
        }
    }
}

pub trait Judge: Send {
    fn observe(&mut self, at: Millis, input: JudgeInput<'_>);
    /// `detailed` asks for the costlier parts (interval, pass check).
    fn verdict(&self, detailed: bool) -> Verdict;
    /// Bad-event counts of the last window in which the judge counted any, as
    /// `(baseline, canary)`, for absolute guards.
    fn last_window(&self) -> Option<(Counts, Counts)>;
}

/// Makes the judge of each metric; `alpha` is that metric's share.
pub trait JudgeFactory {
    fn make(&self, metric: &MetricSpec, alpha: f64, pass_alpha: f64) -> Box<dyn Judge>;
}

/// rollguard's own judges.
#[derive(Debug, Default, Clone, Copy)]
pub struct SequentialJudges;

impl JudgeFactory for SequentialJudges {
    fn make(&self, metric: &MetricSpec, alpha: f64, pass_alpha: f64) -> Box<dyn Judge> {
        Box::new(SequentialJudge::new(metric, alpha, pass_alpha))
    }
}

/// Baseline requests needed before a quantile threshold is fixed: enough that
/// about 30 of them lie above it.
fn warmup_needed(q: f64) -> u64 {
    ((30.0 / (1.0 - q)).ceil() as u64).max(100)
}

pub struct SequentialJudge {
    name: String,
    source: MetricSource,
    test: CountTest,
    threshold: f64,
    /// Latency metrics: the bucket above which a request is "slow".
    slow_above_bucket: Option<usize>,
    warmup: LatencyHistogram,
    last: Option<(Counts, Counts)>,
}

impl SequentialJudge {
    pub fn new(metric: &MetricSpec, alpha: f64, pass_alpha: f64) -> Self {
        let slow_above_bucket = match metric.source {
            MetricSource::LatencyThreshold(ms) => Some(LatencyHistogram::bucket_at_or_above_ms(ms)),
            _ => None,
        };
        SequentialJudge {
            name: metric.name.clone(),
            source: metric.source.clone(),
            test: CountTest::new(CountTestConfig {
                alpha,
                pass_alpha,
                max_relative: metric.max_relative,
                max_absolute: metric.max_absolute,
                effect_prior: match metric.source {
                    MetricSource::LatencyQuantile(q) => EffectPrior::for_quantile(q),
                    _ => EffectPrior::default(),
                },
            }),
            threshold: 1.0 / alpha,
            slow_above_bucket,
            warmup: LatencyHistogram::new(),
            last: None,
        }
    }

    /// The latency threshold in force, in milliseconds.
    pub fn threshold_ms(&self) -> Option<f64> {
        self.slow_above_bucket.map(LatencyHistogram::upper_bound_ms)
    }
}

impl Judge for SequentialJudge {
    fn observe(&mut self, _at: Millis, input: JudgeInput<'_>) {
        let (b, c) = match input {
            JudgeInput::Counts { baseline, canary } => (baseline, canary),
            JudgeInput::Latency { baseline, canary } => {
                let bucket = match self.slow_above_bucket {
                    Some(b) => b,
                    None => {
                        let MetricSource::LatencyQuantile(q) = self.source else {
                            return;
                        };
                        self.warmup.merge(baseline);
                        if self.warmup.total() < warmup_needed(q) {
                            return;
                        }
                        let Some(b) = self.warmup.quantile_bucket(q) else {
                            return;
                        };
                        self.slow_above_bucket = Some(b);
                        // This window helped choose the threshold: do not test on it.
                        return;
                    }
                };
                (
                    Counts::new(baseline.total(), baseline.count_above_bucket(bucket)),
                    Counts::new(canary.total(), canary.count_above_bucket(bucket)),
                )
            }
        };
        self.test.observe(b, c);
        if b.total > 0 || c.total > 0 {
            self.last = Some((b, c));
        }
    }

    fn verdict(&self, detailed: bool) -> Verdict {
        let (baseline, canary) = self.test.totals();
        let warming = matches!(self.source, MetricSource::LatencyQuantile(_))
            && self.slow_above_bucket.is_none();
        let decision = if self.test.failed() {
            Decision::Fail
        } else if detailed && !warming && self.test.passed() {
            Decision::Pass
        } else {
            Decision::Continue
        };
        let note = if warming {
            Some(format!(
                "learning the baseline's latency ({} of {} requests)",
                self.warmup.total(),
                match self.source {
                    MetricSource::LatencyQuantile(q) => warmup_needed(q),
                    _ => 0,
                }
            ))
        } else {
            self.threshold_ms()
                .map(|ms| format!("slow = above {ms:.1} ms"))
        };
        Verdict {
            metric: self.name.clone(),
            decision,
            e_value: self.test.e_value().min(f64::MAX),
            threshold: self.threshold,
            estimate: self.test.ratio_estimate(),
            interval: (detailed && decision != Decision::Continue)
                .then(|| self.test.ratio_interval()),
            canary_rate: canary.rate(),
            baseline_rate: baseline.rate(),
            canary,
            baseline,
            note,
        }
    }

    fn last_window(&self) -> Option<(Counts, Counts)> {
        self.last
    }
}
