//! The proxy's listener and lifecycle: binds, accepts HTTP/1.1 and h2c
//! connections, serves each with the request handler, and shuts down
//! gracefully (stop accepting, let in-flight requests finish within a
//! grace period, then close what is left).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::ProxyConfig;
use crate::error::ProxyError;
use crate::handler::{Shared, handle};
use crate::routing::percent_to_bp;
use crate::tap::TapWindow;

/// How long an idle pooled upstream connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts proxies. See [`Proxy::start`].
pub struct Proxy;

impl Proxy {
    /// Validates `cfg`, binds `cfg.listen` and starts serving. The canary
    /// weight starts at 0%.
    pub async fn start(cfg: ProxyConfig) -> Result<ProxyHandle, ProxyError> {
        cfg.validate()?;
        let addr = cfg.listen;
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ProxyError::AddrInUse { addr, source }
            } else {
                ProxyError::Bind { addr, source }
            }
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ProxyError::Bind { addr, source })?;

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);

        let shared = Arc::new(Shared::new(cfg, client));
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, shared.clone(), stop_rx));
        tracing::info!(%local_addr, "rollguard proxy listening");
        Ok(ProxyHandle {
            local_addr,
            control: ProxyControl { shared },
            stop: Some(stop_tx),
            task: Some(task),
        })
    }
}

/// A running proxy. Dropping it stops the proxy at once (no grace); call
/// [`ProxyHandle::shutdown`] to drain in-flight requests first.
pub struct ProxyHandle {
    local_addr: SocketAddr,
    control: ProxyControl,
    stop: Option<oneshot::Sender<Duration>>,
    task: Option<JoinHandle<()>>,
}

/// The controls of a running proxy, cheap to clone and share with a
/// decision loop or another server (e.g. to mount [`render_metrics`]).
///
/// [`render_metrics`]: ProxyControl::render_metrics
#[derive(Clone)]
pub struct ProxyControl {
    shared: Arc<Shared>,
}

impl ProxyControl {
    /// Sets the share of traffic (0..=100 percent, clamped; NaN means 0) sent
    /// to the canary. Takes effect for requests routed after the call.
    pub fn set_canary_weight(&self, percent: f64) {
        self.shared
            .weight_bp
            .store(percent_to_bp(percent), Ordering::Relaxed);
    }

    /// The current canary weight in percent (basis-point precision).
    pub fn canary_weight(&self) -> f64 {
        self.shared.canary_weight_percent()
    }

    /// Per-version aggregates since the previous call (the first call
    /// covers the time since start). Meant for one consumer per tick.
    pub fn take_window(&self) -> TapWindow {
        self.shared.tap.take_window()
    }

    /// Per-version aggregates since start.
    pub fn totals(&self) -> TapWindow {
        self.shared.tap.totals()
    }

    /// The Prometheus text exposition, as served on
    /// [`METRICS_PATH`](crate::METRICS_PATH).
    pub fn render_metrics(&self) -> String {
        crate::metrics::render(&self.shared.tap, self.shared.canary_weight_percent())
    }

    pub fn config(&self) -> &ProxyConfig {
        &self.shared.cfg
    }
}

impl ProxyHandle {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A clonable handle on the weight, tap and metrics.
    pub fn control(&self) -> ProxyControl {
        self.control.clone()
    }

    pub fn set_canary_weight(&self, percent: f64) {
        self.control.set_canary_weight(percent);
    }

    pub fn canary_weight(&self) -> f64 {
        self.control.canary_weight()
    }

    pub fn take_window(&self) -> TapWindow {
        self.control.take_window()
    }

    pub fn totals(&self) -> TapWindow {
        self.control.totals()
    }

    pub fn render_metrics(&self) -> String {
        self.control.render_metrics()
    }

    /// Stops accepting connections, lets in-flight requests finish for up
    /// to `grace`, then closes any connection still open.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "proxy server task failed");
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<Duration>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();

    let grace = loop {
        tokio::select! {
            grace = &mut stop => break grace.unwrap_or(Duration::ZERO),
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let svc = service_fn(move |req| handle(shared.clone(), peer, req));
                    let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                    let conn = graceful.watch(conn);
                    conns.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "client connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    };
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = conns.len(),
            "grace period of {grace:?} ended; closing remaining connections"
        );
    }
    conns.shutdown().await;
}
