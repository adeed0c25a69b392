//! Draws one telemetry window of synthetic traffic from a [`Scenario`].
//!
//! Per window and version: a Poisson number of requests (total rate × the
//! diurnal factor × the canary's real share), a Binomial number of errors
//! (the rate possibly multiplied by a shared Gamma burst factor), and one
//! latency per request drawn by inverse CDF over the shared histogram's
//! buckets: the bucket probabilities are computed once per behaviour from the
//! analytic CDF, so a request costs one uniform draw and a guided table
//! lookup, and nothing is allocated per request. The histogram only keeps
//! buckets, so drawing the bucket is exact for everything the judges see.

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution as _, Gamma, Poisson};
use rollguard_core::{Millis, VersionWindow};
use rollguard_stats::LatencyHistogram;
use rollguard_stats::histogram::FINITE_BUCKETS;

use crate::scenario::{Behaviour, LatencyModel, Scenario};

const GUIDE: usize = 512;

/// Inverse-CDF sampler of histogram buckets for one latency model.
#[derive(Debug, Clone)]
pub struct BucketSampler {
    /// `cum[b] = P(latency ≤ upper bound of bucket b)`; the last is 1.
    cum: Vec<f64>,
    /// `guide[i]` = first bucket with `cum > i / GUIDE`.
    guide: Vec<u16>,
}

impl BucketSampler {
    pub fn new(model: &LatencyModel) -> Self {
        let mut cum: Vec<f64> = (0..FINITE_BUCKETS)
            .map(|b| model.cdf(LatencyHistogram::upper_bound_ms(b)))
            .collect();
        cum.push(1.0);
        // Monotone despite rounding.
        for i in 1..cum.len() {
            if cum[i] < cum[i - 1] {
                cum[i] = cum[i - 1];
            }
        }
        let mut guide = Vec::with_capacity(GUIDE);
        let mut b = 0usize;
        for i in 0..GUIDE {
            let u = i as f64 / GUIDE as f64;
            while b < FINITE_BUCKETS && cum[b] <= u {
                b += 1;
            }
            guide.push(b as u16);
        }
        BucketSampler { cum, guide }
    }

    /// The bucket for a uniform draw `u` in `[0, 1)`.
    #[inline]
    pub fn bucket(&self, u: f64) -> usize {
        let mut b = usize::from(self.guide[((u * GUIDE as f64) as usize).min(GUIDE - 1)]);
        while b < FINITE_BUCKETS && self.cum[b] <= u {
            b += 1;
        }
        b
    }

    /// `P(latency > upper bound of bucket b)`.
    pub fn exceedance(&self, bucket: usize) -> f64 {
        1.0 - self.cum.get(bucket).copied().unwrap_or(1.0)
    }

    /// The bucket holding quantile `q`.
    pub fn quantile_bucket(&self, q: f64) -> usize {
        self.cum.partition_point(|c| *c < q).min(FINITE_BUCKETS)
    }
}

/// Per-run traffic state: the samplers, rebuilt only when a behaviour changes.
pub struct Traffic<'a> {
    scenario: &'a Scenario,
    baseline: BucketSampler,
    canary: (Behaviour, BucketSampler),
    burst: Option<Gamma<f64>>,
}

/// What one window looked like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowDraw {
    /// The telemetry source saw nothing (gap or missing scrape).
    pub missing: bool,
    /// The canary's behaviour in force.
    pub canary: Behaviour,
}

fn poisson(rng: &mut StdRng, lambda: f64) -> u64 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}

fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    match Binomial::new(n, p) {
        Ok(b) => b.sample(rng),
        Err(_) => 0,
    }
}

impl<'a> Traffic<'a> {
    pub fn new(scenario: &'a Scenario) -> Self {
        let burst = scenario
            .overdispersion
            .filter(|o| o.cv > 0.0)
            .and_then(|o| {
                let shape = 1.0 / (o.cv * o.cv);
                Gamma::new(shape, 1.0 / shape).ok()
            });
        Traffic {
            scenario,
            baseline: BucketSampler::new(&scenario.baseline.latency),
            canary: (
                scenario.canary,
                BucketSampler::new(&scenario.canary.latency),
            ),
            burst,
        }
    }

    fn burst(&self, rng: &mut StdRng) -> f64 {
        self.burst.as_ref().map_or(1.0, |g| g.sample(rng))
    }

    /// Fills `baseline` and `canary` (reset first) with the window `[start, end)`
    /// served at canary weight `weight` percent.
    pub fn draw(
        &mut self,
        rng: &mut StdRng,
        start: Millis,
        end: Millis,
        weight: f64,
        baseline: &mut VersionWindow,
        canary: &mut VersionWindow,
    ) -> WindowDraw {
        let s = self.scenario;
        let now_canary = s.canary_at(start);
        if now_canary != self.canary.0 {
            self.canary = (now_canary, BucketSampler::new(&now_canary.latency));
        }
        let expected = s.rps_at(start) * (end - start) as f64 / 1000.0;
        let share = s.canary_share(weight, start);
        let n_c = poisson(rng, expected * share);
        let n_b = poisson(rng, expected * (1.0 - share));
        let g_b = self.burst(rng);
        let g_c = match s.overdispersion {
            Some(o) if !o.shared => self.burst(rng),
            _ => g_b,
        };
        let e_b = binomial(rng, n_b, (s.baseline.error_rate * g_b).min(1.0));
        let e_c = binomial(rng, n_c, (now_canary.error_rate * g_c).min(1.0));
        fill(rng, baseline, n_b, e_b, &self.baseline);
        fill(rng, canary, n_c, e_c, &self.canary.1);
        let missing =
            s.in_gap(start, end) || (s.missing_prob > 0.0 && rng.random_bool(s.missing_prob));
        WindowDraw {
            missing,
            canary: now_canary,
        }
    }
}

fn fill(rng: &mut StdRng, w: &mut VersionWindow, n: u64, errors: u64, sampler: &BucketSampler) {
    w.requests = n;
    w.errors = errors;
    if !w.latency.is_empty() {
        w.latency = LatencyHistogram::new();
    }
    for _ in 0..n {
        let u: f64 = rng.random();
        w.latency.record_bucket(sampler.bucket(u), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_matches_the_distribution() {
        let m = LatencyModel::lognormal(100.0, 0.5);
        let s = BucketSampler::new(&m);
        let median = s.quantile_bucket(0.5);
        let ub = LatencyHistogram::upper_bound_ms(median);
        assert!((100.0..110.0).contains(&ub), "{ub}");
        // Every u maps to a bucket whose CDF brackets it.
        for i in 0..1000 {
            let u = i as f64 / 1000.0;
            let b = s.bucket(u);
            assert!(s.cum[b] > u || b == FINITE_BUCKETS);
            assert!(b == 0 || s.cum[b - 1] <= u);
        }
    }
}
