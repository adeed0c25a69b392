//! Proxy configuration: the two upstream versions, how a request picks one
//! (weight, sticky key, force header), timeouts and shadow traffic.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use http::{HeaderName, Uri};
use serde::{Deserialize, Serialize};

use crate::error::ProxyError;

/// The header that forces a version when no other name is configured.
pub const DEFAULT_FORCE_HEADER: &str = "x-rollguard-version";

/// The reserved path on the proxy listener that serves Prometheus metrics.
/// Requests to it are answered by the proxy and never forwarded.
pub const METRICS_PATH: &str = "/rollguard/metrics";

/// One of the two versions behind the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Version {
    Baseline,
    Canary,
}

impl Version {
    pub const ALL: [Version; 2] = [Version::Baseline, Version::Canary];

    pub fn as_str(self) -> &'static str {
        match self {
            Version::Baseline => "baseline",
            Version::Canary => "canary",
        }
    }

    /// Parses the value of the force header (`canary` / `baseline`, any case).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("canary") {
            Some(Version::Canary)
        } else if s.eq_ignore_ascii_case("baseline") {
            Some(Version::Baseline)
        } else {
            None
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the sticky-session key of a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    /// The value of this request header.
    Header(HeaderName),
    /// The value of the cookie with this name.
    Cookie(String),
}

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    pub baseline: Uri,
    pub canary: Uri,
    pub sticky: Option<Sticky>,
    /// A request carrying this header with value `canary` or `baseline` goes
    /// to that version, whatever the weight.
    pub force_header: Option<HeaderName>,
    pub connect_timeout: Duration,
    /// Time allowed until the upstream's response headers arrive.
    pub request_timeout: Duration,
    /// Percent (0..=100) of baseline-routed requests copied to the canary as
    /// shadow traffic. Shadow responses are discarded and tallied in the
    /// shadow tap; they never delay or change the client's response.
    pub mirror_percent: f64,
}

impl ProxyConfig {
    /// A configuration with defaults: no stickiness, the default force
    /// header, 2 s connect timeout, 30 s request timeout, no mirroring.
    pub fn new(listen: SocketAddr, baseline: Uri, canary: Uri) -> Self {
        Self {
            listen,
            baseline,
            canary,
            sticky: None,
            force_header: Some(HeaderName::from_static(DEFAULT_FORCE_HEADER)),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            mirror_percent: 0.0,
        }
    }

    pub fn upstream(&self, version: Version) -> &Uri {
        match version {
            Version::Baseline => &self.baseline,
            Version::Canary => &self.canary,
        }
    }

    /// Checks what `start` relies on; errors name the field at fault.
    pub fn validate(&self) -> Result<(), ProxyError> {
        for (field, uri) in [("baseline", &self.baseline), ("canary", &self.canary)] {
            match uri.scheme_str() {
                Some("http") => {}
                _ => {
                    return Err(ProxyError::Config {
                        field,
                        reason: format!("upstream {uri} must be an http:// URI"),
                    });
                }
            }
            if uri.authority().is_none() {
                return Err(ProxyError::Config {
                    field,
                    reason: format!("upstream {uri} has no host"),
                });
            }
        }
        if !(0.0..=100.0).contains(&self.mirror_percent) {
            return Err(ProxyError::Config {
                field: "mirror_percent",
                reason: format!("{} is not within 0..=100", self.mirror_percent),
            });
        }
        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return Err(ProxyError::Config {
                    field,
                    reason: "must be greater than zero".to_string(),
                });
            }
        }
        if let Some(Sticky::Cookie(name)) = &self.sticky
            && name.is_empty()
        {
            return Err(ProxyError::Config {
                field: "sticky",
                reason: "cookie name is empty".to_string(),
            });
        }
        Ok(())
    }
}
