//! The Prometheus source against a fake Prometheus (error answers: NaN, empty
//! vector, HTML, 5xx, slow, garbage) and against a real Prometheus scraping
//! the builtin proxy's `/rollguard/metrics`.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rollguard_core::ports::MetricSource;
use rollguard_core::{MetricData, Rollout};
use rollguard_proxy::{Proxy, ProxyConfig};
use rollguard_telemetry::testing::{PrometheusServer, ScrapeTarget};
use rollguard_telemetry::{PromError, PrometheusSource, Role, render_query};
use rollguard_testbed::{DemoService, LoadConfig, LoadGenerator, ServiceBehavior};

fn rollout(url: &str, total: &str, bad: &str) -> Rollout {
    let yaml = format!(
        r#"
apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata: {{name: prom-test}}
spec:
  service: shop
  baseline: {{version: v1, endpoint: "http://127.0.0.1:1"}}
  canary: {{version: v2, endpoint: "http://127.0.0.1:2"}}
  telemetry:
    interval: 1s
    prometheus: {{url: "{url}", timeout: 500ms}}
  strategy:
    steps:
      - setWeight: 50
  analysis:
    metrics:
      - name: errors
        prometheus:
          total: '{total}'
          bad: '{bad}'
"#
    );
    rollguard_core::spec::load(&yaml, "prom-test.yaml").expect("test rollout is valid")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fake Prometheus: the query text picks the answer.
async fn fake(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let query = q.get("query").cloned().unwrap_or_default();
    let vector = |v: &str| {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.0,"{v}"]}}]}}}}"#
        )
    };
    let json = |body: String| ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if query.starts_with("nan") {
        json(vector("NaN"))
    } else if query.starts_with("inf") {
        json(vector("+Inf"))
    } else if query.starts_with("empty") {
        json(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.into())
    } else if query.starts_with("html") {
        (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Login required</body></html>",
        )
            .into_response()
    } else if query.starts_with("garbage") {
        json("{\"status\":\"succ".into())
    } else if query.starts_with("five") {
        (StatusCode::SERVICE_UNAVAILABLE, "upstream overloaded").into_response()
    } else if query.starts_with("refused") {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
        )
            .into_response()
    } else if query.starts_with("slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
        json(vector("1"))
    } else if query.starts_with("many") {
        json(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}"#.into())
    } else if query.starts_with("scalar") {
        json(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}"#
                .into(),
        )
    } else if query.contains("bad") && query.contains("v2") {
        json(vector("3.4"))
    } else if query.contains("bad") {
        json(vector("1"))
    } else {
        json(vector("100.2"))
    }
}

async fn start_fake() -> SocketAddr {
    let app = Router::new()
        .route("/api/v1/query", get(fake))
        .with_state(());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn sense_one(url: &str, total: &str, bad: &str) -> MetricData {
    let r = rollout(url, total, bad);
    let mut src = PrometheusSource::for_rollout(&r)
        .expect("has prometheus")
        .expect("client");
    let end = now_ms();
    let sensed = src.sense(&r, end - 2000, end).await;
    sensed.observation.metrics["errors"].clone()
}

fn no_data_reason(d: &MetricData) -> String {
    match d {
        MetricData::NoData { reason } => reason.clone(),
        other => panic!("expected no data, got {other:?}"),
    }
}

#[tokio::test]
async fn healthy_answers_become_counts_per_version() {
    let addr = start_fake().await;
    let d = sense_one(
        &format!("http://{addr}"),
        "total {{version}}",
        "bad {{version}}",
    )
    .await;
    match d {
        MetricData::Counts { baseline, canary } => {
            assert_eq!((baseline.total, baseline.bad), (100, 1));
            assert_eq!((canary.total, canary.bad), (100, 3));
        }
        other => panic!("expected counts, got {other:?}"),
    }
    let d = sense_one(&format!("http://{addr}"), "scalar", "scalar").await;
    assert!(matches!(d, MetricData::Counts { .. }), "{d:?}");
}

#[tokio::test]
async fn bad_answers_are_no_data_with_a_reason() {
    let addr = start_fake().await;
    let url = format!("http://{addr}");
    let cases = [
        ("nan", "not a finite non-negative count"),
        ("inf", "not a finite non-negative count"),
        ("empty", "empty vector"),
        ("html", "not Prometheus API JSON (text/html)"),
        ("garbage", "not Prometheus API JSON"),
        ("five", "HTTP 503"),
        ("refused", "bad_data"),
        ("slow", "no answer within 500 ms"),
        ("many", "returned 2 series"),
    ];
    for (query, expect) in cases {
        let reason = no_data_reason(&sense_one(&url, "total", query).await);
        assert!(reason.contains(expect), "{query}: {reason}");
        assert!(
            reason.contains("bad query"),
            "{query}: names the query: {reason}"
        );
        assert!(reason.contains(&url), "{query}: names the server: {reason}");
    }
}

#[tokio::test]
async fn bad_above_total_is_no_data() {
    let addr = start_fake().await;
    // "total" answers 100.2 and "bad" on the canary 3.4; swap them.
    let reason =
        no_data_reason(&sense_one(&format!("http://{addr}"), "bad {{version}}", "total").await);
    assert!(reason.contains("counts more than the total"), "{reason}");
}

#[tokio::test]
async fn unreachable_prometheus_is_no_data() {
    let port = rollguard_telemetry::testing::free_port().expect("port");
    let reason = no_data_reason(&sense_one(&format!("http://127.0.0.1:{port}"), "t", "b").await);
    assert!(reason.contains("cannot connect"), "{reason}");
}

#[tokio::test]
async fn each_query_has_its_own_timeout() {
    let addr = start_fake().await;
    let client = rollguard_telemetry::PromClient::new(&format!("http://{addr}")).expect("client");
    let err = client
        .instant("slow", now_ms(), Duration::from_millis(200))
        .await;
    assert!(
        matches!(
            err,
            Err(PromError::Timeout {
                timeout_ms: 200,
                ..
            })
        ),
        "{err:?}"
    );
    let ok = client
        .instant("total", now_ms(), Duration::from_secs(5))
        .await;
    assert_eq!(ok, Ok(100.2));
}

#[test]
fn templates_substitute_version_role_service_and_window() {
    let r = rollout("http://127.0.0.1:1", "t", "b");
    let q = render_query(
        r#"sum(increase(x{v="{{version}}",r="{{role}}",s="{{service}}"}[{{window}}]))"#,
        &r,
        Role::Canary,
        1_000,
        6_000,
    );
    assert_eq!(q, r#"sum(increase(x{v="v2",r="canary",s="shop"}[5000ms]))"#);
}

/// A real Prometheus scraping the builtin proxy: counts per version match
/// what was served, and once the proxy is gone the series go stale: no data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_scraping_the_builtin_proxy() {
    let baseline = DemoService::start("baseline", ServiceBehavior::healthy())
        .await
        .expect("baseline");
    let canary = DemoService::start("canary", ServiceBehavior::healthy().with_error_rate(0.5))
        .await
        .expect("canary");
    let cfg = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        baseline.uri(),
        canary.uri(),
    );
    let proxy = Proxy::start(cfg).await.expect("proxy");
    proxy.set_canary_weight(50.0);
    let addr = proxy.local_addr();
    let prom = PrometheusServer::start(&[ScrapeTarget {
        job: "rollguard".into(),
        addr,
        metrics_path: "/rollguard/metrics".into(),
    }])
    .await
    .expect("prometheus starts (Debian package `prometheus`)");
    let target: http::Uri = format!("http://{addr}/").parse().expect("uri");
    let load = LoadGenerator::start(LoadConfig::new(target, 100.0, Duration::from_secs(60)))
        .expect("load");
    let total = r#"sum(increase(rollguard_proxy_requests_total{version="{{role}}"}[{{window}}]))"#;
    let bad = r#"sum(increase(rollguard_proxy_requests_total{version="{{role}}",code_class="5xx"}[{{window}}])) or vector(0)"#;
    prom.wait_for(
        r#"sum(rollguard_proxy_requests_total{version="canary",code_class="5xx"})"#,
        20.0,
        Duration::from_secs(60),
    )
    .await
    .expect("samples arrive");
    // Let a few more scrapes land, then judge the last 4 seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = rollout(&prom.url(), total, bad);
    let mut src = PrometheusSource::new(&prom.url(), Duration::from_secs(5)).expect("client");
    let end = now_ms();
    let sensed = src.sense(&r, end - 4_000, end).await;
    match &sensed.observation.metrics["errors"] {
        MetricData::Counts { baseline, canary } => {
            assert!(
                baseline.total > 50 && canary.total > 50,
                "{baseline:?} {canary:?}"
            );
            assert_eq!(baseline.bad, 0, "healthy baseline");
            let rate = canary.bad as f64 / canary.total as f64;
            assert!(
                (0.2..0.8).contains(&rate),
                "canary fails about half: {canary:?}"
            );
        }
        other => panic!("expected counts, got {other:?}; notes {:?}", sensed.notes),
    }
    // The proxy goes away: after its last scrape the series are stale and
    // a window after that holds no samples, which is no data, not zero.
    load.stop();
    proxy.shutdown(Duration::from_secs(1)).await;
    let gone = now_ms();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let total_only =
        r#"sum(increase(rollguard_proxy_requests_total{version="{{role}}"}[{{window}}]))"#;
    let r = rollout(&prom.url(), total_only, total_only);
    let end = now_ms();
    let sensed = src.sense(&r, gone + 2_000, end).await;
    let reason = no_data_reason(&sensed.observation.metrics["errors"]);
    assert!(reason.contains("empty vector"), "{reason}");
    assert!(!sensed.notes.is_empty());
}
