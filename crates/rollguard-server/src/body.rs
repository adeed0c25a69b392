//! Request bodies, checked by hand so a malformed body is answered with 400
//! and the name of the field at fault (and the line, for rollout YAML).

use rollguard_core::Rollout;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldProblem};

/// Body of the command endpoints and of pause-all / resume-all:
/// `{"comment": "...", "full": true}`, every field optional unless said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandBody {
    pub comment: Option<String>,
    pub full: bool,
}

/// Parses a command body. An empty body is `{}`. `allow_full` says whether
/// `full` is accepted; `comment_required` whether `comment` must be given.
pub fn command_body(
    bytes: &[u8],
    allow_full: bool,
    comment_required: bool,
) -> Result<CommandBody, ApiError> {
    let map = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ApiError::field("body", "must be a JSON object")),
            Err(e) => return Err(ApiError::field("body", format!("is not valid JSON: {e}"))),
        }
    };
    let mut out = CommandBody::default();
    for (key, value) in &map {
        match (key.as_str(), value) {
            ("comment", Value::String(s)) => out.comment = Some(s.clone()),
            ("comment", Value::Null) => {}
            ("comment", _) => return Err(ApiError::field("comment", "must be a string")),
            ("full", Value::Bool(b)) if allow_full => out.full = *b,
            ("full", _) if allow_full => return Err(ApiError::field("full", "must be a boolean")),
            (other, _) => {
                return Err(ApiError::field(
                    other,
                    if allow_full {
                        "unknown field; expected `comment` or `full`"
                    } else {
                        "unknown field; expected `comment`"
                    },
                ));
            }
        }
    }
    if comment_required && out.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(ApiError::field(
            "comment",
            "is required: say why (it is recorded in the ledger)",
        ));
    }
    Ok(out)
}

/// Parses the body of `POST /v1/rollouts`: rollout YAML, or with a JSON
/// content type `{"yaml": "..."}`. Validation problems carry line and column.
pub fn rollout_body(bytes: &[u8], json: bool) -> Result<Rollout, ApiError> {
    let text = if json {
        let map = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ApiError::field("body", "must be a JSON object")),
            Err(e) => return Err(ApiError::field("body", format!("is not valid JSON: {e}"))),
        };
        if let Some(other) = map.keys().find(|k| k.as_str() != "yaml") {
            return Err(ApiError::field(other, "unknown field; expected `yaml`"));
        }
        match map.get("yaml") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(ApiError::field("yaml", "must be a string of rollout YAML")),
            None => return Err(ApiError::field("yaml", "is required")),
        }
    } else {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::field("body", "rollout YAML must be UTF-8 text"))?
    };
    if text.trim().is_empty() {
        return Err(ApiError::field("body", "is empty; send rollout YAML"));
    }
    rollguard_core::spec::load(&text, "request body").map_err(|e| ApiError::BadBody {
        problems: e
            .problems
            .iter()
            .map(|p| FieldProblem {
                field: if p.path.is_empty() {
                    "yaml".into()
                } else {
                    p.path.clone()
                },
                line: p.line,
                column: p.column,
                message: p.message.clone(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::BadBody { problems } => problems[0].field.clone(),
            other => panic!("expected a bad body, got {other:?}"),
        }
    }

    #[test]
    fn command_bodies() {
        assert_eq!(
            command_body(b"", false, false).ok(),
            Some(CommandBody::default())
        );
        let b = command_body(br#"{"comment":"ok","full":true}"#, true, true).expect("valid");
        assert!(b.full);
        assert_eq!(
            field_of(command_body(br#"{"comment":3}"#, false, false).expect_err("bad")),
            "comment"
        );
        assert_eq!(
            field_of(command_body(br#"{"full":"yes"}"#, true, false).expect_err("bad")),
            "full"
        );
        assert_eq!(
            field_of(command_body(br#"{"full":true}"#, false, false).expect_err("bad")),
            "full"
        );
        assert_eq!(
            field_of(command_body(br#"{"oops":1}"#, true, false).expect_err("bad")),
            "oops"
        );
        assert_eq!(
            field_of(command_body(b"{}", false, true).expect_err("needs comment")),
            "comment"
        );
        assert_eq!(
            field_of(command_body(b"[1]", false, false).expect_err("bad")),
            "body"
        );
    }

    #[test]
    fn rollout_bodies_name_field_and_line() {
        assert_eq!(
            field_of(rollout_body(br#"{"yml":"x"}"#, true).expect_err("bad")),
            "yml"
        );
        assert_eq!(
            field_of(rollout_body(br#"{"yaml":5}"#, true).expect_err("bad")),
            "yaml"
        );
        let e = rollout_body(b"apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata: {name: x}\nspec:\n  bogus: 1\n", false)
            .expect_err("bad yaml");
        match e {
            ApiError::BadBody { problems } => assert!(problems[0].line.is_some(), "{problems:?}"),
            other => panic!("{other:?}"),
        }
    }
}
