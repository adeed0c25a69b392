//! A controller and two agents, each its own process, run two rollouts over
//! mutual TLS; clients without a valid certificate are refused at the
//! handshake; an agent certified for svc-a cannot act on svc-b's rollout; a
//! malformed message is rejected and the connection stays usable.

use std::sync::Arc;
use std::time::Duration;

use rollguard_ledger::Ledger;
use serde_json::{Value, json};

use crate::support::*;

async fn rollouts(op: &reqwest::Client, url: &str) -> Option<Vec<Value>> {
    let r = match op.get(format!("{url}/v1/rollouts")).send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("GET /v1/rollouts: {e}");
            return None;
        }
    };
    if !r.status().is_success() {
        eprintln!("GET /v1/rollouts: {}", r.status());
        return None;
    }
    match r.json().await {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("GET /v1/rollouts: {e}");
            None
        }
    }
}

fn state_of<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|r| r["rollout"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn controller_and_two_agents_run_rollouts_over_mtls() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let certs = Certs::make(dir);
    let wa = Workload::start(300.0).await;
    let wb = Workload::start(300.0).await;
    let fa = write(
        dir,
        "a.yaml",
        &rollout_yaml("rollout-a", "svc-a", "prod", &wa, "3s"),
    );
    let fb = write(
        dir,
        "b.yaml",
        &rollout_yaml("rollout-b", "svc-b", "prod", &wb, "3s"),
    );
    let port = free_port();
    let ledger = dir.join("controller.db");
    let ctl = Proc::spawn(
        "controller",
        dir,
        &controller_args(
            &certs,
            port,
            ledger.to_str().expect("utf-8"),
            &[
                "-f",
                fa.to_str().expect("utf-8"),
                "-f",
                fb.to_str().expect("utf-8"),
                "--lease",
                "10s",
                "--max-canaries",
                "env=prod:2",
            ],
        ),
    );
    let url = format!("https://127.0.0.1:{port}");
    let op = client(&certs.files("operator"));
    wait_for(
        "the controller to answer",
        Duration::from_secs(60),
        || async { rollouts(&op, &url).await.filter(|l| l.len() == 2) },
    )
    .await;

    // No client certificate, an expired one, a foreign one: refused at the handshake.
    let roots = {
        let mut store = rustls::RootCertStore::empty();
        for c in rollguard_mtls::load_certs(&certs.dir.join("ca.pem")).expect("ca") {
            store.add(c).expect("add ca");
        }
        store
    };
    let anonymous = reqwest::Client::builder()
        .tls_backend_preconfigured(
            rustls::ClientConfig::builder()
                .with_root_certificates(Arc::new(roots))
                .with_no_client_auth(),
        )
        .build()
        .expect("client");
    assert!(
        anonymous
            .get(format!("{url}/v1/leader"))
            .send()
            .await
            .is_err()
    );
    let expired = client(&certs.expired("old-agent"));
    assert!(
        expired
            .get(format!("{url}/v1/leader"))
            .send()
            .await
            .is_err()
    );
    let foreign = client(&certs.foreign("stranger"));
    assert!(
        foreign
            .get(format!("{url}/v1/leader"))
            .send()
            .await
            .is_err()
    );
    let revoked = client(&certs.files("revoked-agent"));
    assert!(
        revoked
            .get(format!("{url}/v1/leader"))
            .send()
            .await
            .is_err()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = ctl.log_text();
        if log.contains("presented no certificate")
            && log.contains("has expired")
            && log.contains("is foreign")
            && log.contains("is revoked")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no clear log line for each refused client:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Only an operator certificate submits rollouts; a malformed spec is a 400.
    let as_agent = client(&certs.files("agent-a"));
    let yaml = rollout_yaml("rollout-c", "svc-c", "dev", &wa, "3s");
    let r = as_agent
        .post(format!("{url}/v1/rollouts"))
        .body(yaml.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = op
        .post(format!("{url}/v1/rollouts"))
        .body("kind: Nonsense")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let r = op
        .post(format!("{url}/v1/rollouts"))
        .body(yaml)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    // No agent may drive svc-c: it stays queued.

    let data_a = dir.join("agent-a");
    let data_b = dir.join("agent-b");
    let controllers = [url.clone()];
    let mut agent_a = Proc::spawn(
        "agent-a",
        dir,
        &agent_args(
            &certs,
            "agent-a",
            &controllers,
            &data_a,
            &["--heartbeat", "500ms"],
        ),
    );
    let mut agent_b = Proc::spawn(
        "agent-b",
        dir,
        &agent_args(
            &certs,
            "agent-b",
            &controllers,
            &data_b,
            &["--heartbeat", "500ms"],
        ),
    );

    // Each rollout goes to the agent whose certificate lists its service.
    let list = wait_logged(
        "both mandates granted",
        Duration::from_secs(60),
        &[&ctl, &agent_a, &agent_b],
        || async {
            rollouts(&op, &url).await.filter(|l| {
                ["rollout-a", "rollout-b"]
                    .iter()
                    .all(|n| state_of(l, n).is_some_and(|r| r["state"] != "queued"))
            })
        },
    )
    .await;
    assert_eq!(state_of(&list, "rollout-a").expect("a")["agent"], "agent-a");
    assert_eq!(state_of(&list, "rollout-b").expect("b")["agent"], "agent-b");
    assert_eq!(state_of(&list, "rollout-c").expect("c")["state"], "queued");

    // agent-a (svc-a only) cannot act on svc-b's rollout.
    let as_a = client(&certs.files("agent-a"));
    let forged = json!({"events": [{
        "time_ms": 1, "rollout": "rollout-b", "kind": "promoted", "actor": "agent:agent-a",
        "idempotency_key": "rollout-b/1/999", "inputs": {}, "statistics": {},
        "policy": null, "rationale": "forged"
    }]});
    let r = as_a
        .post(format!("{url}/v1/events"))
        .json(&forged)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403, "{}", r.text().await.unwrap_or_default());
    assert!(
        ctl.log_text()
            .contains("refused: agent does not hold the mandate")
    );
    // A malformed message is rejected; the same client keeps working.
    let r = as_a
        .post(format!("{url}/v1/heartbeat"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let r = as_a
        .post(format!("{url}/v1/heartbeat"))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    let list = wait_for(
        "both rollouts to finish",
        Duration::from_secs(180),
        || async {
            rollouts(&op, &url).await.filter(|l| {
                ["rollout-a", "rollout-b"].iter().all(|n| {
                    state_of(l, n).is_some_and(|r| {
                        r["state"] == "finished"
                            && r["agent_status"] == "done"
                            && r["weight"] == 100.0
                    })
                })
            })
        },
    )
    .await;
    for name in ["rollout-a", "rollout-b"] {
        assert_eq!(
            state_of(&list, name).expect("listed")["outcome"],
            "promoted",
            "{name}: {list:?}\n{}",
            logs(&[&ctl, &agent_a, &agent_b])
        );
    }
    // Let the agents ship their last events, then check the global ledger.
    agent_a.terminate();
    agent_b.terminate();
    let mut ctl = ctl;
    ctl.terminate();
    let ledger = Ledger::open(ledger.to_str().expect("utf-8"))
        .await
        .expect("open ledger");
    assert!(ledger.verify().await.expect("verify").ok);
    assert_no_duplicates(&ledger).await;
    for (name, data) in [("rollout-a", &data_a), ("rollout-b", &data_b)] {
        let global = events_of(&ledger, name).await;
        assert!(global.iter().any(|e| e.kind == "mandate_granted"));
        let buffer = Ledger::open(data.join("buffer.db").to_str().expect("utf-8"))
            .await
            .expect("buffer");
        let local = events_of(&buffer, name).await;
        let shipped: Vec<_> = global
            .iter()
            .filter_map(|e| e.idempotency_key.clone())
            .filter(|k| !k.contains("/mandate/") && !k.contains("/submitted/"))
            .collect();
        let buffered: Vec<_> = local
            .iter()
            .filter_map(|e| e.idempotency_key.clone())
            .collect();
        assert_eq!(
            shipped, buffered,
            "{name}: every buffered event shipped once, in order"
        );
    }
}
