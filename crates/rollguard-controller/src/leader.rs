//! Leader election among controller replicas through a lease row in the
//! shared PostgreSQL database:
//!
//! ```sql
//! INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE expires_at < now() OR holder = me
//! ```
//!
//! Only the database's clock decides expiry, so replica clocks may be skewed.
//! The holder renews every `ttl / 3`; it considers itself leader until
//! `sent + 0.9 * ttl` on its own monotonic clock, where `sent` is when it
//! sent the renewal that succeeded (the row expires at `db_now + ttl`, later
//! than that). A follower tries every `ttl / 3`, so after the leader dies a
//! follower leads within `ttl + ttl / 3` plus one round trip (bound stated in
//! the README; measured by the failover test). A replica that stops cleanly
//! releases the row at once.
//!
//! A single controller on SQLite is always the leader ([`Leadership::single`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

/// What this replica knows about who leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderView {
    pub leader: bool,
    pub term: i64,
    /// URL agents should use (the leader's advertised URL).
    pub leader_url: Option<String>,
}

#[derive(Clone)]
pub struct Leadership {
    view: watch::Receiver<LeaderView>,
    valid_until: Arc<Mutex<Option<Instant>>>,
    release: Option<Arc<ReleaseHandle>>,
    /// Keeps a single controller's channel open.
    _single: Option<Arc<watch::Sender<LeaderView>>>,
}

struct ReleaseHandle {
    url: String,
    id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("leader lease on {location}: {source}")]
pub struct LeaderError {
    pub location: String,
    #[source]
    pub source: tokio_postgres::Error,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS rollguard_leader (\
    id int PRIMARY KEY, holder text NOT NULL, url text NOT NULL, \
    expires_at timestamptz NOT NULL, term bigint NOT NULL)";

const ACQUIRE: &str = "INSERT INTO rollguard_leader (id, holder, url, expires_at, term) \
    VALUES (1, $1, $2, now() + $3::float8 * interval '1 second', 1) \
    ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, url = EXCLUDED.url, \
    expires_at = EXCLUDED.expires_at, \
    term = CASE WHEN rollguard_leader.holder = EXCLUDED.holder \
                THEN rollguard_leader.term ELSE rollguard_leader.term + 1 END \
    WHERE rollguard_leader.expires_at < now() OR rollguard_leader.holder = EXCLUDED.holder \
    RETURNING term";

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn connect(url: &str) -> Result<Client, LeaderError> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|source| LeaderError {
            location: redact(url),
            source,
        })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "leader lease connection closed");
        }
    });
    Ok(client)
}

impl Leadership {
    /// Always the leader (one controller, no PostgreSQL).
    pub fn single(url: Option<String>) -> Leadership {
        let (tx, view) = watch::channel(LeaderView {
            leader: true,
            term: 0,
            leader_url: url,
        });
        Leadership {
            view,
            valid_until: Arc::new(Mutex::new(None)),
            release: None,
            _single: Some(Arc::new(tx)),
        }
    }

    /// Joins the election on the PostgreSQL database at `url` as replica `id`
    /// advertising `advertise` to agents.
    pub async fn postgres(
        url: &str,
        id: &str,
        advertise: &str,
        ttl: Duration,
    ) -> Result<Leadership, LeaderError> {
        let client = connect(url).await?;
        // Replicas starting together race on CREATE TABLE IF NOT EXISTS
        // (a unique violation in the catalog): try again.
        let mut attempt = 0;
        loop {
            match client.batch_execute(SCHEMA).await {
                Ok(()) => break,
                Err(source) if attempt >= 4 => {
                    return Err(LeaderError {
                        location: redact(url),
                        source,
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "creating the leader table; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let (tx, view) = watch::channel(LeaderView {
            leader: false,
            term: 0,
            leader_url: None,
        });
        let valid_until = Arc::new(Mutex::new(None));
        let task = ElectionTask {
            url: url.to_string(),
            id: id.to_string(),
            advertise: advertise.to_string(),
            ttl,
            client: Some(client),
            tx,
            valid_until: valid_until.clone(),
        };
        tokio::spawn(task.run());
        Ok(Leadership {
            view,
            valid_until,
            release: Some(Arc::new(ReleaseHandle {
                url: url.to_string(),
                id: id.to_string(),
            })),
            _single: None,
        })
    }

    /// Leader right now: elected, and the lease has not run out locally.
    pub fn is_leader(&self) -> bool {
        if !self.view.borrow().leader {
            return false;
        }
        match *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) {
            None => self.release.is_none(),
            Some(until) => Instant::now() < until,
        }
    }

    pub fn view(&self) -> LeaderView {
        self.view.borrow().clone()
    }

    /// Changes of the view (to rebuild state when this replica starts leading).
    pub fn subscribe(&self) -> watch::Receiver<LeaderView> {
        self.view.clone()
    }

    /// Gives the lease up (clean shutdown) so a follower takes over at once.
    pub async fn release(&self) {
        let Some(r) = &self.release else { return };
        if let Ok(client) = connect(&r.url).await {
            let _ = client
                .execute(
                    "UPDATE rollguard_leader SET expires_at = now() - interval '1 second' WHERE holder = $1",
                    &[&r.id],
                )
                .await;
        }
    }
}

struct ElectionTask {
    url: String,
    id: String,
    advertise: String,
    ttl: Duration,
    client: Option<Client>,
    tx: watch::Sender<LeaderView>,
    valid_until: Arc<Mutex<Option<Instant>>>,
}

impl ElectionTask {
    async fn run(mut self) {
        loop {
            self.round().await;
            if self.tx.is_closed() {
                return;
            }
            tokio::time::sleep(self.ttl / 3).await;
        }
    }

    async fn round(&mut self) {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            match connect(&self.url).await {
                Ok(c) => self.client = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "leader lease: cannot reach PostgreSQL");
                    self.lapse();
                    return;
                }
            }
        }
        let Some(client) = self.client.as_ref() else {
            return;
        };
        let sent = Instant::now();
        let ttl_s = self.ttl.as_secs_f64();
        let attempt = tokio::time::timeout(
            self.ttl / 3,
            client.query_opt(ACQUIRE, &[&self.id, &self.advertise, &ttl_s]),
        )
        .await;
        match attempt {
            Ok(Ok(Some(row))) => {
                let term: i64 = row.get(0);
                *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(sent + self.ttl.mul_f64(0.9));
                let was = self.tx.borrow().clone();
                if !was.leader || was.term != term {
                    tracing::info!(replica = %self.id, term, "this replica is now the leader");
                }
                self.tx.send_if_modified(|v| {
                    let new = LeaderView {
                        leader: true,
                        term,
                        leader_url: Some(self.advertise.clone()),
                    };
                    let changed = *v != new;
                    *v = new;
                    changed
                });
            }
            Ok(Ok(None)) => {
                let holder = client
                    .query_opt("SELECT url, term FROM rollguard_leader WHERE id = 1", &[])
                    .await
                    .ok()
                    .flatten();
                let (url, term) = holder
                    .map(|r| (Some(r.get::<_, String>(0)), r.get::<_, i64>(1)))
                    .unwrap_or((None, 0));
                if self.tx.borrow().leader {
                    tracing::warn!(replica = %self.id, "lost the leader lease");
                }
                self.tx.send_if_modified(|v| {
                    let new = LeaderView {
                        leader: false,
                        term,
                        leader_url: url,
                    };
                    let changed = *v != new;
                    *v = new;
                    changed
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "leader lease: query failed");
                self.client = None;
                self.lapse();
            }
            Err(_) => {
                tracing::warn!("leader lease: PostgreSQL did not answer in time");
                self.client = None;
                self.lapse();
            }
        }
    }

    /// No renewal: stays leader only until the local deadline passes.
    fn lapse(&self) {
        let until = *self.valid_until.lock().unwrap_or_else(|p| p.into_inner());
        if until.is_none_or(|u| Instant::now() >= u) && self.tx.borrow().leader {
            tracing::warn!(replica = %self.id, "leader lease ran out without renewal; following");
            self.tx.send_modify(|v| v.leader = false);
        }
    }
}
