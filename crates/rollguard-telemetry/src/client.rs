//! A PromQL instant-query client over the Prometheus HTTP API
//! (`GET /api/v1/query?query=..&time=..`). Each call has its own timeout.
//! The answer must be a vector of exactly one sample or a scalar, holding a
//! finite, non-negative number; anything else is a [`PromError`].

use std::time::Duration;

use serde::Deserialize;

use crate::error::PromError;

/// Installs rustls' ring provider for this process (once; later calls are
/// no-ops). Client construction panics without a provider, so every
/// constructor here calls it, and so should any process building its own
/// reqwest client.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A Prometheus HTTP API endpoint.
#[derive(Clone)]
pub struct PromClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorSample {
    value: (f64, String),
}

/// At most this much of a bad body goes into an error message.
const SNIPPET: usize = 120;

fn snippet(body: &str) -> String {
    let s: String = body.chars().take(SNIPPET).collect();
    s.trim().to_string()
}

impl PromClient {
    /// `base` is the server's root, e.g. `http://127.0.0.1:9090`.
    pub fn new(base: &str) -> Result<Self, PromError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("rollguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PromError::Client {
                url: base.to_string(),
                reason: e.to_string(),
            })?;
        Ok(PromClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Evaluates `query` at `time_ms` (Unix milliseconds) and returns its one
    /// number, or why there is none.
    pub async fn instant(
        &self,
        query: &str,
        time_ms: u64,
        timeout: Duration,
    ) -> Result<f64, PromError> {
        let url = format!("{}/api/v1/query", self.base);
        let time = format!("{:.3}", time_ms as f64 / 1000.0);
        let timeout_ms = timeout.as_millis() as u64;
        let full =
            reqwest::Url::parse_with_params(&url, &[("query", query), ("time", time.as_str())])
                .map_err(|e| PromError::Client {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        let fut = async {
            let resp = self
                .http
                .get(full)
                .send()
                .await
                .map_err(|e| self.transport_error(&url, e, timeout_ms))?;
            let status = resp.status();
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
                .to_string();
            let body = resp
                .text()
                .await
                .map_err(|e| self.transport_error(&url, e, timeout_ms))?;
            Ok::<_, PromError>((status, content_type, body))
        };
        let (status, content_type, body) =
            tokio::time::timeout(timeout, fut)
                .await
                .map_err(|_| PromError::Timeout {
                    url: url.clone(),
                    timeout_ms,
                })??;
        let parsed: Result<ApiResponse, _> = serde_json::from_str(&body);
        let api = match parsed {
            Ok(api) => api,
            Err(_) if !status.is_success() => {
                return Err(PromError::Http {
                    url,
                    status: status.as_u16(),
                    detail: snippet(&body),
                });
            }
            Err(_) => {
                return Err(PromError::NotJson {
                    url,
                    content_type,
                    start: snippet(&body),
                });
            }
        };
        if api.status != "success" {
            return Err(PromError::Query {
                url,
                error_type: api
                    .error_type
                    .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
                error: api.error.unwrap_or_else(|| "no error text".into()),
            });
        }
        if !status.is_success() {
            return Err(PromError::Http {
                url,
                status: status.as_u16(),
                detail: snippet(&body),
            });
        }
        let Some(data) = api.data else {
            return Err(PromError::NotJson {
                url,
                content_type,
                start: snippet(&body),
            });
        };
        let raw = extract(query, data)?;
        to_count(query, &raw)
    }

    fn transport_error(&self, url: &str, e: reqwest::Error, timeout_ms: u64) -> PromError {
        if e.is_timeout() {
            PromError::Timeout {
                url: url.to_string(),
                timeout_ms,
            }
        } else if e.is_connect() {
            PromError::Connect {
                url: url.to_string(),
                reason: source_chain(&e),
            }
        } else {
            PromError::Http {
                url: url.to_string(),
                status: 0,
                detail: source_chain(&e),
            }
        }
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// The sample's value text from a vector of one sample or a scalar.
fn extract(query: &str, data: ApiData) -> Result<String, PromError> {
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<VectorSample> =
                serde_json::from_value(data.result).map_err(|e| PromError::ResultType {
                    query: query.to_string(),
                    result_type: format!("vector with malformed samples ({e})"),
                })?;
            match samples.len() {
                0 => Err(PromError::Empty {
                    query: query.to_string(),
                }),
                1 => Ok(samples
                    .into_iter()
                    .next()
                    .map(|s| s.value.1)
                    .unwrap_or_default()),
                n => Err(PromError::ManySeries {
                    query: query.to_string(),
                    series: n,
                }),
            }
        }
        "scalar" => {
            let (_, v): (f64, String) =
                serde_json::from_value(data.result).map_err(|e| PromError::ResultType {
                    query: query.to_string(),
                    result_type: format!("malformed scalar ({e})"),
                })?;
            Ok(v)
        }
        other => Err(PromError::ResultType {
            query: query.to_string(),
            result_type: other.to_string(),
        }),
    }
}

fn to_count(query: &str, raw: &str) -> Result<f64, PromError> {
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(PromError::NotACount {
            query: query.to_string(),
            value: raw.to_string(),
        }),
    }
}
