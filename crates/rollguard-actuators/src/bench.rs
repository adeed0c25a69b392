//! `rollguard bench proxy`: the data plane's cost, measured in one run on one
//! machine. A demo service with a fixed latency is loaded with `wrk`
//! (Debian package `wrk`) three ways: directly, through the builtin proxy
//! (all traffic on one version), and through HAProxy (one server). Reported:
//! throughput and p50/p99 latency, and the p50/p99 each data plane adds over
//! the direct connection. All three runs share the machine, so read the
//! figures as a comparison, not as absolute capacity.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use rollguard_proxy::{Proxy, ProxyConfig};
use rollguard_testbed::{DemoService, LatencyModel, ServiceBehavior};
use serde::Serialize;

use crate::testing::{HaproxyServer, TestServerError, find_binary};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Per data plane.
    pub duration: Duration,
    pub connections: u32,
    pub threads: u32,
    /// The demo service's fixed latency.
    pub service_latency_ms: f64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            duration: Duration::from_secs(10),
            connections: 32,
            threads: 2,
            service_latency_ms: 1.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Server(#[from] TestServerError),
    #[error("demo service: {0}")]
    Service(String),
    #[error("builtin proxy: {0}")]
    Proxy(String),
    #[error("wrk against {target}: {reason}")]
    Wrk { target: String, reason: String },
}

/// One data plane's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenchRow {
    pub name: String,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Over the direct connection.
    pub added_p50_ms: f64,
    pub added_p99_ms: f64,
    pub requests: u64,
    /// Non-2xx/3xx answers and socket errors.
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub options: String,
    pub rows: Vec<BenchRow>,
}

impl BenchReport {
    /// A markdown table.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("{}\n\n", self.options);
        s.push_str(
            "| data plane | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors |\n",
        );
        s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {:.0} | {:.2} | {:.2} | {:+.2} | {:+.2} | {} |\n",
                r.name,
                r.requests_per_sec,
                r.p50_ms,
                r.p99_ms,
                r.added_p50_ms,
                r.added_p99_ms,
                r.errors
            ));
        }
        s
    }
}

/// What `wrk --latency` printed, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
}

fn parse_ms(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|v| v * scale)
}

/// Parses `wrk --latency` output.
pub fn parse_wrk(out: &str) -> Option<WrkResult> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let (mut requests, mut errors) = (None, 0u64);
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => p50 = parse_ms(v),
            ["99%", v] => p99 = parse_ms(v),
            ["Requests/sec:", v] => rps = v.parse().ok(),
            [n, "requests", "in", ..] => requests = n.parse().ok(),
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    Some(WrkResult {
        requests_per_sec: rps?,
        p50_ms: p50?,
        p99_ms: p99?,
        requests: requests?,
        errors,
    })
}

async fn run_wrk(
    wrk: &std::path::Path,
    target: SocketAddr,
    opts: &BenchOptions,
) -> Result<WrkResult, BenchError> {
    let url = format!("http://{target}/");
    let out = tokio::process::Command::new(wrk)
        .arg(format!("-t{}", opts.threads.max(1)))
        .arg(format!("-c{}", opts.connections.max(1)))
        .arg(format!("-d{}s", opts.duration.as_secs().max(1)))
        .arg("--latency")
        .arg(&url)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| BenchError::Wrk {
            target: url.clone(),
            reason: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).ok_or_else(|| BenchError::Wrk {
        target: url,
        reason: format!(
            "unreadable output: {} {}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    })
}

/// Runs the three measurements, one after the other.
pub async fn bench_proxy(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let wrk = find_binary("wrk", "wrk")?;
    let behavior =
        ServiceBehavior::healthy().with_latency(LatencyModel::fixed(opts.service_latency_ms));
    let service = DemoService::start("bench", behavior)
        .await
        .map_err(|e| BenchError::Service(e.to_string()))?;
    let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let proxy = Proxy::start(ProxyConfig::new(listen, service.uri(), service.uri()))
        .await
        .map_err(|e| BenchError::Proxy(e.to_string()))?;
    proxy.set_canary_weight(0.0);
    let haproxy = HaproxyServer::start(&[("app", service.addr(), 1)]).await?;
    let targets = [
        ("direct", service.addr()),
        ("builtin proxy", proxy.local_addr()),
        ("haproxy", haproxy.frontend),
    ];
    let mut results = Vec::new();
    for (name, addr) in targets {
        // A short warm-up fills connection pools.
        let warm = BenchOptions {
            duration: Duration::from_secs(1),
            ..opts.clone()
        };
        run_wrk(&wrk, addr, &warm).await?;
        results.push((name, run_wrk(&wrk, addr, opts).await?));
    }
    proxy.shutdown(Duration::from_secs(2)).await;
    drop(haproxy);
    service.stop();
    let (p50, p99) = results
        .first()
        .map(|(_, r)| (r.p50_ms, r.p99_ms))
        .unwrap_or((0.0, 0.0));
    let rows = results
        .into_iter()
        .map(|(name, r)| BenchRow {
            name: name.to_string(),
            requests_per_sec: r.requests_per_sec,
            p50_ms: r.p50_ms,
            p99_ms: r.p99_ms,
            added_p50_ms: r.p50_ms - p50,
            added_p99_ms: r.p99_ms - p99,
            requests: r.requests,
            errors: r.errors,
        })
        .collect();
    Ok(BenchReport {
        options: format!(
            "wrk -t{} -c{} -d{}s against a demo service answering after {} ms; same machine, one run each",
            opts.threads,
            opts.connections,
            opts.duration.as_secs(),
            opts.service_latency_ms
        ),
        rows,
    })
}
