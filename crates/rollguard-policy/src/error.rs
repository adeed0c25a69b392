//! Errors of policy loading and evaluation.
//!
//! Every variant names what an operator must look at: the file (with line and
//! column where the parser gives them), the data key, or the rule. None of them
//! means "allow": a caller that gets an [`PolicyError`] for a proposed action
//! holds the action and escalates.

use std::path::PathBuf;

/// What went wrong while loading, compiling or evaluating a policy bundle.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A bundle file or directory could not be read.
    #[error("cannot read policy bundle path {path}: {source}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A bundle file is not valid UTF-8 (Rego and data files must be text).
    #[error("policy bundle file {path} is not valid UTF-8")]
    NotUtf8 {
        /// Relative path of the file inside the bundle.
        path: String,
    },

    /// The bundle holds no `.rego` file at all.
    #[error("policy bundle {dir} contains no .rego files")]
    Empty {
        /// The bundle directory (or `<embedded default>`).
        dir: String,
    },

    /// A Rego file does not parse or the bundle does not compile. `message` is
    /// regorus' own, which carries `file:line:col` and the offending source line.
    #[error("policy does not compile ({path}): {message}")]
    Compile {
        /// Relative path of the file at fault, or `<bundle>` when the error
        /// spans modules (the message still names the file and line).
        path: String,
        /// regorus' diagnostic, including the position.
        message: String,
    },

    /// A data file is not valid JSON / YAML, or is not a mapping at the top.
    #[error("policy data file {path} is invalid: {message}")]
    Data {
        /// Relative path of the data file.
        path: String,
        /// Parser diagnostic (with line and column).
        message: String,
    },

    /// Two data files set the same key to different non-object values.
    #[error("policy data key `{key}` is set by both {first} and {second}")]
    DataConflict {
        /// Dotted path of the conflicting key under `data`.
        key: String,
        /// File that set it first.
        first: String,
        /// File that set it again.
        second: String,
    },

    /// `data.timezone` is not a time zone name jiff knows.
    #[error("policy data `timezone` = {name:?} is not a known time zone: {message}")]
    TimeZone {
        /// The configured name.
        name: String,
        /// jiff's diagnostic.
        message: String,
    },

    /// The bundle does not define `package rollguard`, so no decision can be made.
    #[error("policy bundle defines no `package rollguard` (packages found: {found})")]
    MissingPackage {
        /// Comma-separated packages the bundle does define.
        found: String,
    },

    /// The input could not be turned into a Rego value.
    #[error("policy input cannot be encoded: {message}")]
    Input {
        /// Encoder diagnostic.
        message: String,
    },

    /// Evaluation failed at run time (a builtin error, conflicting values of a
    /// complete rule, a time-out). The action must be held, not allowed.
    #[error("policy evaluation of {rule} failed (bundle {bundle}): {message}")]
    Evaluation {
        /// The rule being evaluated, e.g. `data.rollguard.deny`.
        rule: String,
        /// Short bundle hash.
        bundle: String,
        /// regorus' diagnostic.
        message: String,
    },

    /// A decision rule produced something other than a set of strings.
    #[error("policy rule {rule} must be a set of strings, got {got} (bundle {bundle})")]
    BadResult {
        /// The rule at fault.
        rule: String,
        /// Short bundle hash.
        bundle: String,
        /// What it produced instead, as JSON.
        got: String,
    },
}
