//! The fixed grid of rate ratios `r = p_canary / p_baseline` that the count
//! test keeps its log-likelihood on, and the prior weights of its fail
//! mixture.
//!
//! The grid is log-spaced with 16 points per factor of 10 (each step is a
//! factor of about 1.155) from about 0.049 to exactly 100; between 1 and
//! about 2.05 each step is cut in three (a factor of about 1.049), because a
//! mixture component at `r_j` gains evidence against `r = 1` only when the
//! true ratio is above roughly `sqrt(r_j)`: without the finer points a 7%
//! regression (the exceedance ratio of a +5% median latency) would find no
//! component to grow. It always holds `r = 1` exactly (the boundary of the
//! null hypothesis) and, when it lies inside the grid, the tolerated ratio
//! `1 + max_relative` of the pass criterion, so the estimate and the
//! confidence sequence can be read at the margin itself.
//!
//! # Prior of the fail mixture
//!
//! Only ratios above 1 carry weight; the shape is a
//! [`crate::count_config::EffectPrior`]. `1 - floor` of the mass is a normal
//! in `ln r` centred on `ln center_ratio` with standard deviation `spread`,
//! truncated to `r > 1` and discretised on the grid (density times the cell
//! width, since the grid is not evenly spaced); the remaining `floor` is
//! spread evenly over every ratio above 1, so that a regression far from
//! the centre is still detected, only later. The default (centre 3, spread
//! 0.8, floor 5%) suits error metrics, where ratios 1.5 to 10 are the
//! regressions to catch within seconds; latency metrics judged at the
//! baseline's `q`-quantile can only reach `1 / (1 - q)` (2 at the median) and
//! get a prior centred lower ([`crate::count_config::EffectPrior::for_quantile`]).
//! The weights sum to 1 and depend on the configuration only, never on the
//! data, which is what makes the mixture a valid e-process (any fixed
//! probability weights over the grid do; the shape only moves power between
//! effect sizes).

use crate::count_config::EffectPrior;

/// Grid steps per factor of e: `16 / ln 10` gives 16 points per decade.
const STEPS_PER_DECADE: f64 = 16.0;
/// Steps below 1.0 (down to about 0.049) and above it (up to 100).
const STEPS_BELOW: i32 = 21;
const STEPS_ABOVE: i32 = 32;
/// Base steps above 1 that are cut finer, and into how many parts.
const FINE_STEPS: i32 = 5;
const FINE_PARTS: i32 = 3;

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
    pub fn new(extra: Option<f64>, prior: &EffectPrior) -> Self {
        let step = std::f64::consts::LN_10 / STEPS_PER_DECADE;
        let fine = step / f64::from(FINE_PARTS);
        let mut ln_ratio: Vec<f64> = (-STEPS_BELOW..=STEPS_ABOVE)
            .flat_map(|i| {
                let parts = if (0..FINE_STEPS).contains(&i) {
                    FINE_PARTS
                } else {
                    1
                };
                (0..parts).map(move |p| f64::from(i) * step + f64::from(p) * fine)
            })
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
        let fail_ln_weight = fail_prior(&ln_ratio, one, prior);
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

fn fail_prior(ln_ratio: &[f64], one: usize, prior: &EffectPrior) -> Vec<f64> {
    let centre = prior.center_ratio.ln();
    let n = ln_ratio.len();
    let shape: Vec<f64> = ln_ratio
        .iter()
        .enumerate()
        .map(|(j, l)| {
            if j <= one {
                0.0
            } else {
                // Cell of grid point j: halfway to each neighbour.
                let left = 0.5 * (l - ln_ratio[j - 1]);
                let right = if j + 1 < n {
                    0.5 * (ln_ratio[j + 1] - l)
                } else {
                    left
                };
                let z = (l - centre) / prior.spread;
                (-0.5 * z * z).exp() * (left + right)
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
                let g = if shape_sum > 0.0 { g / shape_sum } else { 0.0 };
                ((1.0 - prior.floor) * g + prior.floor / above).ln()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_holds_one_and_the_margin_exactly() {
        let g = RatioGrid::new(Some(1.5), &EffectPrior::default());
        assert_eq!(g.ratio[g.one], 1.0);
        assert!(g.ratio.contains(&1.5));
        assert!(g.ratio.windows(2).all(|w| w[0] < w[1]));
        assert!((g.ratio[g.len() - 1] - 100.0).abs() < 1e-9);
        assert!(g.ratio[0] < 0.05 && g.ratio[0] > 0.04);
        assert!((60..=72).contains(&g.len()), "{}", g.len());
        // Fine steps just above 1, coarse ones further out.
        assert!(g.ratio[g.one + 1] < 1.06);
        assert!(g.ratio[g.len() - 1] / g.ratio[g.len() - 2] > 1.15);
    }

    #[test]
    fn fail_weights_sum_to_one_and_favour_moderate_ratios() {
        let g = RatioGrid::new(Some(1.25), &EffectPrior::default());
        assert!(mass(&g, 1.5, 10.0) > 0.75, "{}", mass(&g, 1.5, 10.0));
        assert_eq!(mass(&g, 0.0, 1.0), 0.0);
        assert!((mass(&g, 0.0, f64::INFINITY) - 1.0).abs() < 1e-12);
    }

    fn mass(g: &RatioGrid, lo: f64, hi: f64) -> f64 {
        g.ratio
            .iter()
            .zip(&g.fail_ln_weight)
            .filter(|(r, _)| **r >= lo && **r <= hi)
            .map(|(_, w)| w.exp())
            .sum()
    }

    #[test]
    fn quantile_priors_sit_where_the_ratio_can_be() {
        let median = RatioGrid::new(Some(1.5), &EffectPrior::for_quantile(0.5));
        assert!((mass(&median, 0.0, f64::INFINITY) - 1.0).abs() < 1e-12);
        // Median exceedance ratios live in (1, 2]: most weight on 1.04 to 2.
        assert!(
            mass(&median, 1.04, 2.0) > 0.85,
            "{}",
            mass(&median, 1.04, 2.0)
        );
        // r ≈ 1.15 (+10% median latency) gets far more than the default's.
        let default = RatioGrid::new(Some(1.5), &EffectPrior::default());
        let near = |g: &RatioGrid| mass(g, 1.1, 1.2);
        assert!(near(&median) > 0.15, "{}", near(&median));
        assert!(near(&median) > 5.0 * near(&default), "{}", near(&default));
        let p99 = EffectPrior::for_quantile(0.99);
        assert!(p99.center_ratio > 2.0 && p99.center_ratio < 4.0, "{p99:?}");
        assert_eq!(EffectPrior::for_quantile(1.5), EffectPrior::default());
    }
}
