//! The as-written scenario YAML and its validation into [`Scenario`].
//!
//! ```yaml
//! duration: 30m
//! rps: 100
//! diurnal: {amplitude: 0.3, period: 24h}
//! baseline:
//!   errorRate: 0.005
//!   latency: {distribution: lognormal, medianMs: 100, sigma: 0.5}
//! canary: {errorRate: 0.005}          # fields left out copy the baseline
//! changes:
//!   - at: 10m
//!     ramp: 5m                        # optional: gradual instead of a step
//!     canary: {errorRate: 0.02}
//! overdispersion: {cv: 1.0, shared: true}
//! gaps: [{from: 12m, to: 12m30s}]
//! missingProb: 0.01
//! splitDrift: {amplitude: 0.2, period: 7m}
//! truth: regressed
//! ```

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use rollguard_core::{Millis, parse_duration};

use super::*;

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Field path, e.g. `changes[1].at`; empty for syntax errors.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScenario {
    #[serde(default)]
    name: Option<String>,
    duration: Spanned<String>,
    rps: Spanned<f64>,
    #[serde(default)]
    diurnal: Option<Spanned<RawPeriodic>>,
    baseline: Spanned<RawBehaviour>,
    #[serde(default)]
    canary: Option<Spanned<RawBehaviour>>,
    #[serde(default)]
    changes: Vec<Spanned<RawChange>>,
    #[serde(default)]
    overdispersion: Option<Spanned<RawOverdispersion>>,
    #[serde(default)]
    gaps: Vec<Spanned<RawGap>>,
    #[serde(default)]
    missing_prob: Option<Spanned<f64>>,
    #[serde(default)]
    split_drift: Option<Spanned<RawPeriodic>>,
    truth: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPeriodic {
    amplitude: f64,
    period: String,
}

/// Every field optional: a canary or a change copies what it leaves out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawBehaviour {
    #[serde(default)]
    error_rate: Option<f64>,
    #[serde(default)]
    latency: Option<RawLatency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLatency {
    /// `lognormal` (default) or `pareto`.
    #[serde(default)]
    distribution: Option<String>,
    #[serde(default)]
    median_ms: Option<f64>,
    #[serde(default)]
    sigma: Option<f64>,
    #[serde(default)]
    shape: Option<f64>,
    #[serde(default)]
    tail_prob: Option<f64>,
    #[serde(default)]
    tail_factor: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawChange {
    at: String,
    #[serde(default)]
    ramp: Option<String>,
    canary: RawBehaviour,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOverdispersion {
    cv: f64,
    #[serde(default)]
    shared: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawGap {
    from: String,
    to: String,
}

/// Reads and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        column: None,
        path: String::new(),
        message: format!("cannot read the file: {e}"),
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let mut s = load(&text, &file)?;
    if s.name.is_empty() {
        s.name = stem;
    }
    Ok(s)
}

/// Parses and validates scenario YAML; `file` names it in errors.
pub fn load(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let raw = serde_saphyr::from_str::<RawScenario>(text).map_err(|e| {
        let loc = e.location();
        let message = e.without_snippet().to_string();
        // saphyr prefixes "error: line L column C: "; the position is printed by us.
        let message = match message.split_once(": ") {
            Some((head, rest)) if head.starts_with("error") => rest
                .split_once(": ")
                .filter(|(pos, _)| pos.starts_with("line "))
                .map(|(_, m)| m.to_string())
                .unwrap_or_else(|| rest.to_string()),
            _ => message,
        };
        ScenarioError {
            file: file.to_string(),
            line: loc.map(|l| l.line()),
            column: loc.map(|l| l.column()),
            path: String::new(),
            message,
        }
    })?;
    Checker { file }.validate(raw)
}

struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn err<T>(&self, at: &Spanned<T>, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: Some(at.referenced.line()),
            column: Some(at.referenced.column()),
            path: path.to_string(),
            message: message.into(),
        }
    }

    fn duration<T>(
        &self,
        at: &Spanned<T>,
        path: &str,
        text: &str,
    ) -> Result<Millis, ScenarioError> {
        parse_duration(text).map_err(|e| self.err(at, path, e))
    }

    fn range<T>(
        &self,
        at: &Spanned<T>,
        path: &str,
        v: f64,
        lo: f64,
        hi: f64,
    ) -> Result<f64, ScenarioError> {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(v)
        } else {
            Err(self.err(at, path, format!("must be between {lo} and {hi}, got {v}")))
        }
    }

    fn validate(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let duration = self.duration(&raw.duration, "duration", &raw.duration.value)?;
        if duration == 0 {
            return Err(self.err(&raw.duration, "duration", "must be more than 0"));
        }
        let rps = self.range(&raw.rps, "rps", raw.rps.value, 0.0, 1e7)?;
        let periodic = |p: &Option<Spanned<RawPeriodic>>, name: &str| -> Result<_, ScenarioError> {
            let Some(p) = p else { return Ok(None) };
            let amplitude =
                self.range(p, &format!("{name}.amplitude"), p.value.amplitude, 0.0, 1.0)?;
            let period = self.duration(p, &format!("{name}.period"), &p.value.period)?;
            if period == 0 {
                return Err(self.err(p, &format!("{name}.period"), "must be more than 0"));
            }
            Ok(Some((amplitude, period)))
        };
        let diurnal = periodic(&raw.diurnal, "diurnal")?
            .map(|(amplitude, period)| Diurnal { amplitude, period });
        let split_drift = periodic(&raw.split_drift, "splitDrift")?
            .map(|(amplitude, period)| SplitDrift { amplitude, period });

        let base_defaults = Behaviour::new(0.0, LatencyModel::lognormal(100.0, 0.5));
        if raw.baseline.value.error_rate.is_none() {
            return Err(self.err(&raw.baseline, "baseline.errorRate", "is required"));
        }
        let baseline = self.behaviour(
            &raw.baseline,
            "baseline",
            &raw.baseline.value,
            base_defaults,
        )?;
        let canary = match &raw.canary {
            Some(c) => self.behaviour(c, "canary", &c.value, baseline)?,
            None => baseline,
        };
        let mut changes = Vec::new();
        let mut prev = canary;
        let mut last_at = 0;
        for (i, c) in raw.changes.iter().enumerate() {
            let path = format!("changes[{i}]");
            let at = self.duration(c, &format!("{path}.at"), &c.value.at)?;
            let ramp = match &c.value.ramp {
                Some(r) => self.duration(c, &format!("{path}.ramp"), r)?,
                None => 0,
            };
            if at < last_at {
                return Err(self.err(
                    c,
                    &format!("{path}.at"),
                    "change points must be in time order",
                ));
            }
            last_at = at + ramp;
            let b = self.behaviour(c, &format!("{path}.canary"), &c.value.canary, prev)?;
            changes.push(Change {
                at,
                ramp,
                canary: b,
            });
            prev = b;
        }
        let overdispersion = match &raw.overdispersion {
            Some(o) => Some(Overdispersion {
                cv: self.range(o, "overdispersion.cv", o.value.cv, 0.0, 10.0)?,
                shared: o.value.shared.unwrap_or(true),
            }),
            None => None,
        };
        let mut gaps = Vec::new();
        for (i, g) in raw.gaps.iter().enumerate() {
            let from = self.duration(g, &format!("gaps[{i}].from"), &g.value.from)?;
            let to = self.duration(g, &format!("gaps[{i}].to"), &g.value.to)?;
            if to <= from {
                return Err(self.err(g, &format!("gaps[{i}].to"), "must be after from"));
            }
            gaps.push((from, to));
        }
        let missing_prob = match &raw.missing_prob {
            Some(m) => self.range(m, "missingProb", m.value, 0.0, 1.0)?,
            None => 0.0,
        };
        let truth = match raw.truth.value.as_str() {
            "healthy" => Truth::Healthy,
            "regressed" => Truth::Regressed,
            other => {
                return Err(self.err(
                    &raw.truth,
                    "truth",
                    format!("must be healthy or regressed, got {other:?}"),
                ));
            }
        };
        Ok(Scenario {
            name: raw.name.unwrap_or_default(),
            duration,
            rps,
            diurnal,
            baseline,
            canary,
            changes,
            overdispersion,
            gaps,
            missing_prob,
            split_drift,
            truth,
        })
    }

    fn behaviour<T>(
        &self,
        at: &Spanned<T>,
        path: &str,
        raw: &RawBehaviour,
        defaults: Behaviour,
    ) -> Result<Behaviour, ScenarioError> {
        let error_rate = self.range(
            at,
            &format!("{path}.errorRate"),
            raw.error_rate.unwrap_or(defaults.error_rate),
            0.0,
            1.0,
        )?;
        let Some(l) = &raw.latency else {
            return Ok(Behaviour::new(error_rate, defaults.latency));
        };
        let lp = format!("{path}.latency");
        let d = defaults.latency;
        let median = l.median_ms.unwrap_or(d.body.median_ms());
        let median = self.range(at, &format!("{lp}.medianMs"), median, 1e-3, 1e7)?;
        let kind = l.distribution.as_deref().unwrap_or(match d.body {
            Distribution::LogNormal { .. } => "lognormal",
            Distribution::Pareto { .. } => "pareto",
        });
        let body = match kind {
            "lognormal" => {
                let default_sigma = match d.body {
                    Distribution::LogNormal { sigma, .. } => sigma,
                    Distribution::Pareto { .. } => 0.5,
                };
                if l.shape.is_some() {
                    return Err(self.err(
                        at,
                        &format!("{lp}.shape"),
                        "is for pareto; lognormal takes sigma",
                    ));
                }
                let sigma = self.range(
                    at,
                    &format!("{lp}.sigma"),
                    l.sigma.unwrap_or(default_sigma),
                    1e-3,
                    5.0,
                )?;
                Distribution::LogNormal {
                    median_ms: median,
                    sigma,
                }
            }
            "pareto" => {
                let default_shape = match d.body {
                    Distribution::Pareto { shape, .. } => shape,
                    Distribution::LogNormal { .. } => 2.0,
                };
                if l.sigma.is_some() {
                    return Err(self.err(
                        at,
                        &format!("{lp}.sigma"),
                        "is for lognormal; pareto takes shape",
                    ));
                }
                let shape = self.range(
                    at,
                    &format!("{lp}.shape"),
                    l.shape.unwrap_or(default_shape),
                    0.1,
                    100.0,
                )?;
                Distribution::Pareto {
                    median_ms: median,
                    shape,
                }
            }
            other => {
                return Err(self.err(
                    at,
                    &format!("{lp}.distribution"),
                    format!("must be lognormal or pareto, got {other:?}"),
                ));
            }
        };
        let tail_prob = self.range(
            at,
            &format!("{lp}.tailProb"),
            l.tail_prob.unwrap_or(d.tail_prob),
            0.0,
            1.0,
        )?;
        let tail_factor = self.range(
            at,
            &format!("{lp}.tailFactor"),
            l.tail_factor.unwrap_or(d.tail_factor),
            1.0,
            1e4,
        )?;
        Ok(Behaviour::new(
            error_rate,
            LatencyModel {
                body,
                tail_prob,
                tail_factor,
            },
        ))
    }
}
