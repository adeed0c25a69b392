//! Validated hooks: commands or webhooks run at fixed moments of a rollout
//! (`spec.hooks`). The engine asks for a stage with `Effect::RunHook`; the
//! runtime runs it and reports back with `Input::HookResult`.

use serde::{Deserialize, Serialize};

use super::raw::{RawHook, RawHooks};
use crate::duration::{Millis, parse_duration};

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookStage {
    PreRollout,
    PreStep,
    PrePromote,
    PostPromote,
    OnRollback,
}

impl HookStage {
    pub fn as_str(self) -> &'static str {
        match self {
            HookStage::PreRollout => "preRollout",
            HookStage::PreStep => "preStep",
            HookStage::PrePromote => "prePromote",
            HookStage::PostPromote => "postPromote",
            HookStage::OnRollback => "onRollback",
        }
    }

    /// A failure at this stage blocks progress.
    pub fn blocks(self) -> bool {
        matches!(
            self,
            HookStage::PreRollout | HookStage::PreStep | HookStage::PrePromote
        )
    }
}

impl std::fmt::Display for HookStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksSpec {
    pub pre_rollout: Vec<HookSpec>,
    pub pre_step: Vec<HookSpec>,
    pub pre_promote: Vec<HookSpec>,
    pub post_promote: Vec<HookSpec>,
    pub on_rollback: Vec<HookSpec>,
}

impl HooksSpec {
    pub fn stage(&self, stage: HookStage) -> &[HookSpec] {
        match stage {
            HookStage::PreRollout => &self.pre_rollout,
            HookStage::PreStep => &self.pre_step,
            HookStage::PrePromote => &self.pre_promote,
            HookStage::PostPromote => &self.post_promote,
            HookStage::OnRollback => &self.on_rollback,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookSpec {
    pub name: String,
    pub action: HookAction,
    /// Per attempt.
    pub timeout: Millis,
    /// Extra attempts after a failure.
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAction {
    /// Program and arguments, run without a shell.
    Exec { command: Vec<String> },
    /// A JSON POST; 2xx is success.
    Webhook { url: String },
}

/// Most retries a hook may ask for.
pub const MAX_RETRIES: u32 = 10;

/// Checks `spec.hooks`; problems come back as (field path, message).
pub(super) fn validate_hooks(raw: Option<RawHooks>) -> (HooksSpec, Vec<(String, String)>) {
    let Some(raw) = raw else {
        return (HooksSpec::default(), Vec::new());
    };
    let mut problems = Vec::new();
    let mut stage = |name: &str, hooks: Vec<RawHook>| -> Vec<HookSpec> {
        hooks
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| {
                validate_hook(&format!("spec.hooks.{name}[{i}]"), h, &mut problems)
            })
            .collect()
    };
    let spec = HooksSpec {
        pre_rollout: stage("preRollout", raw.pre_rollout),
        pre_step: stage("preStep", raw.pre_step),
        pre_promote: stage("prePromote", raw.pre_promote),
        post_promote: stage("postPromote", raw.post_promote),
        on_rollback: stage("onRollback", raw.on_rollback),
    };
    (spec, problems)
}

fn validate_hook(path: &str, h: RawHook, problems: &mut Vec<(String, String)>) -> Option<HookSpec> {
    let mut duration = |field: &str, v: &Option<String>, default: Millis| match v {
        None => default,
        Some(text) => match parse_duration(text) {
            Ok(0) => {
                problems.push((format!("{path}.{field}"), "must be more than 0".into()));
                default
            }
            Ok(ms) => ms,
            Err(e) => {
                problems.push((format!("{path}.{field}"), e));
                default
            }
        },
    };
    let (action, timeout, retries, default_name) = match (h.exec, h.webhook) {
        (Some(e), None) => {
            let timeout = duration("exec.timeout", &e.timeout, 30_000);
            if e.command.is_empty() || e.command[0].trim().is_empty() {
                problems.push((format!("{path}.exec.command"), "must name a program".into()));
                return None;
            }
            let name = e.command.join(" ");
            (
                HookAction::Exec { command: e.command },
                timeout,
                e.retries.unwrap_or(0),
                name,
            )
        }
        (None, Some(w)) => {
            let timeout = duration("webhook.timeout", &w.timeout, 10_000);
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                problems.push((
                    format!("{path}.webhook.url"),
                    format!("{:?} must be an http:// or https:// URL", w.url),
                ));
                return None;
            }
            let name = w.url.clone();
            (
                HookAction::Webhook { url: w.url },
                timeout,
                w.retries.unwrap_or(2),
                name,
            )
        }
        _ => {
            problems.push((
                path.to_string(),
                "give exactly one of exec or webhook".into(),
            ));
            return None;
        }
    };
    if retries > MAX_RETRIES {
        problems.push((
            format!("{path}.retries"),
            format!("at most {MAX_RETRIES}, got {retries}"),
        ));
    }
    Some(HookSpec {
        name: h.name.unwrap_or(default_name),
        action,
        timeout,
        retries: retries.min(MAX_RETRIES),
    })
}
