//! The simulator's speed target: 1,000 simulated 30-minute rollouts at 100 rps.
//!
//! `cargo run --release -p rollguard-sim --example sim_speed [-- RUNS]`

use rollguard_sim::bench::bench_rollout;
use rollguard_sim::scenario::{Behaviour, LatencyModel, Scenario};
use rollguard_sim::{JudgeChoice, simulate};

#[allow(clippy::disallowed_methods)] // wall time of the benchmark itself, for people
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000);
    let mut rollout = bench_rollout()?;
    // Keep every run going for the full 30 minutes: analyze for 10 minutes per step.
    for s in &mut rollout.steps {
        if let rollguard_core::spec::Step::Analyze { min, max } = s {
            *min = 600_000;
            *max = 600_000;
        }
    }
    let scenario = Scenario::steady(
        "aa-30m",
        1_800_000,
        100.0,
        Behaviour::new(0.005, LatencyModel::lognormal(100.0, 0.5)),
    );
    let started = std::time::Instant::now();
    let report = simulate(&rollout, &scenario, runs, 7, JudgeChoice::Rollguard);
    let took = started.elapsed().as_secs_f64();
    print!("{}", report.render_text());
    let simulated_s: u64 = report
        .results
        .iter()
        .map(|r| r.decided_at_ms.unwrap_or(scenario.duration) / 1000)
        .sum();
    println!(
        "{runs} runs, {simulated_s} simulated seconds, in {took:.1} s wall ({:.0} simulated seconds per wall second, {} threads)",
        simulated_s as f64 / took,
        rayon::current_num_threads()
    );
    Ok(())
}
