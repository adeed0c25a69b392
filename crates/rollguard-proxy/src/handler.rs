//! Serves one request: answers the reserved metrics path, picks a version,
//! forwards the request (streaming), maps upstream failures to 502 / 504,
//! records the outcome in the tap, and spawns the shadow copy if sampled.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use rand::RngExt;
use tokio::sync::Semaphore;

use crate::config::{METRICS_PATH, ProxyConfig, Version};
use crate::forward::{self, ProxyBody, plain_response};
use crate::mirror;
use crate::routing::{self, FULL_WEIGHT_BP, bp_to_percent};
use crate::tap::{ErrorKind, Outcome, Stream, Tap};
use crate::upstream::{describe_error, endpoint_name};

/// Header added to mirrored requests so the canary can tell them apart.
pub const SHADOW_HEADER: &str = "x-rollguard-shadow";
/// Shadow requests in flight at most; beyond it, sampling skips mirroring.
const MAX_SHADOW_IN_FLIGHT: usize = 512;

pub(crate) type UpstreamClient = Client<HttpConnector, ProxyBody>;

/// State shared by every connection of one proxy.
pub(crate) struct Shared {
    pub cfg: ProxyConfig,
    pub weight_bp: AtomicU32,
    pub tap: Tap,
    pub client: UpstreamClient,
    pub shadow_permits: Arc<Semaphore>,
}

impl Shared {
    pub fn new(cfg: ProxyConfig, client: UpstreamClient) -> Self {
        Self {
            cfg,
            weight_bp: AtomicU32::new(0),
            tap: Tap::new(),
            client,
            shadow_permits: Arc::new(Semaphore::new(MAX_SHADOW_IN_FLIGHT)),
        }
    }

    pub fn canary_weight_percent(&self) -> f64 {
        bp_to_percent(self.weight_bp.load(Ordering::Relaxed))
    }
}

fn stream_of(v: Version) -> Stream {
    match v {
        Version::Baseline => Stream::Baseline,
        Version::Canary => Stream::Canary,
    }
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    if req.uri().path() == METRICS_PATH && matches!(*req.method(), Method::GET | Method::HEAD) {
        let text = crate::metrics::render(&shared.tap, shared.canary_weight_percent());
        let mut resp = plain_response(StatusCode::OK, text);
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        return Ok(resp);
    }

    if req.method() == Method::CONNECT {
        return Ok(plain_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "rollguard: CONNECT is not supported by a reverse proxy\n".to_string(),
        ));
    }

    let cfg = &shared.cfg;
    let weight = shared.weight_bp.load(Ordering::Relaxed);
    let (version, _reason) = routing::choose(
        req.headers(),
        cfg.force_header.as_ref(),
        cfg.sticky.as_ref(),
        weight,
        || rand::rng().random_range(0..FULL_WEIGHT_BP),
    );
    let upstream = cfg.upstream(version).clone();

    let (mut parts, body) = req.into_parts();
    if let Err(e) = forward::prepare_request(&mut parts, &upstream, peer.ip()) {
        return Ok(plain_response(
            StatusCode::BAD_REQUEST,
            format!("rollguard: cannot forward this request target: {e}\n"),
        ));
    }
    let mut body: ProxyBody = body.map_err(Into::into).boxed_unsync();

    if version == Version::Baseline && sample_mirror(cfg.mirror_percent) {
        body = start_shadow(&shared, &parts, body);
    }

    let req = Request::from_parts(parts, body);
    let (outcome, resp) = forward_one(&shared, version, &upstream, req).await;
    shared.tap.record(stream_of(version), &outcome);
    Ok(resp)
}

fn sample_mirror(percent: f64) -> bool {
    if percent <= 0.0 {
        false
    } else if percent >= 100.0 {
        true
    } else {
        rand::rng().random_bool(percent / 100.0)
    }
}

/// Tees `body` into a shadow request to the canary and spawns it; returns
/// the body for the primary request. Skips mirroring (returning `body`
/// untouched) when too many shadows are in flight.
fn start_shadow(shared: &Arc<Shared>, parts: &http::request::Parts, body: ProxyBody) -> ProxyBody {
    let Ok(uri) = forward::upstream_uri(&shared.cfg.canary, &parts.uri) else {
        // Unreachable: the primary URI was built from the same path and query.
        return body;
    };
    let Ok(permit) = shared.shadow_permits.clone().try_acquire_owned() else {
        tracing::debug!("shadow skipped: {MAX_SHADOW_IN_FLIGHT} shadow requests in flight");
        return body;
    };
    let (primary, shadow_body, abandoned) = mirror::tee(body);
    let mut req = Request::new(shadow_body);
    *req.method_mut() = parts.method.clone();
    *req.version_mut() = parts.version;
    *req.uri_mut() = uri;
    *req.headers_mut() = parts.headers.clone();
    req.headers_mut()
        .insert(SHADOW_HEADER, HeaderValue::from_static("1"));
    let shared = shared.clone();
    tokio::spawn(async move {
        run_shadow(&shared, req, &abandoned).await;
        drop(permit);
    });
    primary
}

async fn run_shadow(shared: &Shared, req: Request<ProxyBody>, abandoned: &AtomicBool) {
    let canary = shared.cfg.canary.clone();
    let (outcome, resp) = forward_one(shared, Version::Canary, &canary, req).await;
    if matches!(outcome, Outcome::Failed { .. }) && abandoned.load(Ordering::Acquire) {
        // The copy was cut short by the proxy, not failed by the canary.
        tracing::debug!("shadow request abandoned");
        return;
    }
    shared.tap.record(Stream::Shadow, &outcome);
    // Read and discard the answer frame by frame (never buffered), so the
    // pooled connection can be reused; give up after the request timeout.
    let mut body = resp.into_body();
    let drain = async { while let Some(Ok(_)) = body.frame().await {} };
    let _ = tokio::time::timeout(shared.cfg.request_timeout, drain).await;
}

async fn forward_one(
    shared: &Shared,
    version: Version,
    upstream: &Uri,
    req: Request<ProxyBody>,
) -> (Outcome, Response<ProxyBody>) {
    let timeout = shared.cfg.request_timeout;
    let started = Instant::now();
    match tokio::time::timeout(timeout, shared.client.request(req)).await {
        Ok(Ok(resp)) => {
            let latency = started.elapsed();
            let (mut parts, body) = resp.into_parts();
            forward::strip_hop_by_hop(&mut parts.headers);
            let outcome = Outcome::Answered {
                status: parts.status.as_u16(),
                latency,
            };
            let body = body.map_err(Into::into).boxed_unsync();
            (outcome, Response::from_parts(parts, body))
        }
        Ok(Err(e)) => {
            let kind = if e.is_connect() {
                ErrorKind::Connect
            } else {
                ErrorKind::Protocol
            };
            let message = format!(
                "{version} {}: {}",
                endpoint_name(upstream),
                describe_error(&e)
            );
            tracing::debug!(%version, error = %message, "upstream request failed");
            let resp = plain_response(
                StatusCode::BAD_GATEWAY,
                format!("rollguard: {version} upstream unavailable\n"),
            );
            (Outcome::Failed { kind, message }, resp)
        }
        Err(_) => {
            let message = format!(
                "{version} {}: no response within {timeout:?}",
                endpoint_name(upstream)
            );
            tracing::debug!(%version, error = %message, "upstream request timed out");
            let resp = plain_response(
                StatusCode::GATEWAY_TIMEOUT,
                format!("rollguard: {version} upstream timed out\n"),
            );
            (
                Outcome::Failed {
                    kind: ErrorKind::Timeout,
                    message,
                },
                resp,
            )
        }
    }
}
