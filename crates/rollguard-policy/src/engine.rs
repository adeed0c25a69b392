//! Evaluation of proposed actions against a bundle with regorus.
//!
//! [`PolicyEngine::new`] compiles the bundle's non-test modules and data into a
//! regorus `Engine` once and forces regorus' analysis, so later evaluations only
//! clone that prepared engine (regorus evaluates through `&mut self`) and run
//! the two decision rules of `package rollguard`:
//!
//! ```rego
//! package rollguard
//! deny contains msg if { ... }              # any message => deny
//! require_approval contains msg if { ... }  # any message (and no deny) => require_approval
//! ```
//!
//! A bundle may declare either rule or both; one it does not declare counts as
//! empty. Any evaluation error (a builtin error, a complete rule with
//! conflicting values, a rule that yields something other than a set of
//! strings) is returned as `Err`: the caller holds the action and escalates, it
//! never treats an error as `allow`. `abort` and `rollback` are evaluated like
//! every action, so the bundle's view is recorded, but
//! [`PolicyDecision::effective`] always allows them (see [`crate::decision`]).
//! An evaluation that exceeds its time limit ([`DEFAULT_TIME_LIMIT`]) is such an
//! error too.

use std::num::NonZeroU32;
use std::time::Duration;

use regorus::Value;
use regorus::utils::limits::ExecutionTimerConfig;

use crate::bundle::PolicyBundle;
use crate::decision::PolicyDecision;
use crate::error::PolicyError;
use crate::input::PolicyInput;
use crate::rules::{self, RuleShape};

/// The package holding the decision rules.
pub const DECISION_PACKAGE: &str = "data.rollguard";
/// Rule whose messages deny an action.
pub const DENY_RULE: &str = "data.rollguard.deny";
/// Rule whose messages make an action wait for a person.
pub const REQUIRE_APPROVAL_RULE: &str = "data.rollguard.require_approval";
/// Wall-clock budget of one evaluation (regorus' cooperative execution timer).
/// A policy that runs longer is broken: its evaluation fails and the action is held.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_millis(500);

/// A compiled bundle, ready to evaluate actions. Cheap to share behind an `Arc`:
/// [`Self::evaluate`] takes `&self`.
#[derive(Clone)]
pub struct PolicyEngine {
    prepared: regorus::Engine,
    bundle_hash: String,
    short_hash: String,
    rules: Vec<&'static str>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("bundle_hash", &self.bundle_hash)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl PolicyEngine {
    /// Compiles `bundle` (without its `*_test.rego` modules) for evaluation.
    pub fn new(bundle: &PolicyBundle) -> Result<Self, PolicyError> {
        let mut engine = compile(bundle, false)?;
        let packages = rules::packages(&mut engine)?;
        if !packages.iter().any(|p| p == DECISION_PACKAGE) {
            return Err(PolicyError::MissingPackage {
                found: packages.join(", "),
            });
        }
        let declared = rules::declared_rules(&mut engine)?;
        let is_declared = |name: &str| {
            declared.iter().any(|r| {
                r.package == DECISION_PACKAGE && r.name == name && r.shape != RuleShape::Function
            })
        };
        let rules = [
            ("deny", DENY_RULE),
            ("require_approval", REQUIRE_APPROVAL_RULE),
        ]
        .into_iter()
        .filter(|(name, _)| is_declared(name))
        .map(|(_, path)| path)
        .collect();
        let mut engine = engine;
        engine.set_execution_timer_config(timer(DEFAULT_TIME_LIMIT));
        Ok(Self {
            prepared: engine,
            bundle_hash: bundle.hash().to_string(),
            short_hash: bundle.short_hash().to_string(),
            rules,
        })
    }

    /// Replaces the per-evaluation time limit ([`DEFAULT_TIME_LIMIT`]).
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.prepared.set_execution_timer_config(timer(limit));
        self
    }

    /// Full content hash of the bundle this engine evaluates.
    pub fn bundle_hash(&self) -> &str {
        &self.bundle_hash
    }

    /// Evaluates one proposed action. An `Err` means "no decision": hold and escalate.
    pub fn evaluate(&self, input: &PolicyInput) -> Result<PolicyDecision, PolicyError> {
        let json = serde_json::to_value(input).map_err(|e| PolicyError::Input {
            message: e.to_string(),
        })?;
        let mut engine = self.prepared.clone();
        engine.set_input(Value::from(json));
        let mut deny = Vec::new();
        let mut require_approval = Vec::new();
        for rule in &self.rules {
            let value =
                engine
                    .eval_rule((*rule).to_string())
                    .map_err(|e| PolicyError::Evaluation {
                        rule: (*rule).to_string(),
                        bundle: self.short_hash.clone(),
                        message: format!("{e:#}"),
                    })?;
            let messages = self.messages(rule, &value)?;
            if *rule == DENY_RULE {
                deny = messages;
            } else {
                require_approval = messages;
            }
        }
        Ok(PolicyDecision::from_rules(
            input.action.kind,
            deny,
            require_approval,
            self.bundle_hash.clone(),
        ))
    }

    fn messages(&self, rule: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
        let bad = || PolicyError::BadResult {
            rule: rule.to_string(),
            bundle: self.short_hash.clone(),
            got: value.to_json_str().unwrap_or_else(|_| format!("{value:?}")),
        };
        if *value == Value::Undefined {
            return Ok(Vec::new());
        }
        let set = value.as_set().map_err(|_| bad())?;
        set.iter()
            .map(|item| item.as_string().map(|s| s.to_string()).map_err(|_| bad()))
            .collect()
    }
}

fn timer(limit: Duration) -> ExecutionTimerConfig {
    ExecutionTimerConfig {
        limit,
        check_interval: NonZeroU32::MIN.saturating_add(63),
    }
}

/// Builds a prepared regorus engine from `bundle`: every Rego module (test
/// modules only if `include_tests`) and the merged data, then forces regorus'
/// analysis so compile errors surface here rather than at the first evaluation.
pub(crate) fn compile(
    bundle: &PolicyBundle,
    include_tests: bool,
) -> Result<regorus::Engine, PolicyError> {
    let mut engine = regorus::Engine::new();
    for file in bundle.files() {
        if !file.is_rego() || (file.is_test() && !include_tests) {
            continue;
        }
        engine
            .add_policy(file.path.clone(), file.contents.clone())
            .map_err(|e| PolicyError::Compile {
                path: file.path.clone(),
                message: format!("{e:#}").trim().to_string(),
            })?;
    }
    engine
        .add_data(Value::from(bundle.data().clone()))
        .map_err(|e| PolicyError::Data {
            path: "<merged data>".to_string(),
            message: format!("{e:#}"),
        })?;
    engine.eval_query("true".to_string(), false).map_err(|e| {
        let message = format!("{e:#}").trim().to_string();
        let path = bundle
            .files()
            .iter()
            .find(|f| message.contains(&format!("--> {}:", f.path)))
            .map_or_else(|| "<bundle>".to_string(), |f| f.path.clone());
        PolicyError::Compile { path, message }
    })?;
    Ok(engine)
}
