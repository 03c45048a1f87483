//! A job's crew: the people (and, with the equipment domain, the vehicles and tools) that work
//! it, one of them the lead.

pub mod events;
pub mod mutations;
pub(crate) mod notices;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::db::sql::Sql;
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
        /// The job's window, copied (see `busy`).
        #[field(hidden)]
        planned_start: Option<NaiveDateTime>,
        #[field(hidden)]
        planned_end: Option<NaiveDateTime>,
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

/// A job that keeps a person busy.
#[derive(Debug, Clone)]
pub struct Busy {
    pub job: JobId,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// `SELECT` of the unfinished jobs on whose crew `user` is, planned to overlap `[from, to)`,
/// but `except` (the job being planned), as rows `(kind 'JOB', id, starts, ends, detail NULL,
/// zone NULL)`: one range of one index, `job_crew (tenant_id, user_id, planned_start)` from
/// `from` less the longest job to `to`, whatever the person's history (crew rows carry their
/// job's window: `assign` copies it, `jobs::mutations::reschedule` moves it), joined to those
/// few jobs for their status. Scheduling unions it with a person's other entries.
pub fn push_busy(
    sql: &mut Sql,
    tenant: TenantId,
    user: UserId,
    (from, to): (NaiveDateTime, NaiveDateTime),
    except: Option<JobId>,
) {
    let earliest = from - chrono::Duration::days(crate::jobs::mutations::MAX_WINDOW_DAYS);
    sql.push(
        "SELECT 'JOB' AS kind, j.id AS id, j.planned_start AS starts, j.planned_end AS ends, \
         CAST(NULL AS TEXT) AS detail, CAST(NULL AS TEXT) AS zone \
         FROM job_crew w JOIN jobs j ON j.id = w.job_id WHERE w.tenant_id = ",
    )
    .bind(tenant.to_string())
    .push(" AND w.user_id = ")
    .bind(user.to_string())
    .push(" AND w.planned_start >= ")
    .bind(earliest)
    .push(" AND w.planned_start < ")
    .bind(to)
    .push(" AND w.planned_end > ")
    .bind(from)
    .push(" AND j.tenant_id = ")
    .bind(tenant.to_string())
    .push(" AND j.id <> ")
    .bind(except.map(|j| j.to_string()).unwrap_or_default())
    .push(" AND j.status NOT IN ('COMPLETED', 'CANCELLED')");
}

/// A row of [`push_busy`] (and of what scheduling unions with it).
#[derive(QueryableByName, Debug)]
pub struct BusyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    pub starts: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    pub ends: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub detail: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub zone: Option<String>,
}

/// The jobs of [`push_busy`], in time order: one statement.
pub async fn busy(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    from: NaiveDateTime,
    to: NaiveDateTime,
    except: Option<JobId>,
) -> Result<Vec<Busy>, Error> {
    let mut sql = Sql::new("");
    push_busy(&mut sql, tenant, user, (from, to), except);
    sql.push(" ORDER BY starts");
    let rows: Vec<BusyRow> = Sql::load(&sql, conn).await?;
    let mut found: Vec<Busy> = rows.into_iter().filter_map(|r| r.busy()).collect();
    found.sort_by_key(|b| b.start);
    Ok(found)
}

impl BusyRow {
    /// The job of a 'JOB' row.
    pub fn busy(&self) -> Option<Busy> {
        if self.kind != "JOB" {
            return None;
        }
        Some(Busy {
            job: self.id.as_deref()?.parse().ok()?,
            start: self.starts?,
            end: self.ends?,
        })
    }
}

/// Moves the copy of a job's window on its crew rows (in the transaction that moves the job).
pub(crate) async fn follow_window(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    job: JobId,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::update(
        job_crew::table
            .filter(job_crew::tenant_id.eq(tenant))
            .filter(job_crew::job_id.eq(job))
    )
    .set((
        job_crew::planned_start.eq(start),
        job_crew::planned_end.eq(end)
    ))
    .execute(c)
    .await)?;
    Ok(())
}

/// The people on a job's crew.
pub async fn people(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    job: JobId,
) -> Result<Vec<UserId>, Error> {
    let rows: Vec<Option<UserId>> = db_run!(conn, |c| job_crew::table
        .filter(job_crew::tenant_id.eq(tenant))
        .filter(job_crew::job_id.eq(job))
        .select(job_crew::user_id)
        .load(c)
        .await)?;
    Ok(rows.into_iter().flatten().collect())
}
