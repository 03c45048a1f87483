//! Changing jobs: the rules a job is stored by (`createJob`, `updateJob`, declared on [`Job`])
//! and its steps through the day: `dispatchJob`, `startJob`, `completeJob`, `cancelJob`.

use async_graphql::{Context, ID, InputObject, Object};
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, RowScope, UserErrorCode, payload, time, write,
};
use switchyard_sales::permissions::CUSTOMER_READ;

use super::events::{
    JobCancelled, JobCompleted, JobDispatched, JobRelocated, JobRescheduled, JobStarted,
};
use super::{Job, JobId, JobRow, JobStatus};
use crate::crew::notices;
use crate::permissions::{JOB_MANAGE, JOB_WORK};
use switchyard_notifications::NotificationKind;

payload!(
    /// The result of a job mutation.
    JobPayload { job: Job } from row
);

/// The longest a job may be planned or recorded to take: two weeks, in minutes.
const MAX_MINUTES: i32 = 14 * 24 * 60;
/// The longest planned window of a job: a move of several days fits, and a person's jobs around
/// a time are found within this many days before it (see `crew::busy`).
pub const MAX_WINDOW_DAYS: i64 = 14;

/// The rules of a job as it is to be stored. A new one is for an active customer the caller
/// may see, in a location the caller manages; a finished one is not changed any more.
pub(crate) async fn check(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &JobRow,
    before: Option<&JobRow>,
) -> Result<(), Rejection> {
    match before {
        None => {
            switchyard_sales::customers::contact_for(
                tx,
                caller,
                CUSTOMER_READ,
                row.customer_id,
                "input.customerId",
            )
            .await?;
        }
        Some(before) if finished(before.status) => {
            return Err(Rejection::invalid(
                "input.id",
                UserErrorCode::InvalidState,
                format!("a {} job cannot be changed", before.status.as_str()),
            ));
        }
        Some(_) => {}
    }
    if before.is_none_or(|b| b.location_id != row.location_id) {
        in_managed_location(tx, caller, row).await?;
        if let Some(before) = before {
            let moved = JobRelocated {
                job_id: row.id,
                from: before.location_id,
                to: row.location_id,
            };
            // The update itself is audited; this only tells the calendar it left.
            switchyard_kernel::events::emit(tx, caller, &moved).await?;
        }
    }
    let mut check = Check::new();
    if before.is_none() && row.origin.is_none() {
        check.add(
            "input.origin",
            UserErrorCode::Required,
            "where the work starts is required",
        );
    }
    check
        .max_len(
            "input.contactName",
            row.contact_name.as_deref().unwrap_or(""),
            200,
        )
        .max_len("input.origin", row.origin.as_deref().unwrap_or(""), 500)
        .max_len(
            "input.destination",
            row.destination.as_deref().unwrap_or(""),
            500,
        )
        .max_len("input.notes", &row.notes, 10_000);
    if let Some(phone) = &row.on_site_phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
        if phone.len() > 40 || digits < 5 || !phone.chars().all(allowed) {
            check.add(
                "input.onSitePhone",
                UserErrorCode::InvalidFormat,
                "must be a phone number: digits, spaces, + - ( ) and at most 40 characters",
            );
        }
    }
    match (row.planned_start, row.planned_end) {
        (Some(start), Some(end)) if end <= start => {
            check.add(
                "input.plannedEnd",
                UserErrorCode::OutOfRange,
                "the window must end after it starts",
            );
        }
        (Some(start), Some(end)) if end - start > chrono::Duration::days(MAX_WINDOW_DAYS) => {
            check.add(
                "input.plannedEnd",
                UserErrorCode::OutOfRange,
                format!("a job's window lasts at most {MAX_WINDOW_DAYS} days"),
            );
        }
        (Some(_), None) => {
            check.add(
                "input.plannedEnd",
                UserErrorCode::Required,
                "a planned start needs a planned end",
            );
        }
        (None, Some(_)) => {
            check.add(
                "input.plannedStart",
                UserErrorCode::Required,
                "a planned end needs a planned start",
            );
        }
        _ => {}
    }
    if let Some(minutes) = row.estimated_minutes {
        check.within("input.estimatedMinutes", minutes, 1..=MAX_MINUTES);
    }
    if let Some(size) = row.crew_size {
        check.within("input.crewSize", size, 1..=50);
    }
    check.finish()
}

/// A job's location must exist, and a caller who manages jobs in some locations only may put
/// a job only in one of them.
async fn in_managed_location(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &JobRow,
) -> Result<(), Rejection> {
    let field = "input.locationId";
    let scope = caller.row_scope(JOB_MANAGE)?;
    let Some(location) = row.location_id else {
        return match scope {
            RowScope::Tenant => Ok(()),
            _ => Err(Rejection::invalid(
                field,
                UserErrorCode::Required,
                "name one of your locations for the job",
            )),
        };
    };
    if !switchyard_identity::locations::exists(tx, caller.tenant_id, location).await? {
        return Err(Error::NotFound.into());
    }
    match scope {
        RowScope::Location { locations, .. } if !locations.contains(&location) => {
            Err(Rejection::invalid(
                field,
                UserErrorCode::NotAllowed,
                "you manage jobs in your own locations only",
            ))
        }
        RowScope::Own(_) => Err(Rejection::invalid(
            field,
            UserErrorCode::NotAllowed,
            "you manage jobs in your own locations only",
        )),
        _ => Ok(()),
    }
}

/// Plans or moves the window of `before` (an unfinished job read by the caller with
/// `operations.job:manage`, in this transaction), from the version the caller saw. Whether
/// its crew is free then is scheduling's to judge first (`rescheduleJob`).
pub async fn reschedule(
    tx: &mut Conn<'_>,
    caller: &Caller,
    before: &JobRow,
    expected: Option<i32>,
    start: chrono::NaiveDateTime,
    end: chrono::NaiveDateTime,
) -> Result<JobRow, Rejection> {
    check_version(expected, before.version)?;
    let row = JobRow {
        planned_start: Some(start),
        planned_end: Some(end),
        ..before.clone()
    };
    check(tx, caller, &row, Some(before)).await?;
    let row = write::update::<Job, _>(tx, caller, before, row, JobRescheduled::of).await?;
    crate::crew::follow_window(
        tx,
        caller.tenant_id,
        row.id,
        row.planned_start,
        row.planned_end,
    )
    .await?;
    if (row.planned_start, row.planned_end) != (before.planned_start, before.planned_end) {
        let crew = crate::crew::people(tx, caller.tenant_id, row.id).await?;
        notices::tell(tx, caller, &row, &crew, NotificationKind::JobRescheduled).await?;
        notices::plan(tx, &row).await?;
    }
    Ok(row)
}

/// After `createJob` and `updateJob`, in their transaction: a new job's reminders are planned
/// (its customer's; a crew comes later), and they are planned again when what they say
/// changes (its addresses, or its location, whose time zone tells their times).
pub(crate) async fn then(
    tx: &mut Conn<'_>,
    _caller: &Caller,
    before: Option<&JobRow>,
    row: &JobRow,
) -> Result<(), Rejection> {
    // What the reminders say: the addresses and contact they name, the location whose time
    // zone tells their times.
    let named = |job: &JobRow| {
        (
            job.origin.clone(),
            job.destination.clone(),
            job.contact_name.clone(),
            job.location_id,
        )
    };
    if before.is_none_or(|before| named(before) != named(row)) {
        notices::plan(tx, row).await?;
    }
    Ok(())
}

/// Whether a job is done with (completed or cancelled).
pub(crate) fn finished(status: JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Cancelled)
}

/// A job and the version the caller saw.
#[derive(InputObject)]
pub struct JobActionInput {
    pub id: ID,
    /// The version you last saw; the change is refused (CONFLICT) if the job changed since.
    pub expected_version: Option<i32>,
}

/// Completing a job.
#[derive(InputObject)]
pub struct CompleteJobInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    /// How long the work took, in minutes.
    pub actual_minutes: i32,
}

/// Calling a job off.
#[derive(InputObject)]
pub struct CancelJobInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    /// Why, for the record.
    pub reason: Option<String>,
}

/// A job's way through the day.
#[derive(Default)]
pub struct JobProgressMutation;

#[Object]
impl JobProgressMutation {
    /// Sends the crew out: a SCHEDULED job with a planned window and at least one crew
    /// member becomes DISPATCHED.
    #[graphql(directive = Require::apply(JOB_MANAGE))]
    async fn dispatch_job(
        &self,
        ctx: &Context<'_>,
        input: JobActionInput,
    ) -> async_graphql::Result<JobPayload> {
        let step = Step::new(JOB_MANAGE, JobStatus::Dispatched);
        act(ctx, &input.id, input.expected_version, step).await
    }

    /// Starts the work on site: a SCHEDULED or DISPATCHED job becomes IN_PROGRESS.
    #[graphql(directive = Require::apply(JOB_WORK))]
    async fn start_job(
        &self,
        ctx: &Context<'_>,
        input: JobActionInput,
    ) -> async_graphql::Result<JobPayload> {
        let step = Step::new(JOB_WORK, JobStatus::InProgress);
        act(ctx, &input.id, input.expected_version, step).await
    }

    /// Completes a job IN_PROGRESS with the minutes it took. Emits `operations.job.completed`
    /// (JobCompleted), from which finance drafts the invoice.
    #[graphql(directive = Require::apply(JOB_WORK))]
    async fn complete_job(
        &self,
        ctx: &Context<'_>,
        input: CompleteJobInput,
    ) -> async_graphql::Result<JobPayload> {
        let step = Step {
            minutes: Some(input.actual_minutes),
            ..Step::new(JOB_WORK, JobStatus::Completed)
        };
        act(ctx, &input.id, input.expected_version, step).await
    }

    /// Calls off a job that is not finished.
    #[graphql(directive = Require::apply(JOB_MANAGE))]
    async fn cancel_job(
        &self,
        ctx: &Context<'_>,
        input: CancelJobInput,
    ) -> async_graphql::Result<JobPayload> {
        let reason = input.reason.map(|r| r.trim().to_owned());
        let step = Step {
            reason: reason.filter(|r| !r.is_empty()),
            ..Step::new(JOB_MANAGE, JobStatus::Cancelled)
        };
        act(ctx, &input.id, input.expected_version, step).await
    }
}

/// One step of a job: the permission it takes, where it leads, and what it records.
pub(crate) struct Step {
    pub(crate) permission: &'static str,
    pub(crate) to: JobStatus,
    pub(crate) minutes: Option<i32>,
    pub(crate) reason: Option<String>,
}

impl Step {
    pub(crate) fn new(permission: &'static str, to: JobStatus) -> Self {
        Step {
            permission,
            to,
            minutes: None,
            reason: None,
        }
    }

    /// The states a job may take this step from.
    fn from(&self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self.to {
            Dispatched => &[Scheduled],
            InProgress => &[Scheduled, Dispatched],
            Completed => &[InProgress],
            Cancelled => &[Scheduled, Dispatched, InProgress],
            Scheduled => &[],
        }
    }

    /// The job after this step, or why it cannot be taken.
    fn apply(&self, before: &JobRow, crew: i64) -> Result<JobRow, Rejection> {
        let allowed = self.from();
        if !allowed.contains(&before.status) {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            return Err(Rejection::invalid(
                "input.id",
                UserErrorCode::InvalidTransition,
                format!(
                    "a {} job cannot become {}; only a job that is {} can",
                    before.status.as_str(),
                    self.to.as_str(),
                    names.join(" or ")
                ),
            ));
        }
        let mut check = Check::new();
        if self.to == JobStatus::Dispatched {
            if before.planned_start.is_none() {
                check.add(
                    "input.id",
                    UserErrorCode::PreconditionFailed,
                    "plan the job's window before dispatching it",
                );
            }
            if crew == 0 {
                check.add(
                    "input.id",
                    UserErrorCode::PreconditionFailed,
                    "assign crew before dispatching the job",
                );
            }
        }
        if let Some(minutes) = self.minutes {
            check.within("input.actualMinutes", minutes, 1..=MAX_MINUTES);
        }
        check.max_len(
            "input.reason",
            self.reason.as_deref().unwrap_or_default(),
            1000,
        );
        check.finish()?;
        let now = Some(time::now());
        let mut row = JobRow {
            status: self.to,
            ..before.clone()
        };
        match self.to {
            JobStatus::Dispatched => row.dispatched_at = now,
            JobStatus::InProgress => row.started_at = now,
            JobStatus::Completed => {
                (row.completed_at, row.actual_minutes) = (now, self.minutes);
            }
            JobStatus::Cancelled => {
                (row.cancelled_at, row.cancel_reason) = (now, self.reason.clone());
            }
            JobStatus::Scheduled => {}
        }
        Ok(row)
    }
}

async fn act(
    ctx: &Context<'_>,
    id: &ID,
    expected: Option<i32>,
    step: Step,
) -> async_graphql::Result<JobPayload> {
    let caller = ctx.caller()?;
    let id = JobId::parse(id)?;
    let outcome = ctx
        .mutate(async |tx| {
            let before = aggregate::find_in::<Job>(tx, caller, step.permission, id).await?;
            check_version(expected, before.version)?;
            take(tx, caller, &before, &step).await
        })
        .await;
    JobPayload::of(outcome)
}

/// Takes `step` from `before` and stores the job with the step's event.
pub(crate) async fn take(
    tx: &mut Conn<'_>,
    caller: &Caller,
    before: &JobRow,
    step: &Step,
) -> Result<JobRow, Rejection> {
    let crew = crate::crew::count(tx, caller.tenant_id, before.id).await?;
    let row = step.apply(before, crew)?;
    Ok(match step.to {
        JobStatus::Dispatched => {
            write::update::<Job, _>(tx, caller, before, row, JobDispatched::of).await?
        }
        JobStatus::InProgress => {
            let row = write::update::<Job, _>(tx, caller, before, row, JobStarted::of).await?;
            // Work has begun: what was left to remind of is dropped.
            notices::plan(tx, &row).await?;
            row
        }
        JobStatus::Completed => {
            write::update::<Job, _>(tx, caller, before, row, JobCompleted::of).await?
        }
        JobStatus::Cancelled | JobStatus::Scheduled => {
            let row = write::update::<Job, _>(tx, caller, before, row, JobCancelled::of).await?;
            if row.status == JobStatus::Cancelled {
                let crew = crate::crew::people(tx, caller.tenant_id, row.id).await?;
                notices::tell(tx, caller, &row, &crew, NotificationKind::JobCancelled).await?;
                notices::drop(tx, &row, None).await?;
            }
            row
        }
    })
}
