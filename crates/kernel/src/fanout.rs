//! Events across processes: the dispatcher that delivered a batch announces its event IDs,
//! and every other process reads those events from the outbox and publishes them to its own
//! broker, so its subscribers see them as fast as the delivering process's do. Reactions are
//! not run again: they ran where the event was claimed. Announcements carry IDs only (the
//! event stays the outbox's). Two transports, one chosen at start:
//!
//! - **PostgreSQL `LISTEN/NOTIFY`**, the default on PostgreSQL: nothing to install. `NOTIFY
//!   switchyard_events` on the dispatcher's connection after the batch is marked delivered
//!   (its payload is limited to 8000 bytes, hence chunks). A listener that loses its
//!   connection reconnects; announcements made meanwhile are not replayed (subscriptions are
//!   live views; queries answer from the database).
//! - **NATS JetStream**, where `nats_url` is configured: announcements are published to a
//!   stream and acknowledged by the server; each process reads them through an ordered
//!   consumer, which resumes after the last message it saw when the connection comes back, so
//!   a short outage loses nothing.
//!
//! On SQLite one process serves, and nothing is announced unless NATS is configured.

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
const PER_ANNOUNCEMENT: usize = 150;

/// How long a JetStream stream keeps announcements (a listener away longer has missed them).
const RETAIN: Duration = Duration::from_secs(3600);

/// How this process tells the others about the events it delivered, and hears theirs.
#[derive(Clone)]
pub enum Fanout {
    /// Nobody to tell (SQLite, one process).
    Alone,
    /// PostgreSQL `LISTEN/NOTIFY` on the database itself.
    Postgres,
    /// A NATS JetStream stream.
    Nats(Box<Nats>),
}

/// A JetStream stream of announcements on one subject.
#[derive(Clone)]
pub struct Nats {
    jetstream: async_nats::jetstream::Context,
    subject: String,
    stream: String,
}

/// The JetStream stream of a subject, one per subject and named after it:
/// `switchyard.events` → `SWITCHYARD_EVENTS`.
pub fn stream_name(subject: &str) -> String {
    subject.replace(['.', '-'], "_").to_ascii_uppercase()
}

impl Fanout {
    /// The backend's own: `LISTEN/NOTIFY` on PostgreSQL, nothing on SQLite.
    pub fn of(db: &Db) -> Fanout {
        match db.backend() {
            crate::db::Backend::Postgres => Fanout::Postgres,
            crate::db::Backend::Sqlite => Fanout::Alone,
        }
    }

    /// NATS JetStream when `nats_url` is set (connecting now, and creating the stream for
    /// `subject` if it does not exist); otherwise `LISTEN/NOTIFY` on PostgreSQL and nothing on
    /// SQLite.
    pub async fn configure(db: &Db, nats_url: &str, subject: &str) -> anyhow::Result<Fanout> {
        if nats_url.is_empty() {
            return Ok(Fanout::of(db));
        }
        use anyhow::Context as _;
        anyhow::ensure!(
            !subject.is_empty()
                && subject.split('.').all(|t| !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')),
            "nats_subject {subject:?}: dot-separated tokens of letters, digits, `_` and `-`"
        );
        let client = async_nats::connect(nats_url)
            .await
            .with_context(|| format!("cannot connect to NATS at nats_url {nats_url}"))?;
        let jetstream = async_nats::jetstream::new(client);
        let stream = stream_name(subject);
        jetstream
            .get_or_create_stream(async_nats::jetstream::stream::Config {
                name: stream.clone(),
                subjects: vec![subject.to_owned()],
                max_age: RETAIN,
                ..Default::default()
            })
            .await
            .with_context(|| {
                format!("cannot create the JetStream stream {stream} at {nats_url}")
            })?;
        Ok(Fanout::Nats(Box::new(Nats {
            jetstream,
            subject: subject.to_owned(),
            stream,
        })))
    }

    /// Announces `delivered` to the other processes.
    pub async fn announce(
        &self,
        conn: &mut Conn<'_>,
        origin: &str,
        delivered: &[EventId],
    ) -> Result<(), Error> {
        if matches!(self, Fanout::Alone) {
            return Ok(());
        }
        for ids in delivered.chunks(PER_ANNOUNCEMENT) {
            let payload = format!(
                "{origin}:{}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            match (self, &mut *conn) {
                (Fanout::Postgres, Conn::Postgres(c)) => {
                    diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<diesel::sql_types::Text, _>(CHANNEL)
                        .bind::<diesel::sql_types::Text, _>(payload)
                        .execute(&mut **c)
                        .await?;
                }
                (Fanout::Nats(nats), _) => {
                    // Published and acknowledged by the server: stored in the stream.
                    nats.jetstream
                        .publish(nats.subject.clone(), payload.into())
                        .await
                        .map_err(Error::internal)?
                        .await
                        .map_err(Error::internal)?;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Listens for other processes' announcements until `shutdown`, publishing their events
    /// to `bus`; reconnects after a lost connection.
    pub fn listen(&self, db: Db, bus: EventBus, origin: String, shutdown: CancellationToken) {
        if matches!(self, Fanout::Alone) {
            return;
        }
        let fanout = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            // The last NATS stream sequence heard: a new consumer resumes after it.
            let mut heard = None;
            loop {
                let run = async {
                    match &fanout {
                        Fanout::Nats(nats) => {
                            nats.listen_once(&db, &bus, &origin, &mut heard).await
                        }
                        _ => listen_once(&db, &bus, &origin).await,
                    }
                };
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
}

impl Nats {
    async fn listen_once(
        &self,
        db: &Db,
        bus: &EventBus,
        origin: &str,
        heard: &mut Option<u64>,
    ) -> anyhow::Result<()> {
        use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
        let stream = self.jetstream.get_stream(&self.stream).await?;
        let deliver_policy = match *heard {
            Some(last) => DeliverPolicy::ByStartSequence {
                start_sequence: last + 1,
            },
            None => DeliverPolicy::New,
        };
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject: self.subject.clone(),
                deliver_policy,
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        while let Some(message) = messages.next().await {
            let message = message?;
            if let Ok(info) = message.info() {
                *heard = Some(info.stream_sequence);
            }
            match std::str::from_utf8(&message.payload) {
                Ok(payload) => hear(db, bus, origin, payload).await,
                Err(_) => {
                    tracing::warn!(subject = %message.subject, "an announcement that is not text")
                }
            }
        }
        anyhow::bail!("the JetStream consumer ended")
    }
}

async fn listen_once(db: &Db, bus: &EventBus, origin: &str) -> anyhow::Result<()> {
    let mut conn = PgConn::establish(db.url()).await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        hear(db, bus, origin, &notification?.payload).await;
    }
    anyhow::bail!("the notification stream ended")
}

/// One announcement, `<origin>:<id>,<id>,…`: another process's events are read and published.
async fn hear(db: &Db, bus: &EventBus, origin: &str, payload: &str) {
    let Some((from, ids)) = payload.split_once(':') else {
        return;
    };
    if from == origin {
        return;
    }
    let ids: Vec<EventId> = ids.split(',').filter_map(|id| id.parse().ok()).collect();
    if let Err(error) = publish(db, bus, &ids).await {
        tracing::warn!(
            ?error,
            "events announced by another process could not be read"
        );
    }
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
