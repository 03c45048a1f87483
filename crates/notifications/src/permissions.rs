//! Notifications' permissions and which built-in roles hold them.
//!
//! Everyone reads their own notifications and keeps their own preferences; nobody reads
//! another person's. The message log is read by administrators (and managers, for the people
//! of their locations); templates and reminder times are the administrators'.

use switchyard_kernel::access::{BuiltinRole::*, PermissionDef, Scope::*};

pub const NOTIFICATION_READ: &str = "notifications.notification:read";
pub const MESSAGE_LOG_READ: &str = "notifications.message:read";
pub const NOTIFICATION_SETTINGS_MANAGE: &str = "notifications.settings:manage";

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: NOTIFICATION_READ,
        description: "See one's own notifications, mark them read, choose channels, language and quiet hours",
        roles: &[
            (Owner, Own),
            (Admin, Own),
            (Manager, Own),
            (SalesRep, Own),
            (Dispatcher, Own),
            (Crew, Own),
            (SupportAgent, Own),
            (Accountant, Own),
            (Observer, Own),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: MESSAGE_LOG_READ,
        description: "Read the log of messages sent (channel, recipient, status, provider id): of the people and the customers of one's locations at `location`",
        roles: &[(Owner, Tenant), (Admin, Tenant), (Manager, Location)],
    },
    PermissionDef {
        name: NOTIFICATION_SETTINGS_MANAGE,
        description: "Keep the tenant's message templates and reminder times",
        roles: &[(Owner, Tenant), (Admin, Tenant)],
    },
];
