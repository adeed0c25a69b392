//! Summaries of simulated runs: the Clopper-Pearson interval for a rate and
//! mean / median / p90 of a sample.
//!
//! Clopper-Pearson ("exact") interval for `k` successes in `n` trials at
//! level `1 - a`: `[B(a/2; k, n-k+1), B(1-a/2; k+1, n-k)]` with `B(q; α, β)`
//! the Beta quantile, and `0` / `1` at the ends (Clopper & Pearson 1934). Its
//! coverage is at least `1 - a` for every true rate.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF};

/// The two-sided Clopper-Pearson interval for `k` of `n` at `level` (e.g. 0.95).
/// `(0, 1)` when `n == 0`.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let a = (1.0 - level).clamp(1e-12, 1.0);
    let (kf, nf) = (k as f64, n as f64);
    let lo = if k == 0 {
        0.0
    } else {
        Beta::new(kf, nf - kf + 1.0)
            .map(|b| b.inverse_cdf(a / 2.0))
            .unwrap_or(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        Beta::new(kf + 1.0, nf - kf)
            .map(|b| b.inverse_cdf(1.0 - a / 2.0))
            .unwrap_or(1.0)
    };
    (lo, hi)
}

/// A rate with its 95% Clopper-Pearson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub count: u64,
    pub of: u64,
    pub rate: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Rate {
    pub fn new(count: u64, of: u64) -> Self {
        let (lower, upper) = clopper_pearson(count, of, 0.95);
        Rate {
            count,
            of,
            rate: if of == 0 {
                0.0
            } else {
                count as f64 / of as f64
            },
            lower,
            upper,
        }
    }

    /// `0.30% [0.12, 0.61]`.
    pub fn display(&self) -> String {
        format!(
            "{:.2}% [{:.2}, {:.2}]",
            100.0 * self.rate,
            100.0 * self.lower,
            100.0 * self.upper
        )
    }
}

/// Mean, median and 90th percentile of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
}

impl Spread {
    /// `None` for an empty sample.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let idx = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            v[idx]
        };
        Some(Spread {
            n: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            median: q(0.5),
            p90: q(0.9),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_known_values() {
        // R: binom.test(3, 100)$conf.int -> 0.006229972 0.085176053
        let (lo, hi) = clopper_pearson(3, 100, 0.95);
        assert!((lo - 0.006_229_972).abs() < 1e-6, "{lo}");
        assert!((hi - 0.085_176_053).abs() < 1e-6, "{hi}");
        // 0 of 3000: upper = 1 - 0.025^(1/3000) = 0.0012289...
        let (lo, hi) = clopper_pearson(0, 3000, 0.95);
        assert_eq!(lo, 0.0);
        assert!(
            (hi - (1.0 - 0.025f64.powf(1.0 / 3000.0))).abs() < 1e-9,
            "{hi}"
        );
        // n of n: lower = 0.025^(1/n).
        let (lo, hi) = clopper_pearson(10, 10, 0.95);
        assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-9, "{lo}");
        assert_eq!(hi, 1.0);
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
    }

    #[test]
    fn spread_of_a_sample() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!(s.median, 5.0);
        assert_eq!(s.p90, 9.0);
        assert!((s.mean - 5.5).abs() < 1e-12);
        assert!(Spread::of(&[]).is_none());
    }
}
