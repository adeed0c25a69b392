//! Properties of the count test over arbitrary counts.

use proptest::prelude::*;
use rollguard_stats::{CountTest, CountTestConfig, Counts};

fn window() -> impl Strategy<Value = (u64, u64, u64, u64)> {
    (0u64..5000, 0u64..5000, 0u64..5000, 0u64..5000)
}

proptest! {
    #[test]
    fn e_value_is_never_nan_or_negative(windows in proptest::collection::vec(window(), 0..60)) {
        let mut t = CountTest::new(CountTestConfig::default());
        for (nb, kb, nc, kc) in windows {
            t.observe(Counts::new(nb, kb), Counts::new(nc, kc));
            let e = t.e_value();
            prop_assert!(!e.is_nan() && e >= 0.0, "e = {e}");
            prop_assert!(!t.fail_log_e().is_nan());
        }
        let (lo, hi) = t.ratio_interval();
        prop_assert!(lo >= 0.0 && lo <= hi, "({lo}, {hi})");
        if let Some(r) = t.ratio_estimate() {
            prop_assert!(r.is_finite() && r > 0.0);
        }
        let _ = t.summary();
    }

    #[test]
    fn windows_without_bad_events_leave_the_test_unchanged(
        windows in proptest::collection::vec(window(), 0..20),
        nb in 0u64..10_000,
        nc in 0u64..10_000,
    ) {
        let mut t = CountTest::new(CountTestConfig::default());
        for (nb, kb, nc, kc) in windows {
            t.observe(Counts::new(nb, kb), Counts::new(nc, kc));
        }
        let before = (t.fail_log_e(), t.ratio_estimate(), t.ratio_interval(), t.failed(), t.informative_windows());
        t.observe(Counts::new(nb, 0), Counts::new(nc, 0));
        let after = (t.fail_log_e(), t.ratio_estimate(), t.ratio_interval(), t.failed(), t.informative_windows());
        prop_assert_eq!(before, after);
    }
}
