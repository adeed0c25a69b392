//! Prints the decisions of one simulated run (for debugging scenarios).
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rollguard_core::{AllowAll, Effect, Engine, EventKind, Input, Observation, VersionWindow};
use rollguard_sim::bench::bench_rollout;
use rollguard_sim::scenario::{Behaviour, LatencyModel, Scenario};
use rollguard_sim::traffic::Traffic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1);
    let rollout = Arc::new(bench_rollout()?);
    let engine = Engine::new(rollout.clone());
    let scenario = Scenario::steady(
        "aa",
        1_800_000,
        100.0,
        Behaviour::new(0.005, LatencyModel::lognormal(100.0, 0.5)),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut traffic = Traffic::new(&scenario);
    let (mut st, _) = engine.start(0, &mut AllowAll);
    let mut weight = 5.0;
    let (mut b, mut c) = (VersionWindow::default(), VersionWindow::default());
    let mut start = 0;
    while !st.is_done() && start < scenario.duration {
        let end = start + 1000;
        traffic.draw(&mut rng, start, end, weight, &mut b, &mut c);
        let obs = Observation::from_versions(&rollout, start, end, &b, &c);
        let (n, fx) = engine.step(st, Input::Observe(obs), end, &mut AllowAll);
        st = n;
        for f in &fx {
            match f {
                Effect::SetWeight { weight: w, .. } => weight = *w,
                Effect::Record(r) if r.kind != EventKind::Observed => {
                    println!("{} {:?} {}", r.at, r.kind, r.rationale)
                }
                _ => {}
            }
        }
        if end % 60_000 == 0 {
            let v = st.verdicts(true);
            let s: Vec<String> = v
                .iter()
                .map(|v| {
                    format!(
                        "{} {:?} e={:.2} c={:?} b={:?}",
                        v.metric, v.decision, v.e_value, v.canary, v.baseline
                    )
                })
                .collect();
            println!("{end}: {}", s.join(" | "));
        }
        start = end;
    }
    Ok(())
}
