//! The controller's HTTP API (served over mutual TLS by [`crate::tls`]).
//! Bodies are read as bytes and parsed here, so a malformed message gets a
//! JSON 400 naming the problem, is logged, and leaves the connection usable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rollguard_mtls::PeerIdentity;
use serde::de::DeserializeOwned;

use crate::controller::{ApiFailure, Controller};
use crate::protocol::{ApiError, LEADER_HEADER, NotLeader};

/// Largest request body accepted (a batch of events).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        match self {
            ApiFailure::NotLeader { leader_url } => {
                let mut resp = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(NotLeader {
                        error: msg,
                        leader: leader_url.clone(),
                    }),
                )
                    .into_response();
                if let Some(v) = leader_url.and_then(|u| HeaderValue::from_str(&u).ok()) {
                    resp.headers_mut().insert(LEADER_HEADER, v);
                }
                resp
            }
            ApiFailure::Forbidden(_) => {
                (StatusCode::FORBIDDEN, Json(ApiError { error: msg })).into_response()
            }
            ApiFailure::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, Json(ApiError { error: msg })).into_response()
            }
            ApiFailure::Conflict(_) => {
                (StatusCode::CONFLICT, Json(ApiError { error: msg })).into_response()
            }
            ApiFailure::Internal(_) => {
                tracing::error!("{msg}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ApiError { error: msg }),
                )
                    .into_response()
            }
        }
    }
}

fn parse<T: DeserializeOwned>(
    who: &PeerIdentity,
    what: &str,
    body: &[u8],
) -> Result<T, ApiFailure> {
    serde_json::from_slice(body).map_err(|e| {
        tracing::warn!(peer = %who.name, "malformed {what}: {e}");
        ApiFailure::BadRequest(format!("malformed {what}: {e}"))
    })
}

async fn heartbeat(
    State(c): State<Arc<Controller>>,
    Extension(who): Extension<Arc<PeerIdentity>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let hb = parse(&who, "heartbeat", &body)?;
    Ok(Json(c.heartbeat(&who, hb).await?).into_response())
}

async fn events(
    State(c): State<Arc<Controller>>,
    Extension(who): Extension<Arc<PeerIdentity>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let ship = parse(&who, "event batch", &body)?;
    Ok(Json(c.ingest(&who, ship).await?).into_response())
}

async fn submit(
    State(c): State<Arc<Controller>>,
    Extension(who): Extension<Arc<PeerIdentity>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let yaml = std::str::from_utf8(&body)
        .map_err(|_| ApiFailure::BadRequest("the rollout body is not UTF-8".into()))?;
    Ok(Json(c.submit(&who, yaml).await?).into_response())
}

async fn leader(State(c): State<Arc<Controller>>) -> Response {
    Json(c.leader_info()).into_response()
}

async fn rollouts(State(c): State<Arc<Controller>>) -> Result<Response, ApiFailure> {
    Ok(Json(c.rollouts().await?).into_response())
}

/// The API routes. Each connection adds the peer's [`PeerIdentity`] as an extension.
pub fn router(c: Arc<Controller>) -> Router {
    Router::new()
        .route("/v1/heartbeat", post(heartbeat))
        .route("/v1/events", post(events))
        .route("/v1/rollouts", post(submit).get(rollouts))
        .route("/v1/leader", get(leader))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(c)
}
