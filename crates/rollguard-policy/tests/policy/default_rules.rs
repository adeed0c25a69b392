//! Each rule of the shipped default bundle allows and denies what it says,
//! through real regorus evaluation of typed inputs.

use rollguard_policy::{ActionKind, PolicyBundle, PolicyEngine, PolicyResult};

use crate::support::{InputBuilder, SATURDAY, TUESDAY_NIGHT, action, default_bundle};

use ActionKind::{Abort, Approve, Pause, Promote, Rollback, SetWeight, Start};
use PolicyResult::{Allow, Deny, RequireApproval};

struct Case {
    name: &'static str,
    input: InputBuilder,
    expect: PolicyResult,
    /// A fragment every expected reason list must contain (empty for allow).
    reason: &'static str,
}

fn case(
    name: &'static str,
    input: InputBuilder,
    expect: PolicyResult,
    reason: &'static str,
) -> Case {
    Case {
        name,
        input,
        expect,
        reason,
    }
}

fn check(engine: &PolicyEngine, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        match engine.evaluate(&c.input.build()) {
            Ok(d) => {
                let reason_ok = if c.reason.is_empty() {
                    d.reasons.is_empty()
                } else {
                    d.reasons.iter().any(|r| r.contains(c.reason))
                };
                if d.result != c.expect || !reason_ok {
                    failures.push(format!(
                        "{}: expected {} ({:?}), got {d}",
                        c.name, c.expect, c.reason
                    ));
                }
                assert_eq!(d.bundle_hash, engine.bundle_hash());
            }
            Err(e) => failures.push(format!("{}: evaluation error {e}", c.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn engine_for(bundle: &PolicyBundle) -> PolicyEngine {
    PolicyEngine::new(bundle).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rule1_maximum_weight_outside_business_hours() {
    let engine = engine_for(&default_bundle());
    check(
        &engine,
        vec![
            case(
                "weekday morning, 10 -> 40",
                action(SetWeight, 10.0, 40.0),
                Allow,
                "",
            ),
            case(
                "night, 10 -> 25",
                action(SetWeight, 10.0, 25.0).at(TUESDAY_NIGHT),
                Deny,
                "outside business hours",
            ),
            case(
                "night, 5 -> 10 (at the limit)",
                action(SetWeight, 5.0, 10.0).at(TUESDAY_NIGHT),
                Allow,
                "",
            ),
            case(
                "night, lowering 40 -> 20",
                action(SetWeight, 40.0, 20.0).at(TUESDAY_NIGHT),
                Allow,
                "",
            ),
            case(
                "saturday promote",
                action(Promote, 50.0, 100.0).at(SATURDAY),
                Deny,
                "outside business hours",
            ),
            case(
                "5pm is outside (end exclusive)",
                action(SetWeight, 10.0, 25.0).at("2026-11-03T17:00:00Z"),
                Deny,
                "outside business hours",
            ),
            case(
                "9am is inside (start inclusive)",
                action(SetWeight, 10.0, 25.0).at("2026-11-03T09:00:00Z"),
                Allow,
                "",
            ),
        ],
    );
}

#[test]
fn rule1_business_hours_follow_the_bundle_timezone() {
    // 08:30 UTC is 09:30 in Berlin (CET, UTC+1 in November): inside business hours there.
    let mut files = default_bundle().files().to_vec();
    for f in &mut files {
        if f.path == "data.yaml" {
            f.contents = f
                .contents
                .replace("timezone: UTC", "timezone: Europe/Berlin");
        }
    }
    let bundle = PolicyBundle::from_files("berlin", files).unwrap_or_else(|e| panic!("{e}"));
    let now: jiff::Timestamp = "2026-11-03T08:30:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let env = rollguard_policy::Environment::at(now, bundle.timezone());
    assert_eq!(env.hour, 9);
    let mut input = action(SetWeight, 10.0, 25.0).build();
    input.environment = rollguard_policy::Environment {
        canaries_in_use: input.environment.canaries_in_use.clone(),
        error_budget_remaining: input.environment.error_budget_remaining.clone(),
        ..env
    };
    let decision = engine_for(&bundle)
        .evaluate(&input)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decision.result, Allow, "{decision}");
}

#[test]
fn rule2_freeze_windows_and_global_pause() {
    let mut files = default_bundle().files().to_vec();
    for f in &mut files {
        if f.path == "data.yaml" {
            f.contents = f.contents.replace(
                "freeze_windows: []",
                "freeze_windows:\n  - name: year-end\n    start: \"2026-12-20T00:00:00Z\"\n    end: \"2027-01-04T00:00:00Z\"\n  - name: prod-only\n    start: \"2026-11-10T00:00:00Z\"\n    end: \"2026-11-11T00:00:00Z\"\n    envs: [prod]",
            );
        }
    }
    let bundle = PolicyBundle::from_files("with-freeze", files).unwrap_or_else(|e| panic!("{e}"));
    let engine = engine_for(&bundle);
    let christmas = "2026-12-24T10:00:00Z";
    check(
        &engine,
        vec![
            case(
                "raise in window",
                action(SetWeight, 10.0, 25.0).at(christmas),
                Deny,
                "freeze \"year-end\"",
            ),
            case(
                "promote in window",
                action(Promote, 50.0, 100.0).at(christmas),
                Deny,
                "year-end",
            ),
            case(
                "lower in window",
                action(SetWeight, 25.0, 10.0).at(christmas),
                Allow,
                "",
            ),
            case(
                "pause in window",
                action(Pause, 25.0, 25.0).at(christmas),
                Allow,
                "",
            ),
            case(
                "rollback in window",
                action(Rollback, 25.0, 0.0).at(christmas),
                Allow,
                "",
            ),
            case(
                "window end is exclusive",
                action(SetWeight, 10.0, 25.0).at("2027-01-04T10:00:00Z"),
                Allow,
                "",
            ),
            case(
                "prod-only window, staging",
                action(SetWeight, 10.0, 25.0).at("2026-11-10T10:00:00Z"),
                Allow,
                "",
            ),
            case(
                "prod-only window, prod",
                action(SetWeight, 10.0, 25.0)
                    .env("prod")
                    .at("2026-11-10T10:00:00Z"),
                Deny,
                "prod-only",
            ),
            case(
                "controller freeze",
                action(SetWeight, 10.0, 25.0).freeze_active(),
                Deny,
                "controller freeze",
            ),
            case(
                "global pause, raise",
                action(SetWeight, 10.0, 25.0).global_pause(),
                Deny,
                "global pause",
            ),
            case(
                "global pause, start",
                action(Start, 0.0, 0.0).global_pause(),
                Deny,
                "global pause",
            ),
            case(
                "global pause, lower",
                action(SetWeight, 25.0, 10.0).global_pause(),
                Allow,
                "",
            ),
        ],
    );
}

#[test]
fn rule3_approval_above_50_percent_in_prod() {
    let engine = engine_for(&default_bundle());
    check(
        &engine,
        vec![
            case(
                "prod 50 -> 75",
                action(SetWeight, 50.0, 75.0).env("prod"),
                RequireApproval,
                "approval above 50%",
            ),
            case(
                "prod 50 -> 75 approved",
                action(SetWeight, 50.0, 75.0)
                    .env("prod")
                    .approved_by("alice"),
                Allow,
                "",
            ),
            case(
                "prod 25 -> 50",
                action(SetWeight, 25.0, 50.0).env("prod"),
                Allow,
                "",
            ),
            case("staging 50 -> 75", action(SetWeight, 50.0, 75.0), Allow, ""),
            case(
                "agent approves",
                action(Approve, 50.0, 50.0),
                Deny,
                "only a person may approve",
            ),
            case(
                "person approves",
                action(Approve, 50.0, 50.0).person("alice", &[]),
                Allow,
                "",
            ),
        ],
    );
}

#[test]
fn rule4_concurrent_canaries_per_environment() {
    let engine = engine_for(&default_bundle());
    check(
        &engine,
        vec![
            case(
                "prod 1 of 2",
                action(Start, 0.0, 0.0).env("prod"),
                Allow,
                "",
            ),
            case(
                "prod 2 of 2",
                action(Start, 0.0, 0.0)
                    .env("prod")
                    .canaries_in_use("prod", 2),
                Deny,
                "maximum is 2",
            ),
            case(
                "staging 5 of 5",
                action(Start, 0.0, 0.0).canaries_in_use("staging", 5),
                Deny,
                "maximum is 5",
            ),
            case(
                "unlimited env",
                action(Start, 0.0, 0.0)
                    .env("dev")
                    .canaries_in_use("dev", 40),
                Allow,
                "",
            ),
            case(
                "full prod, weight step",
                action(SetWeight, 10.0, 25.0).canaries_in_use("staging", 9),
                Allow,
                "",
            ),
        ],
    );
}

#[test]
fn rule5_no_new_rollout_on_spent_error_budget() {
    let engine = engine_for(&default_bundle());
    check(
        &engine,
        vec![
            case("budget left", action(Start, 0.0, 0.0), Allow, ""),
            case(
                "budget spent",
                action(Start, 0.0, 0.0).error_budget("checkout", 0.0),
                Deny,
                "spent its error budget",
            ),
            case(
                "budget overspent",
                action(Start, 0.0, 0.0).error_budget("checkout", -0.2),
                Deny,
                "spent its error budget",
            ),
            case(
                "spent, but a weight step",
                action(SetWeight, 10.0, 25.0).error_budget("checkout", 0.0),
                Allow,
                "",
            ),
        ],
    );
}

#[test]
fn rule6_only_some_principals_may_promote() {
    let engine = engine_for(&default_bundle());
    check(
        &engine,
        vec![
            case("agent, staging", action(Promote, 50.0, 100.0), Allow, ""),
            case(
                "agent, prod",
                action(Promote, 50.0, 100.0).env("prod"),
                RequireApproval,
                "may not promote in env=prod",
            ),
            case(
                "agent, prod, approved",
                action(Promote, 50.0, 100.0)
                    .env("prod")
                    .approved_by("alice"),
                Allow,
                "",
            ),
            case(
                "release manager, prod",
                action(Promote, 50.0, 100.0)
                    .env("prod")
                    .person("alice", &["release-manager"])
                    .approved_by("alice"),
                Allow,
                "",
            ),
            case(
                "viewer, staging",
                action(Promote, 50.0, 100.0).person("bob", &["viewer"]),
                Deny,
                "bob may not promote",
            ),
        ],
    );
}

#[test]
fn abort_and_rollback_are_evaluated_but_always_effectively_allowed() {
    let engine = engine_for(&default_bundle());
    for kind in [Abort, Rollback] {
        // The default bundle never denies them; a bundle that does is overridden.
        let d = engine
            .evaluate(
                &action(kind, 25.0, 0.0)
                    .freeze_active()
                    .global_pause()
                    .build(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.result, d.effective()), (Allow, Allow), "{d}");
    }
    let strict = PolicyBundle::from_files(
        "strict",
        vec![rollguard_policy::BundleFile {
            path: "p.rego".into(),
            contents: "package rollguard\n\ndeny contains \"nothing moves\" if true\n".into(),
        }],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let engine = engine_for(&strict);
    for kind in [Abort, Rollback] {
        let d = engine
            .evaluate(&action(kind, 25.0, 0.0).build())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.result, Deny);
        assert_eq!(d.effective(), Allow);
        assert!(d.is_overridden());
        assert_eq!(
            d.effective_reasons()[0],
            rollguard_policy::ALWAYS_ALLOWED_REASON
        );
    }
    let d = engine
        .evaluate(&action(Promote, 50.0, 100.0).build())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.effective(), Deny);
}
