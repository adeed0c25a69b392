//! Builtin proxy overhead against a direct connection, on loopback, to demo
//! services that answer at once. Latency: the same fixed-rate open-loop load
//! (bundled generator) direct and through the proxy; the difference of the
//! p50 and p99 is what the proxy adds. Throughput: closed-loop saturation with
//! Debian's `wrk` when it is installed, else the bundled generator at a rate
//! it cannot reach. Client and servers share the machine's cores, so the
//! figures are a lower bound on what the proxy does on its own hardware.

use std::time::Duration;

use anyhow::Context;
use rollguard_proxy::{Proxy, ProxyConfig};
use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, LoadStats, ServiceBehavior,
};
use serde::Serialize;

use crate::exit::Failure;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_rps: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverheadReport {
    /// `wrk` or `bundled load generator`.
    pub throughput_tool: String,
    pub latency_rps: f64,
    pub secs: f64,
    pub direct: Side,
    pub proxied: Side,
}

fn quantiles(s: &LoadStats) -> (Option<f64>, Option<f64>) {
    (s.latency.quantile_ms(0.5), s.latency.quantile_ms(0.99))
}

async fn fixed_rate(target: http::Uri, rps: f64, secs: f64) -> Result<LoadStats, Failure> {
    Ok(
        LoadGenerator::start(LoadConfig::new(target, rps, Duration::from_secs_f64(secs)))
            .context("starting the load generator")?
            .wait()
            .await,
    )
}

/// Saturation throughput with `wrk` (None when it is not installed).
async fn wrk_rps(target: &str, secs: f64) -> Result<Option<f64>, Failure> {
    let out = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            "-c32",
            &format!("-d{}s", secs.ceil().max(1.0)),
            target,
        ])
        .output()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::other(anyhow::anyhow!("running wrk: {e}"))),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("wrk printed no Requests/sec for {target}:\n{text}"))?;
    Ok(Some(rps))
}

/// Saturation throughput with the bundled generator (offered far above capacity).
async fn bundled_rps(target: http::Uri, secs: f64) -> Result<f64, Failure> {
    let s = fixed_rate(target, 200_000.0, secs).await?;
    Ok(s.ok as f64 / secs)
}

pub async fn run(secs: f64, rps: f64, text: bool) -> Result<OverheadReport, Failure> {
    let instant = ServiceBehavior::healthy().with_latency(LatencyModel::fixed(0.0));
    let baseline = DemoService::start("baseline v1", instant)
        .await
        .context("starting the baseline service")?;
    let canary = DemoService::start("canary v2", instant)
        .await
        .context("starting the canary service")?;
    let listen = "127.0.0.1:0".parse().context("listen address")?;
    let proxy = Proxy::start(ProxyConfig::new(listen, baseline.uri(), canary.uri()))
        .await
        .context("starting the builtin proxy")?;
    proxy.set_canary_weight(10.0);
    let direct_url = format!("http://{}/", baseline.addr());
    let proxied_url = format!("http://{}/", proxy.local_addr());
    let direct_uri: http::Uri = direct_url.parse().context("direct uri")?;
    let proxied_uri: http::Uri = proxied_url.parse().context("proxied uri")?;

    if text {
        eprintln!("  proxy overhead: {rps} rps for {secs} s, direct then proxied...");
    }
    let (d50, d99) = quantiles(&fixed_rate(direct_uri.clone(), rps, secs).await?);
    let (p50, p99) = quantiles(&fixed_rate(proxied_uri.clone(), rps, secs).await?);

    let (tool, direct_max, proxied_max) = match wrk_rps(&direct_url, secs).await? {
        Some(d) => {
            let p = wrk_rps(&proxied_url, secs).await?;
            ("wrk (-t2 -c32)".to_string(), d, p.unwrap_or(f64::NAN))
        }
        None => (
            "bundled load generator (wrk not installed)".to_string(),
            bundled_rps(direct_uri, secs).await?,
            bundled_rps(proxied_uri, secs).await?,
        ),
    };
    proxy.shutdown(Duration::from_secs(5)).await;
    baseline.stop();
    canary.stop();
    Ok(OverheadReport {
        throughput_tool: tool,
        latency_rps: rps,
        secs,
        direct: Side {
            p50_ms: d50,
            p99_ms: d99,
            max_rps: Some(direct_max),
        },
        proxied: Side {
            p50_ms: p50,
            p99_ms: p99,
            max_rps: Some(proxied_max),
        },
    })
}

/// The figures as a markdown table.
pub fn table(r: &OverheadReport) -> String {
    let ms = |x: Option<f64>| {
        x.map(|v| format!("{v:.2} ms"))
            .unwrap_or_else(|| "-".into())
    };
    let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:+.2} ms", b - a),
        _ => "-".into(),
    };
    let rps = |x: Option<f64>| {
        x.filter(|v| v.is_finite())
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "-".into())
    };
    let lost = match (r.direct.max_rps, r.proxied.max_rps) {
        (Some(d), Some(p)) if d > 0.0 && p.is_finite() => format!("{:.0}%", 100.0 * p / d),
        _ => "-".into(),
    };
    format!(
        "Builtin proxy overhead (loopback, upstream answers at once; latency at {} rps open-loop, bundled generator; \
         max throughput with {}):\n\n\
         | | direct | through proxy | added |\n\
         |---|---|---|---|\n\
         | p50 latency | {} | {} | {} |\n\
         | p99 latency | {} | {} | {} |\n\
         | max throughput (req/s) | {} | {} | {lost} of direct |\n",
        r.latency_rps,
        r.throughput_tool,
        ms(r.direct.p50_ms),
        ms(r.proxied.p50_ms),
        diff(r.direct.p50_ms, r.proxied.p50_ms),
        ms(r.direct.p99_ms),
        ms(r.proxied.p99_ms),
        diff(r.direct.p99_ms, r.proxied.p99_ms),
        rps(r.direct.max_rps),
        rps(r.proxied.max_rps),
    )
}
