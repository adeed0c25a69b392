//! Wald's lower bound on the expected sample size of a sequential test.
//!
//! Any test that stops with type-I error at most `alpha` needs, in
//! expectation under the alternative, at least `ln(1/alpha) / KL(P1 || P0)`
//! observations (Wald 1945; the bound is attained, up to overshoot, by the
//! SPRT that knows both hypotheses). The benchmark reports detection delays
//! as a ratio to this bound.

/// `KL(Bern(p1) || Bern(p0))` in nats.
pub fn kl_bernoulli(p1: f64, p0: f64) -> f64 {
    let term = |a: f64, b: f64| if a == 0.0 { 0.0 } else { a * (a / b).ln() };
    term(p1, p0) + term(1.0 - p1, 1.0 - p0)
}

/// Least expected number of canary requests to detect a bad rate `p1`
/// against `p0` at level `alpha`.
pub fn wald_bound_requests(p0: f64, p1: f64, alpha: f64) -> f64 {
    (1.0 / alpha).ln() / kl_bernoulli(p1, p0)
}

/// Least expected number of canary requests to detect a shift of
/// `delta_log_median` in the log-median of a log-normal latency with
/// log-scale `sigma` (KL of two normals with equal variance: `Δ²/2σ²`).
pub fn wald_bound_lognormal_shift(delta_log_median: f64, sigma: f64, alpha: f64) -> f64 {
    (1.0 / alpha).ln() / (delta_log_median * delta_log_median / (2.0 * sigma * sigma))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_for_half_percent_to_two_percent() {
        let kl = kl_bernoulli(0.02, 0.005);
        assert!((kl - 0.012_838).abs() < 1e-5, "{kl}");
        let n = wald_bound_requests(0.005, 0.02, 0.01);
        assert!((n - 358.7).abs() < 0.5, "{n}");
        assert_eq!(kl_bernoulli(0.3, 0.3), 0.0);
    }

    #[test]
    fn lognormal_shift_bound() {
        let n = wald_bound_lognormal_shift(0.1, 0.5, 0.01);
        assert!((n - 4.605_17 / 0.02).abs() < 1e-3, "{n}");
    }
}
