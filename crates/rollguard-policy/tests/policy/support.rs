//! Builder-style fixtures shared by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use rollguard_policy::{
    Action, ActionKind, Approval, Environment, PolicyBundle, PolicyInput, Principal, PrincipalKind,
    Rollout, RolloutState, StepKind,
};

/// Tuesday 2026-11-03 10:15 UTC: inside default business hours.
pub const TUESDAY_MORNING: &str = "2026-11-03T10:15:00Z";
/// Tuesday 2026-11-03 23:30 UTC: outside business hours.
pub const TUESDAY_NIGHT: &str = "2026-11-03T23:30:00Z";
/// Saturday 2026-11-07 11:00 UTC.
pub const SATURDAY: &str = "2026-11-07T11:00:00Z";

pub fn default_bundle() -> PolicyBundle {
    PolicyBundle::default_bundle().unwrap_or_else(|e| panic!("default bundle: {e}"))
}

pub fn load(dir: &Path) -> PolicyBundle {
    PolicyBundle::load(dir).unwrap_or_else(|e| panic!("load {}: {e}", dir.display()))
}

pub fn write(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A proposed action with realistic defaults: agent, env=staging, weekday morning.
#[derive(Clone)]
pub struct InputBuilder {
    input: PolicyInput,
}

pub fn action(kind: ActionKind, from: f64, to: f64) -> InputBuilder {
    let bundle_tz = jiff::tz::TimeZone::UTC;
    let now: Timestamp = TUESDAY_MORNING.parse().unwrap_or_else(|e| panic!("{e}"));
    let mut environment = Environment::at(now, &bundle_tz);
    environment.canaries_in_use =
        BTreeMap::from([("prod".to_string(), 1), ("staging".to_string(), 1)]);
    environment.error_budget_remaining = BTreeMap::from([("checkout".to_string(), 0.4)]);
    InputBuilder {
        input: PolicyInput {
            action: Action {
                kind,
                from_weight: from,
                to_weight: to,
            },
            rollout: Rollout::new(
                "checkout-v42",
                "checkout",
                "shop",
                BTreeMap::from([("env".to_string(), "staging".to_string())]),
            ),
            state: RolloutState {
                step_index: 2,
                step_kind: Some(StepKind::SetWeight),
                weight: from,
                elapsed_s: 600.0,
                step_elapsed_s: 60.0,
            },
            verdicts: BTreeMap::new(),
            environment,
            principal: Principal {
                kind: PrincipalKind::Agent,
                name: "agent-eu-1".to_string(),
                roles: vec![],
            },
            approvals: vec![],
        },
    }
}

impl InputBuilder {
    pub fn env(mut self, env: &str) -> Self {
        self.input.rollout = Rollout::new(
            "checkout-v42",
            "checkout",
            "shop",
            BTreeMap::from([("env".to_string(), env.to_string())]),
        );
        self
    }

    pub fn at(mut self, rfc3339: &str) -> Self {
        let now: Timestamp = rfc3339.parse().unwrap_or_else(|e| panic!("{e}"));
        let fresh = Environment::at(now, &jiff::tz::TimeZone::UTC);
        self.input.environment.now = fresh.now;
        self.input.environment.hour = fresh.hour;
        self.input.environment.weekday = fresh.weekday;
        self
    }

    pub fn freeze_active(mut self) -> Self {
        self.input.environment.freeze_active = true;
        self
    }

    pub fn global_pause(mut self) -> Self {
        self.input.environment.global_pause = true;
        self
    }

    pub fn canaries_in_use(mut self, env: &str, n: u32) -> Self {
        self.input
            .environment
            .canaries_in_use
            .insert(env.to_string(), n);
        self
    }

    pub fn error_budget(mut self, service: &str, remaining: f64) -> Self {
        self.input
            .environment
            .error_budget_remaining
            .insert(service.to_string(), remaining);
        self
    }

    pub fn person(mut self, name: &str, roles: &[&str]) -> Self {
        self.input.principal = Principal {
            kind: PrincipalKind::Person,
            name: name.to_string(),
            roles: roles.iter().map(|r| (*r).to_string()).collect(),
        };
        self
    }

    pub fn approved_by(mut self, by: &str) -> Self {
        self.input.approvals.push(Approval {
            by: by.to_string(),
            comment: "looks good".to_string(),
        });
        self
    }

    pub fn build(self) -> PolicyInput {
        self.input
    }
}
