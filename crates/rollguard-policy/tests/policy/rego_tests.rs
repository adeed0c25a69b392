use rollguard_policy::{PolicyBundle, TestOutcome, run_tests};

#[test]
fn shipped_rego_tests_all_pass() {
    let bundle = PolicyBundle::default_bundle().unwrap_or_else(|e| panic!("{e}"));
    let report = run_tests(&bundle).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", report.to_human(true));
    assert!(report.is_success(), "{}", report.to_human(false));
    assert!(report.total() >= 20);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.outcome == TestOutcome::Pass)
    );
}
