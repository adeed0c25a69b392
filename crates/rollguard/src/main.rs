//! The `rollguard` command line.

mod agent_cmd;
mod bench_cmd;
mod certs_cmd;
mod cli;
mod client_cmd;
mod controller_cmd;
mod demo;
mod display;
mod exit;
mod ledger_cmd;
mod notify_opts;
mod policy_cmd;
mod run;
mod serve_cmd;
mod sim_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Cmd};
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    rollguard_mtls::install_crypto_provider();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, error }) => {
            eprintln!("error: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,rollguard_ledger=warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROLLGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let ledger = cli.ledger.clone();
    match cli.command {
        Cmd::Validate(a) => run::validate(a),
        Cmd::Schema => {
            let schema = rollguard_core::spec::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).map_err(Failure::other)?
            );
            Ok(0)
        }
        Cmd::Run(a) => run::run(a, ledger).await,
        Cmd::Demo(a) => demo::demo(a, ledger).await,
        Cmd::History(a) => ledger_cmd::history(a, ledger).await,
        Cmd::Explain(a) => ledger_cmd::explain(a, ledger).await,
        Cmd::Ledger(a) => ledger_cmd::ledger(a, ledger).await,
        Cmd::Replay(a) if a.trace.is_some() => sim_cmd::replay_trace(&a),
        Cmd::Replay(a) => ledger_cmd::replay(a, ledger).await,
        Cmd::Serve(a) => serve_cmd::serve(a, ledger).await,
        Cmd::Status(a) => client_cmd::status(a).await,
        Cmd::Apply(a) => client_cmd::apply(a).await,
        Cmd::Approve(a) => client_cmd::approve(a).await,
        Cmd::Pause(a) => client_cmd::override_cmd("pause", a).await,
        Cmd::Resume(a) => client_cmd::override_cmd("resume", a).await,
        Cmd::Promote(a) => client_cmd::promote(a).await,
        Cmd::Abort(a) => client_cmd::override_cmd("abort", a).await,
        Cmd::PauseAll(a) => client_cmd::global("/v1/pause-all", a).await,
        Cmd::ResumeAll(a) => client_cmd::global("/v1/resume-all", a).await,
        Cmd::Policy(a) => policy_cmd::policy(a),
        Cmd::Controller(a) => controller_cmd::controller(a, ledger).await,
        Cmd::Agent(a) => agent_cmd::agent(a).await,
        Cmd::Certs(a) => certs_cmd::certs(a),
        Cmd::Sim(a) => sim_cmd::sim(a),
        Cmd::Bench(b) => bench_cmd::bench(b).await,
    }
}
