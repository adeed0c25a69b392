//! Actuators: what rollguard acts on besides its builtin proxy.
//!
//! - [`haproxy`]: a [`rollguard_core::ports::TrafficRouter`] driving HAProxy
//!   through its runtime API (`set server <backend>/<server> weight N`), read
//!   back with `get weight` so a weight is reported only once it is in force.
//! - [`hooks`]: exec and webhook hooks with a timeout (a hung command is
//!   killed) and retries.
//! - [`notify`]: Slack-compatible and generic JSON webhook notifiers that send
//!   in the background with retries and never block the decision loop.
//! - [`bench`]: the data-plane benchmark (direct vs builtin proxy vs HAProxy,
//!   measured with `wrk`).
//!
//! [`testing::HaproxyServer`] starts a real HAProxy with a generated config,
//! for tests and the benchmark.

pub mod bench;
pub mod haproxy;
pub mod hooks;
pub mod notify;
pub mod testing;

pub use haproxy::{HaproxyError, HaproxyRouter, RuntimeApi};
pub use hooks::{HookContext, HookOutcome, HookRunner};
pub use notify::{JsonWebhookNotifier, SlackNotifier, WebhookConfig, WebhookNotifier};
