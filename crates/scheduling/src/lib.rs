//! Scheduling: the calendar, time off, working hours, and staffing and planning jobs against
//! people's availability (conflicts, overrides). Jobs themselves are operations'; scheduling
//! judges whether the people are free, then calls operations' public API.

pub mod calendar;
pub mod demo;
pub mod hours;
pub mod ids;
pub mod permissions;
mod schema;
pub mod scope;
pub mod staffing;
pub mod time_off;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::Module;

pub use time_off::TimeOff;

/// Scheduling's queries.
#[derive(MergedObject, Default)]
pub struct SchedulingQuery(
    calendar::CalendarQuery,
    hours::HoursQuery,
    staffing::SuggestionQuery,
    time_off::TimeOffQuery,
);

/// Scheduling's mutations.
#[derive(MergedObject, Default)]
pub struct SchedulingMutation(
    staffing::StaffingMutation,
    hours::HoursMutation,
    time_off::TimeOffMutation,
);

/// Scheduling's subscriptions (the live calendar comes with notifications).
#[derive(MergedSubscription, Default)]
pub struct SchedulingSubscription;

pub type Query = SchedulingQuery;
pub type Mutation = SchedulingMutation;
pub type Subscription = SchedulingSubscription;

/// Scheduling, as the server registers it.
pub fn module() -> Module {
    Module {
        name: "scheduling",
        permissions: permissions::PERMISSIONS,
        events: &[
            time_off::events::SPECS,
            &[<staffing::ConflictOverridden as switchyard_kernel::DomainEvent>::SPEC],
        ],
        payloads: &[&[time_off::TimeOffData::SPEC]],
        ..Module::named("scheduling")
    }
}
