//! Runs the control-plane benchmark and prints the report as JSON.
//! `cargo run -p rollguard-agent --example bench_control_plane -- [AGENTS] [SECONDS] [LEDGER]`

use std::time::Duration;

use rollguard_agent::bench::{BenchOptions, control_plane};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agents = args.first().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let seconds = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let ledger = match args.get(2) {
        Some(l) => l.clone(),
        None => dir.path().join("bench.db").display().to_string(),
    };
    let report = control_plane(BenchOptions {
        agents,
        duration: Duration::from_secs(seconds),
        tick: Duration::from_secs(1),
        burst: 200,
        ledger,
    })
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
