//! Loading bundles: compile errors with file:line, data merging, content hashing.

use std::path::PathBuf;

use rollguard_policy::{ActionKind, PolicyBundle, PolicyEngine, PolicyError, PolicyResult};

use crate::support::{action, default_bundle, load, write};

const GOOD: &str =
    "package rollguard\n\ndeny contains \"no\" if input.action.kind == \"promote\"\n";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = tempdir();
    write(dir.path(), "ok.rego", GOOD);
    write(
        dir.path(),
        "rules/broken.rego",
        "package rollguard\n\ndeny contains msg if {\n  msg := \n}\n",
    );
    match PolicyBundle::load(dir.path()) {
        Err(PolicyError::Compile { path, message }) => {
            assert_eq!(path, "rules/broken.rego");
            assert!(message.contains("rules/broken.rego:4:"), "{message}");
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn unsafe_variable_is_a_compile_error_with_position() {
    let dir = tempdir();
    write(dir.path(), "a.rego", GOOD);
    write(
        dir.path(),
        "b.rego",
        "package rollguard\n\ndeny contains msg if {\n  x == 1\n  msg := \"x\"\n}\n",
    );
    match PolicyBundle::load(dir.path()) {
        Err(e @ PolicyError::Compile { .. }) => {
            let text = e.to_string();
            assert!(text.contains("b.rego:4:"), "{text}");
            assert!(
                matches!(e, PolicyError::Compile { ref path, .. } if path == "b.rego"),
                "{e:?}"
            );
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn broken_test_module_fails_the_load_too() {
    let dir = tempdir();
    write(dir.path(), "p.rego", GOOD);
    write(
        dir.path(),
        "p_test.rego",
        "package rollguard_test\n\ntest_x if {\n",
    );
    let err = PolicyBundle::load(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("p_test.rego:"), "{err}");
}

#[test]
fn yaml_and_json_data_merge_into_data() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data_merge");
    let bundle = load(&dir);
    assert_eq!(
        bundle.data(),
        &serde_json::json!({"limits": {"prod": 2, "staging": 5}, "team": {"owner": "payments"}})
    );
    let names: Vec<&str> = bundle.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "data.yaml",
            "more/limits.json",
            "more/team.yml",
            "policy.rego"
        ],
        "README.md is not part of the bundle"
    );
    let engine = PolicyEngine::new(&bundle).unwrap_or_else(|e| panic!("{e}"));
    let decision = engine
        .evaluate(&action(ActionKind::Start, 0.0, 0.0).build())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        decision.reasons,
        ["limit 2 from yaml, 5 from json, payments nested"]
    );
}

#[test]
fn conflicting_data_names_both_files_and_bad_yaml_names_the_line() {
    let dir = tempdir();
    write(dir.path(), "p.rego", GOOD);
    write(dir.path(), "a.yaml", "limits:\n  prod: 2\n");
    write(dir.path(), "b.json", "{\"limits\": {\"prod\": 3}}");
    match PolicyBundle::load(dir.path()) {
        Err(PolicyError::DataConflict { key, first, second }) => {
            assert_eq!(
                (key.as_str(), first.as_str(), second.as_str()),
                ("limits.prod", "a.yaml", "b.json")
            );
        }
        other => panic!("expected a data conflict, got {other:?}"),
    }
    write(dir.path(), "b.json", "{}");
    write(dir.path(), "a.yaml", "limits:\n  prod: [1, 2\n");
    let err = PolicyBundle::load(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("a.yaml") && err.contains("line"), "{err}");
}

#[test]
fn hash_changes_with_content_and_names_but_not_otherwise() {
    let dir = tempdir();
    write(dir.path(), "p.rego", GOOD);
    write(dir.path(), "data.yaml", "max: 10\n");
    let first = load(dir.path());
    assert_eq!(first.hash().len(), 64);
    assert_eq!(first.short_hash(), &first.hash()[..12]);

    // Nothing changed: same version, also when loaded again or from memory.
    assert_eq!(load(dir.path()).hash(), first.hash());
    let again =
        PolicyBundle::from_files("mem", first.files().to_vec()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.hash(), first.hash());

    // Files that are not policy (docs, hidden files) do not count.
    write(dir.path(), "README.md", "# notes\n");
    write(dir.path(), ".hidden.rego", "not even rego");
    assert_eq!(load(dir.path()).hash(), first.hash());

    // Any policy or data byte changes the version.
    write(dir.path(), "data.yaml", "max: 11\n");
    let changed = load(dir.path());
    assert_ne!(changed.hash(), first.hash());
    write(dir.path(), "data.yaml", "max: 10\n");
    assert_eq!(load(dir.path()).hash(), first.hash());

    // A rename changes it too.
    std::fs::rename(dir.path().join("p.rego"), dir.path().join("q.rego"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(load(dir.path()).hash(), first.hash());
}

#[test]
fn embedded_default_bundle_is_the_folder_on_disk() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bundles/default");
    let on_disk = load(&dir);
    let embedded = default_bundle();
    let disk_files: Vec<&str> = on_disk.files().iter().map(|f| f.path.as_str()).collect();
    let embedded_files: Vec<&str> = embedded.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        disk_files, embedded_files,
        "every .rego/data file of bundles/default must be embedded"
    );
    assert_eq!(on_disk.hash(), embedded.hash());
}

#[test]
fn bundles_without_rego_or_without_package_rollguard_are_rejected() {
    let dir = tempdir();
    write(dir.path(), "data.yaml", "a: 1\n");
    assert!(matches!(
        PolicyBundle::load(dir.path()),
        Err(PolicyError::Empty { .. })
    ));

    write(
        dir.path(),
        "other.rego",
        "package other\n\ndeny contains \"x\" if true\n",
    );
    let bundle = load(dir.path());
    match PolicyEngine::new(&bundle) {
        Err(PolicyError::MissingPackage { found }) => assert_eq!(found, "data.other"),
        other => panic!("expected a missing package error, got {other:?}"),
    }
    assert!(matches!(
        PolicyBundle::load(dir.path().join("absent")),
        Err(PolicyError::Io { .. })
    ));
}

#[test]
fn unknown_timezone_is_rejected() {
    let dir = tempdir();
    write(dir.path(), "p.rego", GOOD);
    write(dir.path(), "data.yaml", "timezone: Mars/Olympus_Mons\n");
    assert!(matches!(
        PolicyBundle::load(dir.path()),
        Err(PolicyError::TimeZone { .. })
    ));
}

#[test]
fn bundle_with_only_deny_rule_decides() {
    let dir = tempdir();
    write(dir.path(), "p.rego", GOOD);
    let engine = PolicyEngine::new(&load(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let deny = engine.evaluate(&action(ActionKind::Promote, 50.0, 100.0).build());
    assert_eq!(deny.map(|d| d.result).ok(), Some(PolicyResult::Deny));
    let allow = engine.evaluate(&action(ActionKind::SetWeight, 10.0, 20.0).build());
    assert_eq!(allow.map(|d| d.result).ok(), Some(PolicyResult::Allow));
}
