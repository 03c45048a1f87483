//! Live updates of identity objects, for callers of the same tenant who may read them.

use async_graphql::{Context, ID, Subscription};
use futures_util::Stream;
use futures_util::StreamExt;
use switchyard_kernel::policy::{Require, authorize_subscription};
use switchyard_kernel::{ContextExt, LocationId, UserId};
use tokio_stream::wrappers::BroadcastStream;

use crate::locations::{Location, find_row};
use crate::permissions::{LOCATION_READ, USER_READ};
use crate::users::{User, find_scoped};

#[derive(Default)]
pub struct IdentitySubscription;

#[Subscription]
impl IdentitySubscription {
    /// A user (or, with `id`, that user) as it is after each change the caller may see.
    #[graphql(directive = Require::apply(USER_READ))]
    async fn user_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = User> + use<>> {
        authorize_subscription(ctx)?;
        let caller = ctx.caller()?.clone();
        let scope = caller.row_scope(USER_READ)?;
        let only = id.as_ref().map(UserId::parse).transpose()?;
        let services = ctx.services()?.clone();
        let events = BroadcastStream::new(services.bus.subscribe());
        Ok(events.filter_map(move |event| {
            let (caller, scope, db) = (caller.clone(), scope.clone(), services.db.clone());
            async move {
                let event = event.ok()?;
                if event.tenant_id != caller.tenant_id || event.aggregate_type != "User" {
                    return None;
                }
                let user: UserId = event.aggregate_id.parse().ok()?;
                if only.is_some_and(|o| o != user) {
                    return None;
                }
                let mut pooled = db.read().await.ok()?;
                find_scoped(&mut pooled.conn(), caller.tenant_id, &scope, user)
                    .await
                    .ok()?
                    .map(User::one)
            }
        }))
    }

    /// A location (or, with `id`, that location) as it is after each change.
    #[graphql(directive = Require::apply(LOCATION_READ))]
    async fn location_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Location> + use<>> {
        authorize_subscription(ctx)?;
        let caller = ctx.caller()?.clone();
        let only = id.as_ref().map(LocationId::parse).transpose()?;
        let services = ctx.services()?.clone();
        let events = BroadcastStream::new(services.bus.subscribe());
        Ok(events.filter_map(move |event| {
            let (tenant, db) = (caller.tenant_id, services.db.clone());
            async move {
                let event = event.ok()?;
                if event.tenant_id != tenant || event.aggregate_type != "Location" {
                    return None;
                }
                let location: LocationId = event.aggregate_id.parse().ok()?;
                if only.is_some_and(|o| o != location) {
                    return None;
                }
                let mut pooled = db.read().await.ok()?;
                find_row(&mut pooled.conn(), tenant, location)
                    .await
                    .ok()?
                    .map(Location::one)
            }
        }))
    }
}
