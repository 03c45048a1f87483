//! Scheduling's permissions and which built-in roles hold them.
//!
//! Time off at `own` is the user's own; at `location`, also that of the people of the user's
//! locations. Appointments at `own` are those the user attends or made; at `location`, also
//! those at the user's locations.

use switchyard_kernel::access::{BuiltinRole::*, PermissionDef, Scope::*};

pub const TIME_OFF_READ: &str = "scheduling.time_off:read";
pub const TIME_OFF_MANAGE: &str = "scheduling.time_off:manage";
pub const HOURS_MANAGE: &str = "scheduling.working_hours:manage";
pub const CONFLICT_OVERRIDE: &str = "scheduling.conflict:override";
pub const APPOINTMENT_READ: &str = "scheduling.appointment:read";
pub const APPOINTMENT_MANAGE: &str = "scheduling.appointment:manage";

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: APPOINTMENT_READ,
        description: "See appointments (site visits, meetings, maintenance blocks): one's own at `own`",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (SalesRep, Own),
            (Crew, Own),
            (SupportAgent, Own),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: APPOINTMENT_MANAGE,
        description: "Schedule, move, complete and cancel appointments: one's own at `own`",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (SalesRep, Own),
        ],
    },
    PermissionDef {
        name: TIME_OFF_READ,
        description: "See time off (vacation, sickness, training...) on the calendar",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (SalesRep, Own),
            (Crew, Own),
            (SupportAgent, Own),
            (Accountant, Own),
        ],
    },
    PermissionDef {
        name: TIME_OFF_MANAGE,
        description: "Record and withdraw time off (one's own at `own`)",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (SalesRep, Own),
            (Crew, Own),
            (SupportAgent, Own),
            (Accountant, Own),
        ],
    },
    PermissionDef {
        name: HOURS_MANAGE,
        description: "Set the working hours of locations and their people, and people's skills",
        roles: &[(Owner, Tenant), (Admin, Tenant), (Manager, Location)],
    },
    PermissionDef {
        name: CONFLICT_OVERRIDE,
        description: "Staff or plan a job despite a double booking, time off or working hours, with a reason",
        roles: &[(Owner, Tenant), (Admin, Tenant), (Manager, Location)],
    },
];
