//! Live updates of customers and quotes, for callers of the same tenant who may read them:
//! each event is re-read under the subscriber's own scope before it is sent.

use async_graphql::{Context, ID, Subscription};
use futures_util::Stream;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate::changes;

use crate::customers::{Customer, CustomerId};
use crate::permissions::{CUSTOMER_READ, QUOTE_READ};
use crate::quotes::{Quote, QuoteId};

#[derive(Default)]
pub struct SalesSubscription;

#[Subscription]
impl SalesSubscription {
    /// A customer (or, with `id`, that customer) as it is after each change you may see.
    #[graphql(directive = Require::apply(CUSTOMER_READ))]
    async fn customer_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Customer> + use<>> {
        let only = id.as_ref().map(CustomerId::parse).transpose()?;
        Ok(changes::<Customer>(ctx, only)?)
    }

    /// A quote (or, with `id`, that quote) as it is after each change you may see; a client
    /// sees the quotes addressed to them.
    #[graphql(directive = Require::apply(QUOTE_READ))]
    async fn quote_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Quote> + use<>> {
        let only = id.as_ref().map(QuoteId::parse).transpose()?;
        Ok(changes::<Quote>(ctx, only)?)
    }
}
