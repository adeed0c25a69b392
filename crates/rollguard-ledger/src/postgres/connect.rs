//! Connecting to PostgreSQL, creating or checking the ledger schema, and
//! keeping passwords out of error messages.

use tokio_postgres::{Client, Config, NoTls};

use crate::error::{LedgerError, Result};
use crate::schema;

/// Advisory lock key serialising schema creation ("RGLD").
const SCHEMA_LOCK: i64 = 0x5247_4C44;

/// Connects and drives the connection on the runtime.
pub(crate) async fn connect(location: &str, config: &Config) -> Result<Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| LedgerError::postgres(location, "connecting", e))?;
    // Errors of the connection surface on the client's next call.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Creates the tables, or checks the marker and version of existing ones.
pub(crate) async fn init_schema(location: &str, client: &mut Client) -> Result<()> {
    let pg = |op| move |e| LedgerError::postgres(location, op, e);
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the schema transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(pg("taking the schema lock"))?;
    let present: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() \
             AND table_name IN ('ledger_meta', 'ledger_events', 'ledger_chain')",
            &[],
        )
        .await
        .map_err(pg("reading the schema"))?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()
        .map_err(pg("reading the schema"))?;
    if present.is_empty() {
        tx.batch_execute(&schema::create_tables_sql("BIGINT"))
            .await
            .map_err(pg("creating tables"))?;
    } else if !present.iter().any(|t| t == "ledger_meta") {
        return Err(LedgerError::Foreign {
            location: location.to_string(),
            detail: format!("tables {present:?} exist without ledger_meta; not a rollguard ledger"),
        });
    } else {
        let rows = tx
            .query(
                "SELECT key, value FROM ledger_meta WHERE key IN ('application', 'schema_version')",
                &[],
            )
            .await
            .map_err(pg("reading ledger_meta"))?;
        let (mut application, mut version) = (None, None);
        for row in &rows {
            let key: String = row.try_get(0).map_err(pg("reading ledger_meta"))?;
            let value: String = row.try_get(1).map_err(pg("reading ledger_meta"))?;
            match key.as_str() {
                "application" => application = Some(value),
                _ => version = Some(value),
            }
        }
        schema::check_meta(location, application, version)?;
    }
    tx.commit().await.map_err(pg("committing the schema"))?;
    Ok(())
}

/// `url` with any password in its user-info replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@db:5432/x?sslmode=disable"),
            "postgres://u:***@db:5432/x?sslmode=disable"
        );
        assert_eq!(super::redact("postgres://u@db/x"), "postgres://u@db/x");
    }
}
