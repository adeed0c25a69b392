//! Fixtures: two demo services behind a proxy, a plain HTTP client, and a
//! poll-until helper for effects that land asynchronously.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rollguard_proxy::{Proxy, ProxyConfig, ProxyHandle};
use rollguard_testbed::{DemoService, LatencyModel, ServiceBehavior};

pub const BASELINE_NAME: &str = "baseline v1";
pub const CANARY_NAME: &str = "canary v2";

pub struct Bed {
    pub baseline: DemoService,
    pub canary: DemoService,
    pub proxy: ProxyHandle,
}

impl Bed {
    pub fn url(&self, path: &str) -> Uri {
        format!("http://{}{path}", self.proxy.local_addr())
            .parse()
            .expect("valid test URL")
    }
}

/// Fast, healthy services: 1 ms, no spread, no errors.
pub fn quick() -> ServiceBehavior {
    ServiceBehavior::healthy().with_latency(LatencyModel::fixed(1.0))
}

pub async fn bed(configure: impl FnOnce(&mut ProxyConfig)) -> Bed {
    let baseline = DemoService::start_seeded(BASELINE_NAME, quick(), 1)
        .await
        .expect("baseline starts");
    let canary = DemoService::start_seeded(CANARY_NAME, quick(), 2)
        .await
        .expect("canary starts");
    let mut cfg = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        baseline.uri(),
        canary.uri(),
    );
    configure(&mut cfg);
    let proxy = Proxy::start(cfg).await.expect("proxy starts");
    Bed {
        baseline,
        canary,
        proxy,
    }
}

pub type TestClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn send(
    client: &TestClient,
    method: Method,
    uri: Uri,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Answer {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    for (k, v) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(v).expect("header value"),
        );
    }
    let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .expect("answer within 30 s")
        .expect("request succeeds at the HTTP level");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(client: &TestClient, uri: Uri, headers: &[(&str, &str)]) -> Answer {
    send(client, Method::GET, uri, headers, Bytes::new()).await
}

/// Polls `cond` until it holds, failing after 20 s with `what`.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port with no listener.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}
