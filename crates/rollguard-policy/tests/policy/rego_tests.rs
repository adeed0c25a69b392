//! The `opa test`-style runner on the shipped tests and on a deliberately broken suite.

use std::path::PathBuf;

use rollguard_policy::{TestOutcome, run_tests};

use crate::support::{default_bundle, load};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn shipped_rego_tests_all_pass() {
    let report = run_tests(&default_bundle()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_success(), "{}", report.to_human(false));
    assert!(report.total() >= 20, "{}", report.total());
    assert!(
        report
            .results
            .iter()
            .all(|r| r.outcome == TestOutcome::Pass)
    );
    assert_eq!(report.summary(), format!("PASS: {0}/{0}", report.total()));
}

#[test]
fn broken_suite_reports_each_failure_and_error() {
    let bundle = load(&fixture("broken_tests"));
    let report = run_tests(&bundle).unwrap_or_else(|e| panic!("{e}"));
    let outcome = |name: &str| {
        report
            .results
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.outcome.clone())
            .unwrap_or_else(|| panic!("{name} not run: {report:?}"))
    };
    assert_eq!(outcome("test_small_step_allowed"), TestOutcome::Pass);
    assert_eq!(outcome("test_big_step_denied"), TestOutcome::Pass);
    assert_eq!(
        outcome("test_big_step_wrongly_expected_allowed"),
        TestOutcome::Fail
    );
    assert_eq!(outcome("test_false_value"), TestOutcome::Fail);
    assert!(matches!(
        outcome("test_division_by_zero"),
        TestOutcome::Error(_)
    ));
    assert_eq!(report.total(), 5, "helpers and functions are not tests");
    assert_eq!((report.passed, report.failed, report.errored), (2, 2, 1));
    assert!(!report.is_success());
    assert_eq!(report.summary(), "PASS: 2/5\nFAIL: 2/5\nERROR: 1/5");

    let human = report.to_human(false);
    assert!(
        human.contains(
            "policy_test.rego:15: data.rollguard_test.test_big_step_wrongly_expected_allowed: FAIL"
        ),
        "{human}"
    );
    assert!(
        !human.contains("test_small_step_allowed"),
        "passing tests only in verbose output:\n{human}"
    );
    assert!(
        report
            .to_human(true)
            .contains("test_small_step_allowed: PASS")
    );

    let json: serde_json::Value =
        serde_json::from_str(&report.to_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["failed"], 2);
    assert_eq!(json["results"][4]["outcome"], "error");
    assert!(
        json["results"][4]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[test]
fn bench_runs_the_default_bundle_and_reports_ordered_percentiles() {
    let report = rollguard_policy::bench(50).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.evaluations, 50);
    assert!(
        report.p50_us > 0.0 && report.p50_us <= report.p99_us && report.p99_us <= report.max_us
    );
    assert!(report.evals_per_s > 0.0);
    assert_eq!(report.bundle_hash, default_bundle().short_hash());
}

#[test]
fn bench_sample_inputs_cover_every_result() {
    let bundle = default_bundle();
    let engine = rollguard_policy::PolicyEngine::new(&bundle).unwrap_or_else(|e| panic!("{e}"));
    let results: std::collections::BTreeSet<_> = rollguard_policy::bench::sample_inputs(&bundle)
        .iter()
        .map(|i| {
            engine
                .evaluate(i)
                .map(|d| d.result)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert_eq!(results.len(), 3, "{results:?}");
}
