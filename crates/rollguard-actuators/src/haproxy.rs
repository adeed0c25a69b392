//! HAProxy as a traffic router, through its runtime API (the `stats socket`,
//! a unix socket path or `host:port`).
//!
//! The canary's share `w` percent becomes server weights out of
//! [`WEIGHT_SCALE`]: canary `round(w * 256 / 100)`, baseline the rest, so the
//! split is exact to 1/256. The server whose weight rises is set first, so the
//! backend never passes through "both at 0". Every change is read back with
//! `get weight`; `set_weight` succeeds only when HAProxy reports the weights
//! asked for, so a weight that was not applied is never reported. Transient
//! socket errors are retried with backoff; the loop above retries and
//! escalates further. Rolling back (weight 0) restores the baseline to the
//! full scale.

use std::time::Duration;

use rollguard_core::ports::{BoxFuture, RouterError, TrafficRouter};
use rollguard_core::spec::HaproxyRouterSpec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The weight a server gets at 100%.
pub const WEIGHT_SCALE: u32 = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HaproxyError {
    #[error("haproxy runtime API {socket}: cannot connect: {reason}")]
    Connect { socket: String, reason: String },
    #[error("haproxy runtime API {socket}: no answer to {command:?} within {timeout_ms} ms")]
    Timeout {
        socket: String,
        command: String,
        timeout_ms: u64,
    },
    #[error("haproxy runtime API {socket}: {command:?} failed: {answer}")]
    Refused {
        socket: String,
        command: String,
        answer: String,
    },
    #[error("haproxy runtime API {socket}: cannot read the answer to {command:?}: {reason}")]
    Io {
        socket: String,
        command: String,
        reason: String,
    },
    #[error("haproxy {socket}: server {server} has weight {have} after setting {want}")]
    NotApplied {
        socket: String,
        server: String,
        have: u32,
        want: u32,
    },
}

impl HaproxyError {
    /// Socket trouble may pass; a refused command (no such server) will not.
    pub fn retryable(&self) -> bool {
        !matches!(self, HaproxyError::Refused { .. })
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One HAProxy runtime API endpoint; one connection per command
/// (non-interactive mode: HAProxy answers and closes).
#[derive(Debug, Clone)]
pub struct RuntimeApi {
    socket: String,
    timeout: Duration,
}

impl RuntimeApi {
    /// `socket` is a unix socket path (or `unix:/path`) or `host:port`.
    pub fn new(socket: &str, timeout: Duration) -> Self {
        RuntimeApi {
            socket: socket.to_string(),
            timeout,
        }
    }

    pub fn socket(&self) -> &str {
        &self.socket
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, HaproxyError> {
        let err = |e: std::io::Error| HaproxyError::Connect {
            socket: self.socket.clone(),
            reason: e.to_string(),
        };
        let path = self.socket.strip_prefix("unix:").unwrap_or(&self.socket);
        if path.starts_with('/') || path.starts_with('.') {
            #[cfg(unix)]
            {
                let s = tokio::net::UnixStream::connect(path).await.map_err(err)?;
                return Ok(Box::new(s));
            }
        }
        let s = tokio::net::TcpStream::connect(self.socket.as_str())
            .await
            .map_err(err)?;
        Ok(Box::new(s))
    }

    /// Sends one command and returns HAProxy's answer, trimmed.
    pub async fn command(&self, command: &str) -> Result<String, HaproxyError> {
        let run = async {
            let mut s = self.connect().await?;
            let io = |e: std::io::Error| HaproxyError::Io {
                socket: self.socket.clone(),
                command: command.to_string(),
                reason: e.to_string(),
            };
            s.write_all(format!("{command}\n").as_bytes())
                .await
                .map_err(io)?;
            s.flush().await.map_err(io)?;
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.map_err(io)?;
            Ok(String::from_utf8_lossy(&out).trim().to_string())
        };
        tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| HaproxyError::Timeout {
                socket: self.socket.clone(),
                command: command.to_string(),
                timeout_ms: self.timeout.as_millis() as u64,
            })?
    }

    /// `set server <backend>/<server> weight <n>`; any answer is a refusal.
    pub async fn set_server_weight(
        &self,
        backend: &str,
        server: &str,
        weight: u32,
    ) -> Result<(), HaproxyError> {
        let command = format!("set server {backend}/{server} weight {weight}");
        let answer = self.command(&command).await?;
        if answer.is_empty() {
            Ok(())
        } else {
            Err(HaproxyError::Refused {
                socket: self.socket.clone(),
                command,
                answer,
            })
        }
    }

    /// `get weight <backend>/<server>`: the current weight (answer `N (initial M)`).
    pub async fn server_weight(&self, backend: &str, server: &str) -> Result<u32, HaproxyError> {
        let command = format!("get weight {backend}/{server}");
        let answer = self.command(&command).await?;
        answer
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or(HaproxyError::Refused {
                socket: self.socket.clone(),
                command,
                answer,
            })
    }
}

/// Canary and baseline server weights for a canary share in percent.
pub fn weights_for(percent: f64) -> (u32, u32) {
    let p = if percent.is_finite() {
        percent.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let canary = (p * WEIGHT_SCALE as f64 / 100.0).round() as u32;
    (canary, WEIGHT_SCALE - canary)
}

/// The canary's share in percent from server weights.
pub fn percent_of(canary: u32, baseline: u32) -> Option<f64> {
    let sum = canary + baseline;
    (sum > 0).then(|| 100.0 * canary as f64 / sum as f64)
}

/// A backend with one baseline and one canary server.
pub struct HaproxyRouter {
    api: RuntimeApi,
    backend: String,
    baseline: String,
    canary: String,
    attempts: u32,
    backoff: Duration,
}

impl HaproxyRouter {
    pub fn new(spec: &HaproxyRouterSpec) -> Self {
        HaproxyRouter {
            api: RuntimeApi::new(&spec.socket, Duration::from_secs(2)),
            backend: spec.backend.clone(),
            baseline: spec.baseline_server.clone(),
            canary: spec.canary_server.clone(),
            attempts: 3,
            backoff: Duration::from_millis(100),
        }
    }

    /// Tries each change `attempts` times, doubling `backoff` between tries.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    /// Current (canary, baseline) server weights.
    pub async fn weights(&self) -> Result<(u32, u32), HaproxyError> {
        let c = self.api.server_weight(&self.backend, &self.canary).await?;
        let b = self
            .api
            .server_weight(&self.backend, &self.baseline)
            .await?;
        Ok((c, b))
    }

    async fn apply_once(&self, canary: u32, baseline: u32) -> Result<(), HaproxyError> {
        let (have_c, _) = self.weights().await?;
        let order = if canary >= have_c {
            [(&self.canary, canary), (&self.baseline, baseline)]
        } else {
            [(&self.baseline, baseline), (&self.canary, canary)]
        };
        for (server, w) in order {
            self.api.set_server_weight(&self.backend, server, w).await?;
        }
        let (c, b) = self.weights().await?;
        for (server, have, want) in [(&self.canary, c, canary), (&self.baseline, b, baseline)] {
            if have != want {
                return Err(HaproxyError::NotApplied {
                    socket: self.api.socket.clone(),
                    server: format!("{}/{server}", self.backend),
                    have,
                    want,
                });
            }
        }
        Ok(())
    }

    /// Sets the split, retrying transient failures with backoff.
    pub async fn apply(&self, percent: f64) -> Result<(), HaproxyError> {
        let (canary, baseline) = weights_for(percent);
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            match self.apply_once(canary, baseline).await {
                Ok(()) => return Ok(()),
                Err(e) if e.retryable() && attempt < self.attempts => {
                    tracing::warn!(attempt, error = %e, "haproxy weight change failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn router_error(&self, e: HaproxyError) -> RouterError {
        RouterError {
            router: self.describe(),
            retryable: e.retryable(),
            message: e.to_string(),
        }
    }
}

impl TrafficRouter for HaproxyRouter {
    fn set_weight(&self, weight: f64) -> BoxFuture<'_, Result<(), RouterError>> {
        Box::pin(async move { self.apply(weight).await.map_err(|e| self.router_error(e)) })
    }

    fn observed_weight(&self) -> BoxFuture<'_, Result<f64, RouterError>> {
        Box::pin(async move {
            let (c, b) = self.weights().await.map_err(|e| self.router_error(e))?;
            percent_of(c, b).ok_or_else(|| RouterError {
                router: self.describe(),
                message: format!(
                    "servers {0}/{1} and {0}/{2} both have weight 0: the backend serves nobody",
                    self.backend, self.canary, self.baseline
                ),
                retryable: true,
            })
        })
    }

    fn describe(&self) -> String {
        format!("haproxy backend {} via {}", self.backend, self.api.socket)
    }
}
