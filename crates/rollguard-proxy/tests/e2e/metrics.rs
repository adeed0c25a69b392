//! `/rollguard/metrics` is valid Prometheus text with the version label.

use std::collections::{BTreeMap, HashMap};

use crate::support::{bed, client, get};

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A strict reader of the text format 0.0.4 subset the proxy emits: every
/// sample belongs to a family declared by `# TYPE`, names and labels are
/// well formed, values parse. Panics with the offending line otherwise.
fn parse_exposition(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("comment without a name: {line}"));
            assert!(valid_name(name), "bad metric name in {line}");
            if kw == Some("TYPE") {
                let t = tail.unwrap_or_default();
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                    "bad type in {line}"
                );
                assert!(
                    types.insert(name.to_string(), t.to_string()).is_none(),
                    "duplicate TYPE: {line}"
                );
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let mut labels = BTreeMap::new();
                for pair in body.split(',').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .unwrap_or_else(|| panic!("bad label in {line}"));
                    assert!(valid_name(k), "bad label name in {line}");
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or_else(|| panic!("unquoted label value in {line}"));
                    labels.insert(k.to_string(), v.to_string());
                }
                (name, labels)
            }
        };
        assert!(valid_name(name), "bad metric name in {line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its # TYPE: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    (types, samples)
}

#[tokio::test]
async fn metrics_endpoint_is_prometheus_text_with_version_labels() {
    let bed = bed(|_| {}).await;
    let client = client();
    bed.proxy.set_canary_weight(25.0);
    for _ in 0..10 {
        get(&client, bed.url("/"), &[("x-rollguard-version", "canary")]).await;
        get(
            &client,
            bed.url("/"),
            &[("x-rollguard-version", "baseline")],
        )
        .await;
    }
    let a = get(&client, bed.url(rollguard_proxy::METRICS_PATH), &[]).await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    // The metrics request itself is not proxied.
    assert_eq!(bed.baseline.requests() + bed.canary.requests(), 20);

    let (types, samples) = parse_exposition(&a.body);
    assert_eq!(types["rollguard_proxy_requests_total"], "counter");
    assert_eq!(
        types["rollguard_proxy_request_duration_seconds"],
        "histogram"
    );
    assert_eq!(types["rollguard_proxy_canary_weight"], "gauge");
    let find = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
            .value
    };
    for v in ["baseline", "canary"] {
        assert_eq!(
            find(
                "rollguard_proxy_requests_total",
                &[("version", v), ("code_class", "2xx")]
            ),
            10.0
        );
        assert_eq!(
            find(
                "rollguard_proxy_upstream_errors_total",
                &[("version", v), ("kind", "connect")]
            ),
            0.0
        );
        assert_eq!(
            find(
                "rollguard_proxy_request_duration_seconds_count",
                &[("version", v)]
            ),
            10.0
        );
        assert_eq!(
            find(
                "rollguard_proxy_request_duration_seconds_bucket",
                &[("version", v), ("le", "+Inf")]
            ),
            10.0
        );
        assert!(
            find(
                "rollguard_proxy_request_duration_seconds_sum",
                &[("version", v)]
            ) > 0.0
        );
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|s| {
                s.name == "rollguard_proxy_request_duration_seconds_bucket"
                    && s.labels["version"] == v
            })
            .map(|s| s.value)
            .collect();
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "buckets not cumulative"
        );
    }
    assert_eq!(find("rollguard_proxy_canary_weight", &[]), 25.0);
    // Served text and the public renderer agree on the totals.
    assert!(
        bed.proxy
            .render_metrics()
            .contains("rollguard_proxy_canary_weight 25")
    );
}
