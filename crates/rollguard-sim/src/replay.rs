//! Replays a recorded trace through the real engine (DESIGN §4, "Trace").
//!
//! The trace is CSV with the header `t_ms,version,status,latency_ms`; each
//! row is one request: its time in milliseconds (non-decreasing), `baseline`
//! or `canary`, its HTTP status (100-599; 5xx counts as failed) and its
//! latency in milliseconds. Each version's rows are what it served, or would
//! serve, at FULL traffic; replay thins each stream by the weight the engine
//! has set at that moment — a canary row is kept with probability
//! `weight/100`, a baseline row with `1 - weight/100`, from a generator seeded
//! by the caller — so the controller reacts to what it sees. Times are taken
//! relative to the first row. Windows follow the rollout's telemetry interval.
//!
//! Bad input is refused before anything runs, naming `file:line` and why.

use std::path::Path;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rollguard_core::engine::fmt_e;
use rollguard_core::spec::Rollout;
use rollguard_core::{
    AllowAll, Decision, Effect, Engine, EventKind, Input, Millis, Observation, Status, Verdict,
    VersionWindow, format_millis,
};
use serde::{Deserialize, Serialize};

use crate::simulator::RunOutcome;

pub const TRACE_HEADER: &str = "t_ms,version,status,latency_ms";

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}: cannot read the trace: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRow {
    pub t_ms: u64,
    pub canary: bool,
    pub status: u16,
    pub latency_ms: f64,
}

/// Parses and checks a whole trace.
pub fn parse_trace(text: &str, file: &str) -> Result<Vec<TraceRow>, ReplayError> {
    let bad = |line: usize, message: String| ReplayError::Invalid {
        file: file.to_string(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, h)| h.trim_end_matches('\r').trim_start_matches('\u{feff}'))
        .ok_or_else(|| {
            bad(
                1,
                format!("the trace is empty; expected the header {TRACE_HEADER}"),
            )
        })?;
    if header.trim() != TRACE_HEADER {
        return Err(bad(
            1,
            format!("the header must be exactly {TRACE_HEADER:?}, got {header:?}"),
        ));
    }
    let mut rows = Vec::new();
    let mut last_t = 0u64;
    for (i, raw) in lines {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 4 {
            return Err(bad(
                n,
                format!(
                    "expected 4 fields (t_ms,version,status,latency_ms), got {}",
                    fields.len()
                ),
            ));
        }
        let t_ms: u64 = fields[0].parse().map_err(|_| {
            bad(
                n,
                format!("t_ms {:?} is not a whole number of milliseconds", fields[0]),
            )
        })?;
        if t_ms < last_t {
            return Err(bad(
                n,
                format!(
                    "time goes backwards: t_ms {t_ms} after {last_t}; rows must be sorted by time"
                ),
            ));
        }
        last_t = t_ms;
        let canary = match fields[1] {
            "canary" => true,
            "baseline" => false,
            other => {
                return Err(bad(
                    n,
                    format!("unknown version {other:?}: use baseline or canary"),
                ));
            }
        };
        let status: u16 = fields[2]
            .parse()
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| {
                bad(
                    n,
                    format!(
                        "status {:?} is not an HTTP status code (100-599)",
                        fields[2]
                    ),
                )
            })?;
        let latency_ms: f64 = fields[3]
            .parse()
            .map_err(|_| bad(n, format!("latency_ms {:?} is not a number", fields[3])))?;
        if latency_ms.is_nan() {
            return Err(bad(n, "latency_ms is NaN".into()));
        }
        if !latency_ms.is_finite() || latency_ms < 0.0 {
            return Err(bad(
                n,
                format!("latency_ms {latency_ms} must be a finite number ≥ 0"),
            ));
        }
        rows.push(TraceRow {
            t_ms,
            canary,
            status,
            latency_ms,
        });
    }
    if rows.is_empty() {
        return Err(bad(1, "the trace has a header but no requests".into()));
    }
    Ok(rows)
}

/// One decision in the replay, for people and for the ledger-like JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub t_ms: Millis,
    pub action: EventKind,
    pub weight: f64,
    pub metric: Option<String>,
    pub e_value: Option<f64>,
    pub estimate: Option<f64>,
    pub interval: Option<(f64, f64)>,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    pub rollout: String,
    pub trace: String,
    pub seed: u64,
    pub outcome: RunOutcome,
    pub decided_at_ms: Option<Millis>,
    pub timeline: Vec<TimelineRow>,
    pub canary_requests_served: u64,
    pub canary_bad_served: u64,
    pub rows: usize,
    pub windows: u64,
}

/// Replays the trace at `trace_path`.
pub fn replay(
    rollout: &Rollout,
    trace_path: &Path,
    seed: u64,
) -> Result<ReplayReport, ReplayError> {
    let file = trace_path.display().to_string();
    let text = std::fs::read_to_string(trace_path).map_err(|source| ReplayError::Read {
        file: file.clone(),
        source,
    })?;
    replay_text(rollout, &text, &file, seed)
}

/// Replays trace text; `file` names it in errors and in the report.
pub fn replay_text(
    rollout: &Rollout,
    text: &str,
    file: &str,
    seed: u64,
) -> Result<ReplayReport, ReplayError> {
    let rows = parse_trace(text, file)?;
    Ok(run(rollout, &rows, file, seed))
}

fn most_telling(verdicts: &[Verdict]) -> Option<&Verdict> {
    verdicts
        .iter()
        .find(|v| v.decision == Decision::Fail)
        .or_else(|| {
            verdicts
                .iter()
                .max_by(|a, b| a.e_value.total_cmp(&b.e_value))
        })
}

fn run(rollout: &Rollout, rows: &[TraceRow], file: &str, seed: u64) -> ReplayReport {
    let engine = Engine::new(Arc::new(rollout.clone()));
    let interval = rollout.telemetry.interval.max(1);
    let t0 = rows.first().map_or(0, |r| r.t_ms);
    let t_end = rows.last().map_or(0, |r| r.t_ms) - t0;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut timeline = Vec::new();
    let (st, fx) = engine.start(0, &mut AllowAll);
    let (mut st, fx) = crate::simulator::answer_hooks(&engine, st, fx, 0);
    let mut weight = 0.0;
    let mut note = |fx: &[Effect], weight: &mut f64| {
        for e in fx {
            match e {
                Effect::SetWeight { weight: w, .. } => *weight = *w,
                Effect::Record(r) if r.kind != EventKind::Observed => {
                    let v = most_telling(&r.verdicts);
                    timeline.push(TimelineRow {
                        t_ms: r.at,
                        action: r.kind,
                        weight: r.weight,
                        metric: v.map(|v| v.metric.clone()),
                        e_value: v.map(|v| v.e_value),
                        estimate: v.and_then(|v| v.estimate),
                        interval: v.and_then(|v| v.interval),
                        rationale: r.rationale.clone(),
                    });
                }
                _ => {}
            }
        }
    };
    note(&fx, &mut weight);
    let (mut served, mut bad_served, mut windows) = (0u64, 0u64, 0u64);
    let mut idx = 0;
    let mut start: Millis = 0;
    while !st.is_done() && start <= t_end {
        let end = start + interval;
        let mut b = VersionWindow::default();
        let mut c = VersionWindow::default();
        let share = (weight / 100.0).clamp(0.0, 1.0);
        while idx < rows.len() && rows[idx].t_ms - t0 < end {
            let r = rows[idx];
            idx += 1;
            let keep_p = if r.canary { share } else { 1.0 - share };
            let u: f64 = rng.random();
            if u >= keep_p {
                continue;
            }
            let failed = r.status >= 500;
            if r.canary {
                c.record(failed, r.latency_ms);
                served += 1;
                bad_served += u64::from(failed);
            } else {
                b.record(failed, r.latency_ms);
            }
        }
        let obs = Observation::from_versions(rollout, start, end, &b, &c);
        let (next, fx) = engine.step(st, Input::Observe(obs), end, &mut AllowAll);
        let (next, fx) = crate::simulator::answer_hooks(&engine, next, fx, end);
        st = next;
        windows += 1;
        note(&fx, &mut weight);
        start = end;
    }
    let (outcome, decided_at_ms) = match &st.status {
        Status::Done { outcome, at, .. } => ((*outcome).into(), Some(*at)),
        Status::AwaitingHuman { .. } => (RunOutcome::AwaitingHuman, None),
        _ => (RunOutcome::Undecided, None),
    };
    ReplayReport {
        rollout: rollout.name.clone(),
        trace: file.to_string(),
        seed,
        outcome,
        decided_at_ms,
        timeline,
        canary_requests_served: served,
        canary_bad_served: bad_served,
        rows: rows.len(),
        windows,
    }
}

impl ReplayReport {
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "replay of {} ({} requests, {} windows) with rollout {}, seed {}\n",
            self.trace, self.rows, self.windows, self.rollout, self.seed
        );
        for r in &self.timeline {
            out += &format!(
                "{:>8}  {:<15} {:>5}%  {}\n",
                format_millis(r.t_ms),
                r.action.as_str(),
                r.weight,
                r.rationale
            );
        }
        out += &format!(
            "outcome: {:?}{}; canary served {} requests, {} failed\n",
            self.outcome,
            self.decided_at_ms
                .map(|t| format!(" at {}", format_millis(t)))
                .unwrap_or_default(),
            self.canary_requests_served,
            self.canary_bad_served
        );
        out
    }

    pub fn render_markdown(&self) -> String {
        let mut out = String::from(
            "| time | action | weight | metric | e-value | estimate | interval | rationale |\n|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.timeline {
            out += &format!(
                "| {} | {} | {}% | {} | {} | {} | {} | {} |\n",
                format_millis(r.t_ms),
                r.action.as_str(),
                r.weight,
                r.metric.as_deref().unwrap_or(""),
                r.e_value.map(fmt_e).unwrap_or_default(),
                r.estimate.map(|e| format!("{e:.2}x")).unwrap_or_default(),
                r.interval
                    .map(|(lo, hi)| format!("{lo:.2}-{hi:.2}"))
                    .unwrap_or_default(),
                r.rationale.replace('|', "\\|")
            );
        }
        out += &format!(
            "\n**{:?}**; canary served {} requests, {} failed.\n",
            self.outcome, self.canary_requests_served, self.canary_bad_served
        );
        out
    }
}
