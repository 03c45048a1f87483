//! Events across processes: the dispatcher that delivered a batch announces its event IDs,
//! and every other process reads those events from the outbox and publishes them to its own
//! broker, so its subscribers see them as fast as the delivering process's do. Reactions are
//! not run again: they ran where the event was claimed. Announcements carry IDs only (the
//! event stays the outbox's). Two transports, one chosen at start:
//!
//! - **PostgreSQL `LISTEN/NOTIFY`**, the default on PostgreSQL: nothing to install. `NOTIFY
//!   switchyard_events` on the dispatcher's connection after the batch is marked delivered
//!   (its payload is limited to 8000 bytes, hence chunks). A listener that loses its
//!   connection reconnects, listens again, then replays from the outbox every event delivered
//!   since shortly before the loss (the bus publishes each event once, so what it had heard or
//!   delivered itself is not told twice); an outage loses nothing the outbox still holds.
//! - **NATS JetStream**, where `nats_url` is configured: announcements are published to a
//!   stream until the server acknowledges them (retried in the background for a minute while
//!   NATS is away); each process reads them through an ordered consumer, replaced as soon as
//!   the client reconnects by one that resumes after the last message heard, so an outage of
//!   up to a minute, a NATS restart included, loses nothing (tested).
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
    /// Changes whenever the client (re)connects.
    connections: tokio::sync::watch::Receiver<u64>,
}

/// The JetStream stream of a subject, one per subject and named after it:
/// `switchyard.events` → `SWITCHYARD_EVENTS`.
pub fn stream_name(subject: &str) -> String {
    subject.replace(['.', '-'], "_").to_ascii_uppercase()
}

/// The stream for `subject`, as created where it does not exist.
fn stream_config(subject: &str) -> async_nats::jetstream::stream::Config {
    async_nats::jetstream::stream::Config {
        name: stream_name(subject),
        subjects: vec![subject.to_owned()],
        max_age: RETAIN,
        ..Default::default()
    }
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
        // Every (re)connection is counted, so that the listener replaces at once a consumer
        // the server may have lost (rather than after the client's own retries, about 15 s).
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let client = async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Connected) {
                    connected.send_modify(|n| *n += 1);
                }
                std::future::ready(())
            })
            .connect(nats_url)
            .await
            .with_context(|| format!("cannot connect to NATS at nats_url {nats_url}"))?;
        let jetstream = async_nats::jetstream::new(client);
        let stream = stream_name(subject);
        jetstream
            .get_or_create_stream(stream_config(subject))
            .await
            .with_context(|| {
                format!("cannot create the JetStream stream {stream} at {nats_url}")
            })?;
        Ok(Fanout::Nats(Box::new(Nats {
            jetstream,
            subject: subject.to_owned(),
            connections,
        })))
    }

    /// Announces `delivered` to the other processes: a `NOTIFY` on a connection of `db`, or a
    /// publication the NATS server acknowledged (buffered by the client through a short outage,
    /// an error after the JetStream request timeout).
    pub async fn announce(
        &self,
        db: &Db,
        origin: &str,
        delivered: &[EventId],
    ) -> Result<(), Error> {
        if matches!(self, Fanout::Alone) {
            return Ok(());
        }
        let mut pooled = match self {
            Fanout::Postgres => Some(db.write().await?),
            _ => None,
        };
        for ids in delivered.chunks(PER_ANNOUNCEMENT) {
            let payload = format!(
                "{origin}:{}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            match (self, pooled.as_mut().map(|p| p.conn())) {
                (Fanout::Postgres, Some(Conn::Postgres(c))) => {
                    diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<diesel::sql_types::Text, _>(CHANNEL)
                        .bind::<diesel::sql_types::Text, _>(payload)
                        .execute(c)
                        .await?;
                }
                (Fanout::Nats(nats), _) => nats.publish(payload),
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
            // The last NATS stream sequence heard (or the stream's last when listening
            // began): a new consumer resumes after it.
            let mut heard = None;
            // PostgreSQL: when the connection was lost, kept until a replay succeeded.
            let mut lost: Option<chrono::NaiveDateTime> = None;
            loop {
                let run = async {
                    match &fanout {
                        Fanout::Nats(nats) => {
                            nats.listen_once(&db, &bus, &origin, &mut heard).await
                        }
                        _ => listen_once(&db, &bus, &origin, &mut lost).await,
                    }
                };
                let began = tokio::time::Instant::now();
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    outcome = run => {
                        if let Err(error) = outcome {
                            tracing::warn!(%error, "event listener lost its connection; reconnecting");
                        }
                        lost.get_or_insert_with(crate::time::now);
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                // Quick again after a connection that held for a while.
                backoff = if began.elapsed() > Duration::from_secs(30) {
                    Duration::from_millis(100)
                } else {
                    (backoff * 2).min(Duration::from_secs(10))
                };
            }
        });
    }
}

/// How long an announcement is retried while NATS cannot take it (an outage, a restart).
const PUBLISH_FOR: Duration = Duration::from_secs(60);

impl Nats {
    /// Publishes one announcement until the server acknowledges it (it is then stored in the
    /// stream), in the background: through an outage of NATS it is retried with backoff for
    /// [`PUBLISH_FOR`], and the dispatcher goes on delivering here meanwhile.
    fn publish(&self, payload: String) {
        let nats = self.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut backoff = Duration::from_millis(50);
            loop {
                let sent = async {
                    nats.jetstream
                        .publish(nats.subject.clone(), payload.clone().into())
                        .await?
                        .await
                        .map_err(anyhow::Error::from)
                };
                match sent.await {
                    Ok(_) => return,
                    Err(error) if started.elapsed() >= PUBLISH_FOR => {
                        tracing::warn!(%error, "an announcement could not be published to NATS; the other processes' subscribers miss it");
                        return;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "publishing an announcement to NATS again");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
    }

    async fn listen_once(
        &self,
        db: &Db,
        bus: &EventBus,
        origin: &str,
        heard: &mut Option<u64>,
    ) -> anyhow::Result<()> {
        use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
        let mut connections = self.connections.clone();
        connections.mark_unchanged();
        // Created again if a NATS server without storage restarted and lost it.
        let stream = self
            .jetstream
            .get_or_create_stream(stream_config(&self.subject))
            .await?;
        // The first time, what is new from now on; after that, what followed the last message
        // heard or, if none was, the stream as it stood when listening began (an ephemeral
        // consumer does not survive a NATS restart, and "new" would then skip what was
        // published while it was away). A stream that holds less than was heard is a new one:
        // all of it is new.
        let state = &stream.cached_info().state;
        let mut last = *heard.get_or_insert(state.last_sequence);
        if state.last_sequence < last {
            last = state.first_sequence.saturating_sub(1);
        }
        let deliver_policy = DeliverPolicy::ByStartSequence {
            start_sequence: last + 1,
        };
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject: self.subject.clone(),
                deliver_policy,
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        loop {
            let message = tokio::select! {
                message = messages.next() => match message {
                    Some(message) => message?,
                    None => anyhow::bail!("the JetStream consumer ended"),
                },
                _ = connections.changed() => {
                    anyhow::bail!("reconnected to NATS: a new consumer resumes after the last message heard")
                }
            };
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
    }
}

/// How long before a lost connection was noticed the replay begins: a connection may die a
/// little before its loss shows, and the processes' clocks may differ a little.
const REPLAY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Listens on one connection; after a loss (`lost`), replays once listening again (and
/// forgets the loss once replayed; a replay that fails ends this connection, to try again).
async fn listen_once(
    db: &Db,
    bus: &EventBus,
    origin: &str,
    lost: &mut Option<chrono::NaiveDateTime>,
) -> anyhow::Result<()> {
    let mut conn = PgConn::establish(db.url()).await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    // Listening first, then reading: an event delivered meanwhile is heard or read, or both
    // (published once).
    if let Some(at) = *lost {
        replay(db, bus, at - REPLAY_MARGIN)
            .await
            .map_err(|error| anyhow::anyhow!("the replay after reconnecting failed: {error:?}"))?;
        *lost = None;
    }
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

/// Publishes the events delivered since `since` (at most the bus's memory of them, the
/// latest), oldest first.
async fn replay(db: &Db, bus: &EventBus, since: chrono::NaiveDateTime) -> Result<(), Error> {
    let mut rows: Vec<OutboxRow> = {
        let mut pooled = db.read().await?;
        let mut conn = pooled.conn();
        crate::db_run!(&mut conn, |c| outbox::table
            .filter(outbox::dispatched_at.ge(since))
            .order((outbox::dispatched_at.desc(), outbox::id.desc()))
            .limit(crate::events::REMEMBERED_EVENTS as i64)
            .select(OutboxRow::as_select())
            .load(c)
            .await)?
    };
    tracing::info!(events = rows.len(), %since, "replaying events delivered while the listener was away");
    rows.reverse();
    for row in rows {
        bus.publish(Arc::new(row.into_event()));
    }
    Ok(())
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
