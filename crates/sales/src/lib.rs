//! Sales: customers and their pipeline stage, leads, activities, tasks and queues, quotes.
//! The reference domain: the others copy how it is laid out, guarded, paginated, loaded and
//! tested (see ARCHITECTURE.md, "Adding a domain").

pub mod activities;
pub mod customers;
pub mod demo;
pub mod leads;
pub mod nested;
pub mod permissions;
pub mod phone;
pub mod quotes;
pub mod schema;
pub mod scope;
pub mod settings;
pub mod subscriptions;
pub mod tasks;

use std::time::Duration;

use async_graphql::MergedObject;
use switchyard_kernel::Services;
use tokio_util::sync::CancellationToken;

pub use activities::SalesActivity;
pub use customers::{Customer, load_customer};
pub use leads::Lead;
pub use quotes::Quote;
pub use subscriptions::SalesSubscription;
pub use tasks::Task;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Sales' queries.
#[derive(MergedObject, Default)]
pub struct SalesQuery(
    customers::CustomerQuery,
    leads::LeadQuery,
    activities::ActivityQuery,
    tasks::TaskQuery,
    quotes::QuoteQuery,
    settings::SettingsQuery,
);

/// Sales' mutations.
#[derive(MergedObject, Default)]
pub struct SalesMutation(
    customers::mutations::CustomerMutation,
    leads::LeadMutation,
    activities::ActivityMutation,
    tasks::TaskMutation,
    quotes::mutations::QuoteMutation,
    settings::SettingsMutation,
);

/// Sales' permissions, for the catalogue.
pub fn permissions() -> &'static [switchyard_kernel::PermissionDef] {
    permissions::PERMISSIONS
}

/// Sales' background work: the quote expiry sweep, every `expiry_interval`.
pub fn spawn_jobs(
    services: Services,
    expiry_interval: Duration,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![quotes::expiry::spawn(services, expiry_interval, shutdown)]
}
