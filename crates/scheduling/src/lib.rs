//! Scheduling: the calendar, appointments, time off, working hours, and staffing and planning jobs against
//! people's availability (conflicts, overrides). Jobs themselves are operations'; scheduling
//! judges whether the people are free, then calls operations' public API.

pub mod appointments;
pub mod calendar;
pub mod demo;
pub mod hours;
pub mod ids;
pub mod live;
pub mod permissions;
mod schema;
pub mod scope;
pub mod skills;
pub mod staffing;
pub mod suggestions;
pub mod time_off;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::Module;

pub use appointments::Appointment;
pub use time_off::TimeOff;

/// Scheduling's queries.
#[derive(MergedObject, Default)]
pub struct SchedulingQuery(
    appointments::AppointmentQuery,
    appointments::follow_ups::AppointmentFollowUpQuery,
    calendar::CalendarQuery,
    hours::HoursQuery,
    skills::SkillsQuery,
    suggestions::SuggestionQuery,
    time_off::TimeOffQuery,
);

/// Scheduling's mutations.
#[derive(MergedObject, Default)]
pub struct SchedulingMutation(
    appointments::mutations::AppointmentMutation,
    appointments::follow_ups::AppointmentFollowUpMutation,
    staffing::StaffingMutation,
    hours::HoursMutation,
    skills::SkillsMutation,
    time_off::TimeOffMutation,
);

/// Scheduling's subscriptions: the live calendar.
#[derive(MergedSubscription, Default)]
pub struct SchedulingSubscription(live::CalendarSubscription);

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
            appointments::SPECS,
            &[
                <staffing::ConflictOverridden as switchyard_kernel::DomainEvent>::SPEC,
                <staffing::AppointmentConflictOverridden as switchyard_kernel::DomainEvent>::SPEC,
            ],
        ],
        payloads: &[
            &[time_off::TimeOffData::SPEC],
            &[appointments::AppointmentData::SPEC],
        ],
        impersonal: &[live::IMPERSONAL],
        ..Module::named("scheduling")
    }
}
