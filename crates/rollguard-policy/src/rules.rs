//! Discovery of the rules a compiled bundle declares, read from regorus' AST.
//!
//! regorus exposes its parsed modules only through `Engine::get_modules` and the
//! `regorus::unstable` AST types; this module is the one place that touches them,
//! so a change in that API is contained here. It answers two questions: which
//! packages and rule names exist (the engine checks that `package rollguard`
//! declares `deny` / `require_approval`), and where the `test_*` rules are (the
//! test runner, like `opa test`, runs every one of them).

use regorus::unstable::{Parser, Rule, RuleHead};

use crate::error::PolicyError;

/// How a rule's head is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleShape {
    /// `name := value`, `name if {..}`, `name[key] := value`: a complete or object rule.
    Complete,
    /// `name contains value if {..}`: a partial set rule.
    Set,
    /// `name(args) := value`: a function.
    Function,
    /// `default name := value`.
    Default,
}

/// One rule declaration (a rule with several bodies or definitions appears once per definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredRule {
    /// Package path, e.g. `data.rollguard`.
    pub package: String,
    /// First component of the rule head, e.g. `deny` or `test_freeze_denies_promote`.
    pub name: String,
    /// Number of components of the head reference (`a.b.c := 1` has 3).
    pub depth: usize,
    /// How the head is written.
    pub shape: RuleShape,
    /// Bundle-relative file that declares it.
    pub file: String,
    /// 1-based line of the declaration.
    pub line: u32,
}

impl DeclaredRule {
    /// Full path of the rule, e.g. `data.rollguard.deny`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }

    /// Whether `opa test` would run this rule: a complete, argument-less rule
    /// named `test_*` with a single-component head.
    pub fn is_test(&self) -> bool {
        self.name.starts_with("test_") && self.depth == 1 && self.shape == RuleShape::Complete
    }
}

/// Every rule declared by the modules loaded in `engine`, in source order.
pub fn declared_rules(engine: &mut regorus::Engine) -> Result<Vec<DeclaredRule>, PolicyError> {
    let mut rules = Vec::new();
    for module in engine.get_modules().iter() {
        let file = module.package.span.source.get_path().clone();
        let package = path_of(&module.package.refr, &file)?;
        let package = format!("data.{package}");
        for rule in &module.policy {
            let (shape, refr) = match rule.as_ref() {
                Rule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. } => (RuleShape::Complete, refr),
                    RuleHead::Set { refr, .. } => (RuleShape::Set, refr),
                    RuleHead::Func { refr, .. } => (RuleShape::Function, refr),
                },
                Rule::Default { refr, .. } => (RuleShape::Default, refr),
            };
            let components =
                Parser::get_path_ref_components(refr).map_err(|e| compile(&file, &e))?;
            let Some(first) = components.first() else {
                continue;
            };
            rules.push(DeclaredRule {
                package: package.clone(),
                name: first.text().to_string(),
                depth: components.len(),
                shape,
                file: file.clone(),
                line: rule.span().line,
            });
        }
    }
    Ok(rules)
}

/// The distinct package paths (`data.x.y`) the engine's modules declare, sorted.
pub fn packages(engine: &mut regorus::Engine) -> Result<Vec<String>, PolicyError> {
    let mut packages = Vec::new();
    for module in engine.get_modules().iter() {
        let file = module.package.span.source.get_path().clone();
        packages.push(format!("data.{}", path_of(&module.package.refr, &file)?));
    }
    packages.sort();
    packages.dedup();
    Ok(packages)
}

fn path_of(
    refr: &regorus::unstable::Ref<regorus::unstable::Expr>,
    file: &str,
) -> Result<String, PolicyError> {
    let components = Parser::get_path_ref_components(refr).map_err(|e| compile(file, &e))?;
    Ok(components
        .iter()
        .map(|span| span.text().trim_matches('"').to_string())
        .collect::<Vec<_>>()
        .join("."))
}

fn compile(file: &str, error: &impl std::fmt::Display) -> PolicyError {
    PolicyError::Compile {
        path: file.to_string(),
        message: format!("{error:#}"),
    }
}
