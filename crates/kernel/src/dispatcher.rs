//! The dispatcher: claims committed outbox events, runs the domain reactions, publishes each
//! event to this process's [`EventBus`] and announces it to the other processes
//! ([`fanout`](crate::fanout)). Apart from the events' declarations and the broker
//! ([`events`](crate::events)) because it is the one part that runs on its own.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::error::Error;
use crate::events::{Event, EventBus, EventHandler, OutboxRow};
use crate::ids::EventId;
use crate::schema::outbox;

/// Delivers outbox events.
pub struct Dispatcher {
    db: Db,
    bus: EventBus,
    handlers: Vec<Arc<dyn EventHandler>>,
    poll_interval: Duration,
    /// This process, in fan-out announcements (its own are not loaded again).
    origin: String,
    /// How the other processes hear of the events delivered here, and this one of theirs.
    fanout: crate::fanout::Fanout,
}

const BATCH: i64 = 100;

/// How long a claimed event is kept from other processes (a crash frees it after this).
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

impl Dispatcher {
    pub fn new(db: Db, bus: EventBus, poll_interval: Duration) -> Self {
        let fanout = crate::fanout::Fanout::of(&db);
        Dispatcher {
            db,
            bus,
            handlers: Vec::new(),
            poll_interval,
            origin: uuid::Uuid::now_v7().simple().to_string(),
            fanout,
        }
    }

    /// Announces and hears events through `fanout` instead of the backend's default
    /// ([`Fanout::configure`](crate::fanout::Fanout::configure)).
    pub fn with_fanout(mut self, fanout: crate::fanout::Fanout) -> Self {
        self.fanout = fanout;
        self
    }

    pub fn with_handler(mut self, handler: Arc<dyn EventHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Runs until `shutdown` is cancelled; also listens for the events other processes
    /// deliver ([`fanout`](crate::fanout)).
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.fanout.listen(
            self.db.clone(),
            self.bus.clone(),
            self.origin.clone(),
            shutdown.clone(),
        );
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

    /// Delivers every event that is due; returns how many were delivered. Events are claimed
    /// first (a lease on `next_attempt_at`; `FOR UPDATE SKIP LOCKED` on PostgreSQL), so with
    /// several processes on one database each event's reactions run in one of them.
    pub async fn deliver_pending(&self) -> Result<usize, Error> {
        let mut delivered = 0;
        loop {
            let mut rows = self.claim().await?;
            if rows.is_empty() {
                return Ok(delivered);
            }
            rows.sort_by_key(|r| r.id);
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
                drop(pooled);
                // Delivered here whatever comes of telling the others: a failed announcement
                // is logged, not retried (their subscribers miss it; queries do not).
                if let Err(error) = self.fanout.announce(&self.db, &self.origin, &done).await {
                    tracing::warn!(
                        ?error,
                        events = done.len(),
                        "delivered events could not be announced to the other processes"
                    );
                }
            }
            if (fetched as i64) < BATCH {
                return Ok(delivered);
            }
        }
    }

    async fn claim(&self) -> Result<Vec<OutboxRow>, Error> {
        use crate::db::sql::{Sql, claim};
        let now = crate::time::now();
        // The lease is `next_attempt_at` itself: a claimed event is not due until it ends.
        let mut due = Sql::new("dispatched_at IS NULL AND next_attempt_at <= ");
        due.bind(now);
        let sql = claim(
            "outbox",
            "next_attempt_at",
            now + LEASE,
            &due,
            "id",
            BATCH,
            "id, tenant_id, event_type, event_version, aggregate_type, aggregate_id, payload, \
             actor_id, created_at, attempts",
        );
        let mut pooled = self.db.write().await?;
        let mut conn = pooled.conn();
        Ok(Sql::load(&sql, &mut conn).await?)
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
