//! The control-plane benchmark runs end to end on a small scale and every
//! event it reports is in a ledger that verifies.

use std::time::Duration;

use rollguard_agent::bench::{BenchOptions, control_plane};
use rollguard_ledger::Ledger;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_control_plane_bench_ingests_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.db").display().to_string();
    let report = control_plane(BenchOptions {
        agents: 20,
        duration: Duration::from_secs(2),
        tick: Duration::from_millis(200),
        burst: 30,
        ledger: path.clone(),
    })
    .await
    .expect("bench runs");
    assert_eq!(report.agents, 20);
    assert!(report.steady_events > 0);
    assert_eq!(report.burst_events, 20 * 30);
    assert!(report.decision_latency_p99_ms >= report.decision_latency_p50_ms);
    let ledger = Ledger::open(&path).await.expect("open");
    assert!(ledger.verify().await.expect("verify").ok);
}
