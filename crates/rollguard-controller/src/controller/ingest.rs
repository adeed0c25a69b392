//! Ingestion of agents' events: each event must belong to a rollout whose
//! mandate the sending agent holds (and whose service its certificate
//! lists), carry an idempotency key under the rollout's name, and not be a
//! kind only the controller writes. A batch is stored in one transaction,
//! in the order sent; re-sent events are acknowledged without being stored
//! twice. A terminal event ends the rollout in the registry (freeing its
//! budget).

use rollguard_mtls::PeerIdentity;

use super::{ApiFailure, Controller};
use crate::protocol::{ShipEvents, ShipReply};
use crate::registry::{GRANTED_KIND, SUBMITTED_KIND, TERMINAL_KINDS};

impl Controller {
    /// Stores an agent's events in order; re-sent events (same idempotency
    /// key) are acknowledged without being stored twice.
    pub async fn ingest(
        &self,
        who: &PeerIdentity,
        ship: ShipEvents,
    ) -> Result<ShipReply, ApiFailure> {
        let n = ship.events.len();
        {
            let st = self.leading().await?;
            for ev in &ship.events {
                let Some(entry) = st.registry.get(&ev.rollout) else {
                    tracing::warn!(agent = %who.name, rollout = %ev.rollout, "refused events for an unknown rollout");
                    return Err(ApiFailure::Forbidden(format!(
                        "rollout {} is not registered here",
                        ev.rollout
                    )));
                };
                if !who.may_drive(&entry.rollout.service)
                    || entry.agent() != Some(who.name.as_str())
                {
                    tracing::warn!(
                        agent = %who.name,
                        services = ?who.services,
                        rollout = %ev.rollout,
                        service = %entry.rollout.service,
                        "refused: agent does not hold the mandate for this rollout's service"
                    );
                    return Err(ApiFailure::Forbidden(format!(
                        "{} holds no mandate for rollout {} (service {}; certificate allows {:?})",
                        who.principal(),
                        ev.rollout,
                        entry.rollout.service,
                        who.services
                    )));
                }
                let prefix = format!("{}/", ev.rollout);
                if !ev
                    .idempotency_key
                    .as_deref()
                    .is_some_and(|k| k.starts_with(&prefix))
                {
                    return Err(ApiFailure::BadRequest(format!(
                        "event {:?} of rollout {} needs an idempotency key starting with {prefix:?}",
                        ev.kind, ev.rollout
                    )));
                }
                if ev.kind == SUBMITTED_KIND || ev.kind == GRANTED_KIND {
                    return Err(ApiFailure::BadRequest(format!(
                        "event kind {} is written by the controller only",
                        ev.kind
                    )));
                }
            }
        }
        let terminal: Vec<(String, String)> = ship
            .events
            .iter()
            .filter(|e| TERMINAL_KINDS.contains(&e.kind.as_str()))
            .map(|e| (e.rollout.clone(), e.kind.clone()))
            .collect();
        if n > 0 {
            self.still_leading()?;
            self.ledger
                .append_batch(ship.events)
                .await
                .map_err(|e| ApiFailure::Internal(format!("storing events: {e}")))?;
        }
        if !terminal.is_empty() {
            let mut st = self.state.lock().await;
            for (rollout, kind) in terminal {
                tracing::info!(rollout = %rollout, agent = %who.name, outcome = %kind, "rollout finished");
                st.registry.finish(&rollout, &kind);
            }
        }
        Ok(ShipReply { acknowledged: n })
    }
}
