//! Raw -> validated rollout, with every problem named by file, line, column and
//! field path.

use std::fmt;
use std::path::Path;

use serde_saphyr::Spanned;

use super::raw::*;
use super::*;
use crate::duration::parse_duration;

/// One thing wrong with a rollout file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Field path such as `spec.strategy.steps[2].analyze.minDuration`.
    pub path: String,
    pub message: String,
}

/// Every problem found in one rollout file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(col) = p.column {
                    write!(f, ":{col}")?;
                }
            }
            if p.path.is_empty() {
                write!(f, ": {}", p.message)?;
            } else {
                write!(f, ": {}: {}", p.path, p.message)?;
            }
        }
        Ok(())
    }
}

/// Reads and validates a rollout file.
pub fn load_file(path: &Path) -> Result<Rollout, SpecError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: name.clone(),
        problems: vec![Problem {
            line: None,
            column: None,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    load(&text, &name)
}

/// Parses and validates rollout YAML; `file` names it in errors.
pub fn load(text: &str, file: &str) -> Result<Rollout, SpecError> {
    let raw = parse_raw(text, file)?;
    validate(raw, file)
}

/// Parses rollout YAML into the raw form (unknown fields are errors).
pub fn parse_raw(text: &str, file: &str) -> Result<RawRollout, SpecError> {
    serde_saphyr::from_str::<RawRollout>(text).map_err(|e| {
        let loc = e.location();
        let message = e.without_snippet().to_string();
        // saphyr prefixes "error: line L column C: "; we print the position ourselves.
        let message = match message.split_once(": ") {
            Some((head, rest)) if head.starts_with("error") => rest
                .split_once(": ")
                .filter(|(pos, _)| pos.starts_with("line "))
                .map(|(_, m)| m.to_string())
                .unwrap_or_else(|| rest.to_string()),
            _ => message,
        };
        SpecError {
            file: file.to_string(),
            problems: vec![Problem {
                line: loc.map(|l| l.line()),
                column: loc.map(|l| l.column()),
                path: String::new(),
                message,
            }],
        }
    })
}

struct Checker {
    problems: Vec<Problem>,
    line: Option<u64>,
    column: Option<u64>,
}

impl Checker {
    fn at<T>(&mut self, spanned: &Spanned<T>) {
        self.line = Some(spanned.referenced.line());
        self.column = Some(spanned.referenced.column());
    }

    fn nowhere(&mut self) {
        self.line = None;
        self.column = None;
    }

    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            line: self.line,
            column: self.column,
            path: path.into(),
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, value: &Option<String>, default: Millis) -> Millis {
        match value {
            None => default,
            Some(text) => match parse_duration(text) {
                Ok(ms) => ms,
                Err(e) => {
                    self.fail(path, e);
                    default
                }
            },
        }
    }

    fn fraction(&mut self, path: &str, value: Option<f64>, default: f64, lo: f64, hi: f64) -> f64 {
        let v = value.unwrap_or(default);
        if !v.is_finite() || v < lo || v > hi {
            self.fail(path, format!("must be between {lo} and {hi}, got {v}"));
            return default;
        }
        v
    }
}

fn validate(raw: RawRollout, file: &str) -> Result<Rollout, SpecError> {
    let mut c = Checker {
        problems: Vec::new(),
        line: None,
        column: None,
    };
    if raw.api_version != API_VERSION {
        c.fail(
            "apiVersion",
            format!("must be {API_VERSION:?}, got {:?}", raw.api_version),
        );
    }
    if raw.kind != KIND {
        c.fail("kind", format!("must be {KIND:?}, got {:?}", raw.kind));
    }
    let name = raw.metadata.name.clone();
    if !valid_name(&name) {
        c.fail(
            "metadata.name",
            format!(
                "{name:?} must be 1-63 lowercase letters, digits or '-', starting with a letter"
            ),
        );
    }
    let spec = raw.spec;
    if spec.service.trim().is_empty() {
        c.fail("spec.service", "must not be empty");
    }
    for (which, v) in [("baseline", &spec.baseline), ("canary", &spec.canary)] {
        if v.version.trim().is_empty() {
            c.fail(format!("spec.{which}.version"), "must not be empty");
        }
        if let Some(ep) = &v.endpoint
            && !(ep.starts_with("http://") || ep.starts_with("https://"))
        {
            c.fail(
                format!("spec.{which}.endpoint"),
                format!("{ep:?} must be an http:// or https:// URL"),
            );
        }
    }

    let router = match spec.router {
        None => RouterSpec::Builtin(builtin_router(&mut c, None)),
        Some(r) => match (r.builtin, r.haproxy) {
            (Some(_), Some(_)) => {
                c.fail("spec.router", "choose one of builtin or haproxy, not both");
                RouterSpec::Builtin(builtin_router(&mut c, None))
            }
            (Some(b), None) => RouterSpec::Builtin(builtin_router(&mut c, Some(b))),
            (None, Some(h)) => RouterSpec::Haproxy(HaproxyRouterSpec {
                socket: h.socket,
                backend: h.backend,
                baseline_server: h.baseline_server,
                canary_server: h.canary_server,
            }),
            (None, None) => RouterSpec::Builtin(builtin_router(&mut c, None)),
        },
    };
    if matches!(router, RouterSpec::Builtin(_)) {
        for (which, v) in [("baseline", &spec.baseline), ("canary", &spec.canary)] {
            if v.endpoint.is_none() {
                c.fail(
                    format!("spec.{which}.endpoint"),
                    "the builtin router needs an endpoint for each version",
                );
            }
        }
    }

    let telemetry = match spec.telemetry {
        None => TelemetrySpec {
            interval: 1_000,
            prometheus: None,
        },
        Some(t) => {
            let interval = c.duration("spec.telemetry.interval", &t.interval, 1_000);
            if interval == 0 {
                c.fail("spec.telemetry.interval", "must be more than 0");
            }
            let prometheus = t.prometheus.map(|p| {
                if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
                    c.fail(
                        "spec.telemetry.prometheus.url",
                        format!("{:?} must be an http:// or https:// URL", p.url),
                    );
                }
                PrometheusSpec {
                    url: p.url,
                    timeout: c.duration("spec.telemetry.prometheus.timeout", &p.timeout, 2_000),
                }
            });
            TelemetrySpec {
                interval,
                prometheus,
            }
        }
    };

    let mut steps = Vec::new();
    if spec.strategy.steps.is_empty() {
        c.fail("spec.strategy.steps", "needs at least one step");
    }
    for (i, s) in spec.strategy.steps.iter().enumerate() {
        c.at(s);
        let path = format!("spec.strategy.steps[{i}]");
        match &s.value {
            RawStep::SetWeight(w) => {
                if !w.is_finite() || *w < 0.0 || *w > 100.0 {
                    c.fail(
                        format!("{path}.setWeight"),
                        format!("must be 0-100, got {w}"),
                    );
                }
                steps.push(Step::SetWeight(w.clamp(0.0, 100.0)));
            }
            RawStep::Analyze(a) => {
                let min = c.duration(
                    &format!("{path}.analyze.minDuration"),
                    &a.min_duration,
                    30_000,
                );
                let max = c.duration(
                    &format!("{path}.analyze.maxDuration"),
                    &a.max_duration,
                    600_000,
                );
                if max < min {
                    c.fail(
                        format!("{path}.analyze.maxDuration"),
                        "must not be shorter than minDuration",
                    );
                }
                steps.push(Step::Analyze { min, max });
            }
            RawStep::Pause(p) => {
                let d = p
                    .duration
                    .as_ref()
                    .map(|_| c.duration(&format!("{path}.pause.duration"), &p.duration, 0));
                steps.push(Step::Pause(d));
            }
        }
    }
    c.nowhere();

    let analysis = analysis(&mut c, spec.analysis);
    let has_analyze = steps.iter().any(|s| matches!(s, Step::Analyze { .. }));
    if has_analyze && analysis.metrics.is_empty() {
        c.fail(
            "spec.analysis.metrics",
            "analyze steps need at least one metric",
        );
    }
    for m in &analysis.metrics {
        if matches!(m.source, MetricSource::Prometheus { .. }) && telemetry.prometheus.is_none() {
            c.fail(
                format!("spec.analysis.metrics[{}].prometheus", m.name),
                "needs spec.telemetry.prometheus.url",
            );
        }
    }

    let on_failure = match spec.on_failure.as_deref() {
        None | Some("rollback") => OnFailure::Rollback,
        Some("freeze") => OnFailure::Freeze,
        Some(o) => {
            c.fail(
                "spec.onFailure",
                format!("must be rollback or freeze, got {o:?}"),
            );
            OnFailure::Rollback
        }
    };
    let on_restart = match spec.on_restart.as_deref() {
        None | Some("resume") => OnRestart::Resume,
        Some("rollback") => OnRestart::Rollback,
        Some(o) => {
            c.fail(
                "spec.onRestart",
                format!("must be resume or rollback, got {o:?}"),
            );
            OnRestart::Resume
        }
    };
    c.nowhere();
    let (hooks, hook_problems) = super::hooks::validate_hooks(spec.hooks);
    for (path, message) in hook_problems {
        c.fail(path, message);
    }

    if !c.problems.is_empty() {
        return Err(SpecError {
            file: file.to_string(),
            problems: c.problems,
        });
    }
    Ok(Rollout {
        name,
        namespace: raw.metadata.namespace,
        labels: raw.metadata.labels,
        service: spec.service,
        baseline: VersionSpec {
            version: spec.baseline.version,
            endpoint: spec.baseline.endpoint,
        },
        canary: VersionSpec {
            version: spec.canary.version,
            endpoint: spec.canary.endpoint,
        },
        router,
        telemetry,
        steps,
        analysis,
        on_failure,
        on_restart,
        policy_bundle: spec.policy.map(|p| p.bundle),
        hooks,
    })
}

fn builtin_router(c: &mut Checker, b: Option<RawBuiltinRouter>) -> BuiltinRouterSpec {
    let b = b.unwrap_or(RawBuiltinRouter {
        listen: None,
        sticky_header: None,
        sticky_cookie: None,
        force_header: None,
        mirror_percent: None,
        timeout: None,
    });
    let listen = b.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        c.fail(
            "spec.router.builtin.listen",
            format!("{listen:?} must be an address like 127.0.0.1:8080"),
        );
    }
    if b.sticky_header.is_some() && b.sticky_cookie.is_some() {
        c.fail(
            "spec.router.builtin",
            "choose one of stickyHeader or stickyCookie",
        );
    }
    BuiltinRouterSpec {
        listen,
        sticky_header: b.sticky_header,
        sticky_cookie: b.sticky_cookie,
        force_header: b
            .force_header
            .unwrap_or_else(|| "x-rollguard-version".into()),
        mirror_percent: c.fraction(
            "spec.router.builtin.mirrorPercent",
            b.mirror_percent,
            0.0,
            0.0,
            100.0,
        ),
        timeout: c.duration("spec.router.builtin.timeout", &b.timeout, 30_000),
    }
}

fn analysis(c: &mut Checker, a: RawAnalysis) -> AnalysisSpec {
    let alpha = c.fraction("spec.analysis.alpha", a.alpha, 0.01, 1e-9, 0.5);
    let pass_alpha = c.fraction("spec.analysis.passAlpha", a.pass_alpha, 0.05, 1e-9, 0.5);
    let on_max_duration = match a.on_max_duration.as_deref() {
        None | Some("wait") => OnMaxDuration::Wait,
        Some("rollback") => OnMaxDuration::Rollback,
        Some("promote") => OnMaxDuration::Promote,
        Some(o) => {
            c.fail(
                "spec.analysis.onMaxDuration",
                format!("must be wait, rollback or promote, got {o:?}"),
            );
            OnMaxDuration::Wait
        }
    };
    let mut metrics: Vec<MetricSpec> = Vec::new();
    for (i, m) in a.metrics.iter().enumerate() {
        c.at(m);
        let path = format!("spec.analysis.metrics[{i}]");
        let m = &m.value;
        if !valid_name(&m.name) {
            c.fail(
                format!("{path}.name"),
                format!("{:?} must be lowercase letters, digits or '-'", m.name),
            );
        }
        if metrics.iter().any(|x| x.name == m.name) {
            c.fail(
                format!("{path}.name"),
                format!("{:?} is used twice", m.name),
            );
        }
        let chosen = [
            m.error_rate.is_some(),
            m.latency.is_some(),
            m.prometheus.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if chosen != 1 {
            c.fail(
                path.clone(),
                "choose exactly one of errorRate, latency or prometheus",
            );
        }
        let source = if let Some(l) = &m.latency {
            match (l.baseline_quantile, l.threshold_ms) {
                (Some(q), None) => {
                    if !(q > 0.0 && q < 1.0) {
                        c.fail(
                            format!("{path}.latency.baselineQuantile"),
                            format!("must be strictly between 0 and 1, got {q}"),
                        );
                    }
                    MetricSource::LatencyQuantile(q)
                }
                (None, Some(ms)) => {
                    if !(ms.is_finite() && ms > 0.0) {
                        c.fail(
                            format!("{path}.latency.thresholdMs"),
                            format!("must be a positive number of milliseconds, got {ms}"),
                        );
                    }
                    MetricSource::LatencyThreshold(ms)
                }
                _ => {
                    c.fail(
                        format!("{path}.latency"),
                        "give exactly one of baselineQuantile or thresholdMs",
                    );
                    MetricSource::LatencyQuantile(0.99)
                }
            }
        } else if let Some(p) = &m.prometheus {
            MetricSource::Prometheus {
                total: p.total.clone(),
                bad: p.bad.clone(),
            }
        } else {
            MetricSource::ErrorRate
        };
        let (default_rel, default_abs) = match source {
            MetricSource::ErrorRate | MetricSource::Prometheus { .. } => (0.5, 0.002),
            MetricSource::LatencyQuantile(_) | MetricSource::LatencyThreshold(_) => (0.25, 0.01),
        };
        let (rel, abs) = match &m.max_increase {
            None => (default_rel, default_abs),
            Some(mi) => (
                c.fraction(
                    &format!("{path}.maxIncrease.relative"),
                    mi.relative,
                    0.0,
                    0.0,
                    100.0,
                ),
                c.fraction(
                    &format!("{path}.maxIncrease.absolute"),
                    mi.absolute,
                    0.0,
                    0.0,
                    1.0,
                ),
            ),
        };
        if let Some(a) = m.abort_above
            && !(a > 0.0 && a <= 1.0)
        {
            c.fail(
                format!("{path}.abortAbove"),
                format!("must be a rate in (0, 1], got {a}"),
            );
        }
        let on_no_data = match m.on_no_data.as_deref() {
            None | Some("hold") => OnNoData::Hold,
            Some("rollback") => OnNoData::Rollback,
            Some("ignore") => OnNoData::Ignore,
            Some(o) => {
                c.fail(
                    format!("{path}.onNoData"),
                    format!("must be hold, rollback or ignore, got {o:?}"),
                );
                OnNoData::Hold
            }
        };
        metrics.push(MetricSpec {
            name: m.name.clone(),
            source,
            max_relative: rel,
            max_absolute: abs,
            abort_above: m.abort_above,
            on_no_data,
            no_data_timeout: c.duration(
                &format!("{path}.noDataTimeout"),
                &m.no_data_timeout,
                60_000,
            ),
        });
    }
    c.nowhere();
    AnalysisSpec {
        alpha,
        pass_alpha,
        on_max_duration,
        metrics,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|ch: char| ch.is_ascii_lowercase())
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
}
