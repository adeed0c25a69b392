//! `rollguard policy test DIR`, `rollguard policy eval --input FILE`,
//! `rollguard policy bench` (also meant as `rollguard bench policy`).
//!
//! Exit codes: `test` 0 when every test passes, 2 on failures or errors
//! (like `opa test`); `eval` 0 allow, 4 require_approval, 3 deny, 2 bad input
//! or a bundle that does not compile.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use rollguard_policy::{PolicyBundle, PolicyEngine, PolicyInput, PolicyResult};

use crate::cli::Output;
use crate::exit::{self, Failure};

#[derive(Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCmd,
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Run the bundle's `test_*` rules, like `opa test`. Exit 2 on failures.
    Test {
        /// Bundle directory.
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
        /// List passing tests too.
        #[arg(long = "list-passing")]
        list_passing: bool,
    },
    /// Evaluate one input (JSON) and print the decision and why.
    Eval {
        #[arg(long)]
        input: PathBuf,
        /// Bundle directory [default: the shipped bundle].
        #[arg(long)]
        bundle: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Latency of policy evaluation with the shipped bundle.
    Bench(BenchPolicyArgs),
}

#[derive(Args)]
pub struct BenchPolicyArgs {
    /// Timed evaluations.
    #[arg(long, default_value_t = 20_000)]
    pub evaluations: usize,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

pub fn policy(a: PolicyArgs) -> Result<u8, Failure> {
    match a.command {
        PolicyCmd::Test {
            dir,
            output,
            list_passing,
        } => test(&dir, output, list_passing),
        PolicyCmd::Eval {
            input,
            bundle,
            output,
        } => eval(&input, bundle.as_deref(), output),
        PolicyCmd::Bench(b) => bench(b),
    }
}

fn load(dir: Option<&std::path::Path>) -> Result<PolicyBundle, Failure> {
    match dir {
        Some(d) => PolicyBundle::load(d)
            .with_context(|| format!("policy bundle {}", d.display()))
            .map_err(Failure::invalid),
        None => PolicyBundle::default_bundle().map_err(Failure::other),
    }
}

fn test(dir: &std::path::Path, output: Output, verbose: bool) -> Result<u8, Failure> {
    let bundle = load(Some(dir))?;
    let report = rollguard_policy::run_tests(&bundle)
        .with_context(|| format!("policy bundle {}", dir.display()))
        .map_err(Failure::invalid)?;
    match output {
        Output::Json => println!("{}", report.to_json()),
        Output::Text => print!("{}", report.to_human(verbose)),
    }
    Ok(if report.is_success() {
        exit::OK
    } else {
        exit::INVALID
    })
}

fn eval(
    input: &std::path::Path,
    bundle: Option<&std::path::Path>,
    output: Output,
) -> Result<u8, Failure> {
    let bundle = load(bundle)?;
    let engine = PolicyEngine::new(&bundle)
        .with_context(|| format!("policy bundle {}", bundle.source()))
        .map_err(Failure::invalid)?;
    let text = std::fs::read_to_string(input)
        .with_context(|| format!("cannot read {}", input.display()))
        .map_err(Failure::invalid)?;
    let mut parsed: PolicyInput = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a policy input", input.display()))
        .map_err(Failure::invalid)?;
    parsed.environment.localize(bundle.timezone());
    // An evaluation error is reported as such (exit 1): held, never allowed.
    let decision = engine
        .evaluate(&parsed)
        .with_context(|| format!("evaluating {}", input.display()))?;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "result": decision.effective(),
                "reasons": decision.effective_reasons(),
                "policy_result": decision.result,
                "also_requires_approval": decision.also_requires_approval,
                "bundle_hash": decision.bundle_hash,
            }))
            .map_err(Failure::other)?
        ),
        Output::Text => {
            println!("{} {}", decision.effective(), decision.action);
            println!("  bundle {} ({})", decision.short_hash(), bundle.source());
            for r in decision.effective_reasons() {
                println!("  - {r}");
            }
            for r in &decision.also_requires_approval {
                println!("  - (also requires approval) {r}");
            }
        }
    }
    Ok(match decision.effective() {
        PolicyResult::Allow => exit::OK,
        PolicyResult::Deny => exit::ROLLED_BACK,
        PolicyResult::RequireApproval => exit::WAITING,
    })
}

pub fn bench(a: BenchPolicyArgs) -> Result<u8, Failure> {
    let r = rollguard_policy::bench(a.evaluations)
        .context("policy benchmark")
        .map_err(Failure::other)?;
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(Failure::other)?
        ),
        Output::Text => {
            println!("policy evaluation, shipped bundle {}", r.bundle_hash);
            println!("  {:<14} {:>12}", "evaluations", r.evaluations);
            println!("  {:<14} {:>9.1} µs", "p50", r.p50_us);
            println!("  {:<14} {:>9.1} µs", "p99", r.p99_us);
            println!("  {:<14} {:>9.1} µs", "max", r.max_us);
            println!("  {:<14} {:>12.0}", "evals/s", r.evals_per_s);
            println!(
                "  target p99 < 1000 µs: {}",
                if r.p99_us < 1000.0 { "met" } else { "NOT met" }
            );
        }
    }
    Ok(exit::OK)
}
