//! The fixed grid of rate ratios `r = p_canary / p_baseline` that the count
//! test keeps its log-likelihood on, and the prior weights of its fail
//! mixture.
//!
//! The grid is log-spaced with 16 points per factor of 10 (each step is a
//! factor of about 1.155) from about 0.049 to exactly 100. It always holds
//! `r = 1` exactly (the boundary of the null hypothesis) and, when it lies
//! inside the grid, the tolerated ratio `1 + max_relative` of the pass
//! criterion, so the estimate and the confidence sequence can be read at the
//! margin itself.
//!
//! # Prior of the fail mixture
//!
//! Only ratios above 1 carry weight. 95% of the mass is a discretised normal
//! in `ln r` centred on `ln 3` with standard deviation 0.8 (so ratios 1.5 to
//! 10, the regressions a canary should catch within seconds, hold most of
//! it); the remaining 5% is spread evenly over every ratio above 1, so that
//! a small regression (r = 1.2) or a catastrophic one (r = 100) is still
//! detected, only a little later. The weights sum to 1 and are fixed before
//! any data is seen, which is what makes the mixture a valid e-process.

/// Grid steps per factor of e: `16 / ln 10` gives 16 points per decade.
const STEPS_PER_DECADE: f64 = 16.0;
/// Steps below 1.0 (down to about 0.049) and above it (up to 100).
const STEPS_BELOW: i32 = 21;
const STEPS_ABOVE: i32 = 32;
/// Centre and spread (in `ln r`) of the informative part of the fail prior.
const PRIOR_CENTRE_RATIO: f64 = 3.0;
const PRIOR_SD_LN: f64 = 0.8;
/// Mass spread uniformly over every ratio above 1.
const PRIOR_FLOOR_MASS: f64 = 0.05;

#[derive(Debug, Clone)]
pub struct RatioGrid {
    /// Ratios, strictly increasing.
    pub ratio: Vec<f64>,
    /// `ln` of each ratio.
    pub ln_ratio: Vec<f64>,
    /// Index of `r = 1`.
    pub one: usize,
    /// `ln w_j` of the fail mixture, `-inf` for ratios at or below 1.
    pub fail_ln_weight: Vec<f64>,
}

impl RatioGrid {
    /// Builds the grid; `extra` (the pass margin `1 + max_relative`) is added
    /// when it lies strictly inside the grid and is not already on it.
    pub fn new(extra: Option<f64>) -> Self {
        let step = std::f64::consts::LN_10 / STEPS_PER_DECADE;
        let mut ln_ratio: Vec<f64> = (-STEPS_BELOW..=STEPS_ABOVE)
            .map(|i| f64::from(i) * step)
            .collect();
        if let Some(x) = extra.filter(|x| x.is_finite() && *x > 0.0) {
            let lx = x.ln();
            let inside = lx > ln_ratio[0] && lx < ln_ratio[ln_ratio.len() - 1];
            if inside && ln_ratio.iter().all(|l| (l - lx).abs() > 1e-9) {
                let pos = ln_ratio.partition_point(|l| *l < lx);
                ln_ratio.insert(pos, lx);
            }
        }
        let ratio: Vec<f64> = ln_ratio
            .iter()
            .map(|l| if *l == 0.0 { 1.0 } else { l.exp() })
            .collect();
        let one = ln_ratio
            .iter()
            .position(|l| *l == 0.0)
            .unwrap_or(STEPS_BELOW as usize);
        let fail_ln_weight = fail_prior(&ln_ratio, one);
        Self {
            ratio,
            ln_ratio,
            one,
            fail_ln_weight,
        }
    }

    pub fn len(&self) -> usize {
        self.ratio.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ratio.is_empty()
    }
}

fn fail_prior(ln_ratio: &[f64], one: usize) -> Vec<f64> {
    let centre = PRIOR_CENTRE_RATIO.ln();
    let shape: Vec<f64> = ln_ratio
        .iter()
        .enumerate()
        .map(|(j, l)| {
            if j <= one {
                0.0
            } else {
                let z = (l - centre) / PRIOR_SD_LN;
                (-0.5 * z * z).exp()
            }
        })
        .collect();
    let shape_sum: f64 = shape.iter().sum();
    let above = (ln_ratio.len() - one - 1) as f64;
    shape
        .iter()
        .enumerate()
        .map(|(j, g)| {
            if j <= one {
                f64::NEG_INFINITY
            } else {
                ((1.0 - PRIOR_FLOOR_MASS) * g / shape_sum + PRIOR_FLOOR_MASS / above).ln()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_holds_one_and_the_margin_exactly() {
        let g = RatioGrid::new(Some(1.5));
        assert_eq!(g.ratio[g.one], 1.0);
        assert!(g.ratio.contains(&1.5));
        assert!(g.ratio.windows(2).all(|w| w[0] < w[1]));
        assert!((g.ratio[g.len() - 1] - 100.0).abs() < 1e-9);
        assert!(g.ratio[0] < 0.05 && g.ratio[0] > 0.04);
        assert!((48..=64).contains(&g.len()));
    }

    #[test]
    fn fail_weights_sum_to_one_and_favour_moderate_ratios() {
        let g = RatioGrid::new(Some(1.25));
        let w: Vec<f64> = g.fail_ln_weight.iter().map(|l| l.exp()).collect();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mass = |lo: f64, hi: f64| -> f64 {
            g.ratio
                .iter()
                .zip(&w)
                .filter(|(r, _)| **r >= lo && **r <= hi)
                .map(|(_, w)| w)
                .sum()
        };
        assert!(mass(1.5, 10.0) > 0.75, "{}", mass(1.5, 10.0));
        assert_eq!(mass(0.0, 1.0), 0.0);
    }
}
