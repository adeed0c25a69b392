//! End to end against real servers: a rollout judged on Prometheus metrics
//! with traffic moved by HAProxy (one healthy canary promoted, one failing
//! canary rolled back with its onRollback hook run after traffic left), a
//! failing canary caught under shadow traffic before any user saw it, a
//! failing pre-step hook that blocks, and `onFailure: freeze`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use rollguard_actuators::HaproxyRouter;
use rollguard_actuators::testing::HaproxyServer;
use rollguard_core::ports::Notifier;
use rollguard_core::spec::HaproxyRouterSpec;
use rollguard_core::{Outcome, Rollout};
use rollguard_ledger::{EventFilter, Ledger};
use rollguard_runtime::{LiveRollout, Progress, RunOptions, RunSummary, Snapshot};
use rollguard_telemetry::testing::{PrometheusServer, ScrapeTarget};
use rollguard_testbed::{DemoService, LoadConfig, LoadGenerator, LoadHandle, ServiceBehavior};

struct Quiet;

impl Progress for Quiet {
    fn update(&mut self, _: &Snapshot<'_>) {}
    fn message(&mut self, _: &str) {}
}

#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

impl Notifier for Recorded {
    fn notify(&self, _rollout: &str, kind: &str, _message: &str) {
        self.0.lock().expect("lock").push(kind.to_string());
    }
}

fn load(target: SocketAddr, rps: f64) -> LoadHandle {
    let uri: http::Uri = format!("http://{target}/").parse().expect("uri");
    LoadGenerator::start(LoadConfig::new(uri, rps, Duration::from_secs(120))).expect("load")
}

async fn run(rollout: Rollout, opts: RunOptions) -> RunSummary {
    let live = LiveRollout::prepare(Arc::new(rollout), opts)
        .await
        .expect("prepare");
    let mut quiet = Quiet;
    let run = live.run(&mut quiet, Box::pin(std::future::pending()));
    tokio::time::timeout(Duration::from_secs(150), run)
        .await
        .expect("the rollout ends")
        .expect("run")
}

fn spec(text: &str) -> Rollout {
    rollguard_core::spec::load(text, "e2e.yaml").expect("valid rollout")
}

/// Weights HAProxy reported when the webhook hook arrived.
#[derive(Clone)]
struct HookSeen {
    router: Arc<HaproxyRouter>,
    weights: Arc<Mutex<Vec<(u32, u32)>>>,
}

async fn on_hook(State(s): State<HookSeen>) -> &'static str {
    if let Ok(w) = s.router.weights().await {
        s.weights.lock().expect("lock").push(w);
    }
    "ok"
}

struct Stack {
    v1: DemoService,
    v2: DemoService,
    haproxy: HaproxyServer,
    prom: PrometheusServer,
    load: LoadHandle,
}

async fn stack(canary: ServiceBehavior) -> Stack {
    let v1 = DemoService::start("v1", ServiceBehavior::healthy())
        .await
        .expect("v1");
    let v2 = DemoService::start("v2", canary).await.expect("v2");
    let haproxy = HaproxyServer::start(&[("v1", v1.addr(), 256), ("v2", v2.addr(), 0)])
        .await
        .expect("haproxy starts (Debian package `haproxy`)");
    let prom = PrometheusServer::start(&[ScrapeTarget {
        job: "haproxy".into(),
        addr: haproxy.exporter,
        metrics_path: "/metrics".into(),
    }])
    .await
    .expect("prometheus starts (Debian package `prometheus`)");
    let load = load(haproxy.frontend, 150.0);
    prom.wait_for(
        r#"sum(haproxy_server_http_responses_total{proxy="web",server="v1"})"#,
        50.0,
        Duration::from_secs(60),
    )
    .await
    .expect("HAProxy's counters reach Prometheus");
    Stack {
        v1,
        v2,
        haproxy,
        prom,
        load,
    }
}

fn haproxy_rollout(s: &Stack, hook_url: &str) -> Rollout {
    spec(&format!(
        r#"
apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata: {{name: shop-haproxy}}
spec:
  service: shop
  baseline: {{version: v1}}
  canary: {{version: v2}}
  router:
    haproxy: {{socket: "{socket}", backend: web, baselineServer: v1, canaryServer: v2}}
  telemetry:
    interval: 3s
    prometheus: {{url: "{prom}", timeout: 2s}}
  strategy:
    steps:
      - setWeight: 50
      - analyze: {{minDuration: 5s, maxDuration: 90s}}
  analysis:
    alpha: 0.01
    onMaxDuration: rollback
    metrics:
      - name: errors
        prometheus:
          total: 'sum(increase(haproxy_server_http_responses_total{{proxy="web",server="{{{{version}}}}"}}[{{{{window}}}}]))'
          bad: 'sum(increase(haproxy_server_http_responses_total{{proxy="web",server="{{{{version}}}}",code="5xx"}}[{{{{window}}}}]))'
        maxIncrease: {{relative: 1.0, absolute: 0.05}}
        abortAbove: 0.3
        noDataTimeout: 30s
  hooks:
    onRollback:
      - name: flag-off
        webhook: {{url: "{hook_url}", timeout: 5s}}
"#,
        socket = s.haproxy.socket().display(),
        prom = s.prom.url(),
    ))
}

async fn hook_receiver(router: Arc<HaproxyRouter>) -> (String, Arc<Mutex<Vec<(u32, u32)>>>) {
    let weights = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/flag-off", post(on_hook))
        .with_state(HookSeen {
            router,
            weights: weights.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/flag-off"), weights)
}

fn router_of(r: &Rollout) -> Arc<HaproxyRouter> {
    let rollguard_core::spec::RouterSpec::Haproxy(h) = &r.router else {
        panic!("haproxy rollout");
    };
    Arc::new(HaproxyRouter::new(&HaproxyRouterSpec { ..h.clone() }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_haproxy_promote_a_healthy_canary() {
    let s = stack(ServiceBehavior::healthy()).await;
    let r = haproxy_rollout(&s, "http://127.0.0.1:9/unused");
    let router = router_of(&r);
    let summary = run(r, RunOptions::new(None)).await;
    assert_eq!(summary.outcome, Some(Outcome::Promoted), "{summary:?}");
    assert_eq!(
        router.weights().await,
        Ok((256, 0)),
        "all traffic on the canary"
    );
    assert!(
        s.v2.requests() > 100,
        "the canary served users: {}",
        s.v2.requests()
    );
    s.load.stop();
    let _ = &s.v1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_haproxy_roll_back_a_failing_canary_then_run_the_hook() {
    let s = stack(ServiceBehavior::healthy().with_error_rate(0.5)).await;
    let probe = router_of(&haproxy_rollout(&s, "http://127.0.0.1:9/"));
    let (hook_url, seen) = hook_receiver(probe.clone()).await;
    let r = haproxy_rollout(&s, &hook_url);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
        .await
        .expect("ledger");
    let notes = Arc::new(Recorded::default());
    let mut opts = RunOptions::new(Some(ledger));
    opts.notifier = Some(notes.clone());
    let summary = run(r, opts).await;
    assert_eq!(summary.outcome, Some(Outcome::RolledBack), "{summary:?}");
    assert_eq!(probe.weights().await, Ok((0, 256)), "baseline restored");
    assert_eq!(
        seen.lock().expect("lock").clone(),
        vec![(0, 256)],
        "the onRollback hook ran once, after traffic left the canary"
    );
    assert!(
        notes
            .0
            .lock()
            .expect("lock")
            .contains(&"rolled_back".to_string())
    );
    let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
        .await
        .expect("reopen");
    let events = ledger.events(EventFilter::default()).await.expect("events");
    let hook = events
        .iter()
        .find(|e| e.kind == "hook_ran")
        .expect("hook in the ledger");
    assert!(
        hook.rationale.contains("onRollback hooks (step 2) passed"),
        "{}",
        hook.rationale
    );
    s.load.stop();
}

fn builtin_rollout(
    name: &str,
    base: &DemoService,
    canary: &DemoService,
    extra: &str,
    steps: &str,
) -> Rollout {
    spec(&format!(
        r#"
apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: shop
  baseline: {{version: v1, endpoint: "{b}"}}
  canary: {{version: v2, endpoint: "{c}"}}
  router:
    builtin: {{listen: "127.0.0.1:0", mirrorPercent: 100}}
  telemetry: {{interval: 1s}}
  strategy:
    steps:
{steps}
  analysis:
    onMaxDuration: rollback
    metrics:
      - name: errors
        errorRate: {{}}
        abortAbove: 0.5
{extra}
"#,
        b = base.uri(),
        c = canary.uri(),
    ))
}

async fn run_with_load(r: Rollout, opts: RunOptions) -> (RunSummary, rollguard_testbed::LoadStats) {
    let live = LiveRollout::prepare(Arc::new(r), opts)
        .await
        .expect("prepare");
    let addr = live.proxy_addr().expect("builtin proxy");
    let load = load(addr, 100.0);
    let mut quiet = Quiet;
    let summary = tokio::time::timeout(
        Duration::from_secs(120),
        live.run(&mut quiet, Box::pin(std::future::pending())),
    )
    .await
    .expect("ends")
    .expect("run");
    load.stop();
    (summary, load.wait().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_failing_under_shadow_traffic_is_rolled_back_having_served_no_user() {
    let v1 = DemoService::start("v1", ServiceBehavior::healthy())
        .await
        .expect("v1");
    let v2 = DemoService::start("v2", ServiceBehavior::healthy().with_error_rate(1.0))
        .await
        .expect("v2");
    let r = builtin_rollout(
        "shadow",
        &v1,
        &v2,
        "",
        "      - analyze: {minDuration: 3s, maxDuration: 60s}\n      - setWeight: 50",
    );
    let (summary, users) = run_with_load(r, RunOptions::new(None)).await;
    assert_eq!(summary.outcome, Some(Outcome::RolledBack), "{summary:?}");
    assert!(v2.shadow_requests() > 0, "the canary got shadow traffic");
    assert_eq!(
        v2.requests(),
        v2.shadow_requests(),
        "no user request reached the canary"
    );
    // (Requests after the run shut the proxy down fail to connect; none was
    // answered by the canary, and none got its 500.)
    assert!(!users.by_service.contains_key("v2"), "{users:?}");
    assert!(!users.by_status.contains_key(&500), "{users:?}");
    assert!(users.ok > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_pre_step_hook_blocks_and_freeze_holds_traffic() {
    let v1 = DemoService::start("v1", ServiceBehavior::healthy())
        .await
        .expect("v1");
    let v2 = DemoService::start("v2", ServiceBehavior::healthy())
        .await
        .expect("v2");
    // A failing preStep hook: the rollout waits for a person, the canary at 0%.
    let hooks = "  hooks:\n    preStep:\n      - exec: {command: [\"sh\", \"-c\", \"echo no flag service >&2; exit 1\"], timeout: 5s}";
    let r = builtin_rollout("blocked", &v1, &v2, hooks, "      - setWeight: 50");
    let mut opts = RunOptions::new(None);
    opts.exit_when_waiting = true;
    let (summary, _) = run_with_load(r, opts).await;
    assert_eq!(summary.outcome, None, "{summary:?}");
    assert_eq!(summary.status, "awaiting_human");
    assert!(
        summary.reason.contains("preStep hooks (step 1) failed")
            && summary.reason.contains("no flag service"),
        "{}",
        summary.reason
    );
    assert_eq!(summary.final_weight, 0.0);
    assert_eq!(
        v2.requests(),
        v2.shadow_requests(),
        "no user reached the canary"
    );

    // onFailure: freeze: a failing canary at 20% stays at 20% and a person is told.
    v2.set_behavior(ServiceBehavior::healthy().with_error_rate(0.9))
        .expect("behavior");
    let freeze = "  onFailure: freeze";
    let r = builtin_rollout(
        "frozen",
        &v1,
        &v2,
        freeze,
        "      - setWeight: 20\n      - analyze: {minDuration: 30s, maxDuration: 60s}",
    );
    let notes = Arc::new(Recorded::default());
    let mut opts = RunOptions::new(None);
    opts.notifier = Some(notes.clone());
    let (summary, _) = run_with_load(r, opts).await;
    assert_eq!(summary.outcome, Some(Outcome::Frozen), "{summary:?}");
    assert_eq!(summary.final_weight, 20.0, "traffic held where it was");
    assert!(
        notes
            .0
            .lock()
            .expect("lock")
            .contains(&"frozen".to_string())
    );
}
