//! Synthetic traffic scenarios for `rollguard sim` (DESIGN §4): total request
//! rate with a diurnal factor, each version's error rate and latency
//! distribution, change points (steps or linear ramps) for the canary,
//! overdispersed (bursty) errors, gaps and randomly missing scrapes, a
//! drifting traffic split, and the ground truth.
//!
//! Two stages, as for rollouts: [`raw`] is what serde reads (unknown fields
//! refused), [`Scenario`] is the validated form the simulator runs. [`load`]
//! does both and names `file:line:column` on every problem. The bench builds
//! [`Scenario`] values directly.

mod raw;

use serde::{Deserialize, Serialize};

use rollguard_core::Millis;

pub use raw::{ScenarioError, load, load_file};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    /// Longest simulated time; a rollout still undecided then is `undecided`.
    pub duration: Millis,
    /// Requests per second over both versions, before the diurnal factor.
    pub rps: f64,
    pub diurnal: Option<Diurnal>,
    pub baseline: Behaviour,
    /// The canary's behaviour before any change point.
    pub canary: Behaviour,
    /// Sorted by `at`.
    pub changes: Vec<Change>,
    pub overdispersion: Option<Overdispersion>,
    /// Windows overlapping `[from, to)` have no data.
    pub gaps: Vec<(Millis, Millis)>,
    /// Each window independently has no data with this probability.
    pub missing_prob: f64,
    pub split_drift: Option<SplitDrift>,
    pub truth: Truth,
}

/// `rate(t) = rps · (1 + amplitude · sin(2π t / period))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diurnal {
    pub amplitude: f64,
    pub period: Millis,
}

/// The router's real split wanders around the weight the engine set:
/// `share = w · (1 + amplitude · sin(2π t / period))`, clamped to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitDrift {
    pub amplitude: f64,
    pub period: Millis,
}

/// Bursty errors: every window's error rates are multiplied by one draw of a
/// Gamma variable with mean 1 and coefficient of variation `cv`. With `shared`
/// (the default) both versions get the same draw, as a real burst (a
/// dependency failing) hits both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Overdispersion {
    pub cv: f64,
    pub shared: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    Healthy,
    Regressed,
}

/// What one version does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Behaviour {
    pub error_rate: f64,
    pub latency: LatencyModel,
}

/// A body distribution, and a tail mixture: with probability `tail_prob` a
/// request takes `tail_factor` times as long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyModel {
    pub body: Distribution,
    pub tail_prob: f64,
    pub tail_factor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "distribution")]
pub enum Distribution {
    LogNormal {
        median_ms: f64,
        sigma: f64,
    },
    /// Heavy-tailed: `P(X > x) = (x_m / x)^shape` for `x ≥ x_m`, with
    /// `x_m = median / 2^(1/shape)`.
    Pareto {
        median_ms: f64,
        shape: f64,
    },
}

/// A canary change point: from `at`, over `ramp` (0 = a step), the canary's
/// behaviour moves linearly to `canary`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub at: Millis,
    pub ramp: Millis,
    pub canary: Behaviour,
}

impl Distribution {
    pub fn median_ms(&self) -> f64 {
        match *self {
            Distribution::LogNormal { median_ms, .. } | Distribution::Pareto { median_ms, .. } => {
                median_ms
            }
        }
    }

    /// `P(X ≤ x)`.
    pub fn cdf(&self, x_ms: f64) -> f64 {
        if x_ms <= 0.0 {
            return 0.0;
        }
        match *self {
            Distribution::LogNormal { median_ms, sigma } => {
                let z = (x_ms / median_ms).ln() / sigma;
                0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)
            }
            Distribution::Pareto { median_ms, shape } => {
                let xm = median_ms / 2f64.powf(1.0 / shape);
                if x_ms <= xm {
                    0.0
                } else {
                    1.0 - (xm / x_ms).powf(shape)
                }
            }
        }
    }
}

impl LatencyModel {
    pub fn lognormal(median_ms: f64, sigma: f64) -> Self {
        LatencyModel {
            body: Distribution::LogNormal { median_ms, sigma },
            tail_prob: 0.0,
            tail_factor: 1.0,
        }
    }

    /// `P(latency ≤ x)` of the mixture.
    pub fn cdf(&self, x_ms: f64) -> f64 {
        let body = self.body.cdf(x_ms);
        if self.tail_prob <= 0.0 {
            return body;
        }
        (1.0 - self.tail_prob) * body + self.tail_prob * self.body.cdf(x_ms / self.tail_factor)
    }

    fn lerp(&self, to: &LatencyModel, f: f64) -> LatencyModel {
        let lin = |a: f64, b: f64| a + (b - a) * f;
        let geo = |a: f64, b: f64| (a.ln() + (b.ln() - a.ln()) * f).exp();
        let body = match (self.body, to.body) {
            (
                Distribution::LogNormal {
                    median_ms: m0,
                    sigma: s0,
                },
                Distribution::LogNormal {
                    median_ms: m1,
                    sigma: s1,
                },
            ) => Distribution::LogNormal {
                median_ms: geo(m0, m1),
                sigma: lin(s0, s1),
            },
            (
                Distribution::Pareto {
                    median_ms: m0,
                    shape: a0,
                },
                Distribution::Pareto {
                    median_ms: m1,
                    shape: a1,
                },
            ) => Distribution::Pareto {
                median_ms: geo(m0, m1),
                shape: lin(a0, a1),
            },
            // Different families do not blend: switch at the end of the ramp.
            (from, to_body) => {
                if f < 1.0 {
                    from
                } else {
                    to_body
                }
            }
        };
        LatencyModel {
            body,
            tail_prob: lin(self.tail_prob, to.tail_prob),
            tail_factor: lin(self.tail_factor, to.tail_factor),
        }
    }
}

impl Behaviour {
    pub fn new(error_rate: f64, latency: LatencyModel) -> Self {
        Behaviour {
            error_rate,
            latency,
        }
    }

    fn lerp(&self, to: &Behaviour, f: f64) -> Behaviour {
        Behaviour {
            error_rate: self.error_rate + (to.error_rate - self.error_rate) * f,
            latency: self.latency.lerp(&to.latency, f),
        }
    }
}

impl Scenario {
    /// A steady scenario: both versions behave as `behaviour`, no changes.
    pub fn steady(name: &str, duration: Millis, rps: f64, behaviour: Behaviour) -> Self {
        Scenario {
            name: name.to_string(),
            duration,
            rps,
            diurnal: None,
            baseline: behaviour,
            canary: behaviour,
            changes: Vec::new(),
            overdispersion: None,
            gaps: Vec::new(),
            missing_prob: 0.0,
            split_drift: None,
            truth: Truth::Healthy,
        }
    }

    /// The canary's behaviour at time `t` (ms from the start).
    pub fn canary_at(&self, t: Millis) -> Behaviour {
        let mut current = self.canary;
        for c in &self.changes {
            if t < c.at {
                break;
            }
            if c.ramp > 0 && t < c.at + c.ramp {
                let f = (t - c.at) as f64 / c.ramp as f64;
                return current.lerp(&c.canary, f);
            }
            current = c.canary;
        }
        current
    }

    /// The canary's behaviour once every change has happened.
    pub fn final_canary(&self) -> Behaviour {
        self.changes.last().map(|c| c.canary).unwrap_or(self.canary)
    }

    /// Total requests per second at `t`.
    pub fn rps_at(&self, t: Millis) -> f64 {
        let factor = self.diurnal.map_or(1.0, |d| {
            1.0 + d.amplitude * (std::f64::consts::TAU * t as f64 / d.period.max(1) as f64).sin()
        });
        (self.rps * factor).max(0.0)
    }

    /// The canary's real share of traffic at `t` when the engine set `weight` %.
    pub fn canary_share(&self, weight: f64, t: Millis) -> f64 {
        let w = (weight / 100.0).clamp(0.0, 1.0);
        let factor = self.split_drift.map_or(1.0, |d| {
            1.0 + d.amplitude * (std::f64::consts::TAU * t as f64 / d.period.max(1) as f64).sin()
        });
        (w * factor).clamp(0.0, 1.0)
    }

    /// True when the window `[start, end)` overlaps a gap.
    pub fn in_gap(&self, start: Millis, end: Millis) -> bool {
        self.gaps.iter().any(|&(from, to)| start < to && end > from)
    }

    /// When the canary starts being worse: the first change point of a
    /// regressed scenario (0 when it is worse from the start), `None` when healthy.
    pub fn regression_start(&self) -> Option<Millis> {
        match self.truth {
            Truth::Healthy => None,
            Truth::Regressed => Some(self.changes.first().map_or(0, |c| c.at)),
        }
    }
}
