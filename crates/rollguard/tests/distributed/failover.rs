//! Two controller replicas on one real PostgreSQL (started by the test):
//! kill -9 the leader mid-rollout; the other replica takes over within the
//! stated bound, the agent follows it, the rollout completes, and the shared
//! ledger verifies with no event lost or duplicated.

use std::time::{Duration, Instant};

use rollguard_ledger::Ledger;
use serde_json::Value;

use crate::support::*;
use rollguard_ledger::testing::PgServer;

async fn leader_info(c: &reqwest::Client, url: &str) -> Option<Value> {
    let r = c.get(format!("{url}/v1/leader")).send().await.ok()?;
    r.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_leader_mid_rollout_then_follower_takes_over() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    // Create the ledger schema once, before two replicas race to.
    Ledger::open(&db)
        .await
        .expect("open postgres ledger")
        .close()
        .await
        .expect("close");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let certs = Certs::make(dir);
    let w = Workload::start(300.0).await;
    let f = write(
        dir,
        "h.yaml",
        &rollout_yaml("rollout-h", "svc-a", "prod", &w, "8s"),
    );
    let ports = [free_port(), free_port()];
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    let ttl = Duration::from_secs(2);
    let mut replicas: Vec<Option<Proc>> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = format!("c{}", i + 1);
            Some(Proc::spawn(
                &id,
                dir,
                &controller_args(
                    &certs,
                    *p,
                    &db,
                    &[
                        "-f",
                        f.to_str().expect("utf-8"),
                        "--replica",
                        &id,
                        "--lease",
                        "10s",
                        "--leader-ttl",
                        "2s",
                    ],
                ),
            ))
        })
        .collect();
    let op = client(&certs.files("operator"));
    let leader = wait_for("a leader", Duration::from_secs(60), || async {
        for (i, u) in urls.iter().enumerate() {
            if leader_info(&op, u)
                .await
                .is_some_and(|v| v["leader"] == true)
            {
                return Some(i);
            }
        }
        None
    })
    .await;
    let data = dir.join("agent-a");
    let agent = Proc::spawn(
        "agent-a",
        dir,
        &agent_args(&certs, "agent-a", &urls, &data, &["--heartbeat", "500ms"]),
    );
    let ledger = Ledger::open(&db).await.expect("ledger");
    // Mid-rollout: the agent's first events have reached the shared ledger.
    wait_for("the rollout to start", Duration::from_secs(90), || async {
        events_of(&ledger, "rollout-h")
            .await
            .iter()
            .any(|e| e.kind == "started")
            .then_some(())
    })
    .await;

    let killed_at = Instant::now();
    if let Some(p) = replicas[leader].as_mut() {
        p.kill9();
    }
    let other = 1 - leader;
    wait_for(
        "the other replica to lead",
        Duration::from_secs(30),
        || async {
            leader_info(&op, &urls[other])
                .await
                .filter(|v| v["leader"] == true)
        },
    )
    .await;
    let takeover = killed_at.elapsed();
    eprintln!(
        "failover: replica c{} leads {:.2} s after kill -9 of c{} (leader ttl {:?}, stated bound ttl + ttl/3 + poll)",
        other + 1,
        takeover.as_secs_f64(),
        leader + 1,
        ttl
    );
    // Bound: ttl + ttl/3 (+ the 200 ms poll of this test and process jitter).
    assert!(
        takeover < ttl + ttl / 3 + Duration::from_secs(3),
        "takeover took {takeover:?}"
    );

    let done = wait_for(
        "the rollout to complete",
        Duration::from_secs(180),
        || async {
            events_of(&ledger, "rollout-h")
                .await
                .into_iter()
                .find(|e| matches!(e.kind.as_str(), "promoted" | "rolled_back" | "aborted"))
        },
    )
    .await;
    let survivor = replicas[other].as_ref().expect("survivor");
    assert_eq!(done.kind, "promoted", "\n{}", logs(&[survivor, &agent]));
    let mut agent = agent;
    agent.terminate();
    assert!(ledger.verify().await.expect("verify").ok);
    assert_no_duplicates(&ledger).await;
    let buffer = Ledger::open(data.join("buffer.db").to_str().expect("utf-8"))
        .await
        .expect("buffer");
    let buffered: Vec<String> = events_of(&buffer, "rollout-h")
        .await
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .collect();
    let shipped: Vec<String> = events_of(&ledger, "rollout-h")
        .await
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .filter(|k| !k.contains("/mandate/") && !k.contains("/submitted/"))
        .collect();
    assert_eq!(
        shipped, buffered,
        "every buffered event shipped once, in order"
    );
    drop(replicas);
}
