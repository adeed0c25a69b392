//! Weighted split, sticky sessions, the force header, and weight changes
//! under steady load.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, Method};
use rollguard_proxy::Sticky;
use rollguard_testbed::{LoadConfig, LoadGenerator};

use crate::support::{BASELINE_NAME, CANARY_NAME, bed, client, get, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_at_10_percent_is_within_6_sigma_over_2000_requests() {
    let bed = bed(|_| {}).await;
    bed.proxy.set_canary_weight(10.0);
    assert_eq!(bed.proxy.canary_weight(), 10.0);
    let load =
        LoadConfig::new(bed.url("/"), 500.0, Duration::from_secs(60)).with_max_requests(2000);
    let stats = LoadGenerator::start(load)
        .expect("load starts")
        .wait()
        .await;
    assert_eq!(stats.failed, 0, "{stats:?}");
    let n = stats.ok;
    assert!(n >= 1500, "too few requests completed: {stats:?}");

    let t = bed.proxy.totals();
    assert_eq!(t.baseline.requests + t.canary.requests, n);
    let canary = t.canary.requests as f64;
    let expected = 0.1 * n as f64;
    let sigma = (n as f64 * 0.1 * 0.9).sqrt();
    assert!(
        (canary - expected).abs() <= 6.0 * sigma,
        "canary got {canary} of {n}, expected {expected} ± {}",
        6.0 * sigma
    );
    // The client saw the same split as the tap counted.
    assert_eq!(
        stats.by_service.get(CANARY_NAME).copied().unwrap_or(0),
        t.canary.requests
    );
    assert_eq!(
        stats.by_service.get(BASELINE_NAME).copied().unwrap_or(0),
        t.baseline.requests
    );
}

#[tokio::test]
async fn sticky_header_keeps_each_user_on_one_version_and_is_monotone() {
    let bed = bed(|c| c.sticky = Some(Sticky::Header(HeaderName::from_static("x-user")))).await;
    let client = client();
    bed.proxy.set_canary_weight(30.0);
    let mut on_canary_at_30 = Vec::new();
    for user in 0..10 {
        let key = format!("user-{user}");
        let first = get(&client, bed.url("/"), &[("x-user", &key)]).await.body;
        for _ in 1..50 {
            let again = get(&client, bed.url("/"), &[("x-user", &key)]).await.body;
            assert_eq!(again, first, "{key} switched version at a fixed weight");
        }
        if first.starts_with(CANARY_NAME) {
            on_canary_at_30.push(key);
        }
    }
    bed.proxy.set_canary_weight(60.0);
    for key in &on_canary_at_30 {
        for _ in 0..5 {
            let body = get(&client, bed.url("/"), &[("x-user", key)]).await.body;
            assert!(
                body.starts_with(CANARY_NAME),
                "{key} left the canary when the weight rose"
            );
        }
    }
    bed.proxy.set_canary_weight(100.0);
    for user in 0..10 {
        let key = format!("user-{user}");
        let body = get(&client, bed.url("/"), &[("x-user", &key)]).await.body;
        assert!(
            body.starts_with(CANARY_NAME),
            "{key} not on the canary at 100%"
        );
    }
}

#[tokio::test]
async fn sticky_cookie_keeps_a_session_on_one_version() {
    let bed = bed(|c| c.sticky = Some(Sticky::Cookie("session".into()))).await;
    let client = client();
    bed.proxy.set_canary_weight(50.0);
    for session in ["a1", "b2", "c3", "d4"] {
        let cookie = format!("theme=dark; session={session}");
        let first = get(&client, bed.url("/"), &[("cookie", &cookie)])
            .await
            .body;
        for _ in 0..20 {
            let again = get(&client, bed.url("/"), &[("cookie", &cookie)])
                .await
                .body;
            assert_eq!(again, first, "session {session} switched version");
        }
    }
}

#[tokio::test]
async fn force_header_overrides_the_weight() {
    let bed = bed(|_| {}).await;
    let client = client();
    bed.proxy.set_canary_weight(0.0);
    for _ in 0..10 {
        let a = get(&client, bed.url("/"), &[("x-rollguard-version", "canary")]).await;
        assert_eq!(a.body.trim(), CANARY_NAME);
    }
    bed.proxy.set_canary_weight(100.0);
    for _ in 0..10 {
        let a = get(
            &client,
            bed.url("/"),
            &[("x-rollguard-version", "baseline")],
        )
        .await;
        assert_eq!(a.body.trim(), BASELINE_NAME);
        let b = get(&client, bed.url("/"), &[]).await;
        assert_eq!(b.body.trim(), CANARY_NAME);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_changes_under_steady_load_drop_no_request() {
    let bed = bed(|_| {}).await;
    let load = LoadConfig::new(bed.url("/"), 200.0, Duration::from_secs(4));
    let handle = LoadGenerator::start(load).expect("load starts");
    for w in [0.0, 50.0, 100.0, 0.0] {
        bed.proxy.set_canary_weight(w);
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let stats = handle.wait().await;
    assert!(stats.sent > 100, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(stats.ok, stats.sent, "{stats:?}");
    assert_eq!(
        stats.by_status.keys().copied().collect::<Vec<_>>(),
        vec![200]
    );
    assert!(bed.baseline.requests() > 0 && bed.canary.requests() > 0);
    let t = bed.proxy.totals();
    assert_eq!(t.baseline.errors() + t.canary.errors(), 0);
}

#[tokio::test]
async fn request_line_headers_and_body_reach_the_upstream() {
    let bed = bed(|_| {}).await;
    let client = client();
    let body = Bytes::from(vec![b'x'; 100_000]);
    let a = send(
        &client,
        Method::POST,
        bed.url("/echo?a=1&b=two"),
        &[("connection", "x-drop-me"), ("x-drop-me", "1")],
        body,
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("method=POST\n"), "{}", a.body);
    assert!(a.body.contains("path=/echo?a=1&b=two\n"), "{}", a.body);
    assert!(a.body.contains("x-forwarded-for=127.0.0.1\n"), "{}", a.body);
    assert!(a.body.contains("body-bytes=100000\n"), "{}", a.body);
    assert!(
        a.body
            .contains(&format!("host={}\n", bed.proxy.local_addr())),
        "{}",
        a.body
    );
    assert_eq!(a.headers["x-demo-service"], BASELINE_NAME);
}

#[tokio::test]
async fn h2c_clients_are_served() {
    let bed = bed(|_| {}).await;
    let h2: crate::support::TestClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let a = get(&h2, bed.url("/echo"), &[]).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("path=/echo\n"), "{}", a.body);
    // h2 sends :authority, not Host; the upstream still gets a Host.
    assert!(
        a.body
            .contains(&format!("host={}\n", bed.proxy.local_addr())),
        "{}",
        a.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_taken_during_load_add_up_to_the_totals() {
    let bed = bed(|_| {}).await;
    bed.proxy.set_canary_weight(50.0);
    let load = LoadConfig::new(bed.url("/"), 300.0, Duration::from_secs(2));
    let handle = LoadGenerator::start(load).expect("load starts");
    let mut sum = rollguard_proxy::TapWindow::default();
    let mut windows = 0;
    while !handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let w = bed.proxy.take_window();
        sum.baseline.merge(&w.baseline);
        sum.canary.merge(&w.canary);
        windows += 1;
    }
    let stats = handle.wait().await;
    let last = bed.proxy.take_window();
    sum.baseline.merge(&last.baseline);
    sum.canary.merge(&last.canary);
    assert!(windows > 1);
    let totals = bed.proxy.totals();
    assert_eq!(
        sum.baseline, totals.baseline,
        "no request lost or counted twice between windows"
    );
    assert_eq!(sum.canary, totals.canary);
    assert_eq!(totals.baseline.requests + totals.canary.requests, stats.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_users_under_load_land_exactly_where_their_hash_says() {
    let bed = bed(|c| c.sticky = Some(Sticky::Header(HeaderName::from_static("x-user")))).await;
    bed.proxy.set_canary_weight(50.0);
    let (users, per_user) = (40u32, 10u64);
    let load = LoadConfig::new(bed.url("/"), 400.0, Duration::from_secs(60))
        .with_max_requests(u64::from(users) * per_user)
        .with_rotating_header(HeaderName::from_static("x-user"), "user-", users);
    let stats = LoadGenerator::start(load)
        .expect("load starts")
        .wait()
        .await;
    assert_eq!(stats.ok, u64::from(users) * per_user, "{stats:?}");
    let canary_users = (0..users)
        .filter(|u| rollguard_proxy::routing::sticky_point(format!("user-{u}").as_bytes()) < 5_000)
        .count() as u64;
    assert!(
        canary_users > 0 && canary_users < u64::from(users),
        "degenerate user set"
    );
    assert_eq!(
        stats.by_service.get(CANARY_NAME).copied().unwrap_or(0),
        canary_users * per_user
    );
}
