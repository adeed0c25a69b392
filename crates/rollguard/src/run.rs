//! `rollguard validate` and `rollguard run`.

use std::sync::Arc;

use anyhow::Context;
use rollguard_core::Rollout;
use rollguard_runtime::{LiveRollout, RunError, RunOptions, RunSummary, StopSignal};

use crate::cli::{Output, RunArgs, ValidateArgs};
use crate::display::{LiveDisplay, Quiet, print_header, print_summary};
use crate::exit::{self, Failure};

pub fn validate(a: ValidateArgs) -> Result<u8, Failure> {
    match rollguard_core::spec::load_file(&a.file) {
        Ok(r) => {
            match a.output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({"valid": true, "file": a.file.display().to_string(), "rollout": r})
                ),
                Output::Text => println!(
                    "{}: valid rollout {:?}: {} steps, {} metrics",
                    a.file.display(),
                    r.name,
                    r.steps.len(),
                    r.analysis.metrics.len()
                ),
            }
            Ok(exit::OK)
        }
        Err(e) => {
            if a.output == Output::Json {
                let problems: Vec<_> = e
                    .problems
                    .iter()
                    .map(|p| serde_json::json!({"line": p.line, "column": p.column, "path": p.path, "message": p.message}))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "file": e.file, "problems": problems})
                );
                return Ok(exit::INVALID);
            }
            Err(Failure::invalid(e))
        }
    }
}

/// The default ledger: `$ROLLGUARD_HOME/ledger.db`, `~/.local/share/rollguard/ledger.db`.
pub fn ledger_location(given: Option<String>) -> anyhow::Result<String> {
    if let Some(l) = given {
        return Ok(l);
    }
    let home = match std::env::var_os("ROLLGUARD_HOME") {
        Some(h) => std::path::PathBuf::from(h),
        None => {
            let base = std::env::var_os("XDG_DATA_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|h| std::path::PathBuf::from(h).join(".local/share"))
                })
                .context("cannot find a data directory: set ROLLGUARD_HOME or --ledger")?;
            base.join("rollguard")
        }
    };
    std::fs::create_dir_all(&home)
        .with_context(|| format!("cannot create the data directory {}", home.display()))?;
    Ok(home.join("ledger.db").display().to_string())
}

pub async fn open_ledger(given: Option<String>) -> Result<rollguard_ledger::Ledger, Failure> {
    let location = ledger_location(given)?;
    rollguard_ledger::Ledger::open(&location)
        .await
        .with_context(|| format!("cannot open the ledger {location}"))
        .map_err(Failure::other)
}

fn ctrl_c() -> StopSignal {
    Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: never stop on a signal.
            std::future::pending::<()>().await;
        }
    })
}

pub async fn run(a: RunArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let rollout = rollguard_core::spec::load_file(&a.file).map_err(Failure::invalid)?;
    let ledger = if a.no_ledger {
        None
    } else {
        Some(open_ledger(ledger).await?)
    };
    let notifier = a.notify.notifier().map_err(Failure::invalid)?;
    let opts = run_options(ledger, !a.fresh, false, notifier);
    let summary = execute(Arc::new(rollout), opts, a.output, ctrl_c(), None).await?;
    Ok(exit::for_outcome(summary.outcome))
}

/// Run options as `run` and `demo` set them; the operator is the local user.
pub fn run_options(
    ledger: Option<rollguard_ledger::Ledger>,
    resume: bool,
    exit_when_waiting: bool,
    notifier: Option<Arc<dyn rollguard_core::ports::Notifier>>,
) -> RunOptions {
    let mut opts = RunOptions::new(ledger);
    opts.operator = std::env::var("USER")
        .map(|u| format!("user:{u}"))
        .unwrap_or_else(|_| "operator".into());
    opts.resume = resume;
    opts.exit_when_waiting = exit_when_waiting;
    opts.notifier = notifier;
    opts
}

/// The one code path of `run` and `demo`.
pub async fn execute(
    rollout: Arc<Rollout>,
    opts: RunOptions,
    output: Output,
    stop: StopSignal,
    on_ready: Option<Box<dyn FnOnce(std::net::SocketAddr) + Send>>,
) -> Result<RunSummary, Failure> {
    let live = LiveRollout::prepare(rollout.clone(), opts)
        .await
        .map_err(|e| match e {
            RunError::BadConfig { .. } | RunError::UnsupportedRouter { .. } => Failure::invalid(e),
            other => Failure::other(other),
        })?;
    if let (Some(f), Some(addr)) = (on_ready, live.proxy_addr()) {
        f(addr);
    }
    if output == Output::Json
        && let Some(addr) = live.proxy_addr()
    {
        // stdout carries only the final JSON; scripts that send load through
        // the proxy (listen port 0) read its address from stderr.
        eprintln!("rollguard: proxy on http://{addr}");
    }
    let summary = match output {
        Output::Text => {
            print_header(&rollout, live.proxy_addr(), live.resumed());
            let mut display = LiveDisplay::new();
            let s = live.run(&mut display, stop).await.map_err(Failure::other)?;
            display.finish();
            print_summary(&s);
            s
        }
        Output::Json => {
            let s = live.run(&mut Quiet, stop).await.map_err(Failure::other)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&s).map_err(Failure::other)?
            );
            s
        }
    };
    Ok(summary)
}
