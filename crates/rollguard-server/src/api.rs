//! The HTTP control API (axum). Every `/v1` endpoint but the OpenAPI document
//! needs `Authorization: Bearer TOKEN`; the caller is authorised before the
//! body is read, so a refused request (401, 403) changes nothing.
//!
//! | method | path | role |
//! |---|---|---|
//! | GET | `/healthz` | none |
//! | GET | `/v1/openapi.json` | none |
//! | GET | `/v1/rollouts`, `/v1/rollouts/{name}` | viewer |
//! | POST | `/v1/rollouts` | operator |
//! | POST | `/v1/rollouts/{name}/{approve,pause,resume,promote,abort}` | operator |
//! | POST | `/v1/pause-all`, `/v1/resume-all` | admin |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::{Caller, Role, Tokens};
use crate::body::{command_body, rollout_body};
use crate::controller::{Controller, GlobalStatus, RolloutStatus, Verb};
use crate::error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub controller: Controller,
    pub tokens: Arc<Tokens>,
}

/// The API's routes.
pub fn router(controller: Controller, tokens: Tokens) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/rollouts", get(list).post(create))
        .route("/v1/rollouts/{name}", get(show))
        .route("/v1/rollouts/{name}/{verb}", post(command))
        .route("/v1/pause-all", post(pause_all))
        .route("/v1/resume-all", post(resume_all))
        .with_state(AppState {
            controller,
            tokens: Arc::new(tokens),
        })
}

/// Resolves the bearer token and checks the role.
pub fn authorize(tokens: &Tokens, headers: &HeaderMap, needed: Role) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let caller = tokens.lookup(token).ok_or(ApiError::Unauthorized)?;
    if caller.role < needed {
        return Err(ApiError::Forbidden {
            name: caller.name.clone(),
            role: caller.role.as_str(),
            needed: needed.as_str(),
        });
    }
    Ok(caller.clone())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

/// `GET /v1/rollouts`.
#[derive(Debug, Serialize)]
pub struct ListResponse {
    pub global: GlobalStatus,
    pub rollouts: Vec<RolloutStatus>,
}

async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ListResponse>, ApiError> {
    authorize(&s.tokens, &headers, Role::Viewer)?;
    Ok(Json(ListResponse {
        global: s.controller.global(),
        rollouts: s.controller.statuses(),
    }))
}

async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<RolloutStatus>, ApiError> {
    authorize(&s.tokens, &headers, Role::Viewer)?;
    s.controller
        .status(&name)
        .map(Json)
        .ok_or(ApiError::NotFound(name))
}

async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<RolloutStatus>), ApiError> {
    let caller = authorize(&s.tokens, &headers, Role::Operator)?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let rollout = rollout_body(&body, json)?;
    let status = s.controller.start(rollout, &caller).await?;
    Ok((StatusCode::CREATED, Json(status)))
}

/// Answer of an accepted command.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub rollout: String,
    pub command: &'static str,
    pub by: String,
}

async fn command(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((name, verb)): Path<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let caller = authorize(&s.tokens, &headers, Role::Operator)?;
    let is_promote = verb == "promote";
    let parsed = command_body(&body, is_promote, verb == "approve")?;
    let verb = match verb.as_str() {
        "approve" => Verb::Approve,
        "pause" => Verb::Pause,
        "resume" => Verb::Resume,
        "promote" => Verb::Promote { full: parsed.full },
        "abort" => Verb::Abort,
        other => {
            return Err(ApiError::NotFound(format!(
                "{name}/{other} (commands: approve, pause, resume, promote, abort)"
            )));
        }
    };
    s.controller
        .command(&name, verb, &caller, parsed.comment)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            rollout: name,
            command: verb.name(),
            by: caller.name,
        }),
    ))
}

/// Answer of pause-all / resume-all.
#[derive(Debug, Serialize)]
pub struct GlobalResponse {
    #[serde(flatten)]
    pub global: GlobalStatus,
    /// Rollouts resumed because the pause had held them (resume-all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Vec<String>>,
}

async fn pause_all(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<GlobalResponse>, ApiError> {
    let caller = authorize(&s.tokens, &headers, Role::Admin)?;
    let parsed = command_body(&body, false, false)?;
    let global = s.controller.pause_all(&caller, parsed.comment).await;
    Ok(Json(GlobalResponse {
        global,
        resumed: None,
    }))
}

async fn resume_all(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<GlobalResponse>, ApiError> {
    let caller = authorize(&s.tokens, &headers, Role::Admin)?;
    let parsed = command_body(&body, false, false)?;
    let (global, resumed) = s.controller.resume_all(&caller, parsed.comment).await;
    Ok(Json(GlobalResponse {
        global,
        resumed: Some(resumed),
    }))
}
