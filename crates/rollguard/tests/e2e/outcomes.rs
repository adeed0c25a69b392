//! `rollguard run` against real upstreams on loopback: a healthy canary is
//! promoted (exit 0), an erroring or slower one is rolled back (exit 3), and a
//! canary that starts refusing connections counts as failing and is named.

use rollguard_testbed::{LatencyModel, ServiceBehavior};

use crate::support::{Bed, RolloutSpec, baseline_behavior, ledger_events, load, weights_set};

async fn run_to_end(bed: &Bed, spec: &RolloutSpec, rps: f64) -> crate::support::Finished {
    run_to_end_within(bed, spec, rps, crate::support::DEADLINE).await
}

async fn run_to_end_within(
    bed: &Bed,
    spec: &RolloutSpec,
    rps: f64,
    limit: std::time::Duration,
) -> crate::support::Finished {
    let file = bed.rollout(spec);
    let rg = bed.rollguard(&["run", "-f", &file.display().to_string(), "--output", "json"]);
    let addr = rg.proxy_addr().await;
    let traffic = load(addr, rps);
    let done = rg.finish_within(limit).await;
    traffic.stop();
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_canary_is_promoted() {
    let bed = Bed::new(baseline_behavior()).await;
    let spec = RolloutSpec::new(
        "healthy",
        &[
            "setWeight: 50",
            "analyze: {minDuration: 3s, maxDuration: 50s}",
        ],
    );
    let done = run_to_end_within(&bed, &spec, 300.0, crate::support::PROMOTION_DEADLINE).await;
    assert_eq!(done.code, Some(0), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "promoted", "{}", done.describe());
    assert_eq!(s["final_weight"], 100.0);
    let events = ledger_events(&bed.ledger);
    assert_eq!(weights_set(&events), vec![50.0, 100.0]);
    assert_eq!(events.last().map(|e| e.kind.as_str()), Some("promoted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erroring_canary_is_rolled_back() {
    let bed = Bed::new(baseline_behavior().with_error_rate(0.2)).await;
    let spec = RolloutSpec::new(
        "erroring",
        &[
            "setWeight: 20",
            "analyze: {minDuration: 30s, maxDuration: 50s}",
        ],
    );
    let done = run_to_end(&bed, &spec, 200.0).await;
    assert_eq!(done.code, Some(3), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "rolled_back");
    assert_eq!(s["final_weight"], 0.0);
    let reason = s["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("errors"),
        "reason names the metric: {reason}"
    );
    let events = ledger_events(&bed.ledger);
    assert_eq!(weights_set(&events), vec![20.0, 0.0]);
    assert_eq!(events.last().map(|e| e.kind.as_str()), Some("rolled_back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slower_canary_is_rolled_back() {
    let slow = baseline_behavior().with_latency(LatencyModel::lognormal(25.0, 0.3));
    let bed = Bed::new(slow).await;
    let spec = RolloutSpec::new(
        "slower",
        &[
            "setWeight: 20",
            "analyze: {minDuration: 30s, maxDuration: 50s}",
        ],
    );
    let done = run_to_end(&bed, &spec, 200.0).await;
    assert_eq!(done.code, Some(3), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "rolled_back");
    let reason = s["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("latency-p50"),
        "reason names the metric: {reason}"
    );
    assert_eq!(weights_set(&ledger_events(&bed.ledger)), vec![20.0, 0.0]);
}

/// The canary goes away mid-rollout: connection refused is an error of the
/// canary, the rollout rolls back, and the summary names the failing upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_refusing_connections_counts_as_errors_and_is_named() {
    let mut bed = Bed::new(ServiceBehavior::healthy()).await;
    let canary_addr = bed.canary().addr();
    let spec = RolloutSpec::new(
        "refused",
        &[
            "setWeight: 30",
            "analyze: {minDuration: 40s, maxDuration: 50s}",
        ],
    );
    let file = bed.rollout(&spec);
    let rg = bed.rollguard(&["run", "-f", &file.display().to_string(), "--output", "json"]);
    let addr = rg.proxy_addr().await;
    let traffic = load(addr, 200.0);
    // Wait until the canary has served through the proxy, then take it down.
    let deadline = tokio::time::Instant::now() + crate::support::DEADLINE;
    while bed.canary().requests() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the canary never got traffic"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if let Some(c) = bed.canary.take() {
        c.stop();
    }
    let done = rg.finish().await;
    traffic.stop();
    assert_eq!(done.code, Some(3), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "rolled_back");
    let last = s["canary_last_error"].as_str().unwrap_or_default();
    assert!(
        last.contains(&canary_addr.to_string()),
        "canary_last_error names {canary_addr}: {last:?}\n{}",
        done.describe()
    );
    assert!(
        s["canary_errors"].as_u64().unwrap_or(0) > 0,
        "refused connections were counted as canary errors"
    );
}
