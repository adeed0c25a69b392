//! The spec-chosen fail prior of latency metrics and the canary rate
//! sequence that borrows the baseline's counts: type-I error stays below
//! alpha, power at small ratios improves, a healthy canary passes sooner and
//! a canary at the tolerance still rarely passes.

use crate::sim::{Noise, Rng, Stream, Traffic, parallel_runs};
use rollguard_stats::confidence::rate_bounds;
use rollguard_stats::count_config::EffectPrior;
use rollguard_stats::wald::wald_bound_requests;
use rollguard_stats::{CountTest, CountTestConfig};

const WINDOWS: u32 = 1800;

fn median_config() -> CountTestConfig {
    CountTestConfig {
        alpha: 0.01,
        effect_prior: EffectPrior::for_quantile(0.5),
        ..CountTestConfig::default()
    }
}

/// Canary share stepping 5% → 25% → 50%.
fn stepped_split(window: u32) -> f64 {
    match window * 3 / WINDOWS {
        0 => 0.05,
        1 => 0.25,
        _ => 0.5,
    }
}

#[test]
fn type_one_error_under_the_median_latency_prior_stays_below_alpha() {
    let runs = 2000;
    // Exceedance of the baseline's median: rate 0.5 on both versions.
    let fails = parallel_runs(runs, 0x5eed_0101, |rng| {
        let mut stream = Stream::new(Traffic {
            requests: 40,
            baseline_rate: 0.5,
            ratio: 1.0,
            noise: Noise::None,
        });
        let mut test = CountTest::new(median_config());
        (0..WINDOWS).any(|w| {
            let (b, c) = stream.window(rng, stepped_split(w));
            test.observe(b, c);
            test.failed()
        })
    });
    let fails = fails.iter().filter(|f| **f).count();
    let rate = fails as f64 / runs as f64;
    println!("A/A at the median, latency prior: {fails} false fails in {runs} runs ({rate:.4})");
    // True rate ≤ 0.01: P(≥ 31 of 2000) < 0.02; the seed is fixed.
    assert!(rate <= 0.015, "false-fail rate {rate}");
}

/// Canary requests until the test fails at ratio 1.15 over a 0.5 baseline
/// rate, split 0.1, or `None` within the horizon.
fn requests_to_fail(rng: &mut Rng, cfg: CountTestConfig) -> Option<u64> {
    let mut stream = Stream::new(Traffic {
        requests: 40,
        baseline_rate: 0.5,
        ratio: 1.15,
        noise: Noise::None,
    });
    let mut test = CountTest::new(cfg);
    let mut canary = 0;
    for _ in 0..WINDOWS {
        let (b, c) = stream.window(rng, 0.1);
        canary += c.total;
        test.observe(b, c);
        if test.failed() {
            return Some(canary);
        }
    }
    None
}

#[test]
fn the_median_latency_prior_detects_a_fifteen_percent_ratio_sooner() {
    let runs = 200;
    let mean = |cfg: CountTestConfig, seed: u64| -> (f64, f64) {
        let r = parallel_runs(runs, seed, |rng| requests_to_fail(rng, cfg));
        let hits: Vec<u64> = r.iter().filter_map(|x| *x).collect();
        let power = hits.len() as f64 / runs as f64;
        (
            power,
            hits.iter().sum::<u64>() as f64 / hits.len().max(1) as f64,
        )
    };
    let (power, latency) = mean(median_config(), 0x5eed_0102);
    let wide = CountTestConfig {
        alpha: 0.01,
        ..CountTestConfig::default()
    };
    let (wide_power, wide_latency) = mean(wide, 0x5eed_0102);
    let wald = wald_bound_requests(0.5, 0.575, 0.01);
    println!(
        "r = 1.15 at 0.5: latency prior power {power:.3}, {latency:.0} canary requests \
         ({:.2} x Wald {wald:.0}); default prior power {wide_power:.3}, {wide_latency:.0}",
        latency / wald
    );
    assert!(power >= 0.95, "power {power}");
    assert!(latency < 0.8 * wide_latency, "{latency} vs {wide_latency}");
    assert!(latency < 4.0 * wald, "{latency} vs Wald {wald}");
}

/// Windows until the canary passes, with the test's rule and with the
/// fixed-prior rule on the totals (the rule before the canary sequence
/// borrowed the baseline's counts).
fn windows_to_pass(rng: &mut Rng, ratio: f64) -> (Option<u32>, Option<u32>) {
    let mut stream = Stream::new(Traffic {
        requests: 100,
        baseline_rate: 0.005,
        ratio,
        noise: Noise::None,
    });
    let cfg = CountTestConfig::default();
    let mut test = CountTest::new(cfg);
    let (mut new, mut old) = (None, None);
    for w in 0..WINDOWS {
        let (b, c) = stream.window(rng, 0.1);
        test.observe(b, c);
        if new.is_none() && test.passed() {
            new = Some(w + 1);
        }
        let (base, can) = test.totals();
        let (base_lo, _) = rate_bounds(base.bad, base.total, cfg.pass_alpha / 2.0);
        let (_, can_hi) = rate_bounds(can.bad, can.total, cfg.pass_alpha / 2.0);
        let tolerated = base_lo * (1.0 + cfg.max_relative) + cfg.max_absolute;
        if old.is_none() && !test.failed() && can_hi <= tolerated {
            old = Some(w + 1);
        }
        if new.is_some() && old.is_some() {
            break;
        }
    }
    (new, old)
}

#[test]
fn a_healthy_canary_passes_sooner_with_the_borrowed_prior() {
    let runs = 200;
    let r = parallel_runs(runs, 0x5eed_0103, |rng| windows_to_pass(rng, 1.0));
    // Median windows to pass, a run that never passed counting as infinite.
    let median = |new_rule: bool| -> (usize, u32) {
        let pick = |x: &(Option<u32>, Option<u32>)| if new_rule { x.0 } else { x.1 };
        let mut w: Vec<u32> = r.iter().map(|x| pick(x).unwrap_or(u32::MAX)).collect();
        w.sort_unstable();
        (w.iter().filter(|x| **x < u32::MAX).count(), w[w.len() / 2])
    };
    let (n_new, new) = median(true);
    let (n_old, old) = median(false);
    println!(
        "healthy canary at 0.5%, s = 0.1: borrowed prior {n_new}/{runs} passed, median {new} \
         windows; fixed prior {n_old}/{runs}, median {old}"
    );
    assert!(n_new >= n_old && n_new as f64 >= 0.8 * runs as f64);
    assert!(f64::from(new) < 0.9 * f64::from(old), "{new} vs {old}");
}

#[test]
fn a_canary_at_the_tolerance_rarely_passes() {
    let runs = 300;
    // Tolerated rate 0.005 × 1.5 + 0.001 = 0.0085: ratio 1.7.
    let r = parallel_runs(runs, 0x5eed_0104, |rng| windows_to_pass(rng, 1.7));
    let passed = r.iter().filter(|x| x.0.is_some()).count();
    println!("canary at the tolerance: {passed} of {runs} passed");
    // pass_alpha 0.05 bounds the rate; P(≥ 25 of 300 | 0.05) < 0.02.
    assert!(passed as f64 <= 0.08 * runs as f64, "{passed}");
}

/// Runs where the canary's upper bound fell below its true rate at some
/// window (an anytime miss).
fn canary_bound_misses(runs: u64, seed: u64, ratio: f64, split: f64) -> usize {
    let p_c = 0.005 * ratio;
    let r = parallel_runs(runs, seed, |rng| {
        let mut stream = Stream::new(Traffic {
            requests: 100,
            baseline_rate: 0.005,
            ratio,
            noise: Noise::None,
        });
        let mut test = CountTest::new(CountTestConfig::default());
        (0..WINDOWS).any(|_| {
            let (b, c) = stream.window(rng, split);
            test.observe(b, c);
            test.pass_bounds().1 < p_c
        })
    });
    r.iter().filter(|m| **m).count()
}

#[test]
fn the_borrowed_canary_bound_covers_at_every_look() {
    // The canary's level is 3/4 of pass_alpha = 0.0375.
    let runs = 600;
    for (ratio, split, seed) in [
        (1.0, 0.1, 0x5eed_0105),
        (2.0, 0.1, 0x5eed_0106),
        (0.5, 0.3, 0x5eed_0107),
    ] {
        let misses = canary_bound_misses(runs, seed, ratio, split);
        println!("canary upper bound, ratio {ratio}: missed in {misses} of {runs} runs");
        // P(≥ 36 of 600 | 0.0375) < 0.03; the seeds are fixed.
        assert!(misses <= 36, "ratio {ratio}: {misses}");
    }
}
