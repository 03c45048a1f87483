//! (Over 600 lines, about 130 of them tests: the event's definition, its outbox row, the
//! dispatcher and the broker are one path an event takes, and each part is read beside the others.)
//!
//! Domain events: written to the outbox in the mutation's transaction, then delivered at
//! least once by the [`Dispatcher`] to in-process [`EventHandler`]s (domain reactions) and to the
//! [`EventBus`] broker that feeds GraphQL subscriptions.
//!
//! A committed mutation wakes the dispatcher at once; a slow poll picks up anything left over
//! (a crash between commit and delivery, a handler that failed and waits for its retry).
//! Handlers must be idempotent by event ID. With several processes on one PostgreSQL, each
//! event is claimed by one dispatcher, which runs the reactions and then announces it to the
//! others ([`fanout`](crate::fanout)), whose subscribers receive it too.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value as Json;
use tokio::sync::{Notify, broadcast};

use crate::access::Caller;
use crate::db::Conn;
use crate::error::Error;
use crate::ids::{EventId, TenantId, UserId};
use crate::schema::outbox;

pub use crate::dispatcher::Dispatcher;

/// One field of an event's payload, for the catalogue.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FieldSpec {
    /// As declared (`quote_id`); the JSON payload has it in camelCase ([`camel_case`]).
    pub name: &'static str,
    /// The Rust type it is declared with (`Option<T>`: may be null; `Vec<T>`: a list).
    pub ty: &'static str,
    pub description: &'static str,
}

/// An event type, for the catalogue: what partners' webhooks and other domains rely on.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct EventSpec {
    /// `domain.aggregate.verb`, stable.
    pub name: &'static str,
    /// Raised when the payload changes in a way its consumers would notice.
    pub version: i32,
    /// The GraphQL type of the aggregate it concerns.
    pub aggregate: &'static str,
    pub description: &'static str,
    pub fields: &'static [FieldSpec],
}

/// A structure events carry (a quote as an event shows it), for the catalogue.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PayloadSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub fields: &'static [FieldSpec],
}

/// A typed, versioned domain event. Declare one with [`domain_event!`](crate::domain_event)
/// and record it with [`audit::record_event`](crate::audit::record_event) in the change's
/// transaction; consumers decode it with [`Event::decode`] and register by type with
/// [`on`].
pub trait DomainEvent:
    serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
    const SPEC: EventSpec;
    /// The ID of the aggregate it concerns.
    fn aggregate_id(&self) -> String;
}

/// Declares a payload structure that events carry, with its fields for the catalogue.
///
/// ```text
/// switchyard_kernel::event_payload! {
///     /// A quote as events carry it.
///     pub struct QuoteData {
///         /// The quote.
///         pub id: QuoteId,
///     }
/// }
/// ```
#[macro_export]
macro_rules! event_payload {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            $($(#[doc = $fdoc:literal])* pub $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty),*
        }

        impl $name {
            /// This structure, for the event catalogue.
            pub const SPEC: $crate::events::PayloadSpec = $crate::events::PayloadSpec {
                name: stringify!($name),
                description: concat!($($doc),*),
                fields: &[$($crate::events::FieldSpec {
                    name: stringify!($field),
                    ty: stringify!($ty),
                    description: concat!($($fdoc),*),
                }),*],
            };
        }
    };
}

/// Declares a domain event type.
///
/// ```text
/// switchyard_kernel::domain_event! {
///     /// A customer accepted a quote.
///     pub struct QuoteAccepted = "sales.quote.accepted" v1 on "Quote" by quote.id {
///         /// The quote as accepted.
///         pub quote: QuoteData,
///     }
/// }
/// ```
#[macro_export]
macro_rules! domain_event {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident = $event:literal v $version:literal on $aggregate:literal by $($id:ident).+ {
            $($(#[doc = $fdoc:literal])* pub $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty),*
        }

        impl $crate::events::DomainEvent for $name {
            const SPEC: $crate::events::EventSpec = $crate::events::EventSpec {
                name: $event,
                version: $version,
                aggregate: $aggregate,
                description: concat!($($doc),*),
                fields: &[$($crate::events::FieldSpec {
                    name: stringify!($field),
                    ty: stringify!($ty),
                    description: concat!($($fdoc),*),
                }),*],
            };

            fn aggregate_id(&self) -> ::std::string::String {
                self.$($id).+.to_string()
            }
        }
    };
}

/// Declares the events of an aggregate that carry the object after the change and nothing
/// else, each with `of(&row)`, and `SPECS`, the list for the catalogue. Events that carry more
/// (a reason, the items of an accepted quote) are declared with [`domain_event!`] beside them
/// and named after `also` so that `SPECS` lists them too.
///
/// ```text
/// switchyard_kernel::object_events! {
///     "Lead" as lead: LeadData from LeadRow, v 1;
///     /// A new lead.
///     LeadCreated = "sales.lead.created",
///     /// A lead changed.
///     LeadUpdated = "sales.lead.updated";
///     also LeadLost
/// }
/// ```
#[macro_export]
macro_rules! object_events {
    (
        $aggregate:literal as $field:ident : $data:ident from $row:ty, v $version:literal;
        $($(#[doc = $doc:literal])* $name:ident = $event:literal),* $(,)?
        $(; also $($extra:ident),* $(,)?)?
    ) => {
        $(
            $crate::domain_event! {
                $(#[doc = $doc])*
                pub struct $name = $event v $version on $aggregate by $field.id {
                    /// The object after the change.
                    pub $field: $data,
                }
            }

            impl $name {
                /// The event of this row.
                pub fn of(row: &$row) -> Self {
                    $name { $field: row.into() }
                }
            }
        )*

        /// Every event type of this aggregate, for the catalogue.
        pub const SPECS: &[$crate::events::EventSpec] = &[
            $(<$name as $crate::events::DomainEvent>::SPEC,)*
            $($(<$extra as $crate::events::DomainEvent>::SPEC,)*)?
        ];
    };
}

/// `quote_id` -> `quoteId`: a field's name in the JSON payload.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A recorded event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub event_type: String,
    pub version: i32,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: Json,
    pub actor_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
}

impl Event {
    /// The typed event, when this is one of type `E` at the version `E` knows; `None` for any
    /// other event, `Some(Err)` for a payload that does not decode (a bug: log it).
    pub fn decode<E: DomainEvent>(&self) -> Option<Result<E, serde_json::Error>> {
        (self.event_type == E::SPEC.name && self.version == E::SPEC.version)
            .then(|| serde_json::from_value(self.payload.clone()))
    }
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub(crate) struct OutboxRow {
    pub(crate) id: EventId,
    tenant_id: TenantId,
    event_type: String,
    event_version: i32,
    aggregate_type: String,
    aggregate_id: String,
    payload: String,
    actor_id: Option<String>,
    created_at: NaiveDateTime,
    pub(crate) attempts: i32,
}

impl OutboxRow {
    pub(crate) fn into_event(self) -> Event {
        Event {
            id: self.id,
            tenant_id: self.tenant_id,
            event_type: self.event_type,
            version: self.event_version,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            payload: serde_json::from_str(&self.payload).unwrap_or(Json::Null),
            actor_id: self.actor_id.and_then(|a| a.parse().ok()),
            occurred_at: self.created_at.and_utc(),
        }
    }
}

/// Records a typed event in the current transaction (use
/// [`audit::record_event`](crate::audit::record_event), which audits it too).
pub async fn emit<E: DomainEvent>(
    conn: &mut Conn<'_>,
    caller: &Caller,
    event: &E,
) -> Result<EventId, Error> {
    let id = EventId::new();
    let now = crate::time::now();
    let row = (
        outbox::id.eq(id),
        outbox::tenant_id.eq(caller.tenant_id),
        outbox::event_type.eq(E::SPEC.name),
        outbox::event_version.eq(E::SPEC.version),
        outbox::aggregate_type.eq(E::SPEC.aggregate),
        outbox::aggregate_id.eq(event.aggregate_id()),
        outbox::payload.eq(serde_json::to_string(event)?),
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

/// A reaction to events of one type: `on::<QuoteAccepted>("operations.make_job", handler)`.
/// Other events pass by; an event of the type that does not decode is an error (retried, and
/// logged each time).
pub fn on<E, F, Fut>(name: &'static str, handler: F) -> Arc<dyn EventHandler>
where
    E: DomainEvent,
    F: Fn(E, Event) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    struct Typed<E, F> {
        name: &'static str,
        handler: F,
        _event: std::marker::PhantomData<fn() -> E>,
    }

    #[async_trait::async_trait]
    impl<E, F, Fut> EventHandler for Typed<E, F>
    where
        E: DomainEvent,
        F: Fn(E, Event) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        fn name(&self) -> &'static str {
            self.name
        }

        async fn handle(&self, event: &Event) -> anyhow::Result<()> {
            match event.decode::<E>() {
                None => Ok(()),
                Some(Ok(typed)) => (self.handler)(typed, event.clone()).await,
                Some(Err(error)) => Err(anyhow::anyhow!(
                    "{} v{} does not decode: {error}",
                    E::SPEC.name,
                    E::SPEC.version
                )),
            }
        }
    }

    Arc::new(Typed {
        name,
        handler,
        _event: std::marker::PhantomData::<fn() -> E>,
    })
}

/// The in-process broker: every delivered event, to whoever listens (subscriptions).
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// Channels of some aggregate types only ([`EventBus::subscribe_to`]), so that a listener
    /// is not woken by every event of the process: one per set of types asked for. The sets
    /// are the code's own (a subscription's kind), so there are few.
    topics: Arc<std::sync::RwLock<Vec<Topic>>>,
    capacity: usize,
    pub(crate) wake: Arc<Notify>,
    /// Objects read again after an event, shared by every subscriber of this process
    /// ([`read_after`](crate::read::aggregate::read_after)).
    reads: Arc<std::sync::Mutex<Recent<(EventId, String), SharedRead>>>,
    /// The latest events published, so that none is published twice (an event heard again
    /// when a listener replays what it may have missed, or delivered again after a failure).
    published: Arc<std::sync::Mutex<Recent<EventId, ()>>>,
}

/// The latest entries kept, at most `limit`, forgotten oldest first.
struct Recent<K, V> {
    entries: std::collections::HashMap<K, V>,
    order: std::collections::VecDeque<K>,
    limit: usize,
}

impl<K: Eq + std::hash::Hash + Clone, V> Recent<K, V> {
    fn new(limit: usize) -> Self {
        Recent {
            entries: Default::default(),
            order: Default::default(),
            limit,
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)
    }

    /// Keeps `value` under `key`; false (and nothing changes) when `key` is kept already.
    fn insert(&mut self, key: K, value: V) -> bool {
        if self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(key.clone(), value);
        self.order.push_back(key);
        while self.order.len() > self.limit {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
        true
    }
}

/// How many published events are remembered: more than a listener's replay reads.
pub(crate) const REMEMBERED_EVENTS: usize = 16_384;

/// The events of some aggregate types.
struct Topic {
    types: Vec<String>,
    sender: broadcast::Sender<Arc<Event>>,
}

/// A row read once after an event (or `None`: it no longer exists), whoever asks first.
pub(crate) type SharedRead =
    Arc<tokio::sync::OnceCell<Option<Arc<dyn std::any::Any + Send + Sync>>>>;

/// How many reads are remembered: far more than one burst of events has subscribers asking.
const REMEMBERED_READS: usize = 1024;

/// A receiver as a stream that ends, after one [`Error::Lagged`], when its listener fell more
/// than its channel's capacity behind (the bus's, or another broadcast's such as a shared
/// subscription's).
pub fn until_lagged<T: Clone + Send + 'static>(
    receiver: broadcast::Receiver<T>,
) -> impl futures_util::Stream<Item = Result<T, Error>> + Send {
    futures_util::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Ok(event) => Some((Ok(event), Some(receiver))),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Some((Err(Error::Lagged(missed)), None))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
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
            topics: Default::default(),
            capacity,
            wake: Arc::new(Notify::new()),
            reads: Arc::new(std::sync::Mutex::new(Recent::new(REMEMBERED_READS))),
            published: Arc::new(std::sync::Mutex::new(Recent::new(REMEMBERED_EVENTS))),
        }
    }

    /// The shared read of `object` after `event`.
    pub(crate) fn read_after(&self, event: EventId, object: String) -> SharedRead {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        let key = (event, object);
        if let Some(cell) = reads.get(&key) {
            return cell.clone();
        }
        let cell = SharedRead::default();
        reads.insert(key, cell.clone());
        cell
    }

    /// Listens to every delivered event; filter by tenant and permission before use.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Every event delivered from now on, for a subscription (filter by tenant and permission
    /// before use). A listener that falls more than the bus's capacity behind gets one
    /// [`Error::Lagged`] and the stream ends, rather than silently missing changes.
    pub fn live(
        &self,
    ) -> impl futures_util::Stream<Item = Result<Arc<Event>, Error>> + Send + use<> {
        until_lagged(self.sender.subscribe())
    }

    /// The events of the aggregate types `types` (`Event::aggregate_type`) delivered from now
    /// on; other events do not wake the listener. Filter by tenant and permission before use.
    pub fn subscribe_to(&self, types: &[&str]) -> broadcast::Receiver<Arc<Event>> {
        let same = |topic: &&Topic| {
            topic
                .types
                .iter()
                .map(String::as_str)
                .eq(types.iter().copied())
        };
        if let Some(topic) = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(same)
        {
            return topic.sender.subscribe();
        }
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        if let Some(topic) = topics.iter().find(same) {
            return topic.sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(self.capacity);
        topics.push(Topic {
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            sender,
        });
        receiver
    }

    /// [`EventBus::live`] of the aggregate types `types` only ([`EventBus::subscribe_to`]).
    pub fn live_of(
        &self,
        types: &[&str],
    ) -> impl futures_util::Stream<Item = Result<Arc<Event>, Error>> + Send + use<> {
        until_lagged(self.subscribe_to(types))
    }

    /// Tells the dispatcher that committed events are waiting.
    pub fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    /// Publishes `event` to this process's listeners, unless it was already published.
    pub(crate) fn publish(&self, event: Arc<Event>) {
        let first = (self.published.lock().unwrap_or_else(|p| p.into_inner())).insert(event.id, ());
        if !first {
            return;
        }
        // No listener is not an error.
        for topic in self.topics.read().unwrap_or_else(|p| p.into_inner()).iter() {
            if topic.types.iter().any(|t| *t == event.aggregate_type) {
                let _ = topic.sender.send(event.clone());
            }
        }
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

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn event(n: u128) -> Arc<Event> {
        Arc::new(Event {
            id: EventId(uuid::Uuid::from_u128(n)),
            tenant_id: TenantId(uuid::Uuid::from_u128(1)),
            event_type: "test.thing.happened".to_owned(),
            version: 1,
            aggregate_type: "Thing".to_owned(),
            aggregate_id: n.to_string(),
            payload: Json::Null,
            actor_id: None,
            occurred_at: Utc::now(),
        })
    }

    #[tokio::test]
    async fn a_live_listener_that_falls_behind_is_told_and_ends() {
        let bus = EventBus::new(2);
        let mut live = std::pin::pin!(bus.live());
        bus.publish(event(1));
        assert_eq!(live.next().await.unwrap().unwrap().id, event(1).id);
        for n in 2..=6 {
            bus.publish(event(n));
        }
        let error = live.next().await.unwrap().unwrap_err();
        assert_eq!(error.code(), "SUBSCRIPTION_LAGGED");
        assert!(
            error.message().contains("missed 3 changes"),
            "{}",
            error.message()
        );
        assert!(
            live.next().await.is_none(),
            "the stream ends after the error"
        );
    }

    #[tokio::test]
    async fn an_event_is_published_once() {
        let bus = EventBus::new(16);
        let mut all = bus.subscribe();
        let mut jobs = bus.subscribe_to(&["Thing"]);
        for n in [1, 2, 1, 3, 2] {
            bus.publish(event(n));
        }
        for receiver in [&mut all, &mut jobs] {
            let heard: Vec<u128> = std::iter::from_fn(|| receiver.try_recv().ok())
                .map(|e| e.id.0.as_u128())
                .collect();
            assert_eq!(heard, [1, 2, 3]);
        }
    }

    #[tokio::test]
    async fn a_listener_of_some_aggregate_types_hears_only_those() {
        let bus = EventBus::new(16);
        let mut jobs = bus.subscribe_to(&["Job", "Appointment"]);
        let mut same = bus.subscribe_to(&["Job", "Appointment"]);
        let mut users = bus.subscribe_to(&["User"]);
        let mut all = bus.subscribe();
        let of = |n: u128, kind: &str| {
            let mut event = (*event(n)).clone();
            event.aggregate_type = kind.to_owned();
            Arc::new(event)
        };
        for (n, kind) in [(1, "Thing"), (2, "Job"), (3, "User"), (4, "Appointment")] {
            bus.publish(of(n, kind));
        }
        let heard = |receiver: &mut broadcast::Receiver<Arc<Event>>| {
            std::iter::from_fn(|| receiver.try_recv().ok())
                .map(|e| e.id.0.as_u128())
                .collect::<Vec<_>>()
        };
        assert_eq!(heard(&mut jobs), [2, 4]);
        assert_eq!(heard(&mut same), [2, 4], "one channel for one set of types");
        assert_eq!(heard(&mut users), [3]);
        assert_eq!(heard(&mut all), [1, 2, 3, 4]);
        assert_eq!(bus.topics.read().unwrap().len(), 2);
    }
}
