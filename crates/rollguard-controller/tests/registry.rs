//! The registry's rules: mandates go only to agents whose certificate lists
//! the service, budgets cap canaries per label, leases renew on heartbeat,
//! finishing frees the budget, and a new leader rebuilds the same state from
//! the ledger.

use std::time::{Duration, Instant};

use rollguard_controller::Budgets;
use rollguard_controller::registry::{
    Assignment, GRANTED_KIND, Registry, SUBMITTED_KIND, Submission,
};
use rollguard_ledger::Event;
use rollguard_mtls::PeerIdentity;
use serde_json::json;

fn spec(name: &str, service: &str, env: &str) -> String {
    format!(
        "apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata:\n  name: {name}\n  labels: {{env: {env}}}\nspec:\n  service: {service}\n  baseline: {{version: v1, endpoint: \"http://127.0.0.1:1\"}}\n  canary: {{version: v2, endpoint: \"http://127.0.0.1:2\"}}\n  strategy:\n    steps:\n      - setWeight: 10\n  analysis:\n    metrics:\n      - name: errors\n        errorRate: {{}}\n        maxIncrease: {{relative: 0.5, absolute: 0.01}}\n"
    )
}

fn agent(name: &str, services: &[&str]) -> PeerIdentity {
    PeerIdentity {
        name: name.into(),
        services: services.iter().map(|s| s.to_string()).collect(),
        roles: vec!["agent".into()],
        not_after_unix: i64::MAX,
    }
}

const LEASE: Duration = Duration::from_secs(10);

#[test]
fn grants_only_services_the_certificate_lists() {
    let mut reg = Registry::default();
    assert_eq!(
        reg.submit(&spec("a", "svc-a", "dev"), "a").unwrap(),
        Submission::New
    );
    assert_eq!(
        reg.submit(&spec("a", "svc-a", "dev"), "a").unwrap(),
        Submission::Unchanged
    );
    reg.submit(&spec("b", "svc-b", "dev"), "b").unwrap();
    let now = Instant::now();
    let g = reg.heartbeat(
        &agent("agent-a", &["svc-a"]),
        now,
        LEASE,
        &Budgets::default(),
    );
    assert_eq!(g.granted, vec!["a".to_string()]);
    assert_eq!(reg.get("b").unwrap().assignment, Assignment::Queued);
    // A second heartbeat renews, grants nothing new.
    let later = now + Duration::from_secs(5);
    let g = reg.heartbeat(
        &agent("agent-a", &["svc-a"]),
        later,
        LEASE,
        &Budgets::default(),
    );
    assert_eq!((g.renewed.len(), g.granted.len()), (1, 0));
    match &reg.get("a").unwrap().assignment {
        Assignment::Assigned { agent, lease_until } => {
            assert_eq!(agent, "agent-a");
            assert_eq!(*lease_until, later + LEASE);
        }
        other => panic!("{other:?}"),
    }
    // A different spec under a running name is a conflict.
    assert!(reg.submit(&spec("a", "svc-a", "prod"), "a2").is_err());
}

#[test]
fn budget_caps_concurrent_canaries_per_label_and_finishing_frees_it() {
    let mut reg = Registry::default();
    for n in ["p1", "p2"] {
        reg.submit(&spec(n, "svc", "prod"), n).unwrap();
    }
    reg.submit(&spec("d1", "svc", "dev"), "d1").unwrap();
    let budgets = Budgets(vec!["env=prod:1".parse().unwrap()]);
    let a = agent("agent", &["svc"]);
    let now = Instant::now();
    let g = reg.heartbeat(&a, now, LEASE, &budgets);
    assert_eq!(g.granted, vec!["d1".to_string(), "p1".to_string()]);
    assert_eq!(g.waiting.len(), 1);
    assert!(g.waiting[0].1.contains("env=prod"));
    reg.finish("p1", "promoted");
    let g = reg.heartbeat(&a, now, LEASE, &budgets);
    assert_eq!(g.granted, vec!["p2".to_string()]);
}

fn event(seq: u64, rollout: &str, kind: &str, inputs: serde_json::Value) -> Event {
    Event {
        seq,
        time_ms: 0,
        rollout: rollout.into(),
        kind: kind.into(),
        actor: "test".into(),
        idempotency_key: None,
        inputs,
        statistics: json!({}),
        policy: None,
        rationale: String::new(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[test]
fn a_new_leader_rebuilds_assignments_and_outcomes_from_the_ledger() {
    let (a, b) = (spec("a", "svc-a", "prod"), spec("b", "svc-b", "prod"));
    let hash_a = rollguard_controller::registry::spec_hash(&a);
    let events = vec![
        event(1, "a", SUBMITTED_KIND, json!({"spec_yaml": a})),
        event(2, "b", SUBMITTED_KIND, json!({"spec_yaml": b})),
        event(
            3,
            "a",
            GRANTED_KIND,
            json!({"agent": "agent-a", "spec_hash": hash_a}),
        ),
        event(4, "b", "rolled_back", json!({})),
    ];
    let now = Instant::now();
    let mut reg = Registry::rebuild(&events, now, LEASE);
    assert_eq!(
        reg.get("a").unwrap().assignment,
        Assignment::Assigned {
            agent: "agent-a".into(),
            lease_until: now + LEASE
        }
    );
    assert!(matches!(
        reg.get("b").unwrap().assignment,
        Assignment::Finished { .. }
    ));
    // The rebuilt mandate renews on the agent's next heartbeat.
    let g = reg.heartbeat(
        &agent("agent-a", &["svc-a"]),
        now,
        LEASE,
        &Budgets::default(),
    );
    assert_eq!(g.renewed, vec!["a".to_string()]);
}
