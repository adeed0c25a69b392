//! The HAProxy router against a real HAProxy (split on the wire, read-back,
//! socket gone), hooks (exec timeout/kill, retries, webhooks), notifications
//! (Slack and JSON payloads, retries, never blocking) and the wrk parser.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use rollguard_actuators::bench::parse_wrk;
use rollguard_actuators::haproxy::{HaproxyError, percent_of, weights_for};
use rollguard_actuators::hooks::HookContext;
use rollguard_actuators::notify::{WebhookConfig, WebhookNotifier};
use rollguard_actuators::testing::HaproxyServer;
use rollguard_actuators::{HaproxyRouter, HookRunner};
use rollguard_core::ports::{Notifier, TrafficRouter};
use rollguard_core::spec::{HaproxyRouterSpec, HookAction, HookSpec, HookStage};
use rollguard_testbed::{DemoService, LoadConfig, LoadGenerator, ServiceBehavior};

async fn send(target: std::net::SocketAddr, n: u64) {
    let uri: http::Uri = format!("http://{target}/").parse().expect("uri");
    let cfg = LoadConfig::new(uri, 400.0, Duration::from_secs(30)).with_max_requests(n);
    let stats = LoadGenerator::start(cfg).expect("load").wait().await;
    assert_eq!(stats.ok, n, "{stats:?}");
}

#[test]
fn weights_are_exact_to_a_256th() {
    assert_eq!(weights_for(0.0), (0, 256));
    assert_eq!(weights_for(25.0), (64, 192));
    assert_eq!(weights_for(100.0), (256, 0));
    assert_eq!(weights_for(f64::NAN), (0, 256));
    assert_eq!(percent_of(64, 192), Some(25.0));
    assert_eq!(percent_of(0, 0), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_router_splits_traffic_on_the_wire_and_reports_only_applied_weights() {
    let v1 = DemoService::start("v1", ServiceBehavior::healthy())
        .await
        .expect("v1");
    let v2 = DemoService::start("v2", ServiceBehavior::healthy())
        .await
        .expect("v2");
    let mut haproxy = HaproxyServer::start(&[("v1", v1.addr(), 256), ("v2", v2.addr(), 0)])
        .await
        .expect("haproxy starts (Debian package `haproxy`)");
    let spec = HaproxyRouterSpec {
        socket: haproxy.socket().display().to_string(),
        backend: "web".into(),
        baseline_server: "v1".into(),
        canary_server: "v2".into(),
    };
    let router = HaproxyRouter::new(&spec).with_retries(3, Duration::from_millis(20));
    assert_eq!(router.observed_weight().await, Ok(0.0));

    router.set_weight(25.0).await.expect("set 25%");
    assert_eq!(router.observed_weight().await, Ok(25.0));
    assert_eq!(router.weights().await, Ok((64, 192)));
    send(haproxy.frontend, 400).await;
    let share = v2.requests() as f64 / (v1.requests() + v2.requests()) as f64;
    assert!(
        (0.18..0.32).contains(&share),
        "canary got {share} of the traffic at 25%"
    );

    // Rollback restores the baseline: nothing more reaches the canary.
    router.set_weight(0.0).await.expect("set 0%");
    assert_eq!(router.weights().await, Ok((0, 256)));
    let canary_before = v2.requests();
    send(haproxy.frontend, 100).await;
    assert_eq!(v2.requests(), canary_before);

    // Idempotent.
    router.set_weight(0.0).await.expect("again");

    // A server HAProxy does not know: refused, not retried.
    let wrong = HaproxyRouter::new(&HaproxyRouterSpec {
        canary_server: "nope".into(),
        ..spec.clone()
    });
    let err = wrong.set_weight(10.0).await.expect_err("no such server");
    assert!(!err.retryable, "{err}");
    assert_eq!(
        router.observed_weight().await,
        Ok(0.0),
        "the failed change left nothing behind"
    );

    // The socket goes away: retryable errors naming it; no weight reported.
    haproxy.kill();
    let err = router.set_weight(50.0).await.expect_err("socket gone");
    assert!(err.retryable, "{err}");
    assert!(err.message.contains("admin.sock"), "{err}");
    assert!(router.observed_weight().await.is_err());
    let api_err = router.weights().await.expect_err("gone");
    assert!(
        matches!(api_err, HaproxyError::Connect { .. }),
        "{api_err:?}"
    );
}

fn hook(action: HookAction, timeout: u64, retries: u32) -> HookSpec {
    HookSpec {
        name: "test-hook".into(),
        action,
        timeout,
        retries,
    }
}

fn exec(args: &[&str]) -> HookAction {
    HookAction::Exec {
        command: args.iter().map(|s| s.to_string()).collect(),
    }
}

fn ctx(stage: HookStage) -> HookContext {
    HookContext {
        rollout: "web".into(),
        service: "shop".into(),
        stage,
        step: 2,
        weight: 10.0,
    }
}

#[tokio::test]
async fn exec_hooks_succeed_fail_retry_and_see_the_context() {
    let runner = HookRunner::new().with_backoff(Duration::from_millis(10));
    let ok = runner
        .run(
            &hook(
                exec(&[
                    "sh",
                    "-c",
                    "test \"$ROLLGUARD_STAGE:$ROLLGUARD_ROLLOUT:$ROLLGUARD_STEP\" = preStep:web:2",
                ]),
                5_000,
                0,
            ),
            &ctx(HookStage::PreStep),
        )
        .await;
    assert!(ok.ok, "{ok}");
    let failed = runner
        .run(
            &hook(exec(&["sh", "-c", "echo broken >&2; exit 3"]), 5_000, 2),
            &ctx(HookStage::PreStep),
        )
        .await;
    assert!(!failed.ok);
    assert_eq!(failed.attempts, 3);
    assert!(
        failed.detail.contains("broken") && failed.detail.contains('3'),
        "{failed}"
    );
    let missing = runner
        .run(
            &hook(exec(&["/nonexistent/hook"]), 5_000, 0),
            &ctx(HookStage::PreStep),
        )
        .await;
    assert!(
        !missing.ok && missing.detail.contains("cannot start"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_hung_hook_is_killed_at_its_timeout() {
    let runner = HookRunner::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("survived");
    let script = format!("sleep 30; touch {}", marker.display());
    let started = Instant::now();
    let o = runner
        .run(
            &hook(exec(&["sh", "-c", &script]), 300, 0),
            &ctx(HookStage::OnRollback),
        )
        .await;
    assert!(!o.ok);
    assert!(o.detail.contains("killed after its 300 ms timeout"), "{o}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the hook"
    );
    assert!(!marker.exists());
}

#[derive(Clone, Default)]
struct Received {
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Received>, body: String) -> StatusCode {
    {
        let mut f = r.fail_first.lock().expect("lock");
        if *f > 0 {
            *f -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    if let Ok(v) = serde_json::from_str(&body) {
        r.bodies.lock().expect("lock").push(v);
    }
    StatusCode::OK
}

async fn receiver(fail_first: u32) -> (String, Received) {
    let r = Received::default();
    *r.fail_first.lock().expect("lock") = fail_first;
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), r)
}

#[tokio::test]
async fn webhook_hooks_retry_until_2xx() {
    let (url, r) = receiver(2).await;
    let runner = HookRunner::new().with_backoff(Duration::from_millis(10));
    let o = runner
        .run(
            &hook(HookAction::Webhook { url: url.clone() }, 2_000, 2),
            &ctx(HookStage::PrePromote),
        )
        .await;
    assert!(o.ok && o.attempts == 3, "{o}");
    let body = r.bodies.lock().expect("lock")[0].clone();
    assert_eq!(body["stage"], "pre_promote");
    assert_eq!(body["rollout"], "web");
    let (url, _) = receiver(10).await;
    let o = runner
        .run(
            &hook(HookAction::Webhook { url }, 2_000, 1),
            &ctx(HookStage::PrePromote),
        )
        .await;
    assert!(!o.ok && o.detail.contains("503"), "{o}");
    // A blocking stage stops at its first failure.
    let bad = hook(exec(&["false"]), 1_000, 0);
    let good = hook(exec(&["true"]), 1_000, 0);
    let (ok, outcomes) = runner
        .run_stage(&[bad.clone(), good.clone()], &ctx(HookStage::PreStep))
        .await;
    assert!(!ok && outcomes.len() == 1);
    let (ok, outcomes) = runner
        .run_stage(&[bad, good], &ctx(HookStage::OnRollback))
        .await;
    assert!(!ok && outcomes.len() == 2, "onRollback runs every hook");
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn notifications_send_slack_and_json_payloads_with_retries() {
    let (url, r) = receiver(2).await;
    let mut cfg = WebhookConfig::new(&url);
    cfg.backoff = Duration::from_millis(10);
    let slack = WebhookNotifier::slack(cfg.clone()).expect("runtime");
    slack.notify(
        "web",
        "rolled_back",
        "web: rolled back: errors 3x the baseline",
    );
    wait_for(|| {
        slack
            .stats()
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed)
            == 1
    })
    .await;
    let body = r.bodies.lock().expect("lock")[0].clone();
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("web rolled back")),
        "{body}"
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    let json = WebhookNotifier::json(cfg).expect("runtime");
    json.notify("web", "promoted", "all steps passed");
    wait_for(|| {
        json.stats()
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed)
            == 1
    })
    .await;
    let body = r.bodies.lock().expect("lock")[1].clone();
    assert_eq!(body["kind"], "promoted");
    assert_eq!(body["rollout"], "web");
}

#[tokio::test]
async fn a_dead_endpoint_never_blocks_the_caller() {
    let port = rollguard_actuators::testing::free_port().expect("port");
    let mut cfg = WebhookConfig::new(&format!("http://127.0.0.1:{port}/hook"));
    cfg.attempts = 2;
    cfg.backoff = Duration::from_millis(10);
    let n = WebhookNotifier::slack(cfg).expect("runtime");
    for i in 0..(rollguard_actuators::notify::QUEUE as u32 + 10) {
        n.notify("web", "awaiting_human", &format!("message {i}"));
    }
    // notify() only queued: the overflow was dropped rather than waited for.
    assert!(n.stats().dropped.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    wait_for(|| n.stats().failed.load(std::sync::atomic::Ordering::Relaxed) >= 1).await;
    assert!(n.stats().failed.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}

#[test]
fn wrk_output_is_parsed() {
    let out = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.52ms  300.00us   9.00ms   90.00%\n  Latency Distribution\n     50%    1.40ms\n     75%    1.60ms\n     90%    1.90ms\n     99%  850.00us\n  61234 requests in 5.00s, 7.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 4\nRequests/sec:  12246.80\nTransfer/sec:      1.40MB\n";
    let r = parse_wrk(out).expect("parsed");
    assert_eq!(r.requests, 61234);
    assert_eq!(r.errors, 7);
    assert!((r.p50_ms - 1.4).abs() < 1e-9 && (r.p99_ms - 0.85).abs() < 1e-9);
    assert!((r.requests_per_sec - 12246.8).abs() < 1e-9);
    assert!(parse_wrk("garbage").is_none());
}
