//! rollguard's agent: runs rollouts close to the services they change, under
//! mandates from the controller.
//!
//! - [`lease`]: a mandate's lease on the agent's monotonic clock (the clock
//!   assumption is stated there).
//! - [`gate`]: [`MandateGate`], which denies raising exposure once the lease
//!   has expired; rollback is never gated.
//! - [`runner`]: one rollout on the runtime's live loop, with the on-disk
//!   event buffer as its ledger.
//! - [`shipper`]: ships the buffer in order; idempotency keys make re-sends
//!   harmless.
//! - [`client`]: the mTLS client that follows the leader among replicas.
//! - [`agent`]: the process loop ([`run_agent`]).

pub mod agent;
pub mod bench;
pub mod client;
pub mod gate;
pub mod lease;
pub mod runner;
pub mod shipper;

pub use agent::{AgentError, AgentOptions, run_agent};
pub use client::{ClientError, ControllerClient};
pub use gate::MandateGate;
pub use lease::Lease;
