//! What resolvers reach through the GraphQL context: the process-wide [`Services`] (schema
//! data) and the per-request [`RequestScope`] (the caller and this request's DataLoaders).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;

use crate::access::{Caller, Catalog};
use crate::db::{Conn, Db, TxFn};
use crate::error::{Error, Rejection};
use crate::events::EventBus;

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

/// What a loader is built from: one request's caller and the database.
#[derive(Clone)]
pub struct LoaderEnv {
    pub db: Db,
    pub caller: Caller,
}

/// A DataLoader that lives for one request. Keys should carry the tenant, so no cached row
/// can cross tenants even if a loader outlived its request by mistake.
pub trait RequestLoader: Send + Sync + Sized + 'static {
    fn new(env: &LoaderEnv) -> Self;
}

/// Per-request state: the caller (if any) and the loaders created so far.
pub struct RequestScope {
    caller: Option<Caller>,
    db: Db,
    loaders: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl RequestScope {
    pub fn new(db: Db, caller: Option<Caller>) -> Self {
        RequestScope {
            caller,
            db,
            loaders: Mutex::new(HashMap::new()),
        }
    }

    /// This request's loader of type `L`, created on first use.
    pub fn loader<L: RequestLoader>(&self) -> Result<Arc<DataLoader<L>>, Error> {
        let caller = self
            .caller
            .clone()
            .ok_or_else(|| Error::unauthenticated("sign in first"))?;
        let mut loaders = self
            .loaders
            .lock()
            .map_err(|_| Error::internal(anyhow::anyhow!("loader registry poisoned")))?;
        let entry = loaders.entry(TypeId::of::<L>()).or_insert_with(|| {
            let env = LoaderEnv {
                db: self.db.clone(),
                caller,
            };
            Arc::new(DataLoader::new(L::new(&env), tokio::spawn))
        });
        entry
            .clone()
            .downcast::<DataLoader<L>>()
            .map_err(|_| Error::internal(anyhow::anyhow!("loader type mismatch")))
    }
}

/// Shortcuts on the resolver context.
pub trait ContextExt {
    /// The authenticated caller, or UNAUTHENTICATED.
    fn caller(&self) -> Result<&Caller, Error>;
    /// The process-wide services.
    fn services(&self) -> Result<&Services, Error>;
    /// This request's loader of type `L`.
    fn loader<L: RequestLoader>(&self) -> Result<Arc<DataLoader<L>>, Error>;
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

    fn loader<L: RequestLoader>(&self) -> Result<Arc<DataLoader<L>>, Error> {
        self.data_opt::<RequestScope>()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("RequestScope missing")))?
            .loader::<L>()
    }
}
