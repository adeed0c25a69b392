//! `rollguard sim`, `rollguard replay --trace` and `rollguard bench detection`:
//! the real engine on a virtual clock.

use anyhow::{Context, anyhow};
use rollguard_sim::JudgeChoice;

use crate::cli::{Output, ReplayArgs, SimArgs, SimJudge};
use crate::exit::{self, Failure};

fn judge(j: SimJudge) -> JudgeChoice {
    match j {
        SimJudge::Rollguard => JudgeChoice::Rollguard,
        SimJudge::Argo => JudgeChoice::Argo,
        SimJudge::Flagger => JudgeChoice::Flagger,
        SimJudge::Kayenta => JudgeChoice::Kayenta,
        SimJudge::Oracle => JudgeChoice::Oracle,
    }
}

pub fn sim(a: SimArgs) -> Result<u8, Failure> {
    let rollout = rollguard_core::spec::load_file(&a.rollout).map_err(Failure::invalid)?;
    let scenario = rollguard_sim::scenario::load_file(&a.scenario).map_err(Failure::invalid)?;
    if a.runs == 0 {
        return Err(Failure::invalid(anyhow!("--runs must be at least 1")));
    }
    let report = rollguard_sim::simulate(&rollout, &scenario, a.runs, a.seed, judge(a.judge));
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        ),
        Output::Text => print!("{}", report.render_text()),
    }
    Ok(exit::OK)
}

pub fn replay_trace(a: &ReplayArgs) -> Result<u8, Failure> {
    let (Some(trace), Some(rollout)) = (&a.trace, &a.rollout) else {
        return Err(Failure::invalid(anyhow!(
            "give --rollout FILE with --trace FILE"
        )));
    };
    let rollout = rollguard_core::spec::load_file(rollout).map_err(Failure::invalid)?;
    let report = rollguard_sim::replay(&rollout, trace, a.seed).map_err(Failure::invalid)?;
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        ),
        Output::Text => print!("{}", report.render_text()),
    }
    Ok(match report.outcome {
        rollguard_sim::RunOutcome::Promoted => exit::OK,
        rollguard_sim::RunOutcome::RolledBack => exit::ROLLED_BACK,
        _ => exit::WAITING,
    })
}

pub fn bench_detection(quick: bool, output: Output) -> Result<u8, Failure> {
    let table = rollguard_sim::bench_detection(quick).map_err(Failure::invalid)?;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&table).context("encoding the table")?
        ),
        Output::Text => print!("{}", table.render_markdown()),
    }
    Ok(exit::OK)
}
