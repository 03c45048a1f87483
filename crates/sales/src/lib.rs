//! Sales: customers and their pipeline stage, leads, activities, tasks and queues, quotes.
//! The reference domain: the others copy how it is laid out, guarded, paginated, loaded and
//! tested (see ARCHITECTURE.md, "Adding a domain").

pub mod activities;
pub mod bookings;
pub mod customers;
pub mod demo;
pub mod ids;
pub mod leads;
pub mod permissions;
pub mod phone;
pub mod quotes;
mod schema;
pub mod scope;
pub mod settings;
pub mod tasks;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::{Module, Setting};

pub use activities::SalesActivity;
pub use bookings::{Booking, templates::QuoteTemplateItem};
pub use customers::{Customer, load_customer};
pub use leads::Lead;
pub use quotes::Quote;
pub use tasks::Task;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Sales' queries.
#[derive(MergedObject, Default)]
pub struct SalesQuery(
    customers::CustomerQuery,
    customers::CustomerDuplicatesQuery,
    leads::LeadQuery,
    activities::ActivityQuery,
    tasks::TaskQuery,
    quotes::QuoteQuery,
    bookings::BookingQuery,
    bookings::templates::QuoteTemplateItemQuery,
    settings::SettingsQuery,
);

/// Sales' mutations.
#[derive(MergedObject, Default)]
pub struct SalesMutation(
    customers::mutations::CustomerMutation,
    leads::LeadMutation,
    activities::mutations::ActivityMutation,
    tasks::mutations::TaskMutation,
    quotes::mutations::QuoteMutation,
    bookings::intake::BookingFormMutation,
    bookings::templates::QuoteTemplateItemMutation,
    settings::SettingsMutation,
);

/// Sales' subscriptions: each object's changes, as each subscriber may read them.
#[derive(MergedSubscription, Default)]
pub struct SalesSubscription(
    customers::CustomerSubscription,
    leads::LeadSubscription,
    quotes::QuoteSubscription,
);

/// The domain's GraphQL parts, as the gateway merges them.
pub type Query = SalesQuery;
pub type Mutation = SalesMutation;
pub type Subscription = SalesSubscription;

/// Seconds between sweeps that expire quotes past their `validUntil`.
pub const QUOTE_EXPIRY_SWEEP_SECS: &str = "quote_expiry_sweep_secs";

/// Sales, as the server registers it.
pub fn module() -> Module {
    Module {
        name: "sales",
        permissions: permissions::PERMISSIONS,
        events: &[
            customers::events::SPECS,
            leads::events::SPECS,
            activities::events::SPECS,
            tasks::events::SPECS,
            quotes::events::SPECS,
            bookings::SPECS,
            bookings::templates::SPECS,
            &[<settings::SalesSettingsUpdated as switchyard_kernel::DomainEvent>::SPEC],
        ],
        payloads: &[
            &[customers::events::CustomerData::SPEC],
            &[leads::LeadData::SPEC],
            &[activities::ActivityData::SPEC],
            &[tasks::TaskData::SPEC],
            quotes::events::PAYLOADS,
            &[bookings::BookingData::SPEC],
            &[bookings::templates::TemplateItemData::SPEC],
        ],
        jobs: |services, settings, shutdown| {
            let every = settings.secs(QUOTE_EXPIRY_SWEEP_SECS)?;
            Ok(vec![quotes::expiry::spawn(
                services.clone(),
                every,
                shutdown,
            )])
        },
        settings: &[
            Setting {
                key: QUOTE_EXPIRY_SWEEP_SECS,
                default: "60",
                description: "Seconds between sweeps that expire quotes past their `validUntil`.",
            },
            Setting {
                key: bookings::intake::LIMIT_PER_ADDRESS,
                default: "10",
                description: "Bookings (`submitBooking`) tried from one client address within the booking window; then RATE_LIMITED.",
            },
            Setting {
                key: bookings::intake::LIMIT_PER_TENANT,
                default: "500",
                description: "Bookings one company takes within the booking window; then RATE_LIMITED.",
            },
            Setting {
                key: bookings::intake::LIMIT_WINDOW_SECS,
                default: "3600",
                description: "The window of the booking limits, in seconds.",
            },
        ],
        ..Module::named("sales")
    }
}
