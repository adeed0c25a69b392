//! Prometheus text exposition (format 0.0.4) of the proxy's totals.
//!
//! Families:
//! - `rollguard_proxy_requests_total{version,code_class}` (counter)
//! - `rollguard_proxy_upstream_errors_total{version,kind}` (counter; kind is
//!   `connect`, `timeout` or `protocol`)
//! - `rollguard_proxy_request_duration_seconds{version}` (histogram: time to
//!   the upstream's response headers; `le` bounds are every 4th bucket of
//!   [`LatencyHistogram`], i.e. two per octave from 0.14 ms to ~105 s, so a
//!   bound read from Prometheus is also a bucket bound of the tap)
//! - `rollguard_proxy_shadow_requests_total{code_class}` and
//!   `rollguard_proxy_shadow_upstream_errors_total{kind}` (mirrored traffic)
//! - `rollguard_proxy_canary_weight` (gauge, percent 0..100)
//!
//! Rendered by hand: the format is small and the values already live in the
//! tap, so no second registry has to be kept in step.

use std::fmt::Write;

use rollguard_stats::LatencyHistogram;
use rollguard_stats::histogram::FINITE_BUCKETS;

use crate::tap::{Stream, Tap, VersionTap};

/// The content type to serve the rendered text with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every `LE_STRIDE`-th histogram bucket becomes a Prometheus `le` bound.
const LE_STRIDE: usize = 4;

pub(crate) fn render(tap: &Tap, canary_weight_percent: f64) -> String {
    let (base, base_sum) = tap.totals_with_sum(Stream::Baseline);
    let (canary, canary_sum) = tap.totals_with_sum(Stream::Canary);
    let (shadow, _) = tap.totals_with_sum(Stream::Shadow);
    let versions = [("baseline", &base), ("canary", &canary)];
    let mut out = String::with_capacity(8 * 1024);

    header(
        &mut out,
        "rollguard_proxy_requests_total",
        "Requests answered by an upstream version, by status class.",
        "counter",
    );
    for (v, t) in versions {
        for (class, n) in classes(t) {
            let _ = writeln!(
                out,
                "rollguard_proxy_requests_total{{version=\"{v}\",code_class=\"{class}\"}} {n}"
            );
        }
    }

    header(
        &mut out,
        "rollguard_proxy_upstream_errors_total",
        "Requests that got no answer from an upstream version, by kind of failure.",
        "counter",
    );
    for (v, t) in versions {
        for (kind, n) in kinds(t) {
            let _ = writeln!(
                out,
                "rollguard_proxy_upstream_errors_total{{version=\"{v}\",kind=\"{kind}\"}} {n}"
            );
        }
    }

    header(
        &mut out,
        "rollguard_proxy_request_duration_seconds",
        "Time from forwarding a request to the upstream's response headers.",
        "histogram",
    );
    for ((v, t), sum) in versions.into_iter().zip([base_sum, canary_sum]) {
        histogram(&mut out, v, &t.latency, sum);
    }

    header(
        &mut out,
        "rollguard_proxy_shadow_requests_total",
        "Mirrored requests answered by the canary, by status class (responses discarded).",
        "counter",
    );
    for (class, n) in classes(&shadow) {
        let _ = writeln!(
            out,
            "rollguard_proxy_shadow_requests_total{{code_class=\"{class}\"}} {n}"
        );
    }
    header(
        &mut out,
        "rollguard_proxy_shadow_upstream_errors_total",
        "Mirrored requests that got no answer from the canary, by kind of failure.",
        "counter",
    );
    for (kind, n) in kinds(&shadow) {
        let _ = writeln!(
            out,
            "rollguard_proxy_shadow_upstream_errors_total{{kind=\"{kind}\"}} {n}"
        );
    }

    header(
        &mut out,
        "rollguard_proxy_canary_weight",
        "Share of traffic routed to the canary, in percent (0-100).",
        "gauge",
    );
    let _ = writeln!(out, "rollguard_proxy_canary_weight {canary_weight_percent}");
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn classes(t: &VersionTap) -> [(&'static str, u64); 4] {
    [
        ("2xx", t.status_2xx),
        ("3xx", t.status_3xx),
        ("4xx", t.status_4xx),
        ("5xx", t.status_5xx),
    ]
}

fn kinds(t: &VersionTap) -> [(&'static str, u64); 3] {
    [
        ("connect", t.connect_errors),
        ("timeout", t.timeouts),
        ("protocol", t.protocol_errors),
    ]
}

fn histogram(out: &mut String, version: &str, h: &LatencyHistogram, sum_seconds: f64) {
    let name = "rollguard_proxy_request_duration_seconds";
    let mut cumulative = 0u64;
    for b in 0..FINITE_BUCKETS {
        cumulative += h.bucket_count(b);
        if b % LE_STRIDE == LE_STRIDE - 1 {
            let le = LatencyHistogram::upper_bound_ms(b) / 1000.0;
            let _ = writeln!(
                out,
                "{name}_bucket{{version=\"{version}\",le=\"{le}\"}} {cumulative}"
            );
        }
    }
    let total = h.total();
    let _ = writeln!(
        out,
        "{name}_bucket{{version=\"{version}\",le=\"+Inf\"}} {total}"
    );
    let _ = writeln!(out, "{name}_sum{{version=\"{version}\"}} {sum_seconds}");
    let _ = writeln!(out, "{name}_count{{version=\"{version}\"}} {total}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tap::Outcome;
    use std::time::Duration;

    #[test]
    fn histogram_is_cumulative_and_ends_with_inf() {
        let tap = Tap::new();
        for ms in [1, 2, 50, 200_000] {
            tap.record(
                Stream::Canary,
                &Outcome::Answered {
                    status: 200,
                    latency: Duration::from_millis(ms),
                },
            );
        }
        let text = render(&tap, 12.5);
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| {
                l.starts_with("rollguard_proxy_request_duration_seconds_bucket{version=\"canary\"")
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), FINITE_BUCKETS / LE_STRIDE + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        // The 200 s request overflows every finite bound.
        assert_eq!(buckets[buckets.len() - 2], 3);
        assert_eq!(buckets[buckets.len() - 1], 4);
        assert!(
            text.contains(
                "rollguard_proxy_requests_total{version=\"canary\",code_class=\"2xx\"} 4"
            )
        );
        assert!(text.contains("rollguard_proxy_canary_weight 12.5"));
    }
}
