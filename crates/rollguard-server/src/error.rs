//! Errors: [`ServerError`] for configuration and start-up, [`ApiError`] for
//! answers of the HTTP API (a status code and a JSON body naming what is at
//! fault: the field, the line, the policy reasons).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Configuration and start-up errors of `rollguard serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("tokens file {path}: {message}")]
    TokensFile { path: String, message: String },
    #[error("environment variable {variable}: {message}")]
    TokenVariable { variable: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("policy bundle {dir}: {source}")]
    Policy {
        dir: String,
        #[source]
        source: rollguard_policy::PolicyError,
    },
    #[error("webhook {url}: {message}")]
    Webhook { url: String, message: String },
    #[error("HTTP server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// One problem of a request body (a rollout file problem carries its line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    pub message: String,
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("missing or unknown API token")]
    Unauthorized,
    #[error("{name} has role {role}; this needs {needed}")]
    Forbidden {
        name: String,
        role: &'static str,
        needed: &'static str,
    },
    #[error("invalid request body: {}", .problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    BadBody { problems: Vec<FieldProblem> },
    #[error("policy does not compile: {message}")]
    PolicyCompile { message: String },
    #[error("policy denied {action} by {principal}: {}", .reasons.join("; "))]
    PolicyDenied {
        action: String,
        principal: String,
        reasons: Vec<String>,
        bundle_hash: String,
    },
    #[error("no rollout named {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("rollout {rollout} could not start: {message}")]
    StartFailed { rollout: String, message: String },
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadBody {
            problems: vec![FieldProblem {
                field: field.into(),
                line: None,
                column: None,
                message: message.into(),
            }],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::BadBody { .. } | ApiError::PolicyCompile { .. } => StatusCode::BAD_REQUEST,
            ApiError::PolicyDenied { .. } | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::StartFailed { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::BadBody { .. } => "bad_request",
            ApiError::PolicyCompile { .. } => "policy_compile",
            ApiError::PolicyDenied { .. } => "policy_denied",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::StartFailed { .. } => "start_failed",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut headers = axum::http::HeaderMap::new();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"rollguard\""),
            );
        }
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
            problems: match &self {
                ApiError::BadBody { problems } => problems.clone(),
                _ => Vec::new(),
            },
            reasons: match &self {
                ApiError::PolicyDenied { reasons, .. } => reasons.clone(),
                _ => Vec::new(),
            },
        };
        (status, headers, Json(body)).into_response()
    }
}
