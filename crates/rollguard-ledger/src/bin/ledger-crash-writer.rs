//! Test helper for the crash test: `ledger-crash-writer LEDGER TASKS`
//! appends from TASKS concurrent tasks forever and prints `ack SEQ` on stdout
//! for every acknowledged (committed) event, until it is killed.

use std::io::Write;

use rollguard_ledger::{Ledger, bench::sample_event};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(location), tasks) = (args.next(), args.next()) else {
        eprintln!("usage: ledger-crash-writer LEDGER [TASKS]");
        return std::process::ExitCode::from(2);
    };
    let tasks: u64 = tasks.and_then(|t| t.parse().ok()).unwrap_or(8);
    let ledger = match Ledger::open(&location).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ledger-crash-writer: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut handles = Vec::new();
    for t in 0..tasks {
        let ledger = ledger.clone();
        handles.push(tokio::spawn(async move {
            for i in 0.. {
                match ledger.append(sample_event(&format!("crash-{t}"), i)).await {
                    Ok(event) => {
                        let mut out = std::io::stdout().lock();
                        if writeln!(out, "ack {}", event.seq)
                            .and_then(|()| out.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        eprintln!("ledger-crash-writer: {e}");
                        return;
                    }
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    std::process::ExitCode::FAILURE
}
