//! The Mann-Whitney U (Wilcoxon rank-sum) test with the Hodges-Lehmann
//! confidence interval for a location shift, as Kayenta's judge uses it.
//!
//! Normal approximation with average ranks for ties, the tie correction of
//! the variance and a continuity correction of 0.5 (R's `wilcox.test` with
//! `exact = FALSE, correct = TRUE`, which Kayenta's `MannWhitney` follows).
//! The interval is the one obtained by inverting the test: order statistics
//! `D_(C)` and `D_(mn+1-C)` of the `m·n` pairwise differences
//! `x_i - y_j`, with `C = floor(mn/2 - z σ)` (Hollander & Wolfe,
//! Nonparametric Statistical Methods, §4.3); the estimate is their median.
//! Allocates `m·n` differences: benchmark use only.

use statrs::distribution::{ContinuousCDF, Normal};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitneyResult {
    /// Two-sided p-value for "x and y have the same distribution".
    pub p_value: f64,
    /// Confidence interval for the shift `x - y`.
    pub lower: f64,
    pub upper: f64,
    /// Hodges-Lehmann estimate of the shift `x - y`.
    pub estimate: f64,
}

/// Tests sample `x` (experiment, canary) against `y` (control, baseline) at
/// two-sided `confidence` (e.g. 0.98). `None` when either sample is empty or
/// holds a NaN.
pub fn mann_whitney(x: &[f64], y: &[f64], confidence: f64) -> Option<MannWhitneyResult> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (m, n) = (x.len() as f64, y.len() as f64);
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_x += avg_rank * all[i..=j].iter().filter(|e| e.1).count() as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let u = rank_sum_x - m * (m + 1.0) / 2.0;
    let mu = m * n / 2.0;
    let total = m + n;
    let var = m * n / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    let normal = Normal::standard();
    let p_value = if var > 0.0 {
        let d = u - mu;
        let z = (d.abs() - 0.5).max(0.0) / var.sqrt();
        (2.0 * (1.0 - normal.cdf(z))).min(1.0)
    } else {
        1.0
    };
    let mut diffs: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let k = diffs.len();
    let estimate = if k % 2 == 1 {
        diffs[k / 2]
    } else {
        0.5 * (diffs[k / 2 - 1] + diffs[k / 2])
    };
    let z = normal.inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let c = (mu - z * var.max(0.0).sqrt()).floor();
    let (lower, upper) = if c >= 1.0 {
        let c = c as usize;
        (diffs[c - 1], diffs[k - c])
    } else {
        (f64::NEG_INFINITY, f64::INFINITY)
    };
    Some(MannWhitneyResult {
        p_value,
        lower,
        upper,
        estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::approx_constant)] // 3.14 is a data point, not π
    fn matches_r_wilcox_test_on_a_textbook_sample() {
        // R: wilcox.test(x, y, exact=FALSE, correct=TRUE) -> W = 58, p = 0.1329
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
        let r = mann_whitney(&x, &y, 0.95).unwrap();
        assert!((r.p_value - 0.1329).abs() < 0.002, "{}", r.p_value);
        assert!(r.lower < r.estimate && r.estimate < r.upper);
        assert!(r.lower < 0.0 && r.upper > 0.0);
    }

    #[test]
    fn clear_shift_is_significant() {
        let x: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 7)).collect();
        let y: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
        let r = mann_whitney(&x, &y, 0.98).unwrap();
        assert!(r.p_value < 1e-6);
        assert!((r.estimate - 10.0).abs() < 1e-9);
        assert!(r.lower > 5.0);
        assert!(mann_whitney(&[], &y, 0.98).is_none());
    }
}
