//! Evaluation errors are `Err` (the caller holds and escalates), never an implicit allow.

use rollguard_policy::{ActionKind, BundleFile, PolicyBundle, PolicyEngine, PolicyError};

use crate::support::action;

fn engine(rego: &str) -> PolicyEngine {
    let bundle = PolicyBundle::from_files(
        "inline",
        vec![BundleFile {
            path: "p.rego".into(),
            contents: rego.into(),
        }],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    PolicyEngine::new(&bundle).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn division_by_zero_is_an_error_not_an_allow() {
    let engine = engine(
        "package rollguard\n\ndeny contains \"ratio too high\" if {\n  input.state.weight / input.action.from_weight > 2\n}\n",
    );
    match engine.evaluate(&action(ActionKind::SetWeight, 0.0, 10.0).build()) {
        Err(PolicyError::Evaluation { rule, message, .. }) => {
            assert_eq!(rule, "data.rollguard.deny");
            assert!(!message.is_empty());
        }
        other => panic!("expected an evaluation error, got {other:?}"),
    }
    // The same engine still decides other inputs.
    assert!(
        engine
            .evaluate(&action(ActionKind::SetWeight, 5.0, 10.0).build())
            .is_ok()
    );
}

#[test]
fn conflicting_complete_rule_values_are_an_error() {
    let engine = engine(
        "package rollguard\n\nlimit := 10 if input.rollout.env == \"staging\"\n\nlimit := 20 if input.action.kind == \"set_weight\"\n\n\
         deny contains \"too high\" if input.action.to_weight > limit\n",
    );
    let err = engine.evaluate(&action(ActionKind::SetWeight, 5.0, 30.0).build());
    assert!(
        matches!(err, Err(PolicyError::Evaluation { .. })),
        "{err:?}"
    );
}

#[test]
fn a_deny_rule_that_is_not_a_set_of_strings_is_an_error() {
    let engine = engine("package rollguard\n\ndeny contains 42 if true\n");
    let err = engine.evaluate(&action(ActionKind::SetWeight, 5.0, 30.0).build());
    assert!(matches!(err, Err(PolicyError::BadResult { .. })), "{err:?}");

    let engine = engine_complete();
    let err = engine.evaluate(&action(ActionKind::SetWeight, 5.0, 30.0).build());
    assert!(matches!(err, Err(PolicyError::BadResult { .. })), "{err:?}");
}

fn engine_complete() -> PolicyEngine {
    engine("package rollguard\n\ndeny := \"everything\"\n")
}

#[test]
fn malformed_time_in_freeze_data_is_an_error() {
    let mut files = PolicyBundle::default_bundle()
        .unwrap_or_else(|e| panic!("{e}"))
        .files()
        .to_vec();
    for f in &mut files {
        if f.path == "data.yaml" {
            f.contents = f
                .contents
                .replace("freeze_windows: []", "freeze_windows:\n  - {name: typo, start: \"next tuesday\", end: \"2027-01-04T00:00:00Z\"}");
        }
    }
    let bundle = PolicyBundle::from_files("typo", files).unwrap_or_else(|e| panic!("{e}"));
    let engine = PolicyEngine::new(&bundle).unwrap_or_else(|e| panic!("{e}"));
    let result = engine.evaluate(&action(ActionKind::SetWeight, 10.0, 25.0).build());
    assert!(
        matches!(result, Err(PolicyError::Evaluation { .. })),
        "{result:?}"
    );
}

#[test]
fn an_evaluation_past_its_time_limit_is_an_error() {
    let engine = engine(
        "package rollguard\n\nr := numbers.range(1, 3000)\n\ndeny contains \"slow\" if {\n  some x in r\n  some y in r\n  x * y == -1\n}\n",
    )
    .with_time_limit(std::time::Duration::from_millis(5));
    let err = engine.evaluate(&action(ActionKind::SetWeight, 5.0, 30.0).build());
    assert!(
        matches!(err, Err(PolicyError::Evaluation { .. })),
        "{err:?}"
    );
}
