//! Fixtures: a controller on a temporary ledger with the default bundle made
//! time-independent (business hours all day), two demo services, tokens of
//! every role, and helpers to call the API in-process with `oneshot`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rollguard_ledger::Ledger;
use rollguard_policy::{BundleFile, PolicyBundle};
use rollguard_server::{Controller, ControllerConfig, Policy, Role, Tokens, api};
use rollguard_testbed::{DemoService, ServiceBehavior};
use serde_json::Value;
use tower::ServiceExt;

pub const VIEWER: &str = "viewer-token-1";
pub const OPERATOR: &str = "operator-token-1";
pub const ADMIN: &str = "admin-token-1";

pub struct Fixture {
    pub app: Router,
    pub controller: Controller,
    pub ledger: Ledger,
    pub baseline: DemoService,
    pub canary: DemoService,
    _dir: tempfile::TempDir,
}

/// The default bundle with business hours all day, every day, so tests do not
/// depend on when they run.
pub fn all_day_policy() -> Policy {
    let bundle = PolicyBundle::default_bundle().expect("default bundle loads");
    let files = bundle
        .files()
        .iter()
        .map(|f| {
            let mut f: BundleFile = f.clone();
            if f.path == "data.yaml" {
                f.contents = f
                    .contents
                    .replace("start: 9 ", "start: 0 ")
                    .replace("end: 17 ", "end: 24 ")
                    .replace(
                        "weekdays: [monday, tuesday, wednesday, thursday, friday]",
                        "weekdays: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]",
                    );
            }
            f
        })
        .collect();
    let bundle = PolicyBundle::from_files("all-day", files).expect("test bundle loads");
    Policy::from_bundle(bundle).expect("test bundle compiles")
}

pub fn tokens() -> Tokens {
    Tokens::new()
        .with(VIEWER, "vera", Role::Viewer)
        .with(OPERATOR, "otto", Role::Operator)
        .with(ADMIN, "ada", Role::Admin)
}

pub async fn fixture() -> Fixture {
    fixture_with(all_day_policy()).await
}

pub async fn fixture_with(policy: Policy) -> Fixture {
    fixture_full(policy, None, tokens()).await
}

pub async fn fixture_full(
    policy: Policy,
    notifier: Option<std::sync::Arc<dyn rollguard_core::ports::Notifier>>,
    tokens: Tokens,
) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path.display().to_string())
        .await
        .expect("ledger opens");
    let controller = Controller::new(ControllerConfig {
        ledger: Some(ledger.clone()),
        policy,
        notifier,
        agent: "rollguard".into(),
        error_budgets: Default::default(),
    });
    let baseline = DemoService::start("baseline", ServiceBehavior::healthy())
        .await
        .expect("baseline starts");
    let canary = DemoService::start("canary", ServiceBehavior::healthy())
        .await
        .expect("canary starts");
    Fixture {
        app: api::router(controller.clone(), tokens),
        controller,
        ledger,
        baseline,
        canary,
        _dir: dir,
    }
}

impl Fixture {
    /// Rollout YAML named `name` in `env` with these steps (YAML flow list items).
    pub fn rollout(&self, name: &str, env: &str, steps: &[&str]) -> String {
        let steps: String = steps.iter().map(|s| format!("      - {s}\n")).collect();
        format!(
            "apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata:\n  name: {name}\n  labels: {{env: {env}}}\nspec:\n  service: shop\n  baseline: {{version: v1, endpoint: \"http://{}\"}}\n  canary: {{version: v2, endpoint: \"http://{}\"}}\n  router:\n    builtin: {{listen: \"127.0.0.1:0\"}}\n  telemetry: {{interval: 200ms}}\n  strategy:\n    steps:\n{steps}  analysis:\n    metrics:\n      - name: errors\n        errorRate: {{}}\n        maxIncrease: {{relative: 0.5, absolute: 0.05}}\n        noDataTimeout: 10m\n",
            self.baseline.addr(),
            self.canary.addr()
        )
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        call(&self.app, method, uri, token, body, None).await
    }

    pub async fn start(&self, yaml: &str) -> Value {
        let (s, v) = self
            .call("POST", "/v1/rollouts", Some(OPERATOR), yaml)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn status(&self, name: &str) -> Value {
        let (s, v) = self
            .call("GET", &format!("/v1/rollouts/{name}"), Some(VIEWER), "")
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Polls the status until `pred` holds (generous limit: slow shared machine).
    pub async fn wait_for(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..600 {
            last = self.status(name).await;
            if pred(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name}: timed out waiting for {what}; last status {last:#}");
    }

    pub async fn ledger_kinds(&self, rollout: &str) -> Vec<(String, String)> {
        self.ledger
            .events(rollguard_ledger::EventFilter {
                rollout: Some(rollout.to_string()),
                ..Default::default()
            })
            .await
            .expect("ledger reads")
            .into_iter()
            .map(|e| (e.kind, e.actor))
            .collect()
    }
}

pub fn state(v: &Value) -> &str {
    v["state"]["status"].as_str().unwrap_or("")
}

pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req
        .body(Body::from(body.to_string()))
        .expect("request builds");
    let resp = app.clone().oneshot(req).await.expect("router answers");
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body reads")
        .to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}
