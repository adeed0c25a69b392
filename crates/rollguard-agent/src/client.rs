//! The agent's HTTPS client to the controller replicas, with its client
//! certificate. It sticks to the replica that answered last; on a connection
//! error it tries the next one, and on a follower's 503 it goes to the leader
//! the follower names (when that URL is in its list), else the next one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rollguard_controller::protocol::{ApiError, NotLeader};
use rollguard_mtls::TlsFiles;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no controller answered as leader ({tried}): {last}")]
    Unreachable { tried: String, last: String },
    #[error("controller {url} refused {path} ({status}): {message}")]
    Refused {
        url: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("building the HTTPS client: {0}")]
    Build(String),
    #[error(transparent)]
    Tls(#[from] rollguard_mtls::TlsError),
}

pub struct ControllerClient {
    endpoints: Vec<String>,
    current: AtomicUsize,
    http: reqwest::Client,
}

impl ControllerClient {
    /// `endpoints`: base URLs such as `https://127.0.0.1:7443`.
    pub fn new(
        endpoints: Vec<String>,
        tls: &TlsFiles,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::Build("no controller URL given".into()));
        }
        let cfg = rollguard_mtls::client_config(tls)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(cfg)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(ControllerClient {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            current: AtomicUsize::new(0),
            http,
        })
    }

    /// The replica requests go to first.
    pub fn current(&self) -> &str {
        &self.endpoints[self.current.load(Ordering::Relaxed) % self.endpoints.len()]
    }

    fn advance(&self, from: usize) {
        let _ = self.current.compare_exchange(
            from,
            (from + 1) % self.endpoints.len(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// POSTs `body` as JSON to `path` on the leader.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ClientError> {
        let n = self.endpoints.len();
        let mut last = String::new();
        for _ in 0..(2 * n) {
            let idx = self.current.load(Ordering::Relaxed) % n;
            let base = &self.endpoints[idx];
            let url = format!("{base}{path}");
            let resp = match self.http.post(&url).json(body).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{base}: {}", error_chain(&e));
                    self.advance(idx);
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                return resp.json::<R>().await.map_err(|e| ClientError::Refused {
                    url: base.clone(),
                    path: path.into(),
                    status: status.as_u16(),
                    message: format!("unreadable reply: {e}"),
                });
            }
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                let leader = resp.json::<NotLeader>().await.ok().and_then(|n| n.leader);
                last = format!(
                    "{base}: not the leader (leader: {})",
                    leader.as_deref().unwrap_or("unknown")
                );
                match leader.and_then(|l| {
                    self.endpoints
                        .iter()
                        .position(|e| *e == l.trim_end_matches('/'))
                }) {
                    Some(i) if i != idx => self.current.store(i, Ordering::Relaxed),
                    _ => self.advance(idx),
                }
                continue;
            }
            let message = match resp.json::<ApiError>().await {
                Ok(e) => e.error,
                Err(_) => status.to_string(),
            };
            return Err(ClientError::Refused {
                url: base.clone(),
                path: path.into(),
                status: status.as_u16(),
                message,
            });
        }
        Err(ClientError::Unreachable {
            tried: self.endpoints.join(", "),
            last,
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
