//! Domain events: written to the outbox in the mutation's transaction, then delivered at
//! least once by the [`Dispatcher`] to in-process [`EventHandler`]s (domain reactions) and to the
//! [`EventBus`] broker that feeds GraphQL subscriptions.
//!
//! A committed mutation wakes the dispatcher at once; a slow poll picks up anything left over
//! (a crash between commit and delivery, a handler that failed and waits for its retry).
//! Handlers must be idempotent by event ID. One process delivers; spreading events over
//! several replicas (PostgreSQL LISTEN/NOTIFY or NATS) is recorded in ARCHITECTURE.md as the
//! next step.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value as Json;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::access::Caller;
use crate::db::{Conn, Db};
use crate::error::Error;
use crate::ids::{EventId, TenantId, UserId};
use crate::schema::outbox;

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `domain.entity.verb`, e.g. `identity.user.updated`.
    pub event_type: String,
    /// The GraphQL type of the aggregate, e.g. `User`.
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: Json,
}

/// A recorded event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: Json,
    pub actor_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox)]
struct OutboxRow {
    id: EventId,
    tenant_id: TenantId,
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    payload: String,
    actor_id: Option<String>,
    created_at: NaiveDateTime,
    attempts: i32,
}

impl OutboxRow {
    fn into_event(self) -> Event {
        Event {
            id: self.id,
            tenant_id: self.tenant_id,
            event_type: self.event_type,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            payload: serde_json::from_str(&self.payload).unwrap_or(Json::Null),
            actor_id: self.actor_id.and_then(|a| a.parse().ok()),
            occurred_at: self.created_at.and_utc(),
        }
    }
}

/// Records an event in the current transaction.
pub async fn emit(conn: &mut Conn<'_>, caller: &Caller, event: NewEvent) -> Result<EventId, Error> {
    let id = EventId::new();
    let now = crate::time::now();
    let row = (
        outbox::id.eq(id),
        outbox::tenant_id.eq(caller.tenant_id),
        outbox::event_type.eq(event.event_type),
        outbox::aggregate_type.eq(event.aggregate_type),
        outbox::aggregate_id.eq(event.aggregate_id),
        outbox::payload.eq(event.payload.to_string()),
        outbox::actor_id.eq(caller.user_id().map(|u| u.to_string())),
        outbox::created_at.eq(now),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    );
    crate::db_run!(conn, |c| diesel::insert_into(outbox::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(id)
}

/// The in-process broker: every delivered event, to whoever listens (subscriptions).
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    wake: Arc<Notify>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventBus {
    /// A bus whose listeners may lag `capacity` events before they miss some.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        EventBus {
            sender,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Listens to every delivered event; filter by tenant and permission before use.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Tells the dispatcher that committed events are waiting.
    pub fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    fn publish(&self, event: Arc<Event>) {
        // No listener is not an error.
        let _ = self.sender.send(event);
    }
}

/// A domain reaction to events. Runs at least once per event; must be idempotent by event ID.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// A stable name, for logs.
    fn name(&self) -> &'static str;
    /// Reacts to one event; an error schedules a retry with backoff.
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

/// Delivers outbox events.
pub struct Dispatcher {
    db: Db,
    bus: EventBus,
    handlers: Vec<Arc<dyn EventHandler>>,
    poll_interval: Duration,
}

const BATCH: i64 = 100;

impl Dispatcher {
    pub fn new(db: Db, bus: EventBus, poll_interval: Duration) -> Self {
        Dispatcher {
            db,
            bus,
            handlers: Vec::new(),
            poll_interval,
        }
    }

    pub fn with_handler(mut self, handler: Arc<dyn EventHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Runs until `shutdown` is cancelled.
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.deliver_pending().await {
                    Ok(_) => {}
                    Err(error) => tracing::warn!(?error, "event delivery failed; will retry"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = self.bus.wake.notified() => {}
                    _ = tokio::time::sleep(self.poll_interval) => {}
                }
            }
        })
    }

    /// Delivers every event that is due; returns how many were delivered.
    pub async fn deliver_pending(&self) -> Result<usize, Error> {
        let mut delivered = 0;
        loop {
            let now = crate::time::now();
            let rows: Vec<OutboxRow> = {
                let mut pooled = self.db.read().await?;
                let mut conn = pooled.conn();
                crate::db_run!(&mut conn, |c| outbox::table
                    .filter(outbox::dispatched_at.is_null())
                    .filter(outbox::next_attempt_at.le(now))
                    .order(outbox::id.asc())
                    .limit(BATCH)
                    .select(OutboxRow::as_select())
                    .load(c)
                    .await)?
            };
            if rows.is_empty() {
                return Ok(delivered);
            }
            let fetched = rows.len();
            let mut done: Vec<EventId> = Vec::with_capacity(fetched);
            for row in rows {
                let attempts = row.attempts;
                let event = Arc::new(row.into_event());
                match self.run_handlers(&event).await {
                    Ok(()) => {
                        self.bus.publish(event.clone());
                        done.push(event.id);
                    }
                    Err(error) => self.schedule_retry(&event, attempts, &error).await?,
                }
            }
            delivered += done.len();
            if !done.is_empty() {
                let mut pooled = self.db.write().await?;
                let mut conn = pooled.conn();
                let now = crate::time::now();
                crate::db_run!(&mut conn, |c| diesel::update(
                    outbox::table.filter(outbox::id.eq_any(&done))
                )
                .set(outbox::dispatched_at.eq(now))
                .execute(c)
                .await)?;
            }
            if (fetched as i64) < BATCH {
                return Ok(delivered);
            }
        }
    }

    async fn run_handlers(&self, event: &Event) -> anyhow::Result<()> {
        for handler in &self.handlers {
            handler.handle(event).await.map_err(|error| {
                tracing::warn!(handler = handler.name(), event_id = %event.id, %error, "event handler failed");
                error
            })?;
        }
        Ok(())
    }

    async fn schedule_retry(
        &self,
        event: &Event,
        attempts: i32,
        error: &anyhow::Error,
    ) -> Result<(), Error> {
        let backoff = Duration::from_secs(2u64.saturating_pow((attempts as u32).min(12)));
        let next = crate::time::now()
            + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::hours(1));
        let mut pooled = self.db.write().await?;
        let mut conn = pooled.conn();
        let message = error.to_string();
        crate::db_run!(&mut conn, |c| diesel::update(outbox::table.find(event.id))
            .set((
                outbox::attempts.eq(attempts + 1),
                outbox::last_error.eq(&message),
                outbox::next_attempt_at.eq(next),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }
}
