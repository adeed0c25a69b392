//! An open-loop, constant-rate HTTP/1.1 load generator for loopback targets.
//!
//! Requests are scheduled at `start + i / rps` whatever the latency of
//! earlier ones (open loop: a slow server does not slow the offered load,
//! so queueing shows up as latency, not as fewer requests). Connections are
//! pooled and kept alive. At most `max_in_flight` requests are outstanding;
//! a request due while that many are in flight is counted as `skipped`, not
//! sent late. The run always ends by itself: after `duration`, after
//! `max_requests`, or on [`LoadHandle::stop`], whichever comes first.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rollguard_stats::LatencyHistogram;
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::error::TestbedError;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Must be `http://` to a loopback address or `localhost`.
    pub target: Uri,
    pub rps: f64,
    pub duration: Duration,
    pub max_requests: Option<u64>,
    pub max_in_flight: usize,
    /// Sent with every request.
    pub headers: HeaderMap,
    /// Simulated users: request `i` carries header `.0` with value
    /// `{.1}{i % .2}` (e.g. `x-user: user-7`), for sticky-session routing.
    pub rotating_header: Option<(HeaderName, String, u32)>,
    pub request_timeout: Duration,
}

impl LoadConfig {
    /// `rps` for `duration`, at most 256 in flight, 10 s request timeout.
    pub fn new(target: Uri, rps: f64, duration: Duration) -> Self {
        Self {
            target,
            rps,
            duration,
            max_requests: None,
            max_in_flight: 256,
            headers: HeaderMap::new(),
            rotating_header: None,
            request_timeout: Duration::from_secs(10),
        }
    }

    pub fn with_max_requests(mut self, n: u64) -> Self {
        self.max_requests = Some(n);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Spreads requests over `users` simulated users, named `{prefix}{n}` in
    /// header `name`.
    pub fn with_rotating_header(mut self, name: HeaderName, prefix: &str, users: u32) -> Self {
        self.rotating_header = Some((name, prefix.to_string(), users));
        self
    }

    pub fn validate(&self) -> Result<(), TestbedError> {
        let bad = |field, reason: String| Err(TestbedError::Load { field, reason });
        if let Some((_, prefix, users)) = &self.rotating_header {
            if *users == 0 {
                return bad("rotating_header", "needs at least one user".to_string());
            }
            if HeaderValue::from_str(&format!("{prefix}0")).is_err() {
                return bad(
                    "rotating_header",
                    format!("prefix {prefix:?} is not a valid header value"),
                );
            }
        }
        if self.target.scheme_str() != Some("http") {
            return bad("target", format!("{} must be an http:// URI", self.target));
        }
        if !is_loopback(&self.target) {
            return Err(TestbedError::NotLoopback {
                target: self.target.to_string(),
            });
        }
        if !(self.rps.is_finite() && self.rps > 0.0) {
            return bad("rps", format!("{} is not a positive number", self.rps));
        }
        if self.duration.is_zero() {
            return bad("duration", "must be greater than zero".to_string());
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight", "must be at least 1".to_string());
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be greater than zero".to_string());
        }
        Ok(())
    }
}

/// Whether the URI's host is `localhost`, in 127.0.0.0/8, or `::1`.
pub fn is_loopback(uri: &Uri) -> bool {
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What a run did so far (or in total, once it has ended).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadStats {
    pub sent: u64,
    /// Answered with 2xx.
    pub ok: u64,
    /// Answered with another status, or not answered at all.
    pub failed: u64,
    /// No answer: connect failure, reset, or request timeout.
    pub transport_errors: u64,
    /// Due while `max_in_flight` requests were outstanding; not sent.
    pub skipped: u64,
    pub by_status: BTreeMap<u16, u64>,
    /// Answers by their `x-demo-service` header (`-` when absent).
    pub by_service: BTreeMap<String, u64>,
    /// Client-observed time from sending to the end of the response body,
    /// for answered requests.
    pub latency: LatencyHistogram,
}

impl LoadStats {
    /// Requests sent that have an outcome.
    pub fn completed(&self) -> u64 {
        self.ok + self.failed
    }
}

pub struct LoadGenerator;

impl LoadGenerator {
    /// Validates `cfg` and starts sending at once.
    pub fn start(cfg: LoadConfig) -> Result<LoadHandle, TestbedError> {
        cfg.validate()?;
        let stats = Arc::new(Mutex::new(LoadStats::default()));
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(cfg, stats.clone(), stop.clone()));
        Ok(LoadHandle {
            stats,
            stop,
            task: Some(task),
        })
    }
}

/// A running load; dropping it aborts the run.
pub struct LoadHandle {
    stats: Arc<Mutex<LoadStats>>,
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl LoadHandle {
    /// Ends the run: no new requests; outstanding ones still complete.
    pub fn stop(&self) {
        self.stop.notify_one();
    }

    /// Whether the run has ended (all outstanding requests included).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// A snapshot of the counts so far.
    pub fn stats(&self) -> LoadStats {
        lock(&self.stats).clone()
    }

    /// Waits for the run to end and its outstanding requests to finish.
    pub async fn wait(mut self) -> LoadStats {
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "load generator task failed");
        }
        self.stats()
    }
}

impl Drop for LoadHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn lock(m: &Mutex<LoadStats>) -> MutexGuard<'_, LoadStats> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn run(cfg: LoadConfig, stats: Arc<Mutex<LoadStats>>, stop: Arc<Notify>) {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(cfg.max_in_flight)
        .pool_timer(TokioTimer::new())
        .build_http();
    let in_flight = Arc::new(Semaphore::new(cfg.max_in_flight));
    let period = Duration::from_secs_f64(1.0 / cfg.rps);
    let start = Instant::now();
    let end = start + cfg.duration;
    let mut tasks = JoinSet::new();
    let mut i: u32 = 0;
    loop {
        let due = start + period * i;
        if due >= end || cfg.max_requests.is_some_and(|m| u64::from(i) >= m) || i == u32::MAX {
            break;
        }
        tokio::select! {
            _ = stop.notified() => break,
            _ = tokio::time::sleep_until(due) => {}
        }
        i += 1;
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            lock(&stats).skipped += 1;
            continue;
        };
        lock(&stats).sent += 1;
        let req = build_request(&cfg, i - 1);
        let client = client.clone();
        let stats = stats.clone();
        let timeout = cfg.request_timeout;
        tasks.spawn(async move {
            let sent_at = Instant::now();
            let outcome = tokio::time::timeout(timeout, send(&client, req)).await;
            let elapsed = sent_at.elapsed();
            let mut s = lock(&stats);
            match outcome {
                Ok(Ok((status, service))) => {
                    if (200..300).contains(&status) {
                        s.ok += 1;
                    } else {
                        s.failed += 1;
                    }
                    *s.by_status.entry(status).or_default() += 1;
                    *s.by_service.entry(service).or_default() += 1;
                    s.latency.record_micros(elapsed.as_micros() as u64);
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "load request failed");
                    s.failed += 1;
                    s.transport_errors += 1;
                }
                Err(_) => {
                    s.failed += 1;
                    s.transport_errors += 1;
                }
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
}

fn build_request(cfg: &LoadConfig, seq: u32) -> Request<Empty<Bytes>> {
    let mut req = Request::new(Empty::new());
    *req.uri_mut() = cfg.target.clone();
    *req.headers_mut() = cfg.headers.clone();
    if let Some((name, prefix, users)) = &cfg.rotating_header
        && let Ok(v) = HeaderValue::from_str(&format!("{prefix}{}", seq % users))
    {
        req.headers_mut().insert(name.clone(), v);
    }
    req
}

async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    req: Request<Empty<Bytes>>,
) -> Result<(u16, String), hyper_util::client::legacy::Error> {
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    let service = resp
        .headers()
        .get("x-demo-service")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    // Read the body to the end so the connection goes back to the pool.
    let mut body = resp.into_body();
    while let Some(Ok(_)) = body.frame().await {}
    Ok((status, service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        for ok in [
            "http://127.0.0.1:80/",
            "http://127.9.9.9/x",
            "http://localhost:1",
            "http://[::1]:8080",
        ] {
            assert!(is_loopback(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/",
            "http://example.com/",
            "http://192.168.1.1:80",
        ] {
            let cfg = LoadConfig::new(bad.parse().unwrap(), 10.0, Duration::from_secs(1));
            assert!(
                matches!(cfg.validate(), Err(TestbedError::NotLoopback { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_rate_names_the_field() {
        let cfg = LoadConfig::new(
            "http://127.0.0.1:1".parse().unwrap(),
            0.0,
            Duration::from_secs(1),
        );
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("rps"), "{e}");
    }
}
