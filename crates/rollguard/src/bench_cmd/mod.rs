//! `rollguard bench`: measured figures for the README. `reaction` times how
//! fast a failing canary is taken out of traffic through the real live loop
//! and builtin proxy, and what the proxy adds to latency and throughput;
//! `ledger` measures ledger appends and verification. Results print as
//! markdown tables, or JSON with `--output json`.

mod ledger;
mod overhead;
mod reaction;

use clap::Args;

use crate::cli::{BenchCmd, Output};
use crate::exit::Failure;

pub use ledger::LedgerBenchArgs;

#[derive(Args)]
pub struct ReactionArgs {
    /// Total load through the proxy, requests per second.
    #[arg(long, default_value_t = 100.0)]
    pub rps: f64,
    /// Canary weight (percent) while it starts failing.
    #[arg(long, default_value_t = 10.0)]
    pub weight: f64,
    /// Canary error rates to inject, as fractions (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [0.20, 0.02])]
    pub error_rates: Vec<f64>,
    /// The baseline's (and the healthy canary's) error rate.
    #[arg(long, default_value_t = 0.002)]
    pub baseline_error_rate: f64,
    /// Trials per error rate.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Seconds of healthy canary traffic at the weight before the fault.
    #[arg(long, default_value_t = 5.0)]
    pub warmup: f64,
    /// Give up on a trial after this many seconds of failing canary.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// Seconds per proxy overhead measurement; 0 skips the overhead part.
    #[arg(long, default_value_t = 5.0)]
    pub overhead_secs: f64,
    /// Fixed request rate of the latency comparison (direct vs proxied).
    #[arg(long, default_value_t = 1000.0)]
    pub overhead_rps: f64,
    /// Skip the reaction trials (overhead only).
    #[arg(long)]
    pub overhead_only: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

pub async fn bench(cmd: BenchCmd) -> Result<u8, Failure> {
    match cmd {
        BenchCmd::Reaction(a) => reaction_and_overhead(a).await,
        BenchCmd::Ledger(a) => ledger::run(a).await,
        BenchCmd::Detection(a) => crate::sim_cmd::bench_detection(a.quick, a.output),
        BenchCmd::Policy(a) => crate::policy_cmd::bench(a),
        BenchCmd::Proxy(a) => proxy(a).await,
    }
}

async fn reaction_and_overhead(a: ReactionArgs) -> Result<u8, Failure> {
    let text = a.output == Output::Text;
    let reaction = if a.overhead_only {
        None
    } else {
        Some(reaction::run(&a, text).await?)
    };
    if text && let Some(r) = &reaction {
        println!("{}", reaction::table(r));
    }
    let overhead = if a.overhead_secs > 0.0 {
        Some(overhead::run(a.overhead_secs, a.overhead_rps, text).await?)
    } else {
        None
    };
    match a.output {
        Output::Text => {
            if let Some(o) = &overhead {
                println!("{}", overhead::table(o));
            }
        }
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "reaction": reaction,
                "overhead": overhead,
            }))
            .map_err(Failure::other)?
        ),
    }
    Ok(crate::exit::OK)
}

/// `x` seconds as a short human figure.
pub(crate) fn secs(x: f64) -> String {
    if x < 1.0 {
        format!("{:.0} ms", x * 1000.0)
    } else {
        format!("{x:.1} s")
    }
}

async fn proxy(a: crate::cli::ProxyBenchArgs) -> Result<u8, Failure> {
    let opts = rollguard_actuators::bench::BenchOptions {
        duration: std::time::Duration::from_secs(a.seconds.max(1)),
        connections: a.connections.max(1),
        ..Default::default()
    };
    let report = rollguard_actuators::bench::bench_proxy(&opts)
        .await
        .map_err(Failure::other)?;
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::other)?
        ),
        Output::Text => print!("{}", report.to_markdown()),
    }
    Ok(crate::exit::OK)
}
