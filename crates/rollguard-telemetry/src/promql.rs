//! PromQL templates: `{{version}}` (the version label, e.g. `v1.4.2`),
//! `{{role}}` (`baseline` or `canary`, as the builtin proxy labels its
//! metrics), `{{service}}` and `{{window}}` are replaced before a query is sent. `{{window}}` is the window length as a
//! PromQL duration in milliseconds (e.g. `5000ms`), so
//! `sum(increase(x{version="{{version}}"}[{{window}}]))` is the count over
//! exactly the window the engine judges.
//!
//! `increase()` needs two samples in its range, so the telemetry interval
//! (the window) should span at least two or three scrape intervals; a window
//! with fewer samples yields an empty vector, which is no data, not zero.

use rollguard_core::Millis;
use rollguard_core::spec::Rollout;

/// Which side of the rollout a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Baseline,
    Canary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Baseline => "baseline",
            Role::Canary => "canary",
        }
    }
}

/// The PromQL duration of a window `[start, end)`; at least 1 ms.
pub fn window_duration(start: Millis, end: Millis) -> String {
    format!("{}ms", end.saturating_sub(start).max(1))
}

/// Fills in a metric's template for one version.
pub fn render_query(
    template: &str,
    rollout: &Rollout,
    role: Role,
    start: Millis,
    end: Millis,
) -> String {
    let version = match role {
        Role::Baseline => &rollout.baseline.version,
        Role::Canary => &rollout.canary.version,
    };
    template
        .replace("{{version}}", version)
        .replace("{{role}}", role.as_str())
        .replace("{{service}}", &rollout.service)
        .replace("{{window}}", &window_duration(start, end))
}
