//! The support desk's permissions and which built-in roles hold them.
//!
//! Tickets at `own` are those the user asked (a client) or works (an agent: assigned to them,
//! and, with `support.queue:read`, the unassigned queue); at `tenant`, all of them. Internal
//! notes are read only with `support.internal_note:read`, which clients never hold.

use switchyard_kernel::access::{BuiltinRole::*, PermissionDef, Scope::*};

pub const TICKET_READ: &str = "support.ticket:read";
pub const TICKET_CREATE: &str = "support.ticket:create";
pub const TICKET_REPLY: &str = "support.ticket:reply";
pub const TICKET_WORK: &str = "support.ticket:work";
pub const TICKET_ASSIGN: &str = "support.ticket:assign";
pub const QUEUE_READ: &str = "support.queue:read";
pub const INTERNAL_NOTE_READ: &str = "support.internal_note:read";

/// The built-in roles a ticket may be assigned to (the people who work tickets).
pub const AGENT_ROLES: [&str; 3] = ["support_agent", "admin", "owner"];

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: TICKET_READ,
        description: "See support tickets and their timelines: at `own`, those one asked or is assigned (and the unassigned queue with `support.queue:read`)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (SupportAgent, Own),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: TICKET_CREATE,
        description: "Open support tickets (a client: for itself; staff: for a client or themselves)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (SupportAgent, Own),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: TICKET_REPLY,
        description: "Reply on the tickets one may see (a client's reply reopens a resolved ticket)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (SupportAgent, Own),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: TICKET_WORK,
        description: "Work tickets: take an unassigned one, add internal notes, change status and priority",
        roles: &[(Owner, Tenant), (Admin, Tenant), (SupportAgent, Own)],
    },
    PermissionDef {
        name: TICKET_ASSIGN,
        description: "Assign and reassign tickets to any agent",
        roles: &[(Owner, Tenant), (Admin, Tenant)],
    },
    PermissionDef {
        name: QUEUE_READ,
        description: "See the queue of unassigned tickets",
        roles: &[(Owner, Tenant), (Admin, Tenant), (SupportAgent, Own)],
    },
    PermissionDef {
        name: INTERNAL_NOTE_READ,
        description: "Read the internal notes on tickets (never shown to clients)",
        roles: &[(Owner, Tenant), (Admin, Tenant), (SupportAgent, Own)],
    },
];
