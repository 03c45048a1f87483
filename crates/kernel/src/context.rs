//! What resolvers reach through the GraphQL context: the process-wide [`Services`] (schema
//! data) and, per request, the [`Caller`] and the client's address. Objects loaded together
//! batch their relations through [`crate::batch::Siblings`], not request-wide loaders.

use std::sync::Arc;

use async_graphql::Context;

use crate::access::{Caller, Catalog};
use crate::db::{Conn, Db, TxFn};
use crate::error::{Error, Rejection};
use crate::events::EventBus;
use crate::files::Files;
use crate::module::Settings;
use crate::throttle::Throttle;

/// The network address of the client behind a request: the peer, or the client a trusted
/// reverse proxy forwarded. Request data; absent for work that no client started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Process-wide services every domain uses.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub bus: EventBus,
    pub catalog: Arc<Catalog>,
    /// The domains' settings, as read at start-up.
    pub settings: Arc<Settings>,
    /// Attempt counters of public operations (see [`crate::throttle`]).
    pub throttle: Arc<Throttle>,
    /// The file store (see [`crate::files`]).
    pub files: Arc<Files>,
}

impl Services {
    /// Runs a mutation: one transaction on the write connection holding the change, its audit
    /// entry and its events. `Rejection::Invalid` rolls back like any error, so nothing is
    /// half-written. After a commit the event dispatcher is woken.
    pub async fn mutate<R, F>(&self, body: F) -> Result<R, Rejection>
    where
        for<'r, 'c> F: AsyncFnOnce(&'r mut Conn<'c>) -> Result<R, Rejection>
            + TxFn<&'r mut Conn<'c>, Result<R, Rejection>, Fut: Send>
            + Send,
        R: Send,
    {
        let mut pooled = self.db.write().await?;
        let mut conn = pooled.conn();
        let outcome = conn.transaction(body).await;
        if outcome.is_ok() {
            self.bus.wake_dispatcher();
        }
        outcome
    }
}

/// Shortcuts on the resolver context.
pub trait ContextExt {
    /// The authenticated caller, or UNAUTHENTICATED.
    fn caller(&self) -> Result<&Caller, Error>;
    /// The process-wide services.
    fn services(&self) -> Result<&Services, Error>;
    /// Runs a mutation's body in one transaction ([`Services::mutate`]).
    fn mutate<R, F>(&self, body: F) -> impl Future<Output = Result<R, Rejection>> + Send
    where
        for<'r, 'c> F: AsyncFnOnce(&'r mut Conn<'c>) -> Result<R, Rejection>
            + TxFn<&'r mut Conn<'c>, Result<R, Rejection>, Fut: Send>
            + Send,
        R: Send;
}

impl ContextExt for Context<'_> {
    fn caller(&self) -> Result<&Caller, Error> {
        self.data_opt::<Caller>()
            .ok_or_else(|| Error::unauthenticated("sign in first"))
    }

    fn services(&self) -> Result<&Services, Error> {
        self.data_opt::<Services>()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("Services missing from schema data")))
    }

    fn mutate<R, F>(&self, body: F) -> impl Future<Output = Result<R, Rejection>> + Send
    where
        for<'r, 'c> F: AsyncFnOnce(&'r mut Conn<'c>) -> Result<R, Rejection>
            + TxFn<&'r mut Conn<'c>, Result<R, Rejection>, Fut: Send>
            + Send,
        R: Send,
    {
        let services = self.services();
        async move { services?.mutate(body).await }
    }
}
