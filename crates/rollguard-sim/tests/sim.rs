//! Simulator, scenario, replay and benchmark behaviour (one test binary).

use std::path::{Path, PathBuf};

use rollguard_core::spec::Rollout;
use rollguard_sim::bench::{BenchSize, bench_detection_with, bench_rollout};
use rollguard_sim::replay::parse_trace;
use rollguard_sim::scenario::{self, Behaviour, LatencyModel, Scenario, Truth};
use rollguard_sim::{JudgeChoice, ReplayError, RunOutcome, replay, replay_text, simulate};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rollout() -> Rollout {
    bench_rollout().expect("the checked-in bench rollout is valid")
}

fn base() -> Behaviour {
    Behaviour::new(0.005, LatencyModel::lognormal(100.0, 0.5))
}

fn aa(minutes: u64) -> Scenario {
    Scenario::steady("aa", minutes * 60_000, 100.0, base())
}

#[test]
fn same_seed_gives_the_same_report() {
    let mut s = aa(5);
    s.canary = Behaviour::new(0.02, base().latency);
    s.truth = Truth::Regressed;
    let a = simulate(&rollout(), &s, 6, 99, JudgeChoice::Rollguard);
    let b = simulate(&rollout(), &s, 6, 99, JudgeChoice::Rollguard);
    assert_eq!(a, b);
    let c = simulate(&rollout(), &s, 6, 100, JudgeChoice::Rollguard);
    assert_ne!(a.results, c.results, "another seed draws other traffic");
}

#[test]
fn healthy_canary_is_rarely_rolled_back_and_gets_promoted() {
    let report = simulate(&rollout(), &aa(30), 24, 7, JudgeChoice::Rollguard);
    let s = &report.summary;
    // alpha is 0.01: more than 2 of 24 would be a probability below 3e-4.
    assert!(s.rolled_back <= 2, "{}", report.render_text());
    // The pass criterion needs about 5,000 canary requests at 0.5% errors: ~17 min at 5%.
    assert!(s.promoted >= 14, "{}", report.render_text());
}

#[test]
fn half_failing_canary_is_rolled_back_within_seconds() {
    let mut s = aa(10);
    s.canary = Behaviour::new(0.5, base().latency);
    s.truth = Truth::Regressed;
    let report = simulate(&rollout(), &s, 16, 3, JudgeChoice::Rollguard);
    assert_eq!(report.summary.rolled_back, 16, "{}", report.render_text());
    let delay = report.summary.delay_seconds.expect("detections");
    assert!(delay.p90 <= 20.0, "{}", report.render_text());
    let text = report.render_text();
    assert!(text.contains("detection rate"), "{text}");
}

#[test]
fn reference_judges_run_through_the_engine() {
    let mut s = aa(12);
    s.canary = Behaviour::new(0.5, base().latency);
    s.truth = Truth::Regressed;
    for judge in [JudgeChoice::Flagger, JudgeChoice::Oracle] {
        let r = judge.documented_schedule(&rollout());
        let report = simulate(&r, &s, 3, 5, judge);
        assert_eq!(
            report.summary.rolled_back,
            3,
            "{judge}: {}",
            report.render_text()
        );
    }
    // Flagger checks every minute and fails at the 5th failed check.
    let flagger = simulate(
        &JudgeChoice::Flagger.documented_schedule(&rollout()),
        &s,
        2,
        5,
        JudgeChoice::Flagger,
    );
    let delay = flagger.summary.delay_seconds.expect("detected");
    assert_eq!(delay.mean, 300.0, "{}", flagger.render_text());
    // Argo's documented check is every 5 minutes and needs 4 failures: 20 min.
    let argo_schedule = JudgeChoice::Argo.documented_schedule(&rollout());
    let argo = simulate(&argo_schedule, &s, 2, 5, JudgeChoice::Argo);
    assert_eq!(argo.summary.rolled_back, 0, "{}", argo.render_text());
    s.duration = 25 * 60_000;
    let argo = simulate(&argo_schedule, &s, 2, 5, JudgeChoice::Argo);
    let delay = argo.summary.delay_seconds.expect("detected");
    assert_eq!(delay.mean, 1200.0, "{}", argo.render_text());
}

#[test]
fn example_scenarios_load() {
    let dir = repo().join("examples/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/scenarios exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let s = scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(s.duration > 0 && !s.name.is_empty());
            n += 1;
        }
    }
    assert!(n >= 4);
}

#[test]
fn scenario_errors_name_file_and_line() {
    let cases = [
        (
            "rps: 100\nduration: 30m\nbaseline: {errorRate: 0.005}\ntruth: healthy\nbogus: 1\n",
            5,
            "bogus",
        ),
        (
            "duration: 30m\nrps: -5\nbaseline: {errorRate: 0.005}\ntruth: healthy\n",
            2,
            "rps",
        ),
        (
            "duration: 30\nrps: 5\nbaseline: {errorRate: 0.005}\ntruth: healthy\n",
            1,
            "unit",
        ),
        (
            "duration: 30m\nrps: 5\nbaseline: {errorRate: 0.005}\ntruth: maybe\n",
            4,
            "healthy or regressed",
        ),
        (
            "duration: 30m\nrps: 5\nbaseline: {errorRate: 0.005}\nchanges:\n  - at: 10m\n    canary: {errorRate: 1.5}\ntruth: regressed\n",
            5,
            "errorRate",
        ),
        (
            "duration: 30m\nrps: 5\nbaseline:\n  errorRate: 0.005\n  latency: {distribution: weibull}\ntruth: healthy\n",
            4,
            "lognormal or pareto",
        ),
    ];
    for (text, line, what) in cases {
        let err = scenario::load(text, "s.yaml").expect_err(text);
        let shown = err.to_string();
        assert!(shown.starts_with(&format!("s.yaml:{line}")), "{shown}");
        assert!(shown.contains(what), "{shown}");
    }
}

#[test]
fn replay_of_the_checked_in_trace_rolls_back() {
    let path = repo().join("examples/traces/bad-canary.csv");
    let report = replay(&rollout(), &path, 1).expect("the trace is valid");
    assert_eq!(
        report.outcome,
        RunOutcome::RolledBack,
        "{}",
        report.render_text()
    );
    assert!(report.canary_requests_served > 0);
    assert!(report.canary_bad_served <= report.canary_requests_served);
    let last = report.timeline.last().expect("a timeline");
    assert_eq!(last.action.as_str(), "rolled_back");
    assert_eq!(last.metric.as_deref(), Some("errors"));
    assert!(last.e_value.is_some_and(|e| e >= 300.0), "{last:?}");
    // Same seed, same replay.
    assert_eq!(report, replay(&rollout(), &path, 1).expect("valid"));
    assert!(report.render_markdown().contains("rolled_back"));
}

#[test]
fn every_bad_trace_is_refused_with_file_and_line() {
    let h = "t_ms,version,status,latency_ms\n";
    let cases = [
        (
            "time,version,status,latency\n1,canary,200,5\n".to_string(),
            1,
            "header",
        ),
        (format!("{h}5,canary,200,5\n3,canary,200,5\n"), 3, "sorted"),
        (format!("{h}5,green,200,5\n"), 2, "unknown version"),
        (format!("{h}5,canary,200,-1\n"), 2, "≥ 0"),
        (format!("{h}5,canary,200,NaN\n"), 2, "NaN"),
        (format!("{h}5,canary,900,5\n"), 2, "HTTP status"),
        (format!("{h}5,canary,ok,5\n"), 2, "HTTP status"),
        (format!("{h}1,canary,200,5\n5,canary,200\n"), 3, "4 fields"),
        (format!("{h}x,canary,200,5\n"), 2, "t_ms"),
        (h.to_string(), 1, "no requests"),
        (String::new(), 1, "empty"),
    ];
    for (text, line, what) in cases {
        let err = replay_text(&rollout(), &text, "t.csv", 1).expect_err(&text);
        let shown = err.to_string();
        assert!(matches!(err, ReplayError::Invalid { .. }));
        assert!(shown.starts_with(&format!("t.csv:{line}: ")), "{shown}");
        assert!(shown.contains(what), "{shown}");
    }
    let ok = parse_trace(
        &format!("{h}1,baseline,200,5\r\n2,canary,503,7.5\n"),
        "t.csv",
    )
    .expect("valid");
    assert_eq!(ok.len(), 2);
    let missing = replay(&rollout(), Path::new("/nonexistent/t.csv"), 1).expect_err("no file");
    assert!(missing.to_string().contains("/nonexistent/t.csv"));
}

#[test]
fn bench_smoke_renders_every_case() {
    let size = BenchSize {
        aa_runs: 1,
        regression_runs: 1,
    };
    let table = bench_detection_with(true, size, 1, &[JudgeChoice::Rollguard]).expect("bench");
    let md = table.render_markdown();
    assert!(md.contains("A/A 2 h"), "{md}");
    assert!(md.contains("errors 0.5% -> 50%"), "{md}");
    assert!(md.contains("× bound"), "{md}");
    assert!(serde_json::to_string(&table).is_ok());
}

#[test]
fn fast_pass_check_decides_exactly_as_the_plain_judge() {
    use rollguard_sim::reference::ReferenceJudges;
    use rollguard_sim::simulator::simulate_with;
    let mut regressed = aa(20);
    regressed.canary = Behaviour::new(0.01, base().latency);
    regressed.truth = Truth::Regressed;
    for s in [aa(20), regressed] {
        let fast = ReferenceJudges::new(JudgeChoice::Rollguard, &s);
        let mut plain = ReferenceJudges::new(JudgeChoice::Rollguard, &s);
        plain.fast_pass = false;
        let a = simulate_with(&rollout(), &s, 4, 11, fast);
        let b = simulate_with(&rollout(), &s, 4, 11, plain);
        assert_eq!(a.results, b.results);
        assert!(a.summary.promoted + a.summary.rolled_back > 0);
    }
}
