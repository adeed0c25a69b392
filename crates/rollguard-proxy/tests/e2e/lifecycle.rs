//! Start and stop: bind errors, graceful shutdown with a request in flight.

use std::time::Duration;

use rollguard_proxy::{Proxy, ProxyConfig, ProxyError};
use rollguard_testbed::LatencyModel;

use crate::support::{bed, client, eventually, get, quick};

#[tokio::test]
async fn binding_a_port_in_use_names_the_address() {
    let bed = bed(|_| {}).await;
    let taken = bed.proxy.local_addr();
    let cfg = ProxyConfig::new(taken, bed.baseline.uri(), bed.canary.uri());
    let err = match Proxy::start(cfg).await {
        Ok(_) => panic!("a second proxy bound {taken}"),
        Err(e) => e,
    };
    assert!(matches!(err, ProxyError::AddrInUse { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("listen address {taken} is already in use")
    );
}

#[tokio::test]
async fn invalid_config_names_the_field() {
    let mut cfg = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        "http://127.0.0.1:1".parse().expect("uri"),
        "ftp://127.0.0.1:2".parse().expect("uri"),
    );
    let err = Proxy::start(cfg.clone()).await.err().expect("rejected");
    assert!(err.to_string().contains("canary"), "{err}");
    cfg.canary = "http://127.0.0.1:2".parse().expect("uri");
    cfg.mirror_percent = 150.0;
    let err = Proxy::start(cfg).await.err().expect("rejected");
    assert!(err.to_string().contains("mirror_percent"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_in_flight_request() {
    let bed = bed(|_| {}).await;
    bed.baseline
        .set_behavior(quick().with_latency(LatencyModel::fixed(800.0)))
        .expect("valid behaviour");
    let url = bed.url("/");
    let addr = bed.proxy.local_addr();
    let in_flight = tokio::spawn(async move { get(&client(), url, &[]).await });
    eventually("the slow request reaches the baseline", || {
        bed.baseline.requests() == 1
    })
    .await;

    bed.proxy.shutdown(Duration::from_secs(30)).await;
    let a = in_flight.await.expect("request task");
    assert_eq!(a.status, 200);
    assert_eq!(a.body.trim(), "baseline v1");
    // No longer accepting.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_idle_keep_alive_connections() {
    let bed = bed(|_| {}).await;
    let client = client();
    // Leaves a kept-alive, idle connection in the client's pool.
    assert_eq!(get(&client, bed.url("/"), &[]).await.status, 200);
    let done = tokio::time::timeout(
        Duration::from_secs(20),
        bed.proxy.shutdown(Duration::from_secs(600)),
    )
    .await;
    assert!(done.is_ok(), "shutdown waited on an idle connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outliving_the_grace_period_are_cut() {
    let bed = bed(|_| {}).await;
    bed.baseline
        .set_behavior(quick().with_latency(LatencyModel::fixed(60_000.0)))
        .expect("valid behaviour");
    let url = bed.url("/");
    let in_flight = tokio::spawn(async move {
        let req = http::Request::get(url)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("request");
        client().request(req).await
    });
    eventually("the slow request reaches the baseline", || {
        bed.baseline.requests() == 1
    })
    .await;
    let done = tokio::time::timeout(
        Duration::from_secs(20),
        bed.proxy.shutdown(Duration::from_millis(100)),
    )
    .await;
    assert!(done.is_ok(), "shutdown overran its grace period");
    let outcome = tokio::time::timeout(Duration::from_secs(20), in_flight)
        .await
        .expect("client sees the connection close")
        .expect("request task");
    assert!(
        outcome.is_err(),
        "the cut request must fail, not succeed: {outcome:?}"
    );
}

#[tokio::test]
async fn connect_method_is_refused() {
    let bed = bed(|_| {}).await;
    let mut stream = tokio::net::TcpStream::connect(bed.proxy.local_addr())
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"CONNECT example.invalid:443 HTTP/1.1\r\nHost: example.invalid:443\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 512];
    let n = stream.read(&mut buf).await.expect("read");
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert_eq!(bed.baseline.requests() + bed.canary.requests(), 0);
}
