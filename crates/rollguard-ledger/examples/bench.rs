//! Ledger benchmark, the same code as `rollguard bench ledger`:
//!
//! ```text
//! cargo run --release -p rollguard-ledger --example bench -- [LOCATION] [EVENTS] [CONCURRENCY]
//! ```
//!
//! LOCATION defaults to a new SQLite file in a temp dir; a `postgres://` URL
//! benchmarks PostgreSQL. EVENTS defaults to 100000, CONCURRENCY to 256.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench: temp dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let default_location = tmp.path().join("bench.db").to_string_lossy().into_owned();
    let location = args.first().cloned().unwrap_or(default_location);
    let parse = |i: usize, default: u64| -> Option<u64> {
        args.get(i).map_or(Some(default), |a| a.parse().ok())
    };
    let (Some(events), Some(concurrency)) = (parse(1, 100_000), parse(2, 256)) else {
        eprintln!("usage: bench [LOCATION] [EVENTS] [CONCURRENCY]");
        return ExitCode::from(2);
    };
    match rollguard_ledger::bench(&location, events, concurrency as usize).await {
        Ok(r) => {
            println!(
                "{} {}: {} appends by {} tasks in {:.2} s = {:.0} appends/s; verify {} events in {:.2} s = {:.0} events/s ({}); {} commits, {:.1} events/commit, {:.2} ms/commit",
                r.backend,
                r.location,
                r.appended,
                r.concurrency,
                r.append_secs,
                r.appends_per_sec,
                r.verified,
                r.verify_secs,
                r.verify_events_per_sec,
                if r.verify_ok { "ok" } else { "CHAIN BROKEN" },
                r.commits,
                r.events_per_commit,
                r.mean_commit_ms
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
