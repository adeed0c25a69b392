//! The OpenAPI 3.1 document of the control API, written by hand next to the
//! routes it describes (`GET /v1/openapi.json`). A test checks that every
//! route of [`crate::api::router`] is in it.

use serde_json::{Value, json};

fn error_responses(codes: &[&str]) -> serde_json::Map<String, Value> {
    let describe = |c: &str| match c {
        "400" => {
            "Malformed body: `problems[].field` (and `line`) name what is wrong, or the policy bundle does not compile (file:line in `message`)"
        }
        "401" => "No or unknown bearer token; nothing changed",
        "403" => "The token's role is too low; nothing changed",
        "404" => "No such rollout",
        "409" => "Refused by policy (`reasons`), or the rollout is not in a state for it",
        "502" => "The rollout could not be prepared (endpoint unreachable, proxy cannot listen)",
        _ => "Error",
    };
    codes
        .iter()
        .map(|c| {
            (
                (*c).to_string(),
                json!({"description": describe(c), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
            )
        })
        .collect()
}

fn op(summary: &str, role: Option<&str>, ok: (&str, &str, Value), errors: &[&str]) -> Value {
    let mut responses = error_responses(errors);
    responses.insert(
        ok.0.to_string(),
        json!({"description": ok.1, "content": {"application/json": {"schema": ok.2}}}),
    );
    let mut o = json!({
        "summary": summary,
        "responses": responses,
    });
    match role {
        Some(r) => {
            o["security"] = json!([{"bearer": []}]);
            o["x-rollguard-role"] = json!(r);
        }
        None => o["security"] = json!([]),
    }
    o
}

fn command_body(full: bool, comment_required: bool) -> Value {
    let mut props =
        json!({"comment": {"type": "string", "description": "Why; recorded in the ledger"}});
    if full {
        props["full"] =
            json!({"type": "boolean", "default": false, "description": "Go straight to 100%"});
    }
    json!({
        "required": false,
        "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false, "properties": props,
            "required": if comment_required { json!(["comment"]) } else { json!([]) }
        }}}
    })
}

/// The document.
pub fn document() -> Value {
    let status = json!({"$ref": "#/components/schemas/RolloutStatus"});
    let accepted = json!({"$ref": "#/components/schemas/Accepted"});
    let global = json!({"$ref": "#/components/schemas/Global"});
    let name =
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/healthz".into(),
        json!({"get": op("Liveness", None, ("200", "ok", json!({"type": "string"})), &[])}),
    );
    paths.insert("/v1/openapi.json".into(), json!({"get": op("This document", None, ("200", "OpenAPI 3.1", json!({"type": "object"})), &[])}));
    let mut create = op(
        "Start a rollout (checked by policy: concurrency budget per env, error budget, global pause)",
        Some("operator"),
        ("201", "Started", status.clone()),
        &["400", "401", "403", "409", "502"],
    );
    create["requestBody"] = json!({"required": true, "content": {
        "application/yaml": {"schema": {"type": "string", "description": "A Rollout (rollguard.dev/v1alpha1)"}},
        "application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["yaml"],
            "properties": {"yaml": {"type": "string"}}}}
    }});
    paths.insert("/v1/rollouts".into(), json!({
        "get": op("Status of every rollout and the global constraints", Some("viewer"),
            ("200", "Status", json!({"type": "object", "properties": {"global": global.clone(), "rollouts": {"type": "array", "items": status.clone()}}})),
            &["401", "403"]),
        "post": create,
    }));
    let mut show = op(
        "Status of one rollout",
        Some("viewer"),
        ("200", "Status", status.clone()),
        &["401", "403", "404"],
    );
    show["parameters"] = json!([name.clone()]);
    paths.insert("/v1/rollouts/{name}".into(), json!({"get": show}));
    for (verb, summary, full, comment) in [
        (
            "approve",
            "Approve the gate the rollout waits at (a `pause: {}` step or a require_approval)",
            false,
            true,
        ),
        (
            "pause",
            "Hold the rollout at its weight (judging and automatic rollback continue)",
            false,
            false,
        ),
        (
            "resume",
            "Continue a paused or waiting rollout",
            false,
            false,
        ),
        (
            "promote",
            "Let the current step through, or with `full` go straight to 100% (policy: only promoters)",
            true,
            false,
        ),
        (
            "abort",
            "Take the canary out of traffic and stop (always allowed)",
            false,
            false,
        ),
    ] {
        let mut o = op(
            summary,
            Some("operator"),
            ("202", "Queued for the rollout's loop", accepted.clone()),
            &["400", "401", "403", "404", "409"],
        );
        o["parameters"] = json!([name.clone()]);
        o["requestBody"] = command_body(full, comment);
        paths.insert(format!("/v1/rollouts/{{name}}/{verb}"), json!({"post": o}));
    }
    for (path, summary) in [
        (
            "/v1/pause-all",
            "Global pause (the big red button): no rollout may raise its weight, start, resume or promote",
        ),
        (
            "/v1/resume-all",
            "Lift the global pause and resume the rollouts it held",
        ),
    ] {
        let mut o = op(
            summary,
            Some("admin"),
            ("200", "Global state", global.clone()),
            &["400", "401", "403"],
        );
        o["requestBody"] = command_body(false, false);
        paths.insert(path.into(), json!({"post": o}));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "rollguard control API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Status and commands of the rollouts `rollguard serve` runs. Roles: viewer < operator < admin; `x-rollguard-role` is the least role an operation needs. Every command is recorded in the ledger with the token's name."
        },
        "servers": [{"url": "http://127.0.0.1:7070"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string", "enum": ["unauthorized", "forbidden", "bad_request", "policy_compile", "policy_denied", "not_found", "conflict", "start_failed", "internal"]},
                    "message": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
                        "field": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "integer"}, "message": {"type": "string"}}}},
                    "reasons": {"type": "array", "items": {"type": "string"}}
                }},
                "Accepted": {"type": "object", "properties": {"rollout": {"type": "string"}, "command": {"type": "string"}, "by": {"type": "string"}}},
                "Global": {"type": "object", "properties": {
                    "global_pause": {"type": "boolean"}, "paused_by": {"type": "string"}, "paused_since": {"type": "integer"},
                    "canaries_in_use": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "resumed": {"type": "array", "items": {"type": "string"}}}},
                "RolloutStatus": {"type": "object", "properties": {
                    "rollout": {"type": "string"}, "service": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "step": {"type": "integer"}, "steps": {"type": "integer"}, "step_kind": {"type": "string"},
                    "weight": {"type": "number"},
                    "state": {"type": "object", "properties": {
                        "status": {"type": "string", "enum": ["progressing", "paused", "awaiting_human", "done"]},
                        "reason": {"type": "string"}, "by": {"type": "string"}, "outcome": {"type": "string"}}},
                    "verdicts": {"type": "array", "items": {"type": "object"}},
                    "started_at": {"type": "integer"}, "updated_at": {"type": "integer"},
                    "router": {"type": "string"}, "notes": {"type": "array", "items": {"type": "string"}},
                    "policy_bundle": {"type": "string"}, "error": {"type": "string"}}}
            }
        }
    })
}
