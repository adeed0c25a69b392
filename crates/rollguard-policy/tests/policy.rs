//! Integration tests: real regorus evaluation of bundles (one test binary).

#[path = "policy/bundle_loading.rs"]
mod bundle_loading;
#[path = "policy/default_rules.rs"]
mod default_rules;
#[path = "policy/evaluation_errors.rs"]
mod evaluation_errors;
#[path = "policy/input_schema.rs"]
mod input_schema;
#[path = "policy/rego_tests.rs"]
mod rego_tests;
#[path = "policy/support.rs"]
mod support;
