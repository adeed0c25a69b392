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
