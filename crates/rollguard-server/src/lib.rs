//! `rollguard serve`: many rollouts in one process behind an HTTP control API.
//!
//! - [`Controller`] runs each rollout as a live loop with its own command
//!   channel and status watch, one shared ledger, one policy bundle by default
//!   (a rollout may name its own) and the global constraints: concurrent
//!   canaries per environment and the global pause.
//! - [`api::router`] is the axum API (`/v1/...`), authorised by bearer tokens
//!   with roles ([`auth`]); its OpenAPI 3.1 document is [`openapi::document`].
//! - [`WebhookNotifier`] posts a JSON notification when a rollout waits for a
//!   person, off the loop, with retries.

pub mod api;
pub mod auth;
pub mod body;
pub mod controller;
pub mod error;
pub mod notify;
pub mod openapi;
pub mod policy;

pub use auth::{Caller, Role, Tokens};
pub use controller::{Controller, ControllerConfig, RolloutStatus, Verb, WiringFactory};
pub use error::{ApiError, ServerError};
pub use notify::WebhookNotifier;
pub use policy::Policy;

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}
