//! Hand-worked sequences for the reference judges.

use rollguard_stats::reference::{
    ArgoConfig, ArgoJudge, FlaggerConfig, FlaggerJudge, KayentaConfig, KayentaJudge, MetricWindow,
    ReferenceJudge, WaldOracle, WaldOracleConfig,
};
use rollguard_stats::{Counts, Decision, LatencyHistogram};

/// Feeds one interval of 60 one-second windows ending at `end_ms`, each with
/// 100 canary requests of which `bad_per_window` are bad; returns the last
/// decision.
fn feed_interval(judge: &mut dyn ReferenceJudge, end_ms: u64, canary: Counts) -> Decision {
    let mut last = Decision::Continue;
    for i in (0..60).rev() {
        let at = end_ms - i * 1000;
        last = judge.observe(
            at,
            MetricWindow::Counts {
                baseline: Counts::new(900, 4),
                canary,
            },
        );
        if i > 0 {
            assert_eq!(
                last,
                Decision::Continue,
                "decided inside an interval at {at}"
            );
        }
    }
    last
}

#[test]
fn argo_fails_when_failed_measurements_exceed_the_limit() {
    let mut argo = ArgoJudge::new(ArgoConfig {
        interval_ms: 60_000,
        failure_limit: 3,
        max_value: 0.01,
        latency_quantile: 0.99,
    });
    // Rates 2%, 0%, 2%, 2%, 2%: failed = 1, 1, 2, 3 (not > 3), 4 > 3 -> Fail.
    let rates = [2, 0, 2, 2, 2];
    for (k, bad) in rates.iter().enumerate() {
        let d = feed_interval(&mut argo, (k as u64 + 1) * 60_000, Counts::new(100, *bad));
        let expected = if k == 4 {
            Decision::Fail
        } else {
            Decision::Continue
        };
        assert_eq!(d, expected, "interval {}", k + 1);
    }
    assert_eq!(argo.measurements(), (5, 4, 0));
    assert_eq!(argo.name(), "argo");
}

#[test]
fn argo_does_not_count_inconclusive_measurements() {
    let mut argo = ArgoJudge::new(ArgoConfig {
        interval_ms: 60_000,
        failure_limit: 0,
        max_value: 0.01,
        latency_quantile: 0.99,
    });
    assert_eq!(
        feed_interval(&mut argo, 60_000, Counts::new(0, 0)),
        Decision::Continue
    );
    assert_eq!(
        feed_interval(&mut argo, 120_000, Counts::new(100, 0)),
        Decision::Continue
    );
    assert_eq!(argo.measurements(), (2, 0, 1));
    assert_eq!(
        feed_interval(&mut argo, 180_000, Counts::new(100, 5)),
        Decision::Fail
    );
}

#[test]
fn argo_measures_a_latency_quantile() {
    let mut argo = ArgoJudge::new(ArgoConfig {
        interval_ms: 10_000,
        failure_limit: 0,
        max_value: 500.0,
        latency_quantile: 0.99,
    });
    let base = LatencyHistogram::new();
    let mut fast = LatencyHistogram::new();
    let mut slow = LatencyHistogram::new();
    for _ in 0..100 {
        fast.record_ms(50.0);
        slow.record_ms(900.0);
    }
    let win = |c| MetricWindow::Latency {
        baseline: &base,
        canary: c,
    };
    assert_eq!(argo.observe(10_000, win(&fast)), Decision::Continue);
    assert_eq!(argo.observe(20_000, win(&slow)), Decision::Fail);
}

#[test]
fn flagger_failed_checks_accumulate_and_no_data_fails_a_check() {
    let cfg = FlaggerConfig {
        interval_ms: 60_000,
        threshold: 3,
        max_value: 0.01,
        latency_quantile: 0.99,
        promote_after_checks: None,
    };
    let mut flagger = FlaggerJudge::new(cfg);
    // fail, good, no data (fails), good, fail -> failedChecks 3 >= 3 at the 5th.
    let seq = [(100, 2), (100, 0), (0, 0), (100, 1), (100, 3)];
    for (k, (n, bad)) in seq.iter().enumerate() {
        let d = feed_interval(&mut flagger, (k as u64 + 1) * 60_000, Counts::new(*n, *bad));
        let expected = if k == 4 {
            Decision::Fail
        } else {
            Decision::Continue
        };
        assert_eq!(d, expected, "interval {}", k + 1);
    }
    assert_eq!(flagger.checks(), (2, 3));
}

#[test]
fn flagger_promotes_after_enough_good_checks_when_configured() {
    let mut flagger = FlaggerJudge::new(FlaggerConfig {
        interval_ms: 60_000,
        threshold: 2,
        max_value: 0.01,
        latency_quantile: 0.99,
        promote_after_checks: Some(2),
    });
    assert_eq!(
        feed_interval(&mut flagger, 60_000, Counts::new(100, 0)),
        Decision::Continue
    );
    assert_eq!(
        feed_interval(&mut flagger, 120_000, Counts::new(100, 5)),
        Decision::Continue
    );
    assert_eq!(
        feed_interval(&mut flagger, 180_000, Counts::new(100, 1)),
        Decision::Pass
    );
}

fn kayenta() -> KayentaJudge {
    KayentaJudge::new(KayentaConfig {
        interval_ms: 600_000,
        point_ms: 60_000,
        lifetime_ms: Some(1_200_000),
        ..KayentaConfig::default()
    })
}

/// One window per minute (one point each), canary bad count varying with `i`.
fn kayenta_minute(judge: &mut KayentaJudge, minute: u64, canary_bad: u64) -> Decision {
    let baseline_bad = 4 + minute % 3; // 0.4% .. 0.6%
    judge.observe(
        minute * 60_000,
        MetricWindow::Counts {
            baseline: Counts::new(1000, baseline_bad),
            canary: Counts::new(1000, canary_bad),
        },
    )
}

#[test]
fn kayenta_fails_a_clearly_higher_metric_at_the_first_interval() {
    let mut k = kayenta();
    for minute in 1..=9 {
        assert_eq!(
            kayenta_minute(&mut k, minute, 15 + minute % 4),
            Decision::Continue
        );
    }
    // Ten points: canary 1.5-1.8%, baseline 0.4-0.6%: High, score 0 < 50.
    assert_eq!(kayenta_minute(&mut k, 10, 16), Decision::Fail);
    assert_eq!(k.last_score(), Some(0.0));
}

#[test]
fn kayenta_passes_an_equal_canary_at_the_end_of_its_lifetime() {
    let mut k = kayenta();
    let mut last = Decision::Continue;
    for minute in 1..=20 {
        // Same values as the baseline, shifted by one minute.
        last = kayenta_minute(&mut k, minute, 4 + (minute + 1) % 3);
        if minute < 20 {
            assert_eq!(last, Decision::Continue, "minute {minute}");
        }
    }
    assert_eq!(k.last_score(), Some(100.0));
    assert_eq!(last, Decision::Pass);
}

#[test]
fn wald_oracle_crosses_ln_one_over_alpha() {
    let mut w = WaldOracle::new(WaldOracleConfig {
        p0: 0.005,
        p1: 0.02,
        alpha: 0.01,
        latency_bucket: 0,
    });
    let win = |n, k| MetricWindow::Counts {
        baseline: Counts::default(),
        canary: Counts::new(n, k),
    };
    // 4 ln 4 - 96 · 0.01519 = 4.087 < ln 100 = 4.605
    assert_eq!(w.observe(1000, win(100, 4)), Decision::Continue);
    assert!((w.log_likelihood_ratio() - 4.0872).abs() < 1e-3);
    // + ln 4 - 9 · 0.01519 = 5.337 >= 4.605
    assert_eq!(w.observe(2000, win(10, 1)), Decision::Fail);
    assert_eq!(w.observe(3000, win(10, 0)), Decision::Fail);
}

#[test]
fn kayenta_without_canary_data_has_no_score_and_fails_at_the_end() {
    let mut k = kayenta();
    let mut last = Decision::Continue;
    for minute in 1..=20 {
        last = k.observe(
            minute * 60_000,
            MetricWindow::Counts {
                baseline: Counts::new(1000, 5),
                canary: Counts::new(0, 0),
            },
        );
        if minute < 20 {
            assert_eq!(last, Decision::Continue);
        }
    }
    // Nodata never scores; a lifetime without a passing score is a failure.
    assert_eq!(k.last_score(), None);
    assert_eq!(last, Decision::Fail);
}
