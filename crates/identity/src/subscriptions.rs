//! Live updates of identity objects, for callers of the same tenant who may read them.

use async_graphql::{Context, ID, Subscription};
use futures_util::Stream;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate::changes;
use switchyard_kernel::{LocationId, UserId};

use crate::locations::Location;
use crate::permissions::{LOCATION_READ, USER_READ};
use crate::users::User;

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
        let only = id.as_ref().map(UserId::parse).transpose()?;
        Ok(changes::<User>(ctx, only)?)
    }

    /// A location (or, with `id`, that location) as it is after each change.
    #[graphql(directive = Require::apply(LOCATION_READ))]
    async fn location_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Location> + use<>> {
        let only = id.as_ref().map(LocationId::parse).transpose()?;
        Ok(changes::<Location>(ctx, only)?)
    }
}
