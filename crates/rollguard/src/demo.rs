//! `rollguard demo`: two versions of a bundled service on loopback, a load
//! generator through the builtin proxy, and a real rollout on exactly the code
//! path of `rollguard run`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, LoadHandle, ServiceBehavior,
};

use crate::cli::{CanaryKind, DemoArgs, Output};
use crate::exit::{self, Failure};
use crate::run::{execute, open_ledger, run_options};

const TEMPLATE: &str = include_str!("demo.yaml");

fn behaviors(kind: CanaryKind) -> (ServiceBehavior, ServiceBehavior, &'static str) {
    let latency = LatencyModel::lognormal(20.0, 0.35);
    let baseline = ServiceBehavior::healthy()
        .with_error_rate(0.002)
        .with_latency(latency);
    let (canary, what) = match kind {
        CanaryKind::Healthy => (baseline, "a healthy canary (same as the baseline)"),
        CanaryKind::Errors => (
            baseline.with_error_rate(0.08),
            "a canary that fails 8% of requests (baseline 0.2%)",
        ),
        CanaryKind::Latency => (
            baseline.with_latency(LatencyModel::lognormal(32.0, 0.35)),
            "a canary 60% slower at the median",
        ),
        CanaryKind::Tail => (
            baseline.with_latency(latency.with_tail(0.03, 4.0)),
            "a canary with the same median but a p99 more than twice as slow",
        ),
    };
    (baseline, canary, what)
}

pub async fn demo(a: DemoArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let (b, c, what) = behaviors(a.canary);
    let baseline = DemoService::start("baseline v1", b)
        .await
        .context("starting the baseline service")?;
    let canary = DemoService::start("canary v2", c)
        .await
        .context("starting the canary service")?;
    let variant = format!("{:?}", a.canary).to_lowercase();
    let text = TEMPLATE
        .replace("__VARIANT__", &variant)
        .replace("__BASELINE__", &format!("http://{}", baseline.addr()))
        .replace("__CANARY__", &format!("http://{}", canary.addr()));
    let rollout = rollguard_core::spec::load(&text, "demo.yaml").map_err(Failure::invalid)?;
    if a.output == Output::Text {
        println!(
            "rollguard demo: {what}; {} rps of load through the builtin proxy",
            a.rps
        );
    }
    let ledger = open_ledger(ledger).await?;
    let load: Arc<Mutex<Option<LoadHandle>>> = Arc::new(Mutex::new(None));
    let slot = load.clone();
    let rps = a.rps;
    let on_ready = Box::new(move |addr: std::net::SocketAddr| {
        let target = format!("http://{addr}/checkout");
        let Ok(uri) = target.parse() else { return };
        match LoadGenerator::start(LoadConfig::new(uri, rps, Duration::from_secs(600))) {
            Ok(h) => {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(h);
                }
            }
            Err(e) => eprintln!("error: cannot start the load generator: {e}"),
        }
    });
    // Ctrl-C still aborts safely; the demo never waits for a person longer than its steps.
    let stop: rollguard_runtime::StopSignal = Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    let opts = run_options(Some(ledger), false, true, None);
    let summary = execute(Arc::new(rollout), opts, a.output, stop, Some(on_ready)).await?;
    let handle = load.lock().ok().and_then(|mut s| s.take());
    if let Some(h) = handle {
        h.stop();
        let stats = h.wait().await;
        if a.output == Output::Text {
            println!(
                "  load: {} requests sent, {} answered OK, {} failed",
                stats.sent, stats.ok, stats.failed
            );
        }
    }
    baseline.stop();
    canary.stop();
    Ok(exit::for_outcome(summary.outcome))
}
