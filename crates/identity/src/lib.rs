//! Identity: tenants, locations, users, roles and grants, sessions, API keys; and the
//! authenticator that turns a request's credentials into a [`Caller`](switchyard_kernel::Caller).

pub mod api_keys;
pub mod auth;
pub mod credentials;
pub mod locations;
pub mod permissions;
pub mod roles;
mod schema;
pub mod tenants;
pub mod users;

use async_graphql::{MergedObject, MergedSubscription};

pub use api_keys::ApiKey;
pub use auth::jwt::{Claims, JwtSettings};
pub use auth::{Authenticator, LoginLimits};
pub use credentials::TokenLifetimes;
pub use locations::Location;
pub use users::User;

/// Identity's queries.
#[derive(MergedObject, Default)]
pub struct IdentityQuery(
    users::MeQuery,
    users::UserQuery,
    roles::RoleQuery,
    locations::LocationQuery,
    api_keys::ApiKeyQuery,
    tenants::TenantQuery,
);

/// Identity's mutations.
#[derive(MergedObject, Default)]
pub struct IdentityMutation(
    auth::graphql::AuthMutation,
    users::mutations::UserMutation,
    users::grants::GrantMutation,
    roles::mutations::RoleMutation,
    locations::mutations::LocationMutation,
    api_keys::mutations::ApiKeyMutation,
    tenants::TenantMutation,
);

/// Identity' subscriptions: each object's changes, as each subscriber may read them.
#[derive(MergedSubscription, Default)]
pub struct IdentitySubscription(users::UserSubscription, locations::LocationSubscription);

/// The domain's GraphQL parts, as the gateway merges them.
pub type Query = IdentityQuery;
pub type Mutation = IdentityMutation;
pub type Subscription = IdentitySubscription;

/// Identity, as the server registers it.
pub fn module() -> switchyard_kernel::module::Module {
    switchyard_kernel::module::Module {
        permissions: permissions::PERMISSIONS,
        events: &[
            tenants::events::SPECS,
            users::events::SPECS,
            roles::events::SPECS,
            locations::events::SPECS,
            api_keys::events::SPECS,
        ],
        payloads: &[
            &[users::UserData::SPEC],
            &[
                roles::events::RoleData::SPEC,
                roles::events::GrantData::SPEC,
            ],
            &[locations::LocationData::SPEC],
        ],
        ..switchyard_kernel::module::Module::named("identity")
    }
}
