//! The anytime-valid count test: is the canary's bad-event rate higher than
//! the baseline's?
//!
//! # Model
//!
//! In window `t` the baseline served `n_b` requests with `k_b` bad events and
//! the canary `n_c` with `k_c`. With `s_t = n_c / (n_c + n_b)` and the rate
//! ratio `r = p_c / p_b`, conditional on `k_t = k_b + k_c` the canary's share
//! is `k_c ~ Binomial(k_t, θ(r, s_t))`, `θ(r, s) = s r / (s r + 1 - s)`. This
//! is exact for Poisson streams. For Bernoulli requests with fixed `n_c, n_b`
//! and equal rates the conditional law is hypergeometric, which is dominated
//! in convex order by that binomial (Hoeffding 1963, Theorem 4), so every
//! expectation of a convex function of `k_c` below — the e-values are
//! exponential in `k_c` — is no larger than under the binomial; a better
//! canary shifts the law further down. Windows with `k_t = 0`, `n_c = 0` or
//! `n_b = 0` carry no information about `r` and are skipped.
//!
//! The test keeps, on a fixed grid of ratios (see [`crate::ratio_grid`]), the
//! cumulative conditional log-likelihood relative to `r = 1`:
//! `ℓ(r) = Σ_t [k_c ln r - k_t ln(1 + s_t (r - 1))]`, which is
//! `Σ_t [k_c ln(θ/s_t) + k_b ln((1-θ)/(1-s_t))]`.
//!
//! # Fail: the mixture e-value (Lindon, Sanden & Shirikian, KDD 2022)
//!
//! `E_t = Σ_{r_j > 1} w_j exp(ℓ_t(r_j))` tests `H0: r ≤ 1` (the canary is no
//! worse). For a fixed `r_j > 1` (so `θ_j > s`) one window multiplies
//! `exp(ℓ(r_j))` by `(θ_j/s)^{k_c} ((1-θ_j)/(1-s))^{k_b}`, whose conditional
//! expectation under `Binomial(k_t, θ)` is
//! `(θ θ_j/s + (1-θ)(1-θ_j)/(1-s))^{k_t}`: equal to 1 at `θ = s` and
//! increasing in `θ`, hence at most 1 whenever `θ ≤ θ(1, s) = s`, i.e. `r ≤ 1`.
//! This holds whatever split `s_t` the controller chose from past data, so
//! each term, and the fixed-weight mixture, is a nonnegative supermartingale
//! under every null. Ville's inequality gives
//! `P(∃t: E_t ≥ 1/alpha) ≤ alpha`: the test may be looked at after every
//! window, forever, and the false-fail rate stays below `alpha`. Rejection is
//! final (the flag stays set).
//!
//! # Pass
//!
//! The canary passes when an anytime-valid upper bound on its own bad rate is
//! within the tolerance computed from an anytime-valid lower bound on the
//! baseline's: `U_c ≤ L_b (1 + max_relative) + max_absolute`, each bound from
//! a beta-binomial confidence sequence ([`crate::confidence::RateSequence`]),
//! the baseline's at level `pass_alpha / 4`, the canary's at
//! `3 pass_alpha / 4` (the baseline serves most requests, so its bound is
//! tight anyway). A canary whose rate is above the tolerance passes only if
//! one of the two sequences fails, so with probability at most
//! `pass_alpha / 4 + 3 pass_alpha / 4 = pass_alpha` (union bound). The bounds treat each version's requests
//! as i.i.d. Bernoulli at a constant rate, the two versions independent
//! (bursty traffic makes them optimistic; the fail test above does not need
//! that assumption).
//!
//! The baseline's sequence mixes over the fixed prior `Beta(0.5, 10)`
//! (exactly [`crate::confidence::rate_bounds`]); it never looks at the
//! canary. The canary's mixing law for window `t` is its own posterior
//! `Beta(0.5 + k_c, 10 + n_c - k_c)` over windows before `t`, plus
//! pseudo-counts from the baseline's cumulative counts up to and including
//! window `t`, scaled to at most `BASELINE_PSEUDO_BAD / p̃_b` pseudo-requests
//! (60 bad events' worth; `p̃_b` the baseline's smoothed rate). This is
//! valid because the law is fixed before the canary's window-`t` counts are
//! seen: given everything before `t` (both versions) and the baseline's
//! window `t` — independent of the canary's window `t` under the model — the
//! canary's `k_c` is still `Binomial(n_c, p_c)`, so the canary sequence is a
//! martingale in that larger filtration (see [`crate::confidence`]). A
//! healthy canary's rate is close to the baseline's, so this prior is
//! centred where the truth is and the upper bound closes sooner than with
//! the fixed prior (at 0.5% errors and a 10% split, a healthy canary passes
//! in about a fifth fewer windows, `tests/it/priors.rs`); for a canary far from
//! the baseline the pseudo-counts only widen the bound (never invalidate
//! it), and the canary's own counts outweigh them as they grow.

use crate::confidence::{RateSequence, log_sum_exp, ratio_interval};
pub use crate::count_config::{CountSummary, CountTestConfig, CountTestConfigError, Decision};
use crate::counts::Counts;
use crate::ratio_grid::RatioGrid;

/// Share of `pass_alpha` spent on the baseline's lower bound (the rest on
/// the canary's upper bound): the baseline has far more requests, so its
/// bound is tight anyway, and the canary's is the one that decides when a
/// healthy canary passes.
const BASELINE_PASS_SHARE: f64 = 0.25;
/// Bad events' worth of baseline data lent to the canary's rate sequence.
const BASELINE_PSEUDO_BAD: f64 = 60.0;

/// The sequential count test of one metric of one rollout.
#[derive(Debug, Clone)]
pub struct CountTest {
    cfg: CountTestConfig,
    grid: RatioGrid,
    /// `ℓ(r_j) - ℓ(1)` at each grid point.
    ell: Vec<f64>,
    /// Scratch for the mixture sum (kept to avoid allocating per window).
    scratch: Vec<f64>,
    log_e: f64,
    failed: bool,
    baseline: Counts,
    canary: Counts,
    informative_windows: u64,
    informative_canary_bad: u64,
    informative_baseline_bad: u64,
    baseline_seq: RateSequence,
    canary_seq: RateSequence,
}

impl CountTest {
    pub fn new(cfg: CountTestConfig) -> Self {
        let cfg = cfg.clamped();
        let grid = RatioGrid::new(Some(1.0 + cfg.max_relative), &cfg.effect_prior);
        let n = grid.len();
        Self {
            cfg,
            grid,
            ell: vec![0.0; n],
            scratch: vec![f64::NEG_INFINITY; n],
            log_e: 0.0,
            failed: false,
            baseline: Counts::default(),
            canary: Counts::default(),
            informative_windows: 0,
            informative_canary_bad: 0,
            informative_baseline_bad: 0,
            baseline_seq: RateSequence::default(),
            canary_seq: RateSequence::default(),
        }
    }

    pub fn config(&self) -> &CountTestConfig {
        &self.cfg
    }

    /// Adds one window. `bad` above `total` is clamped to `total`. Totals
    /// always advance (requests without bad events are evidence for the pass
    /// criterion); the fail test only moves when the window has bad events
    /// and both versions served requests. O(grid), no allocation.
    pub fn observe(&mut self, baseline: Counts, canary: Counts) {
        let b = Counts::new(baseline.total, baseline.bad.min(baseline.total));
        let c = Counts::new(canary.total, canary.bad.min(canary.total));
        self.baseline.add(b);
        self.canary.add(c);
        let own = self.baseline_seq.posterior();
        self.baseline_seq.observe(b.bad, b.total, own);
        let canary_prior = self.canary_prior();
        self.canary_seq.observe(c.bad, c.total, canary_prior);
        let k_t = b.bad + c.bad;
        if k_t == 0 || b.total == 0 || c.total == 0 {
            return;
        }
        let s = c.total as f64 / (c.total as f64 + b.total as f64);
        let k_c = c.bad as f64;
        let k_t = k_t as f64;
        for ((l, r), ln_r) in self
            .ell
            .iter_mut()
            .zip(&self.grid.ratio)
            .zip(&self.grid.ln_ratio)
        {
            // At r = 1 both terms are exactly 0, so ℓ(1) stays 0.
            *l += k_c * ln_r - k_t * (s * (r - 1.0)).ln_1p();
        }
        self.informative_windows += 1;
        self.informative_canary_bad += c.bad;
        self.informative_baseline_bad += b.bad;
        self.log_e = self.compute_log_e();
        if self.log_e >= (1.0 / self.cfg.alpha).ln() {
            self.failed = true;
        }
    }

    /// Mixing law of the canary's rate sequence for the next canary counts:
    /// its own posterior plus scaled baseline pseudo-counts (module docs).
    fn canary_prior(&self) -> (f64, f64) {
        let (a, b) = self.canary_seq.posterior();
        let (k_b, n_b) = self.baseline_seq.counts();
        if n_b == 0 {
            return (a, b);
        }
        let (a0, b0) = RateSequence::default().posterior();
        let (k_b, n_b) = (k_b as f64, n_b as f64);
        let smoothed = (k_b + a0) / (n_b + a0 + b0);
        let weight = (BASELINE_PSEUDO_BAD / smoothed / n_b).min(1.0);
        (a + weight * k_b, b + weight * (n_b - k_b))
    }

    fn compute_log_e(&mut self) -> f64 {
        let base = self.ell[self.grid.one];
        let start = self.grid.one + 1;
        for ((out, w), l) in self.scratch[start..]
            .iter_mut()
            .zip(&self.grid.fail_ln_weight[start..])
            .zip(&self.ell[start..])
        {
            *out = w + l - base;
        }
        log_sum_exp(&self.scratch[start..])
    }

    /// `ln E` of the fail test now.
    pub fn fail_log_e(&self) -> f64 {
        self.log_e
    }

    /// `E` of the fail test now (may be `inf` after overwhelming evidence).
    pub fn e_value(&self) -> f64 {
        self.log_e.exp()
    }

    /// True once the e-value has reached `1/alpha` (stays true).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// `(lower bound on the baseline rate, upper bound on the canary rate,
    /// tolerated canary rate)` of the pass criterion.
    pub fn pass_bounds(&self) -> (f64, f64, f64) {
        let base_level = self.cfg.pass_alpha * BASELINE_PASS_SHARE;
        let (base_lo, _) = self.baseline_seq.bounds(base_level);
        let (_, can_hi) = self.canary_seq.bounds(self.cfg.pass_alpha - base_level);
        let tolerated = base_lo * (1.0 + self.cfg.max_relative) + self.cfg.max_absolute;
        (base_lo, can_hi, tolerated)
    }

    /// True when the canary is shown not worse than the tolerated margin
    /// (and the fail test has not fired). Costs two bisections (no grid
    /// scan: cheap enough for every tick).
    pub fn passed(&self) -> bool {
        if self.failed || self.canary.total == 0 {
            return false;
        }
        let (_, can_hi, tolerated) = self.pass_bounds();
        can_hi <= tolerated
    }

    /// Fail, else Pass, else Continue.
    pub fn decision(&self) -> Decision {
        if self.failed {
            Decision::Fail
        } else if self.passed() {
            Decision::Pass
        } else {
            Decision::Continue
        }
    }

    /// Maximum-likelihood rate ratio, refined between grid points by a
    /// parabola in `ln r`, and clamped to the grid (about 0.049 to 100):
    /// with no canary bad events it reports the lowest grid ratio, with no
    /// baseline ones the highest. `None` before any informative window.
    pub fn ratio_estimate(&self) -> Option<f64> {
        if self.informative_windows == 0 {
            return None;
        }
        let n = self.ell.len();
        let m = self
            .ell
            .iter()
            .enumerate()
            .fold(0, |best, (i, l)| if *l > self.ell[best] { i } else { best });
        if m == 0 || m + 1 == n {
            return Some(self.grid.ratio[m]);
        }
        let (u0, u1, u2) = (
            self.grid.ln_ratio[m - 1],
            self.grid.ln_ratio[m],
            self.grid.ln_ratio[m + 1],
        );
        let (l0, l1, l2) = (self.ell[m - 1], self.ell[m], self.ell[m + 1]);
        let num = (u1 - u0).powi(2) * (l1 - l2) - (u1 - u2).powi(2) * (l1 - l0);
        let den = (u1 - u0) * (l1 - l2) - (u1 - u2) * (l1 - l0);
        let u = if den.abs() > 1e-300 {
            u1 - 0.5 * num / den
        } else {
            u1
        };
        Some(u.clamp(u0, u2).exp())
    }

    /// Confidence sequence on the rate ratio at level `alpha`;
    /// `(0, inf)` when uninformative. O(grid²).
    pub fn ratio_interval(&self) -> (f64, f64) {
        if self.informative_windows == 0 {
            return (0.0, f64::INFINITY);
        }
        ratio_interval(&self.grid.ln_ratio, &self.ell, self.cfg.alpha)
    }

    /// Cumulative `(baseline, canary)` counts over every observed window.
    pub fn totals(&self) -> (Counts, Counts) {
        (self.baseline, self.canary)
    }

    /// Windows that moved the fail test.
    pub fn informative_windows(&self) -> u64 {
        self.informative_windows
    }

    pub fn summary(&self) -> CountSummary {
        let (base_lo, can_hi, tolerated) = self.pass_bounds();
        let (lo, hi) = self.ratio_interval();
        let passed = self.passed();
        CountSummary {
            decision: self.decision(),
            log_e_value: self.log_e,
            e_value: self.e_value().min(f64::MAX),
            e_threshold: 1.0 / self.cfg.alpha,
            failed: self.failed,
            passed,
            ratio_estimate: self.ratio_estimate(),
            ratio_lower: lo,
            ratio_upper: hi.is_finite().then_some(hi),
            baseline: self.baseline,
            canary: self.canary,
            baseline_rate: self.baseline.rate(),
            canary_rate: self.canary.rate(),
            baseline_rate_lower: base_lo,
            canary_rate_upper: can_hi,
            tolerated_rate: tolerated,
            informative_windows: self.informative_windows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test() -> CountTest {
        CountTest::new(CountTestConfig::default())
    }

    #[test]
    fn no_information_means_no_evidence() {
        let mut t = test();
        t.observe(Counts::new(900, 0), Counts::new(100, 0));
        t.observe(Counts::new(0, 5), Counts::new(100, 0));
        t.observe(Counts::new(900, 5), Counts::new(0, 0));
        assert_eq!(t.fail_log_e(), 0.0);
        assert_eq!(t.ratio_estimate(), None);
        assert_eq!(t.ratio_interval(), (0.0, f64::INFINITY));
        // bad > total is clamped: the 5 bad events of an empty baseline are dropped.
        assert_eq!(t.totals(), (Counts::new(1800, 5), Counts::new(200, 0)));
        assert_eq!(t.decision(), Decision::Continue);
    }

    #[test]
    fn all_bad_events_on_the_canary_fail_quickly() {
        let mut t = test();
        let mut windows = 0;
        while !t.failed() {
            t.observe(Counts::new(900, 0), Counts::new(100, 1));
            windows += 1;
            assert!(windows < 20);
        }
        // Each canary-only bad event at s = 0.1 multiplies E by up to 10.
        assert!(windows >= 3, "{windows}");
        assert_eq!(t.decision(), Decision::Fail);
        assert!(!t.passed());
    }

    #[test]
    fn estimate_and_interval_bracket_the_true_ratio() {
        let mut t = test();
        // baseline 1%, canary 3%, split 20%: expected share θ = 0.6/1.4.
        for _ in 0..200 {
            t.observe(Counts::new(800, 8), Counts::new(200, 6));
        }
        let r = t.ratio_estimate().unwrap();
        assert!((r - 3.0).abs() < 0.05, "{r}");
        let (lo, hi) = t.ratio_interval();
        assert!(lo > 2.0 && lo < 3.0 && hi > 3.0 && hi < 4.5, "{lo} {hi}");
        assert!(t.failed());
        let s = t.summary();
        assert_eq!(s.decision, Decision::Fail);
        let json = serde_json::to_string(&s).unwrap();
        let back: CountSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (back.decision, back.canary, back.baseline),
            (s.decision, s.canary, s.baseline)
        );
        assert_eq!(back.ratio_upper.is_some(), s.ratio_upper.is_some());
    }

    #[test]
    fn zero_bad_events_pass_on_the_absolute_margin() {
        let mut t = test();
        for _ in 0..100 {
            t.observe(Counts::new(900, 0), Counts::new(100, 0));
        }
        // 10 000 clean canary requests: upper bound well under 0.1%.
        assert!(t.passed(), "{:?}", t.pass_bounds());
        let mut strict = CountTest::new(CountTestConfig {
            max_absolute: 0.0,
            ..CountTestConfig::default()
        });
        strict.observe(Counts::new(900, 0), Counts::new(100, 0));
        assert!(!strict.passed());
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = CountTestConfig {
            alpha: 1.5,
            ..CountTestConfig::default()
        };
        let err = bad.validate().unwrap_err();
        assert!(err.to_string().contains("`alpha`"), "{err}");
        assert!(CountTestConfig::default().validate().is_ok());
        // new() never panics on a bad config.
        assert_eq!(CountTest::new(bad).config().alpha, 0.01);
    }
}
