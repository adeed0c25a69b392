//! A partition between an agent and the controller (a fault-injecting TCP
//! proxy on the agent's only path): the agent keeps judging within its
//! mandate; once the lease has expired it does not raise the canary's weight;
//! when the canary goes bad it rolls back on its own; when the link heals,
//! its buffered events reach the global ledger, once each, in order. If the
//! link heals before anything goes wrong, the renewed lease lets the held
//! rollout continue to promotion.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rollguard_ledger::Ledger;

use crate::fault_proxy::FaultProxy;
use crate::support::*;

fn max_weight(events: &[rollguard_ledger::Event]) -> f64 {
    events
        .iter()
        .filter_map(|e| e.inputs.get("weight").and_then(|w| w.as_f64()))
        .fold(0.0, f64::max)
}

/// An agent whose only path to the controller is cut, held by its expired
/// mandate: the first analysis (10 s) outlasts the lease (3 s), so raising
/// the weight to 50% has just been denied.
struct Held {
    _tmp: tempfile::TempDir,
    ctl: Proc,
    agent: Proc,
    proxy: FaultProxy,
    w: Workload,
    buffer: Ledger,
    ledger_path: std::path::PathBuf,
}

async fn partitioned_until_denied() -> Held {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let certs = Certs::make(dir);
    let w = Workload::start(300.0).await;
    // A long first analysis: the lease runs out inside it.
    let f = write(
        dir,
        "p.yaml",
        &rollout_yaml("rollout-p", "svc-a", "prod", &w, "10s"),
    );
    let (ctl, port, ledger_path) = spawn_controller(dir, &certs, &f, "3s");
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let proxy = FaultProxy::start(target).await;
    let via = [format!("https://127.0.0.1:{}", proxy.addr.port())];
    let data = dir.join("agent-a");
    let agent = Proc::spawn(
        "agent-a",
        dir,
        &agent_args(&certs, "agent-a", &via, &data, &["--heartbeat", "500ms"]),
    );
    let buffer_path = data.join("buffer.db");
    wait_for(
        "the agent to set the canary to 10%",
        Duration::from_secs(90),
        || async {
            if !buffer_path.exists() {
                return None;
            }
            let buffer = Ledger::open(buffer_path.to_str()?).await.ok()?;
            let ev = events_of(&buffer, "rollout-p").await;
            ev.iter()
                .any(|e| e.kind == "weight_set" || max_weight(&ev) >= 10.0)
                .then_some(())
        },
    )
    .await;
    let buffer = Ledger::open(buffer_path.to_str().expect("utf-8"))
        .await
        .expect("buffer");

    proxy.cut();
    let cut_at = Instant::now();
    // The lease (3 s) runs out during the 10 s analysis; when the analysis
    // passes, raising the weight to 50% is denied.
    let denied = wait_for(
        "the expired mandate to deny raising the weight",
        Duration::from_secs(90),
        || async {
            events_of(&buffer, "rollout-p")
                .await
                .into_iter()
                .find(|e| e.kind == "denied")
        },
    )
    .await;
    assert!(
        denied.rationale.contains("mandate lease expired"),
        "{}",
        denied.rationale
    );
    // The lease (3 s) was counted from the last heartbeat sent before the
    // cut, at most one heartbeat interval (0.5 s) earlier.
    assert!(
        cut_at.elapsed() >= Duration::from_millis(2_500),
        "denied before the lease could expire"
    );

    Held {
        _tmp: tmp,
        ctl,
        agent,
        proxy,
        w,
        buffer,
        ledger_path,
    }
}

fn shipped_keys(events: Vec<rollguard_ledger::Event>) -> Vec<String> {
    events
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .filter(|k| !k.contains("/mandate/") && !k.contains("/submitted/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitioned_agent_holds_rolls_back_and_ships_once_healed() {
    let Held {
        _tmp,
        ctl,
        agent,
        proxy,
        w,
        buffer,
        ledger_path,
    } = partitioned_until_denied().await;
    // The canary goes bad while the agent is still cut off: it rolls back by itself.
    w.break_canary();
    let bad_at = Instant::now();
    wait_for(
        "the cut-off agent to roll back",
        Duration::from_secs(60),
        || async {
            events_of(&buffer, "rollout-p")
                .await
                .iter()
                .any(|e| e.kind == "rolled_back")
                .then_some(())
        },
    )
    .await;
    let detection = bad_at.elapsed();
    eprintln!(
        "rollback {:.1} s after the canary went bad (partitioned)",
        detection.as_secs_f64()
    );
    let local = events_of(&buffer, "rollout-p").await;
    assert!(
        max_weight(&local) <= 10.0,
        "the weight was raised past the lease: {}",
        max_weight(&local)
    );
    assert!(!local.iter().any(|e| e.kind == "promoted"));

    // Nothing reached the controller during the partition...
    let global = Ledger::open(ledger_path.to_str().expect("utf-8"))
        .await
        .expect("global ledger");
    let during = events_of(&global, "rollout-p").await;
    assert!(!during.iter().any(|e| e.kind == "rolled_back"));

    // ...and everything does once the link heals, once each, in order.
    proxy.heal();
    let buffered: Vec<String> = local
        .iter()
        .filter_map(|e| e.idempotency_key.clone())
        .collect();
    wait_for(
        "buffered events to reach the controller",
        Duration::from_secs(60),
        || async {
            let keys = shipped_keys(events_of(&global, "rollout-p").await);
            (keys.len() >= buffered.len()).then_some(())
        },
    )
    .await;
    let keys = shipped_keys(events_of(&global, "rollout-p").await);
    assert_eq!(
        keys[..buffered.len()],
        buffered[..],
        "\n{}",
        logs(&[&ctl, &agent])
    );
    assert!(global.verify().await.expect("verify").ok);
    assert_no_duplicates(&global).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn healed_partition_renews_the_lease_and_the_rollout_continues() {
    let held = partitioned_until_denied().await;
    let global = Ledger::open(held.ledger_path.to_str().expect("utf-8"))
        .await
        .expect("global ledger");
    held.proxy.heal();
    let done = wait_logged(
        "the held rollout to finish after the link heals",
        Duration::from_secs(120),
        &[&held.ctl, &held.agent],
        || async {
            events_of(&global, "rollout-p")
                .await
                .into_iter()
                .find(|e| matches!(e.kind.as_str(), "promoted" | "rolled_back" | "aborted"))
        },
    )
    .await;
    assert_eq!(done.kind, "promoted", "{}", done.rationale);
    let local = events_of(&held.buffer, "rollout-p").await;
    let resumed = local
        .iter()
        .find(|e| e.kind == "resumed")
        .expect("a resumed event once the mandate was renewed");
    assert!(resumed.actor.starts_with("agent:"), "{}", resumed.actor);
    assert!(global.verify().await.expect("verify").ok);
    assert_no_duplicates(&global).await;
}
