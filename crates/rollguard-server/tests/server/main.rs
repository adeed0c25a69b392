//! Integration tests of `rollguard serve`: one binary, a module per concern.

mod authorization;
mod flows;
mod support;
