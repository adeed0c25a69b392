//! Measures what the proxy adds: the same open-loop load sent straight to a
//! demo service and through the proxy (50% canary), on loopback.
//!
//! `cargo run -p rollguard-proxy --example overhead -- [RPS] [SECONDS]`

use std::time::Duration;

use rollguard_proxy::{Proxy, ProxyConfig};
use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, LoadStats, ServiceBehavior,
};

fn report(label: &str, s: &LoadStats, secs: f64) {
    let q = |p| s.latency.quantile_ms(p).unwrap_or(f64::NAN);
    println!(
        "{label:>8}: sent {} ok {} failed {} skipped {} ({:.0} rps)  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
        s.sent,
        s.ok,
        s.failed,
        s.skipped,
        s.ok as f64 / secs,
        q(0.5),
        q(0.99),
        q(0.999)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rps: f64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000.0);
    let secs: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5.0);
    let instant = ServiceBehavior::healthy().with_latency(LatencyModel::fixed(0.0));
    let baseline = DemoService::start("baseline v1", instant).await?;
    let canary = DemoService::start("canary v2", instant).await?;
    let proxy = Proxy::start(ProxyConfig::new(
        "127.0.0.1:0".parse()?,
        baseline.uri(),
        canary.uri(),
    ))
    .await?;
    proxy.set_canary_weight(50.0);
    let duration = Duration::from_secs_f64(secs);

    let direct = LoadGenerator::start(LoadConfig::new(baseline.uri(), rps, duration))?
        .wait()
        .await;
    report("direct", &direct, secs);
    let target = format!("http://{}/", proxy.local_addr()).parse()?;
    let proxied = LoadGenerator::start(LoadConfig::new(target, rps, duration))?
        .wait()
        .await;
    report("proxied", &proxied, secs);
    let t = proxy.totals();
    println!(
        "tap: baseline {} canary {} (upstream p50 {:?} ms)",
        t.baseline.requests,
        t.canary.requests,
        t.baseline.latency.quantile_ms(0.5)
    );
    proxy.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
