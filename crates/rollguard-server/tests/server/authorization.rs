//! Every endpoint x (no token, wrong role, right role): 401 and 403 change
//! nothing (status, global pause, ledger), the right role gets through.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::*;

/// What must not move when a request is refused.
async fn snapshot(f: &Fixture) -> (Vec<(String, f64, String)>, Value, usize) {
    let rollouts = f
        .controller
        .statuses()
        .into_iter()
        .map(|s| {
            let v = serde_json::to_value(&s).expect("status serialises");
            (s.view.rollout.clone(), s.view.weight, state(&v).to_string())
        })
        .collect();
    let global = serde_json::to_value(f.controller.global()).expect("global serialises");
    let events = f
        .ledger
        .events(Default::default())
        .await
        .expect("ledger reads")
        .into_iter()
        .filter(|e| e.kind != "observed")
        .count();
    (rollouts, global, events)
}

/// A snapshot once the previous case's accepted command has fully landed
/// (rollout loops apply commands asynchronously): two equal snapshots in a row.
async fn settled_snapshot(f: &Fixture) -> (Vec<(String, f64, String)>, Value, usize) {
    let mut last = snapshot(f).await;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = snapshot(f).await;
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

struct Case {
    method: &'static str,
    path: String,
    body: String,
    /// Tokens whose role is too low (empty: the lowest role suffices).
    too_low: Vec<&'static str>,
    right: &'static str,
    expect_ok: StatusCode,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_missing_tokens_and_low_roles_and_changes_nothing() {
    let f = fixture().await;
    let waiting = f.rollout(
        "gated",
        "staging",
        &["setWeight: 10", "pause: {}", "setWeight: 30"],
    );
    f.start(&waiting).await;
    f.wait_for("gated", "the pause gate", |v| state(v) == "awaiting_human")
        .await;
    let fresh = f.rollout("fresh", "staging", &["setWeight: 10", "pause: {}"]);
    let op = vec![VIEWER];
    let cases = vec![
        Case {
            method: "GET",
            path: "/v1/rollouts".into(),
            body: String::new(),
            too_low: vec![],
            right: VIEWER,
            expect_ok: StatusCode::OK,
        },
        Case {
            method: "GET",
            path: "/v1/rollouts/gated".into(),
            body: String::new(),
            too_low: vec![],
            right: VIEWER,
            expect_ok: StatusCode::OK,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts".into(),
            body: fresh.clone(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::CREATED,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts/gated/pause".into(),
            body: r#"{"comment":"look"}"#.into(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::ACCEPTED,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts/gated/resume".into(),
            body: "{}".into(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::ACCEPTED,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts/gated/promote".into(),
            body: r#"{"full":true}"#.into(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::CONFLICT,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts/gated/approve".into(),
            body: r#"{"comment":"fine"}"#.into(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::ACCEPTED,
        },
        Case {
            method: "POST",
            path: "/v1/pause-all".into(),
            body: r#"{"comment":"incident"}"#.into(),
            too_low: vec![VIEWER, OPERATOR],
            right: ADMIN,
            expect_ok: StatusCode::OK,
        },
        Case {
            method: "POST",
            path: "/v1/resume-all".into(),
            body: "{}".into(),
            too_low: vec![VIEWER, OPERATOR],
            right: ADMIN,
            expect_ok: StatusCode::OK,
        },
        Case {
            method: "POST",
            path: "/v1/rollouts/fresh/abort".into(),
            body: "{}".into(),
            too_low: op.clone(),
            right: OPERATOR,
            expect_ok: StatusCode::ACCEPTED,
        },
    ];
    for c in &cases {
        let before = settled_snapshot(&f).await;
        for token in [None, Some("not-a-known-token")] {
            let (s, v) = f.call(c.method, &c.path, token, &c.body).await;
            assert_eq!(
                s,
                StatusCode::UNAUTHORIZED,
                "{} {} token {token:?}: {v}",
                c.method,
                c.path
            );
            assert_eq!(v["error"], "unauthorized");
        }
        for token in &c.too_low {
            let (s, v) = f.call(c.method, &c.path, Some(token), &c.body).await;
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "{} {} as {token}: {v}",
                c.method,
                c.path
            );
            assert_eq!(v["error"], "forbidden");
        }
        assert_eq!(
            snapshot(&f).await,
            before,
            "{} {} changed something on 401/403",
            c.method,
            c.path
        );
        let (s, v) = f.call(c.method, &c.path, Some(c.right), &c.body).await;
        assert_eq!(
            s, c.expect_ok,
            "{} {} with the right role: {v}",
            c.method, c.path
        );
        if c.path == "/v1/rollouts/gated/promote" {
            // otto is an operator but not a promoter: policy refuses, named in the ledger.
            assert_eq!(v["error"], "policy_denied", "{v}");
        }
    }
    let kinds = f.ledger_kinds("gated").await;
    assert!(
        kinds.contains(&("approved".into(), "otto".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("command_denied".into(), "otto".into())),
        "{kinds:?}"
    );
    let global = f.ledger_kinds("*").await;
    assert!(
        global.contains(&("global_pause".into(), "ada".into())),
        "{global:?}"
    );
    f.controller.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_endpoints_need_no_token() {
    let f = fixture().await;
    let (s, _) = f.call("GET", "/healthz", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, doc) = f.call("GET", "/v1/openapi.json", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/rollouts",
        "/v1/rollouts/{name}",
        "/v1/rollouts/{name}/approve",
        "/v1/rollouts/{name}/pause",
        "/v1/rollouts/{name}/resume",
        "/v1/rollouts/{name}/promote",
        "/v1/rollouts/{name}/abort",
        "/v1/pause-all",
        "/v1/resume-all",
        "/healthz",
        "/v1/openapi.json",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_400_naming_the_field() {
    let f = fixture().await;
    let (s, v) = f.call("POST", "/v1/rollouts", Some(OPERATOR), "apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata: {name: x}\nspec:\n  servce: shop\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["problems"][0]["line"].is_u64(), "{v}");
    let (s, v) = call(
        &f.app,
        "POST",
        "/v1/rollouts",
        Some(OPERATOR),
        r#"{"yaml": 3}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(
        (s, v["problems"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("yaml")),
        "{v}"
    );
    let yaml = f.rollout("held", "staging", &["pause: {}"]);
    f.start(&yaml).await;
    let (s, v) = f
        .call("POST", "/v1/rollouts/held/approve", Some(OPERATOR), "{}")
        .await;
    assert_eq!(
        (s, v["problems"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("comment")),
        "{v}"
    );
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts/held/pause",
            Some(OPERATOR),
            r#"{"comment": ["x"]}"#,
        )
        .await;
    assert_eq!(
        (s, v["problems"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("comment")),
        "{v}"
    );
    let (s, v) = f
        .call(
            "POST",
            "/v1/rollouts/held/promote",
            Some(OPERATOR),
            r#"{"full": "yes"}"#,
        )
        .await;
    assert_eq!(
        (s, v["problems"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("full")),
        "{v}"
    );
    let (s, _) = f
        .call("POST", "/v1/rollouts/nope/pause", Some(OPERATOR), "{}")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = f
        .call("POST", "/v1/rollouts/held/explode", Some(OPERATOR), "{}")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    f.controller.shutdown();
}
