//! Operations' permissions and which built-in roles hold them.
//!
//! Scope meanings for jobs: `own` is the jobs the user works (assigned to its crew), the jobs of
//! the customers the user is responsible for (a sales rep), and the jobs the user created;
//! `location` adds every job of the user's locations. Crew members follow their job.

use switchyard_kernel::access::{BuiltinRole::*, PermissionDef, Scope::*};

pub const JOB_READ: &str = "operations.job:read";
pub const JOB_MANAGE: &str = "operations.job:manage";
pub const JOB_WORK: &str = "operations.job:work";
pub const CREW_ASSIGN: &str = "operations.crew:assign";
pub const SETTINGS_MANAGE: &str = "operations.settings:manage";

pub static PERMISSIONS: &[PermissionDef] = &[
    PermissionDef {
        name: JOB_READ,
        description: "See jobs: window, addresses, on-site contact, status, crew",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (SalesRep, Own),
            (Crew, Own),
            (SupportAgent, Tenant),
            (Accountant, Tenant),
            (Observer, Tenant),
        ],
    },
    PermissionDef {
        name: JOB_MANAGE,
        description: "Create and change jobs, dispatch and cancel them",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
        ],
    },
    PermissionDef {
        name: JOB_WORK,
        description: "Start and complete the jobs one works",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
            (Crew, Own),
        ],
    },
    PermissionDef {
        name: CREW_ASSIGN,
        description: "Assign crew to jobs and take them off",
        roles: &[
            (Owner, Tenant),
            (Admin, Tenant),
            (Manager, Location),
            (Dispatcher, Location),
        ],
    },
    PermissionDef {
        name: SETTINGS_MANAGE,
        description: "Change the operations settings (the follow-up a completed job raises)",
        roles: &[(Owner, Tenant), (Admin, Tenant)],
    },
];
