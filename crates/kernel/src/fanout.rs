//! Events across processes on one PostgreSQL: the dispatcher that delivered a batch announces
//! its event IDs with `NOTIFY switchyard_events` (in the statement that marks them delivered's
//! connection, after it), and every other process, listening on a connection of its own, reads
//! those events from the outbox and publishes them to its own broker, so its subscribers see
//! them as fast as the delivering process's do. Reactions are not run again: they ran where
//! the event was claimed. NOTIFY carries IDs only (its payload is limited to 8000 bytes, and
//! the event stays the outbox's). On SQLite one process serves, and nothing is announced.
//!
//! A listener that loses its connection reconnects; announcements made meanwhile are not
//! replayed (subscriptions are live views; queries answer from the database).

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::db::{Conn, Db, PgConn};
use crate::error::Error;
use crate::events::{EventBus, OutboxRow};
use crate::ids::EventId;
use crate::schema::outbox;

/// The channel events are announced on.
pub const CHANNEL: &str = "switchyard_events";

/// How many IDs one announcement carries (37 bytes each, well inside NOTIFY's 8000).
const PER_NOTIFY: usize = 150;

/// Announces `delivered` to the other processes (PostgreSQL only).
pub async fn announce(
    conn: &mut Conn<'_>,
    origin: &str,
    delivered: &[EventId],
) -> Result<(), Error> {
    let Conn::Postgres(c) = conn else {
        return Ok(());
    };
    for ids in delivered.chunks(PER_NOTIFY) {
        let payload = format!(
            "{origin}:{}",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(CHANNEL)
            .bind::<diesel::sql_types::Text, _>(payload)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}

/// Listens for other processes' announcements until `shutdown`, publishing their events to
/// `bus`; reconnects after a lost connection.
pub fn listen(db: Db, bus: EventBus, origin: String, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let run = listen_once(&db, &bus, &origin);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = run => {
                    if let Err(error) = outcome {
                        tracing::warn!(%error, "event listener lost its connection; reconnecting");
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    });
}

async fn listen_once(db: &Db, bus: &EventBus, origin: &str) -> anyhow::Result<()> {
    let mut conn = PgConn::establish(db.url()).await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        let Some((from, ids)) = notification.payload.split_once(':') else {
            continue;
        };
        if from == origin {
            continue;
        }
        let ids: Vec<EventId> = ids.split(',').filter_map(|id| id.parse().ok()).collect();
        if let Err(error) = publish(db, bus, &ids).await {
            tracing::warn!(
                ?error,
                "events announced by another process could not be read"
            );
        }
    }
    anyhow::bail!("the notification stream ended")
}

async fn publish(db: &Db, bus: &EventBus, ids: &[EventId]) -> Result<(), Error> {
    let rows: Vec<OutboxRow> = {
        let mut pooled = db.read().await?;
        let mut conn = pooled.conn();
        crate::db_run!(&mut conn, |c| outbox::table
            .filter(outbox::id.eq_any(ids))
            .order(outbox::id.asc())
            .select(OutboxRow::as_select())
            .load(c)
            .await)?
    };
    for row in rows {
        bus.publish(Arc::new(row.into_event()));
    }
    Ok(())
}
