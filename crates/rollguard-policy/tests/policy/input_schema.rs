//! The JSON input schema: files deserialise into the typed input, with `env` from labels.

use std::path::PathBuf;

use rollguard_policy::{ActionKind, PolicyEngine, PolicyInput, PolicyResult, Weekday};

use crate::support::default_bundle;

fn read_example() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/inputs/prod-step-above-50.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn example_input_file_parses_and_needs_approval() {
    let input: PolicyInput =
        serde_json::from_str(&read_example()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(input.action.kind, ActionKind::SetWeight);
    assert_eq!(
        input.rollout.env.as_deref(),
        Some("prod"),
        "env is taken from labels.env"
    );
    let engine = PolicyEngine::new(&default_bundle()).unwrap_or_else(|e| panic!("{e}"));
    let decision = engine.evaluate(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decision.result, PolicyResult::RequireApproval, "{decision}");

    let json = serde_json::to_value(&decision).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["result"], "require_approval");
    assert_eq!(json["action"], "set_weight");
    assert_eq!(json["bundle_hash"].as_str().map(str::len), Some(64));
}

#[test]
fn input_serialises_snake_case_and_round_trips() {
    let input: PolicyInput =
        serde_json::from_str(&read_example()).unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["environment"]["now"], "2026-11-03T10:15:00Z");
    assert_eq!(json["environment"]["weekday"], "tuesday");
    assert_eq!(json["state"]["step_kind"], "set_weight");
    assert_eq!(json["rollout"]["env"], "prod");
    let back: PolicyInput = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, input);
}

#[test]
fn unknown_fields_are_rejected_with_their_name() {
    let text = read_example().replace("\"approvals\": []", "\"approvals\": [], \"aprovals\": []");
    let err = serde_json::from_str::<PolicyInput>(&text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("aprovals"), "{err}");
}

#[test]
fn localize_recomputes_local_time_in_the_bundle_zone() {
    let mut input: PolicyInput =
        serde_json::from_str(&read_example()).unwrap_or_else(|e| panic!("{e}"));
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap_or_else(|e| panic!("{e}"));
    input.environment.localize(&tokyo);
    assert_eq!(
        (input.environment.hour, input.environment.weekday),
        (19, Weekday::Tuesday)
    );
}
