//! The live progress display (indicatif) and the final report for people.

use indicatif::{ProgressBar, ProgressStyle};
use rollguard_core::engine::fmt_e;
use rollguard_core::{Rollout, Status, Verdict, format_millis};
use rollguard_runtime::{Progress, RunSummary, Snapshot};

pub struct LiveDisplay {
    bar: ProgressBar,
    last_step: Option<usize>,
    last_weight: f64,
    last_status: String,
}

impl LiveDisplay {
    pub fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner:.cyan} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        LiveDisplay {
            bar,
            last_step: None,
            last_weight: -1.0,
            last_status: String::new(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// A line above the spinner; plain stdout when there is no terminal.
    fn line(&self, text: String) {
        if self.bar.is_hidden() {
            println!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

fn verdict_cell(v: &Verdict) -> String {
    let est = v
        .estimate
        .map(|e| format!("{e:.2}x"))
        .unwrap_or_else(|| "-".into());
    format!("{} e={} ({est})", v.metric, fmt_e(v.e_value))
}

impl Progress for LiveDisplay {
    fn update(&mut self, s: &Snapshot<'_>) {
        let st = s.state;
        let steps = s.rollout.steps.len();
        if self.last_step != Some(st.step_index) {
            self.last_step = Some(st.step_index);
            if let Some(step) = s.rollout.steps.get(st.step_index) {
                self.line(format!("  step {}/{steps}: {step}", st.step_index + 1));
            }
        }
        if (st.weight - self.last_weight).abs() > 1e-9 {
            self.last_weight = st.weight;
            self.line(format!("  canary weight -> {}%", st.weight));
        }
        let status = match &st.status {
            Status::AwaitingHuman { reason } => format!("waiting for a person: {reason}"),
            Status::Paused { by } => format!("paused by {by}"),
            _ => String::new(),
        };
        if !status.is_empty() && status != self.last_status {
            self.line(format!("  {status}"));
        }
        self.last_status = status;
        let step = s
            .rollout
            .steps
            .get(st.step_index)
            .map(|x| x.kind())
            .unwrap_or("promote");
        let elapsed = format_millis(s.now.saturating_sub(st.started_at));
        let in_step = format_millis(s.now.saturating_sub(st.step_started_at));
        let cells: Vec<String> = s.verdicts.iter().map(verdict_cell).collect();
        self.bar.set_message(format!(
            "step {}/{steps} {step} {in_step} | canary {}% | {} | {elapsed} (threshold e={})",
            (st.step_index + 1).min(steps),
            st.weight,
            cells.join(" | "),
            s.verdicts
                .first()
                .map(|v| fmt_e(v.threshold))
                .unwrap_or_default()
        ));
    }

    fn message(&mut self, text: &str) {
        self.line(format!("  {text}"));
    }
}

/// For `--output json`: no display.
pub struct Quiet;

impl Progress for Quiet {
    fn update(&mut self, _: &Snapshot<'_>) {}
    fn message(&mut self, _: &str) {}
}

pub fn print_header(rollout: &Rollout, proxy: Option<std::net::SocketAddr>, resumed: bool) {
    let proxy = proxy
        .map(|p| format!("proxy on http://{p}"))
        .unwrap_or_else(|| "external router".into());
    println!(
        "rollguard: {} {} -> {} ({}), {proxy}{}",
        rollout.service,
        rollout.baseline.version,
        rollout.canary.version,
        rollout.name,
        if resumed {
            " (resumed from the ledger)"
        } else {
            ""
        }
    );
    println!(
        "  judging {} metric(s) at alpha {} (false-rollback probability, however long it watches)",
        rollout.analysis.metrics.len(),
        rollout.analysis.alpha
    );
}

pub fn print_summary(s: &RunSummary) {
    let what = match s.outcome {
        Some(o) => o.to_string().replace('_', " ").to_uppercase(),
        None => s.status.replace('_', " ").to_uppercase(),
    };
    println!();
    println!("{what}: {}", s.rollout);
    println!("  why: {}", s.reason);
    println!(
        "  canary served {} requests ({} failed) over {}; final weight {}%",
        s.canary_requests,
        s.canary_errors,
        format_millis(s.canary_exposure_ms),
        s.final_weight
    );
    if let Some(e) = &s.canary_last_error {
        println!("  last canary upstream error: {e}");
    }
    if let Some(e) = &s.baseline_last_error {
        println!("  last baseline upstream error: {e}");
    }
    for v in &s.verdicts {
        let interval = match v.interval {
            Some((lo, hi)) if hi.is_finite() => format!(", ratio CI [{lo:.2}, {hi:.2}]"),
            _ => String::new(),
        };
        let rates = match (v.canary_rate, &v.note) {
            (None, Some(note)) => note.clone(),
            _ => format!(
                "canary {} vs baseline {}{interval}",
                pct(v.canary_rate),
                pct(v.baseline_rate)
            ),
        };
        println!(
            "  {:<14} evidence e={} (rollback at {}), {rates}",
            v.metric,
            fmt_e(v.e_value),
            fmt_e(v.threshold),
        );
    }
    if let Some(l) = &s.ledger {
        println!(
            "  next: rollguard explain {} --ledger {l}   (and: rollguard ledger verify --ledger {l})",
            s.rollout
        );
    }
}

pub fn pct(x: Option<f64>) -> String {
    x.map(|r| format!("{:.2}%", 100.0 * r))
        .unwrap_or_else(|| "n/a".into())
}
