//! Ledger reading commands: history, explain, verify, export, replay --from-ledger.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rollguard_core::{Engine, format_millis};
use rollguard_ledger::{Event, EventFilter};
use rollguard_runtime::rebuild_state;

use crate::cli::{ExplainArgs, HistoryArgs, LedgerArgs, LedgerCmd, Output, ReplayArgs};
use crate::exit::{self, Failure};
use crate::run::open_ledger;

fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", ms.rem_euclid(1000))
}

pub async fn history(a: HistoryArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let l = open_ledger(ledger).await?;
    let mut events = l
        .events(EventFilter {
            rollout: a.rollout.clone(),
            ..EventFilter::default()
        })
        .await
        .map_err(Failure::other)?;
    if !a.all {
        events.retain(|e| e.kind != "observed");
    }
    if let Some(n) = a.limit {
        let skip = events.len().saturating_sub(n);
        events.drain(..skip);
    }
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&events).map_err(Failure::other)?
        ),
        Output::Text => {
            if events.is_empty() {
                println!(
                    "no events{}",
                    a.rollout
                        .map(|r| format!(" for rollout {r}"))
                        .unwrap_or_default()
                );
            }
            for e in &events {
                println!(
                    "{:>6}  {}  {:<16} {:<14} {:<12} {}",
                    e.seq,
                    time(e.time_ms),
                    e.rollout,
                    e.kind,
                    e.actor,
                    e.rationale
                );
            }
        }
    }
    Ok(exit::OK)
}

fn verdict_lines(e: &Event) -> Vec<String> {
    let Some(vs) = e.statistics.get("verdicts").and_then(|v| v.as_array()) else {
        return vec![];
    };
    vs.iter()
        .map(|v| {
            let f = |k: &str| v.get(k).and_then(|x| x.as_f64());
            let pct = |x: Option<f64>| x.map(|r| format!("{:.2}%", 100.0 * r)).unwrap_or_else(|| "n/a".into());
            let interval = v
                .get("interval")
                .and_then(|i| i.as_array())
                .and_then(|i| Some((i.first()?.as_f64()?, i.get(1)?.as_f64()?)))
                .map(|(lo, hi)| format!(", ratio CI [{lo:.2}, {}]", if hi.is_finite() { format!("{hi:.2}") } else { "inf".into() }))
                .unwrap_or_default();
            format!(
                "{}: {} — e={:.3} (threshold {:.0}), canary {} vs baseline {}, estimate {}{interval}",
                v.get("metric").and_then(|m| m.as_str()).unwrap_or("?"),
                v.get("decision").and_then(|m| m.as_str()).unwrap_or("?"),
                f("e_value").unwrap_or(0.0),
                f("threshold").unwrap_or(0.0),
                pct(f("canary_rate")),
                pct(f("baseline_rate")),
                f("estimate").map(|x| format!("{x:.2}x")).unwrap_or_else(|| "n/a".into()),
            )
        })
        .collect()
}

pub async fn explain(a: ExplainArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let l = open_ledger(ledger).await?;
    let events = l
        .events(EventFilter {
            rollout: Some(a.rollout.clone()),
            ..EventFilter::default()
        })
        .await
        .map_err(Failure::other)?;
    let Some((run, of_run)) = rollguard_runtime::resume::latest_run(&events) else {
        return Err(Failure::other(anyhow!(
            "the ledger {} has no rollout named {:?}",
            l.location(),
            a.rollout
        )));
    };
    if a.output == Output::Json {
        let decisions: Vec<&Event> = of_run
            .iter()
            .copied()
            .filter(|e| e.kind != "observed")
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"rollout": a.rollout, "run": run, "events": decisions})
            )
            .map_err(Failure::other)?
        );
        return Ok(exit::OK);
    }
    let start = of_run.first().map(|e| e.time_ms).unwrap_or(0);
    let observed = of_run.iter().filter(|e| e.kind == "observed").count();
    println!(
        "Rollout {} (run started {} UTC; ledger {})",
        a.rollout,
        time(start),
        l.location()
    );
    if let Some(spec) = of_run.first().and_then(|e| e.inputs.get("rollout")) {
        println!(
            "  {} {} -> {}, alpha {}",
            spec.get("service").and_then(|s| s.as_str()).unwrap_or("?"),
            spec.pointer("/baseline/version")
                .and_then(|s| s.as_str())
                .unwrap_or("?"),
            spec.pointer("/canary/version")
                .and_then(|s| s.as_str())
                .unwrap_or("?"),
            spec.pointer("/analysis/alpha")
                .and_then(|s| s.as_f64())
                .unwrap_or(0.0)
        );
    }
    println!("  {observed} telemetry windows judged; decisions:");
    for e in of_run.iter().filter(|e| e.kind != "observed") {
        let t = format_millis((e.time_ms - start).max(0) as u64);
        println!("  +{t:<8} [{}] by {}: {}", e.kind, e.actor, e.rationale);
        if matches!(
            e.kind.as_str(),
            "rolled_back" | "promoted" | "step_passed" | "frozen" | "aborted"
        ) {
            for line in verdict_lines(e) {
                println!("             {line}");
            }
        }
        if let Some(p) = &e.policy {
            println!("             policy: {p}");
        }
    }
    let last = of_run.iter().rev().find(|e| e.kind != "observed");
    if let Some(e) = last {
        println!("  outcome: {} — {}", e.kind, e.rationale);
    }
    println!(
        "  (evidence e is an anytime-valid e-value: the canary is judged worse once e >= 1/alpha)"
    );
    Ok(exit::OK)
}

pub async fn ledger(a: LedgerArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let l = open_ledger(ledger).await?;
    match a.command {
        LedgerCmd::Verify { output } => {
            let r = l.verify().await.map_err(Failure::other)?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(Failure::other)?
                ),
                Output::Text => {
                    if r.ok {
                        println!(
                            "ledger {}: OK, {} events, hash chain intact",
                            l.location(),
                            r.events
                        );
                    } else {
                        println!(
                            "ledger {}: TAMPERED at seq {}: {}",
                            l.location(),
                            r.first_bad_seq
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "?".into()),
                            r.reason.clone().unwrap_or_default()
                        );
                    }
                }
            }
            Ok(if r.ok { exit::OK } else { exit::OTHER })
        }
        LedgerCmd::Prune { older_than, output } => {
            let age = rollguard_core::parse_duration(&older_than)
                .map_err(|e| Failure::invalid(anyhow!("--older-than: {e}")))?;
            let cutoff = rollguard_runtime::now_ms().saturating_sub(age) as i64;
            let r = l.prune_before(cutoff).await.map_err(Failure::other)?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(Failure::other)?
                ),
                Output::Text => println!(
                    "pruned {} events older than {older_than} ({} over the ledger's life); chain anchored at seq {}",
                    r.pruned, r.pruned_total, r.anchor_seq
                ),
            }
            Ok(exit::OK)
        }
        LedgerCmd::Export { out } => {
            let n = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut w = std::io::BufWriter::new(file);
                    let n = l.export_jsonl(&mut w).await.map_err(Failure::other)?;
                    w.flush().context("writing the export")?;
                    n
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    let n = l.export_jsonl(&mut w).await.map_err(Failure::other)?;
                    w.flush().context("writing the export")?;
                    n
                }
            };
            eprintln!("exported {n} events");
            Ok(exit::OK)
        }
    }
}

pub async fn replay(a: ReplayArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let Some(name) = a.from_ledger else {
        return Err(Failure::invalid(anyhow!(
            "give --from-ledger ROLLOUT (trace replay: --trace, see rollguard replay --help)"
        )));
    };
    let l = open_ledger(ledger).await?;
    let events = l
        .events(EventFilter {
            rollout: Some(name.clone()),
            ..EventFilter::default()
        })
        .await
        .map_err(Failure::other)?;
    let Some((run, of_run)) = rollguard_runtime::resume::latest_run(&events) else {
        return Err(Failure::other(anyhow!(
            "the ledger has no rollout named {name:?}"
        )));
    };
    let spec = match &a.rollout {
        Some(p) => Some(Arc::new(
            rollguard_core::spec::load_file(p).map_err(Failure::invalid)?,
        )),
        None => None,
    };
    let r = rebuild_state(&of_run, spec, &|r| Engine::new(r)).map_err(Failure::other)?;
    let same = r.mismatches.is_empty();
    match a.output {
        Output::Json => println!(
            "{}",
            serde_json::json!({"rollout": name, "run": run, "inputs_replayed": r.replayed_inputs, "events": of_run.len(), "same_decisions": same, "mismatches": r.mismatches})
        ),
        Output::Text => {
            println!(
                "replayed {} recorded inputs of {name} (run {run}) through this engine",
                r.replayed_inputs
            );
            if same {
                println!(
                    "same decisions: all {} recorded events re-decided identically",
                    of_run.len()
                );
            } else {
                println!(
                    "DIFFERENT decisions ({} events differ); first ones:",
                    r.mismatches.len()
                );
                for m in r.mismatches.iter().take(10) {
                    println!(
                        "  seq {}: recorded {}, re-decided {}",
                        m.seq, m.recorded, m.redecided
                    );
                }
            }
        }
    }
    Ok(if same { exit::OK } else { exit::OTHER })
}
