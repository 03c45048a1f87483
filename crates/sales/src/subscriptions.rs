//! Live updates of customers and quotes, for callers of the same tenant who may read them:
//! each event is re-read under the subscriber's own scope before it is sent.

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt};
use switchyard_kernel::ContextExt;
use switchyard_kernel::policy::{Require, authorize_subscription};
use tokio_stream::wrappers::BroadcastStream;

use crate::customers::{Customer, CustomerId, find_scoped};
use crate::permissions::{CUSTOMER_READ, QUOTE_READ};
use crate::quotes::{Quote, QuoteId, find};

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
        authorize_subscription(ctx)?;
        let caller = ctx.caller()?.clone();
        let scope = caller.row_scope(CUSTOMER_READ)?;
        let only = id.as_ref().map(CustomerId::parse).transpose()?;
        let services = ctx.services()?.clone();
        let events = BroadcastStream::new(services.bus.subscribe());
        Ok(events.filter_map(move |event| {
            let (caller, scope, db) = (caller.clone(), scope.clone(), services.db.clone());
            async move {
                let event = event.ok()?;
                if event.tenant_id != caller.tenant_id || event.aggregate_type != "Customer" {
                    return None;
                }
                let customer: CustomerId = event.aggregate_id.parse().ok()?;
                if only.is_some_and(|o| o != customer) {
                    return None;
                }
                let mut pooled = db.read().await.ok()?;
                find_scoped(&mut pooled.conn(), caller.tenant_id, &scope, customer)
                    .await
                    .ok()?
                    .map(Customer::one)
            }
        }))
    }

    /// A quote (or, with `id`, that quote) as it is after each change you may see; a client
    /// sees the quotes addressed to them.
    #[graphql(directive = Require::apply(QUOTE_READ))]
    async fn quote_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Quote> + use<>> {
        authorize_subscription(ctx)?;
        let caller = ctx.caller()?.clone();
        caller.require(QUOTE_READ)?;
        let only = id.as_ref().map(QuoteId::parse).transpose()?;
        let services = ctx.services()?.clone();
        let events = BroadcastStream::new(services.bus.subscribe());
        Ok(events.filter_map(move |event| {
            let (caller, db) = (caller.clone(), services.db.clone());
            async move {
                let event = event.ok()?;
                if event.tenant_id != caller.tenant_id || event.aggregate_type != "Quote" {
                    return None;
                }
                let quote: QuoteId = event.aggregate_id.parse().ok()?;
                if only.is_some_and(|o| o != quote) {
                    return None;
                }
                let mut pooled = db.read().await.ok()?;
                find(&mut pooled.conn(), &caller, QUOTE_READ, quote)
                    .await
                    .ok()
                    .map(Quote::one)
            }
        }))
    }
}
