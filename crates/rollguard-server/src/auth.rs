//! API tokens and roles.
//!
//! A token maps to a principal name and a role; roles are ordered
//! `viewer < operator < admin`, each allowed what the ones below it are:
//!
//! | role | may |
//! |---|---|
//! | viewer | read status (`GET /v1/...`) |
//! | operator | start rollouts, approve, pause, resume, promote, abort |
//! | admin | the global pause and its release (`/v1/pause-all`, `/v1/resume-all`) |
//!
//! Tokens come from a YAML or JSON file (`token: {name, role, roles?}`, where
//! `roles` are extra team roles policy can read, e.g. `release-manager`) and
//! from `ROLLGUARD_TOKEN_<NAME>=<role>:<token>` variables. Only SHA-256
//! digests of the tokens are kept in memory.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: the token's principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Principal name, recorded as `by` of every command.
    pub name: String,
    pub role: Role,
    /// Extra roles for policy (e.g. `release-manager`).
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Caller {
    /// The roles policy sees: the token role first, then the extra ones.
    pub fn policy_roles(&self) -> Vec<String> {
        let mut roles = vec![self.role.as_str().to_string()];
        roles.extend(self.roles.iter().cloned());
        roles
    }
}

/// The known tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], Caller>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    role: Role,
    #[serde(default)]
    roles: Vec<String>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// No tokens: every protected endpoint answers 401.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `token` for `caller`.
    pub fn insert(&mut self, token: &str, caller: Caller) {
        self.by_digest.insert(digest(token), caller);
    }

    /// Builder form of [`Self::insert`].
    pub fn with(mut self, token: &str, name: &str, role: Role) -> Self {
        self.insert(
            token,
            Caller {
                name: name.into(),
                role,
                roles: Vec::new(),
            },
        );
        self
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// Reads a tokens file: a YAML (or JSON) mapping `token: {name, role, roles?}`.
    pub fn load_file(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServerError::TokensFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses tokens file text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ServerError> {
        let raw: BTreeMap<String, RawEntry> =
            serde_saphyr::from_str(text).map_err(|e| ServerError::TokensFile {
                path: file.to_string(),
                message: e.to_string(),
            })?;
        let mut tokens = Tokens::new();
        for (token, entry) in raw {
            if token.trim().len() < 8 {
                return Err(ServerError::TokensFile {
                    path: file.to_string(),
                    message: format!("the token of {} is shorter than 8 characters", entry.name),
                });
            }
            tokens.insert(
                &token,
                Caller {
                    name: entry.name,
                    role: entry.role,
                    roles: entry.roles,
                },
            );
        }
        Ok(tokens)
    }

    /// Adds tokens from `ROLLGUARD_TOKEN_<NAME>=<role>:<token>` variables
    /// (`<NAME>` lowercased is the principal).
    pub fn add_from_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ServerError> {
        for (key, value) in vars {
            let Some(name) = key.strip_prefix("ROLLGUARD_TOKEN_") else {
                continue;
            };
            let bad = |why: &str| ServerError::TokenVariable {
                variable: key.clone(),
                message: why.to_string(),
            };
            let (role, token) = value
                .split_once(':')
                .ok_or_else(|| bad("expected <role>:<token>"))?;
            let role =
                Role::parse(role).ok_or_else(|| bad("role must be viewer, operator or admin"))?;
            if token.len() < 8 {
                return Err(bad("the token is shorter than 8 characters"));
            }
            self.insert(
                token,
                Caller {
                    name: name.to_ascii_lowercase(),
                    role,
                    roles: Vec::new(),
                },
            );
        }
        Ok(())
    }

    /// The caller holding `token`, if it is known.
    pub fn lookup(&self, token: &str) -> Option<&Caller> {
        self.by_digest.get(&digest(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }

    #[test]
    fn file_and_env_tokens() {
        let mut t = Tokens::parse(
            "abcdefgh1: {name: alice, role: operator, roles: [release-manager]}\n",
            "t.yaml",
        )
        .expect("parses");
        t.add_from_env(
            [(
                "ROLLGUARD_TOKEN_BOB".to_string(),
                "admin:zzzzzzzz9".to_string(),
            )]
            .into_iter(),
        )
        .expect("env parses");
        let alice = t.lookup("abcdefgh1").expect("alice");
        assert_eq!(alice.policy_roles(), vec!["operator", "release-manager"]);
        assert_eq!(t.lookup("zzzzzzzz9").map(|c| c.role), Some(Role::Admin));
        assert!(t.lookup("nope").is_none());
    }

    #[test]
    fn bad_entries_name_the_file_or_variable() {
        let e = Tokens::parse("abcdefgh1: {name: a, role: root}\n", "t.yaml")
            .expect_err("unknown role");
        assert!(e.to_string().contains("t.yaml"), "{e}");
        let mut t = Tokens::new();
        let e = t
            .add_from_env([("ROLLGUARD_TOKEN_X".into(), "god:12345678".into())].into_iter())
            .expect_err("unknown role");
        assert!(e.to_string().contains("ROLLGUARD_TOKEN_X"), "{e}");
    }
}
