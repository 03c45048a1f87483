//! Sales' permissions and which built-in roles hold them.
//!
//! Scope meanings: for customers, `own` is the customers assigned to the user and `location`
//! adds the customers of the user's locations. Leads, activities and quotes follow their
//! customer (plus, at `own`, what the user created); a customer-portal client's `own` quotes
//! are the quotes addressed to them. A task at `own` is the user's, or unassigned in a queue.

use switchyard_kernel::access::{BuiltinRole, BuiltinRole::*, PermissionDef, Scope, Scope::*};

pub const CUSTOMER_READ: &str = "sales.customer:read";
pub const CUSTOMER_CONTACT_READ: &str = "sales.customer_contact:read";
pub const CUSTOMER_CREATE: &str = "sales.customer:create";
pub const CUSTOMER_UPDATE: &str = "sales.customer:update";
pub const CUSTOMER_MERGE: &str = "sales.customer:merge";
pub const LEAD_READ: &str = "sales.lead:read";
pub const LEAD_MANAGE: &str = "sales.lead:manage";
pub const ACTIVITY_READ: &str = "sales.activity:read";
pub const ACTIVITY_LOG: &str = "sales.activity:log";
pub const TASK_READ: &str = "sales.task:read";
pub const TASK_MANAGE: &str = "sales.task:manage";
pub const QUOTE_READ: &str = "sales.quote:read";
pub const QUOTE_MANAGE: &str = "sales.quote:manage";
pub const QUOTE_APPROVE: &str = "sales.quote:approve";
pub const QUOTE_RESPOND: &str = "sales.quote:respond";
pub const QUOTE_COST_READ: &str = "sales.quote_cost:read";
pub const BOOKING_READ: &str = "sales.booking:read";
pub const TEMPLATE_READ: &str = "sales.quote_template:read";
pub const TEMPLATE_MANAGE: &str = "sales.quote_template:manage";
pub const SETTINGS_READ: &str = "sales.settings:read";
pub const SETTINGS_MANAGE: &str = "sales.settings:manage";

type Grants = &'static [(BuiltinRole, Scope)];

/// The people who sell: owners and admins everywhere, managers in their locations, sales
/// reps on their own customers.
const SELLERS: Grants = &[
    (Owner, Tenant),
    (Admin, Tenant),
    (Manager, Location),
    (SalesRep, Own),
];
const MANAGERS: Grants = &[(Owner, Tenant), (Admin, Tenant), (Manager, Location)];
const ADMINS: Grants = &[(Owner, Tenant), (Admin, Tenant)];

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: BOOKING_READ,
        description: "See bookings that came in through the public booking form",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: TEMPLATE_READ,
        description: "See the quote template that prices web bookings",
        roles: SELLERS,
    },
    PermissionDef {
        name: TEMPLATE_MANAGE,
        description: "Change the quote template that prices web bookings",
        roles: MANAGERS,
    },
    PermissionDef {
        name: CUSTOMER_READ,
        description: "See customers (names, address, stage, value)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Dispatcher, Location),
            (SupportAgent, Tenant),
            (Accountant, Tenant),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: CUSTOMER_CONTACT_READ,
        description: "See customers' email and phone",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Dispatcher, Location),
            (SupportAgent, Tenant),
            (Accountant, Tenant),
        ],
    },
    PermissionDef {
        name: CUSTOMER_CREATE,
        description: "Create customers",
        roles: SELLERS,
    },
    PermissionDef {
        name: CUSTOMER_UPDATE,
        description: "Change customers and move them along the pipeline",
        roles: SELLERS,
    },
    PermissionDef {
        name: CUSTOMER_MERGE,
        description: "Merge duplicate customers",
        roles: MANAGERS,
    },
    PermissionDef {
        name: LEAD_READ,
        description: "See leads",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: LEAD_MANAGE,
        description: "Create and change leads",
        roles: SELLERS,
    },
    PermissionDef {
        name: ACTIVITY_READ,
        description: "See sales activities (calls, emails, meetings...)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (SupportAgent, Tenant),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: ACTIVITY_LOG,
        description: "Log and change sales activities",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (SupportAgent, Tenant),
        ],
    },
    PermissionDef {
        name: TASK_READ,
        description: "See tasks and queues",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: TASK_MANAGE,
        description: "Create, claim, hand over and complete tasks",
        roles: SELLERS,
    },
    PermissionDef {
        name: QUOTE_READ,
        description: "See quotes (a client: the quotes addressed to them)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Accountant, Tenant),
            (Observer, Tenant),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: QUOTE_MANAGE,
        description: "Create, change, revise and send quotes",
        roles: SELLERS,
    },
    PermissionDef {
        name: QUOTE_APPROVE,
        description: "Approve quotes before they are sent",
        roles: MANAGERS,
    },
    PermissionDef {
        name: QUOTE_RESPOND,
        description: "Accept or reject quotes (a client: their own; staff: on a customer's behalf)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (SalesRep, Own),
            (Client, Own),
        ],
    },
    PermissionDef {
        name: QUOTE_COST_READ,
        description: "See quote costs and margins",
        roles: MANAGERS,
    },
    PermissionDef {
        name: SETTINGS_READ,
        description: "See the sales settings (currency, tax rate, approval rule)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Tenant),
            (SalesRep, Tenant),
            (Accountant, Tenant),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: SETTINGS_MANAGE,
        description: "Change the sales settings",
        roles: ADMINS,
    },
];
