//! rollguard's builtin data plane: a weighted HTTP reverse proxy in front of
//! two upstream versions (baseline and canary), with sticky sessions,
//! header-forced routing, shadow traffic and a per-version telemetry tap.
//!
//! - Inbound: HTTP/1.1 and h2c (prior knowledge) on one listener.
//! - Outbound: pooled HTTP/1.1 connections to each upstream; bodies stream
//!   in both directions and are never buffered.
//! - The decision loop sets the weight with [`ProxyHandle::set_canary_weight`]
//!   and reads [`ProxyHandle::take_window`] once per tick.
//! - Prometheus metrics are served on the reserved path [`METRICS_PATH`]
//!   (`/rollguard/metrics`) of the proxy listener itself, and are available
//!   as text from [`ProxyControl::render_metrics`] for other servers.
//! - Upgrades (WebSocket, `CONNECT`) are not proxied.
//!
//! ```no_run
//! use std::time::Duration;
//! use rollguard_proxy::{Proxy, ProxyConfig};
//!
//! # async fn run() -> Result<(), rollguard_proxy::ProxyError> {
//! let cfg = ProxyConfig::new(
//!     "127.0.0.1:8080".parse().expect("address"),
//!     http::Uri::from_static("http://127.0.0.1:9001"),
//!     http::Uri::from_static("http://127.0.0.1:9002"),
//! );
//! let proxy = Proxy::start(cfg).await?;
//! proxy.set_canary_weight(10.0);
//! tokio::time::sleep(Duration::from_secs(1)).await;
//! let window = proxy.take_window();
//! println!("canary errors: {} of {}", window.canary.errors(), window.canary.requests);
//! proxy.shutdown(Duration::from_secs(10)).await;
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod forward;
mod handler;
mod metrics;
mod mirror;
pub mod routing;
mod server;
mod tap;
mod upstream;

pub use config::{DEFAULT_FORCE_HEADER, METRICS_PATH, ProxyConfig, Sticky, Version};
pub use error::ProxyError;
pub use handler::SHADOW_HEADER;
pub use metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
pub use server::{Proxy, ProxyControl, ProxyHandle};
pub use tap::{ErrorKind, TapWindow, VersionTap};
pub use upstream::{check_upstream, endpoint_name};
