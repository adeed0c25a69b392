//! Integration tests: real regorus evaluation of bundles.

#[path = "policy/rego_tests.rs"]
mod rego_tests;
