//! A demo upstream service: answers every request with `200 <name>` or, at
//! the configured error rate, `500 <name> failed`, after a latency drawn
//! from its [`LatencyModel`](crate::LatencyModel). The behaviour can be
//! changed while it runs, so a test can make a canary go bad mid-rollout.
//!
//! Every answer carries `x-demo-service: <name>`. The path `/echo` answers
//! (with the same behaviour) a description of the request it got: method,
//! path and query, `x-forwarded-for`, `x-rollguard-shadow`, and body length.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::behavior::ServiceBehavior;
use crate::error::TestbedError;

/// Largest request body `/echo` reads (to report its length).
const ECHO_BODY_LIMIT: usize = 1 << 20;

struct State {
    name: String,
    behavior: Mutex<ServiceBehavior>,
    rng: Mutex<StdRng>,
    requests: AtomicU64,
    errors: AtomicU64,
    shadow_requests: AtomicU64,
    body_bytes: AtomicU64,
}

impl State {
    fn behavior(&self) -> MutexGuard<'_, ServiceBehavior> {
        self.behavior.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running demo service; stops when dropped or on [`DemoService::stop`].
pub struct DemoService {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl DemoService {
    /// Starts on `127.0.0.1:0` with randomness seeded from the OS.
    pub async fn start(name: &str, behavior: ServiceBehavior) -> Result<Self, TestbedError> {
        Self::start_seeded(name, behavior, rand::random()).await
    }

    /// Starts on `127.0.0.1:0`; errors and latencies come from `seed`.
    pub async fn start_seeded(
        name: &str,
        behavior: ServiceBehavior,
        seed: u64,
    ) -> Result<Self, TestbedError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), name, behavior, seed).await
    }

    /// Starts on `addr` (use port 0 for a free port).
    pub async fn start_on(
        addr: SocketAddr,
        name: &str,
        behavior: ServiceBehavior,
        seed: u64,
    ) -> Result<Self, TestbedError> {
        behavior.validate()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| TestbedError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| TestbedError::Bind { addr, source })?;
        let state = Arc::new(State {
            name: name.to_string(),
            behavior: Mutex::new(behavior),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            shadow_requests: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
        });
        let task = tokio::spawn(serve(listener, state.clone()));
        Ok(Self { addr, state, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn uri(&self) -> http::Uri {
        let s = format!("http://{}", self.addr);
        // A socket address always forms a valid authority.
        s.parse()
            .unwrap_or_else(|_| http::Uri::from_static("http://127.0.0.1"))
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    pub fn behavior(&self) -> ServiceBehavior {
        *self.state.behavior()
    }

    /// Changes the behaviour for requests that arrive from now on.
    pub fn set_behavior(&self, behavior: ServiceBehavior) -> Result<(), TestbedError> {
        behavior.validate()?;
        *self.state.behavior() = behavior;
        Ok(())
    }

    /// Requests received so far (including shadow copies).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Requests answered with 500 so far.
    pub fn errors(&self) -> u64 {
        self.state.errors.load(Ordering::Relaxed)
    }

    /// Requests received that carried `x-rollguard-shadow`.
    pub fn shadow_requests(&self) -> u64 {
        self.state.shadow_requests.load(Ordering::Relaxed)
    }

    /// Request body bytes received so far.
    pub fn body_bytes(&self) -> u64 {
        self.state.body_bytes.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes open connections.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for DemoService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    // Dropping the set (when this task is aborted) closes every connection.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let svc = service_fn(move |req| answer(state.clone(), req));
                    let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                    conns.spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "demo service accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let shadow = req.headers().get("x-rollguard-shadow").cloned();
    if shadow.is_some() {
        state.shadow_requests.fetch_add(1, Ordering::Relaxed);
    }
    let behavior = *state.behavior();
    let (fail, delay_ms) = {
        let mut rng = state.rng.lock().unwrap_or_else(|p| p.into_inner());
        let fail = behavior.error_rate > 0.0 && rng.random_bool(behavior.error_rate);
        (fail, behavior.latency.sample_ms(&mut *rng))
    };

    let echo = if req.uri().path() == "/echo" {
        let (text, len) = describe_request(req, shadow).await;
        state.body_bytes.fetch_add(len as u64, Ordering::Relaxed);
        Some(text)
    } else {
        // Read (and discard) the body so the connection can be reused.
        let mut body = req.into_body();
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(d) = frame.data_ref() {
                state
                    .body_bytes
                    .fetch_add(d.len() as u64, Ordering::Relaxed);
            }
        }
        None
    };

    if delay_ms > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(delay_ms / 1000.0)).await;
    }
    let (status, text) = if fail {
        state.errors.fetch_add(1, Ordering::Relaxed);
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{} failed\n", state.name),
        )
    } else {
        (
            StatusCode::OK,
            echo.unwrap_or_else(|| format!("{}\n", state.name)),
        )
    };
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&state.name) {
        resp.headers_mut().insert("x-demo-service", v);
    }
    Ok(resp)
}

/// The `/echo` text for a request, and the body length read.
async fn describe_request(req: Request<Incoming>, shadow: Option<HeaderValue>) -> (String, usize) {
    let (parts, body) = req.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    let mut len = 0usize;
    let mut body = body;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(d) = frame.data_ref() {
            len += d.len();
            if len > ECHO_BODY_LIMIT {
                break;
            }
        }
    }
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let text = format!(
        "method={}\npath={}\nx-forwarded-for={}\nx-rollguard-shadow={}\nhost={}\nbody-bytes={}\n",
        parts.method,
        pq,
        header("x-forwarded-for"),
        shadow.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-"),
        header("host"),
        len
    );
    (text, len)
}
