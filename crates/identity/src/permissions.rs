//! Identity's permissions and which built-in roles hold them.

use switchyard_kernel::access::{BuiltinRole::*, PermissionDef, Scope::*};

pub const USER_READ: &str = "identity.user:read";
pub const CLIENT_CONTACT_READ: &str = "identity.client_contact:read";
pub const USER_CREATE: &str = "identity.user:create";
pub const USER_UPDATE: &str = "identity.user:update";
pub const USER_ASSIGN_ROLES: &str = "identity.user:assign_roles";
pub const USER_DEACTIVATE: &str = "identity.user:deactivate";
pub const ROLE_READ: &str = "identity.role:read";
pub const ROLE_MANAGE: &str = "identity.role:manage";
pub const LOCATION_READ: &str = "identity.location:read";
pub const LOCATION_MANAGE: &str = "identity.location:manage";
pub const API_KEY_READ: &str = "identity.api_key:read";
pub const API_KEY_MANAGE: &str = "identity.api_key:manage";
pub const TENANT_MANAGE: &str = "identity.tenant:manage";

/// Everyone on the staff, tenant-wide.
const STAFF_TENANT: &[(switchyard_kernel::BuiltinRole, switchyard_kernel::Scope)] = &[
    (Owner, Tenant),
    (Admin, Tenant),
    (Manager, Tenant),
    (SalesRep, Tenant),
    (Dispatcher, Tenant),
    (Crew, Tenant),
    (SupportAgent, Tenant),
    (Accountant, Tenant),
    (Observer, Tenant),
];

/// Owners, admins, and managers for the locations they belong to.
const PEOPLE_MANAGERS: &[(switchyard_kernel::BuiltinRole, switchyard_kernel::Scope)] =
    &[(Owner, Tenant), (Admin, Tenant), (Manager, Location)];

const ADMINS: &[(switchyard_kernel::BuiltinRole, switchyard_kernel::Scope)] =
    &[(Owner, Tenant), (Admin, Tenant)];

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: USER_READ,
        description: "See user accounts (the staff directory; a client sees only itself)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Tenant),
            (SalesRep, Tenant),
            (Dispatcher, Tenant),
            (Crew, Location),
            (SupportAgent, Tenant),
            (Accountant, Tenant),
            (Observer, Tenant),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: CLIENT_CONTACT_READ,
        description: "See customer-portal users' email addresses (a customer's contact details; \
            staff addresses are part of the directory)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Tenant),
            (SalesRep, Tenant),
            (Dispatcher, Tenant),
            (SupportAgent, Tenant),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: USER_CREATE,
        description: "Create and invite users",
        roles: PEOPLE_MANAGERS,
    },
    PermissionDef {
        name: USER_UPDATE,
        description: "Change a user's name and locations",
        roles: PEOPLE_MANAGERS,
    },
    PermissionDef {
        name: USER_ASSIGN_ROLES,
        description: "Change a user's roles and extra grants (never beyond one's own)",
        roles: PEOPLE_MANAGERS,
    },
    PermissionDef {
        name: USER_DEACTIVATE,
        description: "Deactivate and reactivate users; deactivation ends their sessions",
        roles: PEOPLE_MANAGERS,
    },
    PermissionDef {
        name: ROLE_READ,
        description: "See roles and what they allow",
        roles: STAFF_TENANT,
    },
    PermissionDef {
        name: ROLE_MANAGE,
        description: "Define, change and delete the tenant's custom roles",
        roles: ADMINS,
    },
    PermissionDef {
        name: LOCATION_READ,
        description: "See locations",
        roles: STAFF_TENANT,
    },
    PermissionDef {
        name: LOCATION_MANAGE,
        description: "Create and change locations",
        roles: ADMINS,
    },
    PermissionDef {
        name: API_KEY_READ,
        description: "See partner API keys (never their secrets)",
        roles: ADMINS,
    },
    PermissionDef {
        name: API_KEY_MANAGE,
        description: "Create and revoke partner API keys",
        roles: ADMINS,
    },
    PermissionDef {
        name: TENANT_MANAGE,
        description: "Change the tenant's name and settings",
        roles: &[(Owner, Tenant)],
    },
];
