//! Exit codes, as documented in the README:
//! 0 promoted (or success), 1 any other error, 2 invalid configuration,
//! 3 rolled back, 4 aborted, frozen or waiting for a person.

pub const OK: u8 = 0;
pub const OTHER: u8 = 1;
pub const INVALID: u8 = 2;
pub const ROLLED_BACK: u8 = 3;
pub const WAITING: u8 = 4;

pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn invalid(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: INVALID,
            error: e.into(),
        }
    }
    pub fn other(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: OTHER,
            error: e.into(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { code: OTHER, error }
    }
}

pub fn for_outcome(outcome: Option<rollguard_core::Outcome>) -> u8 {
    use rollguard_core::Outcome::*;
    match outcome {
        Some(Promoted) => OK,
        Some(RolledBack) => ROLLED_BACK,
        Some(Aborted) | Some(Frozen) | None => WAITING,
    }
}
