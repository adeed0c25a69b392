//! Builds the router and the telemetry source a rollout names. The builtin
//! proxy is the default for both; other adapters plug in here:
//!
//! - router `haproxy`: [`HaproxyRouter`] over HAProxy's runtime API; every
//!   metric must then come from Prometheus (HAProxy has no request tap here).
//! - `telemetry.prometheus`: `prometheus` metrics are read with PromQL; with
//!   the builtin router, request-level metrics still come from its tap.
//! - shadow: with the builtin router, `mirrorPercent > 0` and the canary at
//!   weight 0, the canary is judged on the mirrored (shadow) copies of
//!   baseline traffic, so an `analyze` step judges it before any user is
//!   exposed.

use std::net::SocketAddr;
use std::time::Duration;

use rollguard_actuators::HaproxyRouter;
use rollguard_core::ports::{BoxFuture, MetricSource, RouterError, Sensed, TrafficRouter};
use rollguard_core::spec::{MetricSource as SpecSource, RouterSpec};
use rollguard_core::{Millis, Observation, Rollout, VersionWindow};
use rollguard_proxy::{
    Proxy, ProxyConfig, ProxyControl, ProxyHandle, Sticky, VersionTap, check_upstream,
};
use rollguard_telemetry::PrometheusSource;

use crate::RunError;

/// The data plane and telemetry of one rollout.
pub struct Wiring {
    pub router: Box<dyn TrafficRouter>,
    pub source: Box<dyn MetricSource>,
    /// The builtin proxy, when the rollout uses it (shut down at the end).
    pub proxy: Option<ProxyHandle>,
}

impl Wiring {
    pub fn proxy_addr(&self) -> Option<SocketAddr> {
        self.proxy.as_ref().map(|p| p.local_addr())
    }
}

/// Checks endpoints and starts what the rollout's router and telemetry need.
/// Nothing moves traffic before this returns.
pub async fn wire(rollout: &Rollout) -> Result<Wiring, RunError> {
    let prometheus = prometheus_source(rollout)?;
    match &rollout.router {
        RouterSpec::Builtin(b) => {
            let proxy = start_builtin_proxy(rollout).await?;
            let control = proxy.control();
            let tap = TapSource {
                control: control.clone(),
                shadow: b.mirror_percent > 0.0,
            };
            let source: Box<dyn MetricSource> = match prometheus {
                Some(prometheus) => Box::new(CombinedSource { tap, prometheus }),
                None => Box::new(tap),
            };
            Ok(Wiring {
                router: Box::new(BuiltinRouter { control }),
                source,
                proxy: Some(proxy),
            })
        }
        RouterSpec::Haproxy(h) => {
            let Some(prometheus) = prometheus else {
                return Err(RunError::BadConfig {
                    rollout: rollout.name.clone(),
                    field: "spec.telemetry.prometheus",
                    value: String::new(),
                    reason:
                        "the haproxy router has no request tap; read the metrics from Prometheus"
                            .into(),
                });
            };
            if let Some(m) = rollout
                .analysis
                .metrics
                .iter()
                .find(|m| !matches!(m.source, SpecSource::Prometheus { .. }))
            {
                return Err(RunError::BadConfig {
                    rollout: rollout.name.clone(),
                    field: "spec.analysis.metrics",
                    value: m.name.clone(),
                    reason: format!(
                        "{} needs the builtin proxy's tap; with the haproxy router give a prometheus query",
                        m.source.describe()
                    ),
                });
            }
            let router = HaproxyRouter::new(h);
            // Read-only check before anything moves: the socket answers and
            // both servers exist.
            router.weights().await.map_err(|e| RunError::Unreachable {
                rollout: rollout.name.clone(),
                which: "haproxy runtime API",
                endpoint: h.socket.clone(),
                reason: e.to_string(),
            })?;
            Ok(Wiring {
                router: Box::new(router),
                source: Box::new(prometheus),
                proxy: None,
            })
        }
    }
}

fn prometheus_source(rollout: &Rollout) -> Result<Option<PrometheusSource>, RunError> {
    PrometheusSource::for_rollout(rollout)
        .transpose()
        .map_err(|e| RunError::BadConfig {
            rollout: rollout.name.clone(),
            field: "spec.telemetry.prometheus.url",
            value: rollout
                .telemetry
                .prometheus
                .as_ref()
                .map(|p| p.url.clone())
                .unwrap_or_default(),
            reason: e.to_string(),
        })
}

async fn start_builtin_proxy(rollout: &Rollout) -> Result<ProxyHandle, RunError> {
    let RouterSpec::Builtin(router) = &rollout.router else {
        return Err(RunError::UnsupportedRouter {
            rollout: rollout.name.clone(),
            router: "haproxy",
        });
    };
    let mut uris = Vec::new();
    for (which, v) in [("baseline", &rollout.baseline), ("canary", &rollout.canary)] {
        let endpoint = v.endpoint.clone().unwrap_or_default();
        let uri: http::Uri =
            endpoint
                .parse()
                .map_err(|e: http::uri::InvalidUri| RunError::BadConfig {
                    rollout: rollout.name.clone(),
                    field: if which == "baseline" {
                        "spec.baseline.endpoint"
                    } else {
                        "spec.canary.endpoint"
                    },
                    value: endpoint.clone(),
                    reason: e.to_string(),
                })?;
        check_upstream(&uri, Duration::from_secs(3))
            .await
            .map_err(|e| RunError::Unreachable {
                rollout: rollout.name.clone(),
                which,
                endpoint: endpoint.clone(),
                reason: match e {
                    rollguard_proxy::ProxyError::Unreachable { reason, .. } => reason,
                    other => other.to_string(),
                },
            })?;
        uris.push(uri);
    }
    let listen: SocketAddr = router
        .listen
        .parse()
        .map_err(|e: std::net::AddrParseError| RunError::BadConfig {
            rollout: rollout.name.clone(),
            field: "spec.router.builtin.listen",
            value: router.listen.clone(),
            reason: e.to_string(),
        })?;
    let mut cfg = ProxyConfig::new(listen, uris[0].clone(), uris[1].clone());
    cfg.request_timeout = Duration::from_millis(router.timeout);
    cfg.mirror_percent = router.mirror_percent;
    cfg.force_header = http::HeaderName::try_from(router.force_header.as_str()).ok();
    if let Some(h) = &router.sticky_header {
        let name = http::HeaderName::try_from(h.as_str()).map_err(|e| RunError::BadConfig {
            rollout: rollout.name.clone(),
            field: "spec.router.builtin.stickyHeader",
            value: h.clone(),
            reason: e.to_string(),
        })?;
        cfg.sticky = Some(Sticky::Header(name));
    } else if let Some(c) = &router.sticky_cookie {
        cfg.sticky = Some(Sticky::Cookie(c.clone()));
    }
    let proxy = Proxy::start(cfg).await.map_err(|e| match e {
        rollguard_proxy::ProxyError::AddrInUse { addr, .. } => RunError::Listen {
            addr,
            reason: format!("{addr} is already in use (spec.router.builtin.listen)"),
        },
        rollguard_proxy::ProxyError::Bind { addr, source } => RunError::Listen {
            addr,
            reason: source.to_string(),
        },
        other => RunError::Proxy(other),
    })?;
    proxy.set_canary_weight(0.0);
    Ok(proxy)
}

/// The builtin proxy as a router: weight changes are atomic in-process.
pub struct BuiltinRouter {
    pub control: ProxyControl,
}

impl TrafficRouter for BuiltinRouter {
    fn set_weight(&self, weight: f64) -> BoxFuture<'_, Result<(), RouterError>> {
        self.control.set_canary_weight(weight);
        Box::pin(async { Ok(()) })
    }

    fn observed_weight(&self) -> BoxFuture<'_, Result<f64, RouterError>> {
        let w = self.control.canary_weight();
        Box::pin(async move { Ok(w) })
    }

    fn describe(&self) -> String {
        "builtin proxy".into()
    }
}

/// The builtin proxy's tap as a telemetry source.
pub struct TapSource {
    pub control: ProxyControl,
    /// Judge the canary on shadow (mirrored) traffic while its weight is 0.
    pub shadow: bool,
}

fn window(tap: &VersionTap) -> VersionWindow {
    VersionWindow {
        requests: tap.requests,
        errors: tap.errors(),
        latency: tap.latency.clone(),
    }
}

impl MetricSource for TapSource {
    fn sense<'a>(
        &'a mut self,
        rollout: &'a Rollout,
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Sensed> {
        let tap = self.control.take_window();
        let on_shadow = self.shadow && self.control.canary_weight() <= 0.0;
        let canary = if on_shadow { &tap.shadow } else { &tap.canary };
        let observation = Observation::from_versions(
            rollout,
            start,
            end,
            &window(&tap.baseline),
            &window(canary),
        );
        let mut notes: Vec<String> = [&tap.baseline, canary]
            .iter()
            .filter_map(|t| t.last_error.clone())
            .collect();
        if on_shadow && canary.requests > 0 {
            notes.push(format!(
                "canary judged on {} shadow requests (mirrored, answers discarded)",
                canary.requests
            ));
        }
        Box::pin(async move { Sensed { observation, notes } })
    }

    fn describe(&self) -> String {
        "builtin proxy tap".into()
    }
}

/// The builtin proxy's tap for request-level metrics and Prometheus for
/// `prometheus` metrics, in one observation.
pub struct CombinedSource {
    pub tap: TapSource,
    pub prometheus: PrometheusSource,
}

impl MetricSource for CombinedSource {
    fn sense<'a>(
        &'a mut self,
        rollout: &'a Rollout,
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Sensed> {
        Box::pin(async move {
            let tapped = self.tap.sense(rollout, start, end).await;
            let queried = self.prometheus.sense(rollout, start, end).await;
            let mut observation = tapped.observation;
            for m in &rollout.analysis.metrics {
                if matches!(m.source, SpecSource::Prometheus { .. })
                    && let Some(d) = queried.observation.metrics.get(&m.name)
                {
                    observation.metrics.insert(m.name.clone(), d.clone());
                }
            }
            let mut notes = tapped.notes;
            notes.extend(queried.notes);
            Sensed { observation, notes }
        })
    }

    fn describe(&self) -> String {
        format!("{} and {}", self.tap.describe(), self.prometheus.describe())
    }
}
