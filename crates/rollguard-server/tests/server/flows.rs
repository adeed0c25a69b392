//! End to end: real rollouts through the builtin proxy to two demo services
//! under load, driven through the API: the approval gate, the global pause,
//! policy refusals (concurrency budget, promoters, a bundle that does not
//! compile) and the webhook escalation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use rollguard_server::{Caller, Role, WebhookNotifier, notify::WebhookPayload};
use rollguard_testbed::{LoadConfig, LoadGenerator, LoadHandle};

use crate::support::*;

fn load_through(status: &serde_json::Value) -> LoadHandle {
    let proxy = status["proxy"]
        .as_str()
        .expect("builtin proxy address in the status");
    let uri = format!("http://{proxy}/checkout")
        .parse()
        .expect("proxy uri");
    LoadGenerator::start(LoadConfig::new(uri, 100.0, Duration::from_secs(120)))
        .expect("load starts")
}

/// A webhook receiver on 127.0.0.1:0 that keeps what it gets.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<WebhookPayload>>>) {
    let got: Arc<Mutex<Vec<WebhookPayload>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(p): axum::Json<WebhookPayload>| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("sink").push(p);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_gate_waits_for_an_operator_and_escalates_by_webhook() {
    let (url, got) = webhook_receiver().await;
    let notifier = WebhookNotifier::start(&url).expect("notifier starts");
    let f = fixture_full(all_day_policy(), Some(Arc::new(notifier)), tokens()).await;
    let yaml = f.rollout(
        "checkout",
        "staging",
        &["setWeight: 20", "pause: {}", "setWeight: 60"],
    );
    let started = f.start(&yaml).await;
    let load = load_through(&started);
    let waiting = f
        .wait_for("checkout", "the pause gate", |v| {
            state(v) == "awaiting_human"
        })
        .await;
    assert_eq!(waiting["weight"], 20.0);
    // The listing shows it waiting too.
    let (_, all) = f.call("GET", "/v1/rollouts", Some(VIEWER), "").await;
    assert_eq!(state(&all["rollouts"][0]), "awaiting_human", "{all}");
    // A viewer cannot approve; nothing moves.
    let (s, _) = f
        .call(
            "POST",
            "/v1/rollouts/checkout/approve",
            Some(VIEWER),
            r#"{"comment":"lgtm"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(state(&f.status("checkout").await), "awaiting_human");
    // The escalation reached the webhook.
    for _ in 0..100 {
        if got
            .lock()
            .expect("sink")
            .iter()
            .any(|p| p.kind == "awaiting_human")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hooks = got.lock().expect("sink").clone();
    assert!(
        hooks
            .iter()
            .any(|p| p.kind == "awaiting_human" && p.rollout == "checkout"),
        "{hooks:?}"
    );
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts/checkout/approve",
            Some(OPERATOR),
            r#"{"comment":"dashboards fine"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let done = f
        .wait_for("checkout", "promotion", |v| state(v) == "done")
        .await;
    assert_eq!(done["state"]["outcome"], "promoted", "{done}");
    assert_eq!(done["weight"], 100.0);
    load.stop();
    let kinds = f.ledger_kinds("checkout").await;
    assert!(
        kinds.contains(&("approved".into(), "otto".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("command_allowed".into(), "otto".into())),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|(k, _)| k == "promoted"), "{kinds:?}");
    let report = f.ledger.verify().await.expect("verifies");
    assert!(report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_pause_stops_every_rollout_from_raising_weight() {
    let f = fixture().await;
    for name in ["alpha", "beta"] {
        let yaml = f.rollout(
            name,
            "staging",
            &["setWeight: 10", "pause: {}", "setWeight: 40"],
        );
        f.start(&yaml).await;
        f.wait_for(name, "the pause gate", |v| state(v) == "awaiting_human")
            .await;
    }
    let (s, v) = f
        .call(
            "POST",
            "/v1/pause-all",
            Some(ADMIN),
            r#"{"comment":"incident 42"}"#,
        )
        .await;
    assert_eq!(
        (s, v["global_pause"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    // Approving is allowed, raising the weight is not.
    for name in ["alpha", "beta"] {
        let (s, v) = f
            .call(
                "POST",
                &format!("/v1/rollouts/{name}/approve"),
                Some(OPERATOR),
                r#"{"comment":"go"}"#,
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        let held = f
            .wait_for(name, "the global pause hold", |v| {
                v["state"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("global pause"))
            })
            .await;
        assert_eq!(held["weight"], 10.0, "{held}");
    }
    // Nor may anyone resume, promote or start while it is on.
    let (s, v) = f
        .call("POST", "/v1/rollouts/alpha/resume", Some(OPERATOR), "{}")
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("policy_denied")),
        "{v}"
    );
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts",
            Some(OPERATOR),
            &f.rollout("gamma", "staging", &["pause: {}"]),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("policy_denied")),
        "{v}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    for name in ["alpha", "beta"] {
        assert_eq!(f.status(name).await["weight"], 10.0);
    }
    let (s, v) = f.call("POST", "/v1/resume-all", Some(ADMIN), "{}").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["resumed"].as_array().map(Vec::len), Some(2), "{v}");
    for name in ["alpha", "beta"] {
        let done = f.wait_for(name, "promotion", |v| state(v) == "done").await;
        assert_eq!(done["state"]["outcome"], "promoted", "{done}");
    }
    let global = f.ledger_kinds("*").await;
    assert_eq!(
        global,
        vec![
            ("global_pause".to_string(), "ada".to_string()),
            ("global_resume".into(), "ada".into())
        ]
    );
    f.controller.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_does_not_compile_keeps_the_rollout_from_starting() {
    let f = fixture().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("broken.rego"),
        "package rollguard\n\ndeny contains msg if {\n  msg := \n}\n",
    )
    .expect("writes");
    let mut yaml = f.rollout("brittle", "staging", &["pause: {}"]);
    yaml.push_str(&format!(
        "  policy: {{bundle: \"{}\"}}\n",
        dir.path().display()
    ));
    let (s, v) = f.call("POST", "/v1/rollouts", Some(OPERATOR), &yaml).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("policy_compile")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("broken.rego:"),
        "the error names file:line: {message}"
    );
    let (_, all) = f.call("GET", "/v1/rollouts", Some(VIEWER), "").await;
    assert_eq!(all["rollouts"].as_array().map(Vec::len), Some(0), "{all}");
    assert!(f.ledger_kinds("brittle").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_budget_and_promoters_are_enforced() {
    let mut tokens = tokens();
    tokens.insert(
        "promoter-token-1",
        Caller {
            name: "rita".into(),
            role: Role::Operator,
            roles: vec!["release-manager".into()],
        },
    );
    let f = fixture_full(all_day_policy(), None, tokens).await;
    for name in ["p1", "p2"] {
        f.start(&f.rollout(name, "prod", &["setWeight: 10", "pause: {}"]))
            .await;
    }
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts",
            Some(OPERATOR),
            &f.rollout("p3", "prod", &["pause: {}"]),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("policy_denied")),
        "{v}"
    );
    assert!(
        v["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("maximum is 2")),
        "{v}"
    );
    // otto is no promoter; rita is (release-manager).
    f.wait_for("p1", "the pause gate", |v| state(v) == "awaiting_human")
        .await;
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts/p1/promote",
            Some(OPERATOR),
            r#"{"full": true}"#,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("policy_denied")),
        "{v}"
    );
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts/p1/promote",
            Some("promoter-token-1"),
            r#"{"full": true, "comment": "hotfix"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let done = f.wait_for("p1", "promotion", |v| state(v) == "done").await;
    assert_eq!(done["state"]["outcome"], "promoted", "{done}");
    // p1 finished: the budget has room again.
    f.start(&f.rollout("p3", "prod", &["pause: {}"])).await;
    let (s, _) = f
        .call("POST", "/v1/rollouts/p2/abort", Some(OPERATOR), "{}")
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let aborted = f.wait_for("p2", "abort", |v| state(v) == "done").await;
    assert_eq!(aborted["state"]["outcome"], "aborted");
    f.controller.shutdown();
}
