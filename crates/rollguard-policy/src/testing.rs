//! `opa test` for rollguard bundles: runs every `test_*` rule and reports.
//!
//! Discovery follows OPA: in any package of the bundle (test modules
//! `*_test.rego` included), every complete, argument-less rule whose name starts
//! with `test_` is a test. A rule defined several times (several bodies) is one
//! test. Each test is evaluated on its own clone of the compiled bundle with no
//! input (tests supply it with `with input as ...`):
//!
//! - **PASS**: the rule is defined and not `false`;
//! - **FAIL**: the rule is undefined (some body expression failed) or `false`;
//! - **ERROR**: evaluation raised an error (the message is kept).
//!
//! The human format mirrors `opa test` (failures listed, then `PASS: n/N`);
//! [`TestReport`] also serialises to JSON for machines. Suggested CLI exit
//! codes: 0 when every test passes, 2 otherwise, like `opa test`.

use serde::{Deserialize, Serialize};

use crate::bundle::PolicyBundle;
use crate::engine::compile;
use crate::error::PolicyError;
use crate::rules;

/// Outcome of one test rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "message", rename_all = "snake_case")]
pub enum TestOutcome {
    /// Defined and not false.
    Pass,
    /// Undefined or false.
    Fail,
    /// Evaluation error, with regorus' message.
    Error(String),
}

impl TestOutcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Error(_) => "ERROR",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// Package path, e.g. `data.rollguard_test`.
    pub package: String,
    /// Rule name, e.g. `test_freeze_denies_promote`.
    pub name: String,
    /// Bundle-relative file.
    pub file: String,
    /// Line of the (first) definition.
    pub line: u32,
    /// What happened.
    #[serde(flatten)]
    pub outcome: TestOutcome,
}

impl TestResult {
    /// `data.pkg.test_name`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
}

/// Results of running a bundle's tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// Short hash of the bundle tested.
    pub bundle_hash: String,
    /// Every test, in file then line order.
    pub results: Vec<TestResult>,
    /// Number of passing tests.
    pub passed: usize,
    /// Number of failing tests.
    pub failed: usize,
    /// Number of tests that raised an error.
    pub errored: usize,
}

impl TestReport {
    /// Total number of tests.
    pub fn total(&self) -> usize {
        self.results.len()
    }

    /// True when there is at least one test and every test passed.
    pub fn is_success(&self) -> bool {
        self.total() > 0 && self.passed == self.total()
    }

    /// The summary lines, e.g. `PASS: 12/12` or `PASS: 10/12\nFAIL: 1/12\nERROR: 1/12`.
    pub fn summary(&self) -> String {
        let total = self.total();
        if total == 0 {
            return "no tests found".to_string();
        }
        let mut lines = Vec::new();
        for (label, n) in [
            ("PASS", self.passed),
            ("FAIL", self.failed),
            ("ERROR", self.errored),
        ] {
            if n > 0 || label == "PASS" {
                lines.push(format!("{label}: {n}/{total}"));
            }
        }
        lines.join("\n")
    }

    /// The report for people: failing and erroring tests (every test when
    /// `verbose`) with file:line, a rule, then the summary.
    pub fn to_human(&self, verbose: bool) -> String {
        let mut out = String::new();
        for r in &self.results {
            if r.outcome == TestOutcome::Pass && !verbose {
                continue;
            }
            out.push_str(&format!(
                "{}:{}: {}: {}",
                r.file,
                r.line,
                r.path(),
                r.outcome.label()
            ));
            if let TestOutcome::Error(message) = &r.outcome {
                out.push_str(&format!("\n  {}", message.replace('\n', "\n  ")));
            }
            out.push('\n');
        }
        if !out.is_empty() {
            out.push_str(&"-".repeat(80));
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Runs every `test_*` rule of `bundle`. Errs only if the bundle does not compile.
pub fn run_tests(bundle: &PolicyBundle) -> Result<TestReport, PolicyError> {
    let mut engine = compile(bundle, true)?;
    let mut tests: Vec<rules::DeclaredRule> = rules::declared_rules(&mut engine)?
        .into_iter()
        .filter(rules::DeclaredRule::is_test)
        .collect();
    tests.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let mut seen = std::collections::BTreeSet::new();
    tests.retain(|t| seen.insert(t.path()));

    let mut results = Vec::with_capacity(tests.len());
    for test in tests {
        let mut clone = engine.clone();
        let outcome = match clone.eval_rule(test.path()) {
            Ok(regorus::Value::Undefined) | Ok(regorus::Value::Bool(false)) => TestOutcome::Fail,
            Ok(_) => TestOutcome::Pass,
            Err(e) => TestOutcome::Error(format!("{e:#}")),
        };
        results.push(TestResult {
            package: test.package,
            name: test.name,
            file: test.file,
            line: test.line,
            outcome,
        });
    }
    let count = |f: fn(&TestOutcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    Ok(TestReport {
        bundle_hash: bundle.short_hash().to_string(),
        passed: count(|o| *o == TestOutcome::Pass),
        failed: count(|o| *o == TestOutcome::Fail),
        errored: count(|o| matches!(o, TestOutcome::Error(_))),
        results,
    })
}
