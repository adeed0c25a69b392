//! Anytime-valid confidence sequences: one for the rate ratio of the count
//! test, one for a single version's bad-event rate.
//!
//! # Rate ratio
//!
//! For every candidate ratio `r0` two one-sided mixture tests run on the same
//! conditional log-likelihood `ℓ` the count test keeps: "up" mixes the grid
//! ratios above `r0` (uniform weights), "down" the ones below it. Each is a
//! nonnegative supermartingale under `r = r0` (a mixture of likelihood
//! ratios), so by Ville's inequality the true ratio is rejected by either one,
//! at any time, with probability at most `alpha/2 + alpha/2`. The sequence is
//! the set of ratios neither test rejects at level `alpha/2`.
//!
//! `ℓ` is known at grid points only. Between grid points it is bounded from
//! above by the extensions of the neighbouring chords, because `ℓ` is concave
//! in `ln r` (each window adds `k_c u - k_t ln(1 - s + s e^u)`, a linear
//! minus a convex function). A segment is kept unless even that upper bound
//! is rejected, so the reported interval can only be wider than the exact
//! one: coverage holds, at grid resolution (about 15%).
//!
//! # Single rate
//!
//! The beta-binomial conjugate mixture of Robbins (1970), see Howard,
//! Ramdas, McAuliffe & Sekhon (2021), "Time-uniform, nonparametric,
//! nonasymptotic confidence sequences", Annals of Statistics:
//! `M_n(p) = B(a + k, b + n - k) / (B(a, b) p^k (1 - p)^(n - k))` is a
//! nonnegative martingale under rate `p`, so `{p : ln M_n(p) < ln(1/level)}`
//! covers the true rate at every `n` simultaneously with probability at least
//! `1 - level`. `ln M_n` is convex in `p` with its minimum (≤ 0) at `k/n`,
//! so the set is an interval, found by bisection. The prior `Beta(0.5, 10)`
//! puts its mass on the rates canaries see (0.1% to 10%): it is what makes the
//! bound tight there; it is fixed in advance, so it never affects validity.
//!
//! # Single rate with a predictable prior ([`RateSequence`])
//!
//! The mixing distribution may also change from window to window as long as
//! it is chosen before the window's own counts are seen. With `Beta(a_t, b_t)`
//! fixed given the past, window `t` (`k_t` bad of `n_t`) multiplies
//! `M(p)` by `B(a_t + k_t, b_t + n_t - k_t) / (B(a_t, b_t) p^k_t (1-p)^(n_t-k_t))`,
//! which is `∫ (θ/p)^k_t ((1-θ)/(1-p))^(n_t-k_t) dBeta(θ; a_t, b_t)`; for
//! every fixed `θ` the integrand has conditional expectation 1 under
//! `Binomial(n_t, p)`, so the product is again a nonnegative martingale under
//! rate `p` (a product of mixtures with predictable mixing laws) and
//! Ville's inequality gives the same guarantee. `ln M(p)` is a constant (the
//! running sum of the `ln B` ratios) minus `k ln p + (n-k) ln(1-p)`, still
//! convex in `p`. Choosing `Beta(a_0 + k_<t, b_0 + n_<t - k_<t)` (the
//! posterior so far) telescopes to the fixed-prior bound above exactly; the
//! count test's canary sequence adds pseudo-counts from the baseline's data
//! (see [`crate::count_test`]), which is where the rate usually is.

use statrs::function::beta::ln_beta;

/// Prior `Beta(a, b)` of the rate confidence sequence.
pub const RATE_PRIOR_A: f64 = 0.5;
pub const RATE_PRIOR_B: f64 = 10.0;

/// Anytime-valid bounds `(lower, upper)` on a Bernoulli rate after `bad` bad
/// events in `total` trials, at error level `level` (two-sided).
pub fn rate_bounds(bad: u64, total: u64, level: f64) -> (f64, f64) {
    let k = bad.min(total) as f64;
    let n = total as f64;
    let mix = ln_beta(RATE_PRIOR_A + k, RATE_PRIOR_B + n - k) - ln_beta(RATE_PRIOR_A, RATE_PRIOR_B);
    bounds_from_mixture(mix, bad.min(total), total, level)
}

/// The rate confidence sequence with a mixing `Beta` chosen anew before
/// each window (see the module docs). O(1) per window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateSequence {
    /// `Σ_t ln B(a_t + k_t, b_t + n_t - k_t) - ln B(a_t, b_t)`.
    log_mix: f64,
    bad: u64,
    total: u64,
}

impl RateSequence {
    /// Adds one window of `bad` bad events in `total` trials, mixed over
    /// `Beta(prior.0, prior.1)`, which must not depend on this window's
    /// counts. Non-positive or non-finite prior parameters fall back to the
    /// fixed prior `Beta(RATE_PRIOR_A, RATE_PRIOR_B)`.
    pub fn observe(&mut self, bad: u64, total: u64, prior: (f64, f64)) {
        let bad = bad.min(total);
        if total == 0 {
            return;
        }
        let ok = |x: f64| x.is_finite() && x > 0.0;
        let (a, b) = if ok(prior.0) && ok(prior.1) {
            prior
        } else {
            (RATE_PRIOR_A, RATE_PRIOR_B)
        };
        let (k, n) = (bad as f64, total as f64);
        self.log_mix += ln_beta(a + k, b + n - k) - ln_beta(a, b);
        self.bad += bad;
        self.total += total;
    }

    /// The fixed-prior posterior `Beta(RATE_PRIOR_A + k, RATE_PRIOR_B + n - k)`
    /// of the windows seen so far (the mixing law that reproduces
    /// [`rate_bounds`]).
    pub fn posterior(&self) -> (f64, f64) {
        (
            RATE_PRIOR_A + self.bad as f64,
            RATE_PRIOR_B + (self.total - self.bad) as f64,
        )
    }

    /// `(bad, total)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.bad, self.total)
    }

    /// Anytime-valid `(lower, upper)` at error level `level` (two-sided).
    pub fn bounds(&self, level: f64) -> (f64, f64) {
        bounds_from_mixture(self.log_mix, self.bad, self.total, level)
    }
}

/// `{p : mix - k ln p - (n-k) ln(1-p) < ln(1/level)}` by bisection.
fn bounds_from_mixture(mix: f64, bad: u64, total: u64, level: f64) -> (f64, f64) {
    if total == 0 {
        return (0.0, 1.0);
    }
    let k = bad.min(total) as f64;
    let n = total as f64;
    let threshold = (1.0 / level).ln();
    let ln_m = |p: f64| -> f64 {
        let mut v = mix;
        if k > 0.0 {
            v -= k * p.ln();
        }
        if n > k {
            v -= (n - k) * (-p).ln_1p();
        }
        v
    };
    let p_hat = k / n;
    let upper = if k == n {
        1.0
    } else {
        bisect(p_hat, 1.0, |p| ln_m(p) < threshold).1
    };
    let lower = if k == 0.0 {
        0.0
    } else {
        bisect(p_hat, 0.0, |p| ln_m(p) < threshold).1
    };
    (lower, upper)
}

/// Walks from `inside` (where `keep` holds) towards `outside`; returns the
/// last point known to be kept and the first known to be dropped. The second
/// one is the conservative end of the interval.
fn bisect(mut inside: f64, mut outside: f64, keep: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..80 {
        let mid = 0.5 * (inside + outside);
        if keep(mid) {
            inside = mid;
        } else {
            outside = mid;
        }
        if (outside - inside).abs() <= 1e-12 * inside.abs().max(1e-300) {
            break;
        }
    }
    (inside, outside)
}

/// `ln Σ exp(v_i)` without overflow; `-inf` for an empty slice.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Threshold `ℓ(r0)` must exceed for the mixture over `ell[range]` (uniform
/// weights) not to reject at level `level`; `-inf` when the range is empty.
fn threshold(ell: &[f64], lo: usize, hi: usize, ln_level_inv: f64) -> f64 {
    if lo >= hi {
        return f64::NEG_INFINITY;
    }
    log_sum_exp(&ell[lo..hi]) - ((hi - lo) as f64).ln() - ln_level_inv
}

/// The line through two grid points, evaluated at `u`.
fn line(u0: f64, l0: f64, u1: f64, l1: f64, u: f64) -> f64 {
    l0 + (l1 - l0) / (u1 - u0) * (u - u0)
}

/// Upper bound of the concave `ℓ` over segment `[u_i, u_{i+1}]`.
fn segment_sup(u: &[f64], ell: &[f64], i: usize) -> f64 {
    let n = u.len();
    let a = (i >= 1).then(|| (u[i - 1], ell[i - 1], u[i], ell[i]));
    let b = (i + 2 < n).then(|| (u[i + 1], ell[i + 1], u[i + 2], ell[i + 2]));
    let env = |x: f64| -> f64 {
        let fa = a.map_or(f64::INFINITY, |(u0, l0, u1, l1)| line(u0, l0, u1, l1, x));
        let fb = b.map_or(f64::INFINITY, |(u0, l0, u1, l1)| line(u0, l0, u1, l1, x));
        fa.min(fb)
    };
    let mut sup = env(u[i]).max(env(u[i + 1]));
    if let (Some((a0, la0, a1, la1)), Some((b0, lb0, b1, lb1))) = (a, b) {
        let sa = (la1 - la0) / (a1 - a0);
        let sb = (lb1 - lb0) / (b1 - b0);
        if sa != sb {
            // a(x) = b(x)
            let x = (lb0 - sb * b0 - la0 + sa * a0) / (sa - sb);
            if x > u[i] && x < u[i + 1] {
                sup = sup.max(env(x));
            }
        }
    }
    sup
}

/// Confidence sequence `(lower, upper)` for the rate ratio from the
/// log-likelihood `ell` on the grid `ln_ratio`, at error level `alpha`.
/// `(0, inf)` when nothing can be excluded.
pub fn ratio_interval(ln_ratio: &[f64], ell: &[f64], alpha: f64) -> (f64, f64) {
    let n = ln_ratio.len();
    if n < 3 || ell.len() != n {
        return (0.0, f64::INFINITY);
    }
    let lvl = (2.0 / alpha).ln();
    // plausible regions, in order: left tail, point 0, segment 0, point 1, ...
    let mut lower: Option<f64> = None;
    let mut upper: Option<f64> = None;
    let mut keep = |lo: f64, hi: f64| {
        if lower.is_none() {
            lower = Some(lo);
        }
        upper = Some(hi);
    };
    // Left tail (0, g_0): up mixes every grid point, no down test.
    let slope0 = (ell[1] - ell[0]) / (ln_ratio[1] - ln_ratio[0]);
    let tail_sup = if slope0 > 0.0 { ell[0] } else { f64::INFINITY };
    if tail_sup > threshold(ell, 0, n, lvl) {
        keep(0.0, ln_ratio[0].exp());
    }
    for i in 0..n {
        let c = threshold(ell, i + 1, n, lvl).max(threshold(ell, 0, i, lvl));
        if ell[i] > c {
            keep(ln_ratio[i].exp(), ln_ratio[i].exp());
        }
        if i + 1 < n {
            let c = threshold(ell, i + 1, n, lvl).max(threshold(ell, 0, i + 1, lvl));
            if segment_sup(ln_ratio, ell, i) > c {
                keep(ln_ratio[i].exp(), ln_ratio[i + 1].exp());
            }
        }
    }
    let slope_n = (ell[n - 1] - ell[n - 2]) / (ln_ratio[n - 1] - ln_ratio[n - 2]);
    let tail_sup = if slope_n < 0.0 {
        ell[n - 1]
    } else {
        f64::INFINITY
    };
    if tail_sup > threshold(ell, 0, n, lvl) {
        keep(ln_ratio[n - 1].exp(), f64::INFINITY);
    }
    match (lower, upper) {
        (Some(l), Some(u)) => (l, u),
        // Cannot happen for a concave ℓ (the maximum is never rejected);
        // claim nothing rather than something false.
        _ => (0.0, f64::INFINITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_bounds_cover_the_estimate_and_shrink() {
        let (l1, u1) = rate_bounds(10, 1000, 0.01);
        let (l2, u2) = rate_bounds(100, 10_000, 0.01);
        assert!(l1 < 0.01 && 0.01 < u1);
        assert!(l2 < 0.01 && 0.01 < u2);
        assert!(u2 - l2 < u1 - l1);
        assert!(l1 > 0.0);
    }

    #[test]
    fn rate_bounds_with_no_bad_events() {
        let (l, u) = rate_bounds(0, 10_000, 0.01);
        assert_eq!(l, 0.0);
        assert!(u > 0.0 && u < 0.002, "{u}");
        assert_eq!(rate_bounds(0, 0, 0.01), (0.0, 1.0));
        let (l, u) = rate_bounds(50, 50, 0.01);
        assert!(l > 0.5 && u == 1.0, "{l}");
    }

    #[test]
    fn posterior_mixing_reproduces_the_fixed_prior_bound() {
        let mut seq = RateSequence::default();
        for (k, n) in [(0, 300), (3, 500), (1, 80), (0, 0), (7, 1200)] {
            let prior = seq.posterior();
            seq.observe(k, n, prior);
        }
        assert_eq!(seq.counts(), (11, 2080));
        let (l, u) = seq.bounds(0.025);
        let (l0, u0) = rate_bounds(11, 2080, 0.025);
        assert!(
            (l - l0).abs() < 1e-9 && (u - u0).abs() < 1e-9,
            "{l} {l0} {u} {u0}"
        );
    }

    #[test]
    fn a_well_centred_prior_tightens_the_upper_bound() {
        // 0.5% errors in 20 windows of 500: prior near 0.5% with 4000
        // pseudo-requests vs the fixed Beta(0.5, 10).
        let mut informed = RateSequence::default();
        let mut fixed = RateSequence::default();
        for _ in 0..20 {
            let (a, b) = informed.posterior();
            informed.observe(2, 500, (a + 20.0, b + 3980.0));
            let p = fixed.posterior();
            fixed.observe(2, 500, p);
        }
        let (_, u_inf) = informed.bounds(0.025);
        let (_, u_fix) = fixed.bounds(0.025);
        assert!(u_inf < u_fix && u_inf > 0.004, "{u_inf} {u_fix}");
        // A bad prior is only conservative-side noise: the bounds still cover.
        let mut off = RateSequence::default();
        for _ in 0..20 {
            let (a, b) = off.posterior();
            off.observe(2, 500, (a + 500.0, b + 500.0));
        }
        let (l, u) = off.bounds(0.025);
        assert!(l < 0.004 && u > 0.004, "{l} {u}");
    }

    #[test]
    fn flat_likelihood_is_uninformative() {
        let u: Vec<f64> = (-5..=5).map(|i| f64::from(i) * 0.3).collect();
        let ell = vec![0.0; u.len()];
        assert_eq!(ratio_interval(&u, &ell, 0.05), (0.0, f64::INFINITY));
    }

    #[test]
    fn peaked_likelihood_gives_a_bounded_interval_around_the_peak() {
        let u: Vec<f64> = (-20..=20).map(|i| f64::from(i) * 0.1).collect();
        // ℓ(u) = -200 (u - 0.7)^2, concave with its peak at r = e^0.7.
        let ell: Vec<f64> = u.iter().map(|x| -200.0 * (x - 0.7).powi(2)).collect();
        let (lo, hi) = ratio_interval(&u, &ell, 0.05);
        assert!(lo > 1.2 && lo < 0.7f64.exp(), "{lo}");
        assert!(hi > 0.7f64.exp() && hi < 3.0, "{hi}");
    }
}
