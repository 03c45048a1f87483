//! What happens to custom roles, as typed events. Every user holding a changed role gains or
//! loses permissions at once: open WebSockets check their access again on any of them.

use switchyard_kernel::DomainEvent;
use switchyard_kernel::access::Scope;

use super::Role;

switchyard_kernel::event_payload! {
    /// A permission a role grants, at a scope.
    pub struct GrantData {
        /// `domain.resource:action`.
        pub permission: String,
        pub scope: Scope,
    }
}

switchyard_kernel::event_payload! {
    /// A custom role as events carry it.
    pub struct RoleData {
        /// Lower case letters, digits and underscores.
        pub key: String,
        pub name: String,
        pub permissions: Vec<GrantData>,
        pub version: i32,
    }
}

impl From<&Role> for RoleData {
    fn from(role: &Role) -> Self {
        RoleData {
            key: role.key.clone(),
            name: role.name.clone(),
            permissions: role
                .permissions
                .iter()
                .map(|g| GrantData {
                    permission: g.permission.clone(),
                    scope: g.scope,
                })
                .collect(),
            version: role.version,
        }
    }
}

switchyard_kernel::domain_event! {
    /// A custom role was defined.
    pub struct RoleCreated = "identity.role.created" v 1 on "Role" by role.key {
        pub role: RoleData,
    }
}

switchyard_kernel::domain_event! {
    /// A custom role's name or permissions changed.
    pub struct RoleUpdated = "identity.role.updated" v 1 on "Role" by role.key {
        pub role: RoleData,
    }
}

switchyard_kernel::domain_event! {
    /// A custom role nobody held was deleted.
    pub struct RoleDeleted = "identity.role.deleted" v 1 on "Role" by key {
        pub key: String,
        pub name: String,
    }
}

/// Every role event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] =
    &[RoleCreated::SPEC, RoleUpdated::SPEC, RoleDeleted::SPEC];
