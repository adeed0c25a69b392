//! Rollout files: the shipped examples validate; bad ones name file, line and field.

use rollguard_core::spec::{Step, load, load_file};

#[test]
fn shipped_examples_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rollouts");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("examples/rollouts exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 1);
}

const GOOD: &str = r#"apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  service: web
  baseline: {version: v1, endpoint: "http://127.0.0.1:9001"}
  canary: {version: v2, endpoint: "http://127.0.0.1:9002"}
  strategy:
    steps:
      - setWeight: 10
      - analyze: {minDuration: 30s}
  analysis:
    metrics:
      - name: errors
        errorRate: {}
"#;

#[test]
fn defaults_are_filled_in() {
    let r = load(GOOD, "good.yaml").expect("valid");
    assert_eq!(
        r.steps[1],
        Step::Analyze {
            min: 30_000,
            max: 600_000
        }
    );
    assert_eq!(r.analysis.alpha, 0.01);
    assert_eq!(r.telemetry.interval, 1_000);
}

#[test]
fn unknown_field_names_file_line_and_column() {
    let bad = GOOD.replace("{minDuration: 30s}", "{minDuration: 30s, colour: red}");
    let err = load(&bad, "r.yaml").expect_err("unknown field").to_string();
    assert!(err.starts_with("r.yaml:11:"), "{err}");
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn validation_errors_name_the_step_line_and_path() {
    let bad = GOOD
        .replace("setWeight: 10", "setWeight: 150")
        .replace("30s}", "30 parsecs}");
    let err = load(&bad, "r.yaml").expect_err("invalid");
    let text = err.to_string();
    assert_eq!(err.problems.len(), 2, "{text}");
    assert!(text.contains("r.yaml:10:"), "{text}");
    assert!(
        text.contains("spec.strategy.steps[0].setWeight: must be 0-100"),
        "{text}"
    );
    assert!(
        text.contains("spec.strategy.steps[1].analyze.minDuration"),
        "{text}"
    );
}

#[test]
fn wrong_kind_and_api_version_are_refused() {
    let bad = GOOD
        .replace("kind: Rollout", "kind: Deployment")
        .replace("v1alpha1", "v9");
    let text = load(&bad, "r.yaml").expect_err("invalid").to_string();
    assert!(
        text.contains("apiVersion") && text.contains("kind"),
        "{text}"
    );
}

#[test]
fn malformed_yaml_never_panics() {
    for text in [
        "",
        ":",
        "spec: [",
        "apiVersion: 3\nkind: {}",
        "\t\t- - -",
        "metadata: {name: 5}",
    ] {
        assert!(load(text, "x.yaml").is_err());
    }
}

#[test]
fn schema_mentions_every_step_kind() {
    let schema = rollguard_core::spec::json_schema().to_string();
    for key in [
        "setWeight",
        "analyze",
        "pause",
        "errorRate",
        "baselineQuantile",
        "onFailure",
    ] {
        assert!(schema.contains(key), "{key}");
    }
}
