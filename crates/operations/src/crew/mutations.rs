//! Staffing a job: [`assign`] (which scheduling's `assignCrew` calls once the person is
//! free) and `unassignCrew`.

use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, UserErrorCode, UserId, audit, db_run, time, write,
};

use super::events::{CrewAssigned, CrewLeadChanged, CrewUnassigned};
use super::notices;
use super::{CrewMember, CrewMemberId, CrewMemberRow, ResourceKind};
use crate::jobs::mutations::{JobPayload, finished};
use crate::jobs::{Job, JobRow};
use crate::permissions::CREW_ASSIGN;
use crate::schema::job_crew;
use switchyard_notifications::NotificationKind;

/// A crew assignment to end.
#[derive(InputObject)]
pub struct UnassignCrewInput {
    /// The `CrewMember`'s ID.
    pub id: ID,
}

/// Puts `user` on the crew of `job` (read by the caller with `operations.crew:assign`, in
/// this transaction) if it is not finished, as its lead if `lead` (the lead before stays on
/// the crew). Availability is scheduling's to judge, before it calls this (`assignCrew`).
pub async fn assign(
    tx: &mut Conn<'_>,
    caller: &Caller,
    job: JobRow,
    user: UserId,
    lead: bool,
) -> Result<JobRow, Rejection> {
    open(&job)?;
    let crew_role = switchyard_kernel::access::BuiltinRole::Crew.key();
    if !switchyard_identity::users::is_active_with_role(tx, caller.tenant_id, user, crew_role)
        .await?
    {
        return Err(Rejection::invalid(
            "input.userId",
            UserErrorCode::UnknownReference,
            "not an active staff member with the crew role",
        ));
    }
    let crew = members(tx, &job).await?;
    if crew.iter().any(|m| m.user_id == Some(user)) {
        return Err(Rejection::invalid(
            "input.userId",
            UserErrorCode::Duplicate,
            "already on this job's crew",
        ));
    }
    if lead {
        for before in crew.iter().filter(|m| m.lead) {
            let row = CrewMemberRow {
                lead: false,
                ..before.clone()
            };
            write::update::<CrewMember, _>(tx, caller, before, row, CrewLeadChanged::of).await?;
        }
    }
    let now = time::now();
    let row = CrewMemberRow {
        id: CrewMemberId::new(),
        tenant_id: caller.tenant_id,
        job_id: job.id,
        resource_kind: ResourceKind::User,
        resource_id: user.to_string(),
        user_id: Some(user),
        lead,
        assigned_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
        planned_start: job.planned_start,
        planned_end: job.planned_end,
    };
    write::create::<CrewMember, _>(tx, caller, row, CrewAssigned::of).await?;
    notices::tell(tx, caller, &job, &[user], NotificationKind::JobAssigned).await?;
    notices::plan(tx, &job).await?;
    Ok(job)
}

#[derive(Default)]
pub struct CrewMutation;

#[Object]
impl CrewMutation {
    /// Takes a crew member off a job that is not finished; answers the job with its crew.
    #[graphql(directive = Require::apply(CREW_ASSIGN))]
    async fn unassign_crew(
        &self,
        ctx: &Context<'_>,
        input: UnassignCrewInput,
    ) -> async_graphql::Result<JobPayload> {
        let caller = ctx.caller()?;
        let id = CrewMemberId::from_input(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let member = aggregate::find_in::<CrewMember>(tx, caller, CREW_ASSIGN, id).await?;
                let job = aggregate::find_in::<Job>(tx, caller, CREW_ASSIGN, member.job_id).await?;
                open(&job)?;
                db_run!(tx, |c| diesel::delete(
                    job_crew::table
                        .filter(job_crew::tenant_id.eq(caller.tenant_id))
                        .filter(job_crew::id.eq(id))
                )
                .execute(c)
                .await)?;
                audit::record_event(tx, caller, &CrewUnassigned::of(&member), None).await?;
                if let Some(user) = member.user_id {
                    notices::tell(tx, caller, &job, &[user], NotificationKind::JobUnassigned)
                        .await?;
                    notices::drop(tx, &job, Some(user)).await?;
                }
                Ok(job)
            })
            .await;
        JobPayload::of(outcome)
    }
}

/// A finished job's crew stays as it worked.
fn open(job: &JobRow) -> Result<(), Rejection> {
    if finished(job.status) {
        return Err(Rejection::invalid(
            "input.jobId",
            UserErrorCode::InvalidState,
            format!("a {} job's crew cannot change", job.status.as_str()),
        ));
    }
    Ok(())
}

/// A job's crew as stored.
async fn members(tx: &mut Conn<'_>, job: &JobRow) -> Result<Vec<CrewMemberRow>, Error> {
    Ok(db_run!(tx, |c| job_crew::table
        .filter(job_crew::tenant_id.eq(job.tenant_id))
        .filter(job_crew::job_id.eq(job.id))
        .select(CrewMemberRow::as_select())
        .load(c)
        .await)?)
}
