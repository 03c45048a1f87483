//! Operations: jobs (work orders) made from accepted quotes or by hand, their way through the
//! day (dispatched, started, completed, cancelled), their crews and steps, and what phones
//! report from site. Built on the domain kit
//! like sales (see ARCHITECTURE.md, "The domain kit").

pub mod crew;
pub mod demo;
pub mod field_updates;
pub mod ids;
pub mod jobs;
pub mod permissions;
mod schema;
pub mod scope;
pub mod settings;
pub mod steps;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::Module;

pub use crew::CrewMember;
pub use field_updates::FieldUpdate;
pub use jobs::Job;
pub use steps::JobStep;

/// Operations' queries.
#[derive(MergedObject, Default)]
pub struct OperationsQuery(
    jobs::JobQuery,
    crew::CrewMemberQuery,
    steps::JobStepQuery,
    field_updates::FieldUpdateQuery,
    settings::OperationsSettingsQuery,
);

/// Operations' mutations.
#[derive(MergedObject, Default)]
pub struct OperationsMutation(
    jobs::JobMutation,
    jobs::mutations::JobProgressMutation,
    crew::mutations::CrewMutation,
    steps::mutations::JobStepMutation,
    field_updates::mutations::FieldUpdateMutation,
    settings::OperationsSettingsMutation,
);

/// Operations' subscriptions.
#[derive(MergedSubscription, Default)]
pub struct OperationsSubscription(jobs::JobSubscription);

/// The domain's GraphQL parts, as the gateway merges them.
pub type Query = OperationsQuery;
pub type Mutation = OperationsMutation;
pub type Subscription = OperationsSubscription;

/// Operations, as the server registers it.
pub fn module() -> Module {
    Module {
        name: "operations",
        permissions: permissions::PERMISSIONS,
        events: &[
            jobs::events::SPECS,
            crew::events::SPECS,
            steps::events::SPECS,
            field_updates::events::SPECS,
        ],
        payloads: &[
            &[jobs::JobData::SPEC],
            &[crew::CrewMemberData::SPEC],
            &[steps::JobStepData::SPEC],
            &[field_updates::FieldUpdateData::SPEC],
        ],
        handlers: |services| {
            vec![
                jobs::from_quote::handler(services),
                jobs::follow_up::handler(services),
            ]
        },
        ..Module::named("operations")
    }
}
