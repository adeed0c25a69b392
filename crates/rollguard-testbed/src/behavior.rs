//! How a demo service behaves: an error rate and a latency model.
//!
//! Latency is lognormal: `median_ms * exp(sigma * Z)` with `Z` standard
//! normal, so the median is exactly `median_ms` and `sigma` sets the
//! spread (p99 = median * exp(2.326 sigma)). An optional tail multiplies
//! the latency by `tail_factor` with probability `tail_prob`; a tail with
//! `tail_prob` well under 0.5 moves the upper quantiles and leaves the
//! median nearly unchanged (a tail-only regression).

use rand::Rng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::error::TestbedError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    pub median_ms: f64,
    pub sigma: f64,
    pub tail_prob: f64,
    pub tail_factor: f64,
}

impl LatencyModel {
    /// Lognormal latency without a tail.
    pub fn lognormal(median_ms: f64, sigma: f64) -> Self {
        Self {
            median_ms,
            sigma,
            tail_prob: 0.0,
            tail_factor: 1.0,
        }
    }

    /// Every request takes exactly `ms`.
    pub fn fixed(ms: f64) -> Self {
        Self::lognormal(ms, 0.0)
    }

    /// Adds a tail: with probability `prob` the latency is multiplied by `factor`.
    pub fn with_tail(self, prob: f64, factor: f64) -> Self {
        Self {
            tail_prob: prob,
            tail_factor: factor,
            ..self
        }
    }

    pub fn validate(&self) -> Result<(), TestbedError> {
        let bad = |field, reason: String| Err(TestbedError::Behavior { field, reason });
        if !(self.median_ms.is_finite() && self.median_ms >= 0.0) {
            return bad(
                "latency.median_ms",
                format!("{} is not a finite number >= 0", self.median_ms),
            );
        }
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return bad(
                "latency.sigma",
                format!("{} is not a finite number >= 0", self.sigma),
            );
        }
        if !(0.0..=1.0).contains(&self.tail_prob) {
            return bad(
                "latency.tail_prob",
                format!("{} is not within 0..=1", self.tail_prob),
            );
        }
        if !(self.tail_factor.is_finite() && self.tail_factor >= 1.0) {
            return bad(
                "latency.tail_factor",
                format!("{} is not a finite number >= 1", self.tail_factor),
            );
        }
        Ok(())
    }

    /// Draws one latency in milliseconds.
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z: f64 = if self.sigma > 0.0 {
            StandardNormal.sample(rng)
        } else {
            0.0
        };
        let mut ms = self.median_ms * (self.sigma * z).exp();
        if self.tail_prob > 0.0 && rng.random_bool(self.tail_prob) {
            ms *= self.tail_factor;
        }
        ms
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceBehavior {
    /// Probability (0..=1) that a request is answered with 500.
    pub error_rate: f64,
    pub latency: LatencyModel,
}

impl ServiceBehavior {
    /// No errors, 2 ms median latency with a little spread.
    pub fn healthy() -> Self {
        Self {
            error_rate: 0.0,
            latency: LatencyModel::lognormal(2.0, 0.3),
        }
    }

    pub fn with_error_rate(self, error_rate: f64) -> Self {
        Self { error_rate, ..self }
    }

    pub fn with_latency(self, latency: LatencyModel) -> Self {
        Self { latency, ..self }
    }

    pub fn validate(&self) -> Result<(), TestbedError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(TestbedError::Behavior {
                field: "error_rate",
                reason: format!("{} is not within 0..=1", self.error_rate),
            });
        }
        self.latency.validate()
    }
}

impl Default for ServiceBehavior {
    fn default() -> Self {
        Self::healthy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rollguard_stats::LatencyHistogram;

    fn histogram(model: &LatencyModel, n: usize, seed: u64) -> LatencyHistogram {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut h = LatencyHistogram::new();
        for _ in 0..n {
            h.record_ms(model.sample_ms(&mut rng));
        }
        h
    }

    #[test]
    fn median_is_the_median() {
        let h = histogram(&LatencyModel::lognormal(20.0, 0.5), 20_000, 1);
        let p50 = h.quantile_ms(0.5).unwrap();
        // Bucket upper bounds are at most 9.1% above the true value.
        assert!((19.0..=22.5).contains(&p50), "{p50}");
    }

    #[test]
    fn tail_only_regression_doubles_p99_not_the_median() {
        let base = LatencyModel::lognormal(20.0, 0.3);
        let tail = base.with_tail(0.03, 4.0);
        let hb = histogram(&base, 40_000, 2);
        let ht = histogram(&tail, 40_000, 3);
        let (b50, t50) = (hb.quantile_ms(0.5).unwrap(), ht.quantile_ms(0.5).unwrap());
        let (b99, t99) = (hb.quantile_ms(0.99).unwrap(), ht.quantile_ms(0.99).unwrap());
        assert!(t50 / b50 < 1.1, "median moved: {b50} -> {t50}");
        assert!(t99 / b99 > 1.8, "p99 did not about double: {b99} -> {t99}");
    }

    #[test]
    fn fixed_latency_is_exact() {
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(LatencyModel::fixed(7.0).sample_ms(&mut rng), 7.0);
    }

    #[test]
    fn invalid_values_name_the_field() {
        let e = ServiceBehavior::healthy()
            .with_error_rate(1.5)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("error_rate"), "{e}");
        let e = LatencyModel::lognormal(5.0, 0.1)
            .with_tail(0.1, 0.5)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("tail_factor"), "{e}");
    }
}
