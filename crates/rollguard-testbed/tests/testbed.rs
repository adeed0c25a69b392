//! The demo service and the load generator against each other, on loopback.

use std::time::Duration;

use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, ServiceBehavior, TestbedError,
};

fn instant() -> ServiceBehavior {
    ServiceBehavior::healthy().with_latency(LatencyModel::fixed(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_is_honoured_within_6_sigma() {
    let svc = DemoService::start_seeded("svc", instant().with_error_rate(0.3), 7)
        .await
        .expect("starts");
    let n = 1000u64;
    let cfg = LoadConfig::new(svc.uri(), 500.0, Duration::from_secs(60)).with_max_requests(n);
    let stats = LoadGenerator::start(cfg).expect("load").wait().await;
    assert_eq!(stats.sent, n, "{stats:?}");
    assert_eq!(stats.transport_errors, 0, "{stats:?}");
    let errors = stats.by_status.get(&500).copied().unwrap_or(0);
    assert_eq!(errors, svc.errors());
    assert_eq!(errors + stats.by_status.get(&200).copied().unwrap_or(0), n);
    let sigma = (n as f64 * 0.3 * 0.7).sqrt();
    assert!(
        (errors as f64 - 300.0).abs() <= 6.0 * sigma,
        "{errors} errors of {n}"
    );
    assert_eq!(stats.by_service.get("svc").copied(), Some(n));
    assert_eq!(stats.latency.total(), n);
}

#[tokio::test]
async fn behaviour_changes_at_runtime() {
    let svc = DemoService::start("svc", instant()).await.expect("starts");
    let uri = svc.uri();
    let run = |uri: http::Uri| async move {
        let cfg = LoadConfig::new(uri, 200.0, Duration::from_secs(60)).with_max_requests(20);
        LoadGenerator::start(cfg).expect("load").wait().await
    };
    assert_eq!(run(uri.clone()).await.ok, 20);
    svc.set_behavior(instant().with_error_rate(1.0))
        .expect("valid");
    let bad = run(uri.clone()).await;
    assert_eq!(bad.by_status.get(&500), Some(&20), "{bad:?}");
    assert!(svc.set_behavior(instant().with_error_rate(-0.1)).is_err());
    assert_eq!(
        svc.behavior().error_rate,
        1.0,
        "a rejected behaviour changes nothing"
    );
}

#[tokio::test]
async fn a_full_window_skips_rather_than_queues() {
    let slow = instant().with_latency(LatencyModel::fixed(300.0));
    let svc = DemoService::start("slow", slow).await.expect("starts");
    let mut cfg = LoadConfig::new(svc.uri(), 50.0, Duration::from_secs(1));
    cfg.max_in_flight = 1;
    let stats = LoadGenerator::start(cfg).expect("load").wait().await;
    assert!(stats.skipped > 0, "{stats:?}");
    assert_eq!(stats.sent + stats.skipped, 50, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
}

#[tokio::test]
async fn stop_ends_a_run_early() {
    let svc = DemoService::start("svc", instant()).await.expect("starts");
    let handle = LoadGenerator::start(LoadConfig::new(svc.uri(), 100.0, Duration::from_secs(3600)))
        .expect("load");
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.stop();
    let stats = tokio::time::timeout(Duration::from_secs(20), handle.wait())
        .await
        .expect("a stopped run ends");
    assert!(stats.sent > 0 && stats.sent < 360_000, "{stats:?}");
    assert_eq!(stats.failed, 0);
}

#[tokio::test]
async fn refused_target_counts_transport_errors() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    let cfg = LoadConfig::new(
        format!("http://{addr}/").parse().expect("uri"),
        100.0,
        Duration::from_secs(60),
    )
    .with_max_requests(5);
    let stats = LoadGenerator::start(cfg).expect("load").wait().await;
    assert_eq!(stats.transport_errors, 5, "{stats:?}");
    assert_eq!(stats.failed, 5);
    assert_eq!(stats.ok, 0);
}

#[tokio::test]
async fn non_loopback_targets_are_refused() {
    let cfg = LoadConfig::new(
        "http://192.0.2.1/".parse().expect("uri"),
        1.0,
        Duration::from_secs(1),
    );
    assert!(matches!(
        LoadGenerator::start(cfg),
        Err(TestbedError::NotLoopback { .. })
    ));
}
