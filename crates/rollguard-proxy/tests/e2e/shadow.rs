//! Shadow traffic: mirrored copies reach the canary, the client only sees
//! baseline answers, and the shadow tap counts the copies.

use bytes::Bytes;
use http::Method;

use crate::support::{BASELINE_NAME, bed, client, eventually, send};

#[tokio::test]
async fn mirror_100_percent_at_weight_0_reaches_canary_without_affecting_clients() {
    let bed = bed(|c| c.mirror_percent = 100.0).await;
    bed.proxy.set_canary_weight(0.0);
    let client = client();
    for i in 0..50 {
        let body = Bytes::from(format!("payload {i}"));
        let a = send(&client, Method::POST, bed.url("/"), &[], body).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body.trim(), BASELINE_NAME);
        assert_eq!(a.headers["x-demo-service"], BASELINE_NAME);
    }
    eventually("the canary got 50 shadow copies", || {
        bed.canary.shadow_requests() == 50
    })
    .await;
    assert_eq!(
        bed.canary.requests(),
        50,
        "only shadow copies reach the canary"
    );
    assert_eq!(bed.baseline.shadow_requests(), 0);
    eventually("the shadow tap counted 50", || {
        bed.proxy.totals().shadow.requests == 50
    })
    .await;
    let t = bed.proxy.totals();
    assert_eq!(t.shadow.status_2xx, 50);
    assert_eq!(t.canary.requests, 0, "shadow copies are not canary traffic");
    assert_eq!(t.baseline.requests, 50);
    assert!(
        bed.proxy
            .render_metrics()
            .contains("rollguard_proxy_shadow_requests_total{code_class=\"2xx\"} 50")
    );
}

#[tokio::test]
async fn shadow_copy_carries_the_body_and_a_marker() {
    let bed = bed(|c| c.mirror_percent = 100.0).await;
    let a = send(
        &client(),
        Method::POST,
        bed.url("/echo?k=v"),
        &[],
        Bytes::from(vec![7u8; 5000]),
    )
    .await;
    assert!(
        a.body.contains("x-rollguard-shadow=-\n"),
        "client request is not marked: {}",
        a.body
    );
    assert!(a.body.contains("body-bytes=5000\n"), "{}", a.body);
    eventually("shadow arrives", || bed.canary.shadow_requests() == 1).await;
    eventually("shadow body arrives", || bed.canary.body_bytes() == 5000).await;
    eventually("shadow tallied", || bed.proxy.totals().shadow.requests == 1).await;
    assert_eq!(bed.baseline.shadow_requests(), 0);
}
