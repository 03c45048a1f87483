//! A job's crew: the people (and, with the equipment domain, the vehicles and tools) that work
//! it, one of them the lead.

pub mod events;
pub mod mutations;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::{Conn, Error, TenantId, UserId, db_run};

use crate::jobs::{Job, JobId};
use crate::permissions::JOB_READ;
use crate::schema::job_crew;

pub use crate::ids::CrewMemberId;

switchyard_kernel::text_enum! {
    /// What kind of resource works a job.
    pub enum ResourceKind {
        /// A person (a user with the crew role).
        User = "USER",
    }
}

switchyard_kernel::aggregate! {
    /// A resource assigned to a job: a crew member.
    #[aggregate(
        table = crate::schema::job_crew,
        id = CrewMemberId,
        read = JOB_READ,
        scope = crate::scope::job_child,
        order(created_at, asc),
        event = CrewMemberData,
        one(name = crew_member, doc = "A crew assignment by ID."),
    )]
    pub struct CrewMember {
        /// The job, if you may see it.
        #[field(to_one = Job, filter, event)]
        job_id: JobId,
        #[field(filter, event)]
        resource_kind: ResourceKind,
        #[field(hidden)]
        resource_id: String,
        /// The person, for a USER resource.
        #[field(to_one = User, filter, event)]
        user_id: Option<UserId>,
        /// Leads the crew on site.
        #[field(event)]
        lead: bool,
        /// Who assigned it.
        #[field(to_one = User)]
        assigned_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }
}

/// How many resources work a job.
pub(crate) async fn count(conn: &mut Conn<'_>, tenant: TenantId, job: JobId) -> Result<i64, Error> {
    Ok(db_run!(conn, |c| job_crew::table
        .filter(job_crew::tenant_id.eq(tenant))
        .filter(job_crew::job_id.eq(job))
        .count()
        .get_result(c)
        .await)?)
}
