//! Runs one benchmark case with rollguard, for profiling.
use rollguard_sim::bench::{bench_rollout, cases};
use rollguard_sim::{JudgeChoice, simulate};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idx: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(0);
    let runs: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50);
    let rollout = bench_rollout()?;
    let case = &cases::cases(0.01 / 3.0)[idx];
    let r = cases::rollout_for(&rollout, JudgeChoice::Rollguard, case);
    let rep = simulate(&r, &case.scenario, runs, 1, JudgeChoice::Rollguard);
    print!("{}", rep.render_text());
    Ok(())
}
