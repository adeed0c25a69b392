//! Upstream failures: refused connections, timeouts, a canary that starts
//! failing mid-rollout.

use std::time::Duration;

use rollguard_proxy::{Proxy, ProxyConfig, ProxyError, check_upstream};
use rollguard_testbed::{DemoService, LatencyModel, ServiceBehavior};

use crate::support::{bed, client, closed_port, get, quick};

#[tokio::test]
async fn refused_canary_counts_as_its_connect_error_and_names_it() {
    let baseline = DemoService::start("baseline v1", quick())
        .await
        .expect("start");
    let port = closed_port();
    let canary_uri: http::Uri = format!("http://127.0.0.1:{port}").parse().expect("uri");
    let cfg = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        baseline.uri(),
        canary_uri.clone(),
    );
    let proxy = Proxy::start(cfg).await.expect("proxy starts");
    proxy.set_canary_weight(100.0);
    let client = client();
    let url: http::Uri = format!("http://{}/", proxy.local_addr())
        .parse()
        .expect("url");
    for _ in 0..3 {
        let a = get(&client, url.clone(), &[]).await;
        assert_eq!(a.status, 502);
        assert!(a.body.contains("canary"), "{}", a.body);
    }
    let w = proxy.take_window();
    assert_eq!(w.canary.requests, 3);
    assert_eq!(w.canary.connect_errors, 3);
    assert_eq!(w.canary.errors(), 3);
    assert_eq!(w.baseline.requests, 0);
    let msg = w.canary.last_error.expect("last error is kept");
    assert_eq!(
        msg,
        format!("canary http://127.0.0.1:{port}: connection refused")
    );
    // The next window starts empty.
    assert_eq!(proxy.take_window().canary.requests, 0);

    let err = check_upstream(&canary_uri, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Unreachable { .. }));
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    check_upstream(&baseline.uri(), Duration::from_secs(5))
        .await
        .expect("baseline reachable");
}

#[tokio::test]
async fn slow_upstream_times_out_with_504() {
    let bed = bed(|c| c.request_timeout = Duration::from_millis(200)).await;
    bed.canary
        .set_behavior(ServiceBehavior::healthy().with_latency(LatencyModel::fixed(5_000.0)))
        .expect("valid behaviour");
    let a = get(
        &client(),
        bed.url("/"),
        &[("x-rollguard-version", "canary")],
    )
    .await;
    assert_eq!(a.status, 504);
    let w = bed.proxy.take_window();
    assert_eq!(w.canary.timeouts, 1);
    assert_eq!(w.canary.errors(), 1);
    let msg = w.canary.last_error.expect("last error");
    assert!(msg.starts_with("canary http://127.0.0.1:"), "{msg}");
}

#[tokio::test]
async fn canary_going_bad_mid_rollout_shows_in_the_window() {
    let bed = bed(|_| {}).await;
    let client = client();
    bed.proxy.set_canary_weight(50.0);
    for _ in 0..20 {
        assert_eq!(get(&client, bed.url("/"), &[]).await.status, 200);
    }
    let healthy = bed.proxy.take_window();
    assert_eq!(healthy.canary.errors() + healthy.baseline.errors(), 0);
    bed.canary
        .set_behavior(quick().with_error_rate(1.0))
        .expect("valid behaviour");
    for _ in 0..10 {
        let a = get(&client, bed.url("/"), &[("x-rollguard-version", "canary")]).await;
        assert_eq!(a.status, 500);
    }
    let bad = bed.proxy.take_window();
    assert_eq!(bad.canary.status_5xx, 10);
    assert_eq!(bad.canary.errors(), 10);
    assert_eq!(
        bad.canary.latency.total(),
        10,
        "answered errors still have a latency"
    );
    assert_eq!(bad.baseline.errors(), 0);
}

#[tokio::test]
async fn upstream_closing_without_answer_is_a_protocol_error() {
    // Accepts connections and closes them at once, after reading the request.
    let hangup = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hangup_addr = hangup.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = hangup.accept().await {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
        }
    });
    let baseline = DemoService::start("baseline v1", quick())
        .await
        .expect("start");
    let cfg = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        baseline.uri(),
        format!("http://{hangup_addr}").parse().expect("uri"),
    );
    let proxy = Proxy::start(cfg).await.expect("proxy starts");
    let url: http::Uri = format!("http://{}/", proxy.local_addr())
        .parse()
        .expect("url");
    let a = get(&client(), url, &[("x-rollguard-version", "canary")]).await;
    assert_eq!(a.status, 502);
    let w = proxy.take_window();
    assert_eq!(w.canary.protocol_errors, 1, "{w:?}");
    assert_eq!(w.canary.connect_errors, 0);
    assert_eq!(w.canary.errors(), 1);
    let msg = w.canary.last_error.expect("last error");
    assert_eq!(
        msg,
        format!("canary http://{hangup_addr}: connection closed before message completed")
    );
    assert!(
        proxy.render_metrics().contains(
            "rollguard_proxy_upstream_errors_total{version=\"canary\",kind=\"protocol\"} 1"
        )
    );
}
