//! rollguard's global controller.
//!
//! It keeps the rollout registry and the global ledger, hands rollouts to
//! agents as *mandates* bounded by a lease, renews leases on heartbeats,
//! enforces global budgets (at most N canaries at once per label), refuses
//! agents whose certificate does not list a rollout's service, and ingests
//! agents' events idempotently, in order, into the ledger. Several replicas
//! share one PostgreSQL database and elect a leader through a lease row;
//! followers answer 503 naming the leader.
//!
//! Modules: [`protocol`] (messages), [`registry`] and [`budget`] (pure
//! state), [`controller`] (logic), [`http`] (routes), [`tls`] (mTLS accept
//! loop), [`leader`] (election), [`serve`] (process entry), [`bench`].

pub mod budget;
pub mod controller;
pub mod http;
pub mod leader;
pub mod protocol;
pub mod registry;
pub mod serve;
pub mod tls;

pub use budget::{Budgets, CanaryBudget};
pub use controller::{ApiFailure, Controller, ControllerConfig};
pub use leader::{LeaderView, Leadership};
pub use serve::{ServeError, ServeOptions, serve};
