//! `rollguard bench ledger`: appends per second at several concurrency levels
//! (each concurrent appender awaits its own durable commit; group commit
//! batches them), then the time to verify a ledger of `--verify-events`
//! events. Runs on fresh SQLite files in a temp dir unless `--location`
//! names a ledger (e.g. a `postgres://` URL); it never touches `--ledger`.

use anyhow::Context;
use clap::Args;
use rollguard_ledger::BenchReport;
use serde::Serialize;

use super::secs;
use crate::cli::Output;
use crate::exit::{self, Failure};

#[derive(Args)]
pub struct LedgerBenchArgs {
    /// Events appended per concurrency level.
    #[arg(long, default_value_t = 10_000)]
    pub appends: u64,
    /// Concurrent appenders (comma separated levels).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 256])]
    pub concurrency: Vec<usize>,
    /// Size of the ledger whose verification is timed (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub verify_events: u64,
    /// Benchmark this ledger (SQLite path or postgres:// URL) instead of temp
    /// SQLite files. Benchmark events are added to it.
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Serialize)]
struct LedgerBench {
    appends: Vec<BenchReport>,
    verify: Option<BenchReport>,
}

pub async fn run(a: LedgerBenchArgs) -> Result<u8, Failure> {
    let text = a.output == Output::Text;
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench ledgers")?;
    let location = |name: &str| match &a.location {
        Some(l) => l.clone(),
        None => tmp.path().join(name).display().to_string(),
    };
    let mut appends = Vec::new();
    for &c in &a.concurrency {
        if text {
            eprintln!(
                "  appending {} events with {c} concurrent appenders...",
                a.appends
            );
        }
        let r = rollguard_ledger::bench(&location(&format!("append-{c}.db")), a.appends, c)
            .await
            .with_context(|| format!("ledger bench at concurrency {c}"))?;
        appends.push(r);
    }
    let verify = if a.verify_events > 0 {
        let c = a.concurrency.iter().copied().max().unwrap_or(256);
        if text {
            eprintln!(
                "  filling a ledger with {} events ({c} appenders), then verifying it...",
                a.verify_events
            );
        }
        Some(
            rollguard_ledger::bench(&location("verify.db"), a.verify_events, c)
                .await
                .context("ledger verify bench")?,
        )
    } else {
        None
    };
    let ok = appends.iter().chain(verify.iter()).all(|r| r.verify_ok);
    let report = LedgerBench { appends, verify };
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::other)?
        ),
        Output::Text => println!("{}", table(&report)),
    }
    Ok(if ok { exit::OK } else { exit::OTHER })
}

fn table(r: &LedgerBench) -> String {
    let backend = r
        .appends
        .first()
        .or(r.verify.as_ref())
        .map(|b| b.backend.clone())
        .unwrap_or_default();
    let mut out = format!(
        "Ledger ({backend}): every append awaited until durably committed.\n\n\
         | concurrent appenders | events | appends/s | events per commit | ms per commit |\n\
         |---|---|---|---|---|\n"
    );
    for b in &r.appends {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {:.2} |\n",
            b.concurrency, b.appended, b.appends_per_sec, b.events_per_commit, b.mean_commit_ms
        ));
    }
    if let Some(v) = &r.verify {
        out.push_str(&format!(
            "\nVerify: {} events in {} ({:.0} events/s), chain {}; filling it took {} ({:.0} appends/s with {} appenders).\n",
            v.verified,
            secs(v.verify_secs),
            v.verify_events_per_sec,
            if v.verify_ok { "intact" } else { "BROKEN" },
            secs(v.append_secs),
            v.appends_per_sec,
            v.concurrency
        ));
    }
    out
}
