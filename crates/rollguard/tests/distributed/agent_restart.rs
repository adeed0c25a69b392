//! kill -9 of an agent mid-rollout: restarted on the same data directory, it
//! gets its mandate back, resumes the run from its on-disk buffer (same run,
//! same step, no second start) and finishes it; the global ledger holds each
//! buffered event once, in order.

use std::time::Duration;

use rollguard_ledger::Ledger;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_killed_mid_rollout_resumes_from_its_buffer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let certs = Certs::make(dir);
    let w = Workload::start(300.0).await;
    let f = write(
        dir,
        "r.yaml",
        &rollout_yaml("rollout-r", "svc-a", "prod", &w, "8s"),
    );
    let (ctl, port, ledger_path) = spawn_controller(dir, &certs, &f, "10s");
    let controllers = [format!("https://127.0.0.1:{port}")];
    let data = dir.join("agent-a");
    let args = agent_args(
        &certs,
        "agent-a",
        &controllers,
        &data,
        &["--heartbeat", "500ms"],
    );
    let mut first = Proc::spawn("agent-a-1", dir, &args);
    let global = open_ledger(ledger_path.to_str().expect("utf-8")).await;
    // Mid-rollout: the canary is at 10% and the controller has heard of it.
    wait_logged(
        "the rollout to reach 10%",
        Duration::from_secs(90),
        &[&ctl, &first],
        || async {
            events_of(&global, "rollout-r")
                .await
                .iter()
                .any(|e| e.kind == "weight_set")
                .then_some(())
        },
    )
    .await;
    first.kill9();
    let second = Proc::spawn("agent-a-2", dir, &args);
    let done = wait_logged(
        "the restarted agent to finish the rollout",
        Duration::from_secs(120),
        &[&ctl, &first, &second],
        || async {
            events_of(&global, "rollout-r")
                .await
                .into_iter()
                .find(|e| matches!(e.kind.as_str(), "promoted" | "rolled_back" | "aborted"))
        },
    )
    .await;
    assert_eq!(done.kind, "promoted", "{}", done.rationale);
    assert!(
        second.log_text().contains("resuming from the ledger"),
        "{}",
        second.log_text()
    );
    let mut second = second;
    second.terminate();
    let buffer = Ledger::open(data.join("buffer.db").to_str().expect("utf-8"))
        .await
        .expect("buffer");
    let local = events_of(&buffer, "rollout-r").await;
    assert_eq!(
        local.iter().filter(|e| e.kind == "started").count(),
        1,
        "resumed, not started again"
    );
    let buffered: Vec<String> = local
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .collect();
    let shipped: Vec<String> = events_of(&global, "rollout-r")
        .await
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .filter(|k| !k.contains("/mandate/") && !k.contains("/submitted/"))
        .collect();
    assert_eq!(
        shipped, buffered,
        "every buffered event shipped once, in order"
    );
    assert!(global.verify().await.expect("verify").ok);
    assert_no_duplicates(&global).await;
}
