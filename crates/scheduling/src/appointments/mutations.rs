//! Changing appointments: `scheduleAppointment` and `moveAppointment` (against the attendee's
//! availability, every occurrence of a series judged), `completeAppointment` (raising the
//! follow-up configured for its kind, in the same transaction: once) and `cancelAppointment`.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use switchyard_kernel::batch::Member;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::{Aggregate, aggregate};
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Rejection, RowScope, UserErrorCode, UserId, time,
    write,
};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_sales::Customer;
use switchyard_sales::customers::CustomerId;

use super::recurrence::Series;
use super::{
    Appointment, AppointmentCancelled, AppointmentCompleted, AppointmentId, AppointmentKind,
    AppointmentMoved, AppointmentRow, AppointmentScheduled, AppointmentStatus,
};
use crate::permissions::APPOINTMENT_MANAGE;
use crate::staffing::{Entry, OverrideInput, Planning, ScheduleConflict, conflicts, settle};

/// The longest occurrence.
const MAX_HOURS: i64 = 24;

/// An appointment to schedule.
#[derive(InputObject)]
pub struct ScheduleAppointmentInput {
    pub kind: AppointmentKind,
    pub title: String,
    /// Where; its time zone is the one a series repeats in (UTC without one).
    pub location_id: Option<ID>,
    /// Who attends (checked for availability).
    pub user_id: Option<ID>,
    /// The customer it is about.
    pub customer_id: Option<ID>,
    /// The job it prepares.
    pub job_id: Option<ID>,
    pub starts_at: DateTime<Utc>,
    /// At most 24 hours after `startsAt`.
    pub ends_at: DateTime<Utc>,
    /// An RFC 5545 RRULE that ends (`COUNT` or `UNTIL`), e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub recurrence: Option<String>,
    #[graphql(default)]
    pub notes: String,
    /// Schedule despite the attendee's conflicts (needs `scheduling.conflict:override`).
    pub r#override: Option<OverrideInput>,
}

/// An appointment's new time (a series moves as a whole).
#[derive(InputObject)]
pub struct MoveAppointmentInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Move despite the attendee's conflicts (needs `scheduling.conflict:override`).
    pub r#override: Option<OverrideInput>,
}

/// An appointment to complete or cancel.
#[derive(InputObject)]
pub struct CloseAppointmentInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    /// Added to its notes.
    pub note: Option<String>,
}

switchyard_kernel::payload!(
    /// The result of an appointment mutation.
    AppointmentPayload {
        appointment: Appointment,
        /// Every reason the attendee is not available then (refused unless overridden).
        conflicts: Vec<ScheduleConflict>,
    }
);

fn answer(
    outcome: Result<AppointmentRow, Rejection>,
    found: Vec<ScheduleConflict>,
) -> async_graphql::Result<AppointmentPayload> {
    match outcome {
        Ok(row) => Ok(AppointmentPayload {
            appointment: Some(Appointment::node(Member::one(row))),
            conflicts: Some(found),
            user_errors: Vec::new(),
        }),
        Err(Rejection::Invalid(user_errors)) => Ok(AppointmentPayload {
            appointment: None,
            conflicts: Some(found),
            user_errors,
        }),
        Err(Rejection::Failed(error)) => Err(error.into()),
    }
}

/// The series of a window and rule in a zone, or the user errors naming the fields (a bad
/// rule under `rule_path`).
fn series(
    check: &mut Check,
    rule_path: &str,
    rule: Option<&str>,
    (start, end): (NaiveDateTime, NaiveDateTime),
    zone: &str,
) -> Option<Series> {
    if end <= start {
        check.add(
            "input.endsAt",
            UserErrorCode::OutOfRange,
            "must be after startsAt",
        );
        return None;
    }
    if end - start > Duration::hours(MAX_HOURS) {
        check.add(
            "input.endsAt",
            UserErrorCode::OutOfRange,
            format!("an occurrence lasts at most {MAX_HOURS} hours"),
        );
        return None;
    }
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    match Series::new(rule, start, end - start, tz) {
        Ok(series) => Some(series),
        Err(why) => {
            check.add(
                rule_path,
                UserErrorCode::InvalidFormat,
                format!("the rule {why}"),
            );
            None
        }
    }
}

/// Refuses an appointment that is no longer SCHEDULED.
fn still_scheduled(row: &AppointmentRow) -> Result<(), Rejection> {
    if row.status != AppointmentStatus::Scheduled {
        return Err(Rejection::invalid(
            "input.id",
            UserErrorCode::InvalidTransition,
            format!(
                "the appointment is {}; only a SCHEDULED one changes",
                row.status.as_str()
            ),
        ));
    }
    Ok(())
}

/// The attendee's conflicts with every occurrence, refused unless overridden.
async fn availability(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &AppointmentRow,
    series: &Series,
    override_: Option<&OverrideInput>,
    found: &mut Vec<ScheduleConflict>,
) -> Result<(), Rejection> {
    let Some(user) = row.user_id else {
        return Ok(());
    };
    let week = crate::staffing::week_at(tx, caller, row.location_id).await?;
    let planning = Planning {
        appointment: Some(row.id),
        ..Planning::default()
    };
    let windows = series.occurrences();
    *found = conflicts(tx, caller, user, planning, &windows, week.as_ref()).await?;
    settle(tx, caller, Entry::Appointment(row.id), found, override_).await
}

#[derive(Default)]
pub struct AppointmentMutation;

#[Object]
impl AppointmentMutation {
    /// Schedules an appointment, once or recurring, if its attendee is free for every
    /// occurrence (no job, appointment or time off in the way, within working hours):
    /// otherwise `userErrors` and `conflicts` list every reason, unless overridden.
    #[graphql(directive = Require::apply(APPOINTMENT_MANAGE))]
    async fn schedule_appointment(
        &self,
        ctx: &Context<'_>,
        input: ScheduleAppointmentInput,
    ) -> async_graphql::Result<AppointmentPayload> {
        let caller = ctx.caller()?;
        let location = LocationId::from_optional(input.location_id.as_ref())?;
        let user = UserId::from_optional(input.user_id.as_ref())?;
        let customer = CustomerId::from_optional(input.customer_id.as_ref())?;
        let job = JobId::from_optional(input.job_id.as_ref())?;
        let window = (time::naive(input.starts_at), time::naive(input.ends_at));
        let title = input.title.trim().to_owned();
        let notes = input.notes.trim().to_owned();
        let rule = input
            .recurrence
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let mut found = Vec::new();
        let outcome = ctx
            .mutate(async |tx| {
                let tenant = caller.tenant_id;
                let mut check = Check::new();
                check
                    .text("input.title", &title, 200)
                    .max_len("input.notes", &notes, 5000);
                let zone = references(tx, caller, &mut check, location, user, customer, job).await?;
                let series = series(&mut check, "input.recurrence", rule, window, &zone);
                check.finish()?;
                let Some(series) = series else {
                    return Err(Error::internal(anyhow::anyhow!("no series after checks")).into());
                };
                let now = time::now();
                let row = AppointmentRow {
                    id: AppointmentId::new(),
                    tenant_id: tenant,
                    kind: input.kind,
                    title: title.clone(),
                    location_id: location,
                    user_id: user,
                    customer_id: customer,
                    job_id: job,
                    starts_at: window.0,
                    ends_at: window.1,
                    recurrence: rule.map(|r| r.strip_prefix("RRULE:").unwrap_or(r).to_owned()),
                    time_zone: zone,
                    series_ends_at: series.ends(),
                    status: AppointmentStatus::Scheduled,
                    notes: notes.clone(),
                    follow_up_task_id: None,
                    completed_at: None,
                    cancelled_at: None,
                    created_by: caller.user_id(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                availability(tx, caller, &row, &series, input.r#override.as_ref(), &mut found)
                    .await?;
                if !may_plan(tx, caller, row.user_id, row.location_id).await? {
                    return Err(Rejection::invalid(
                        "input.userId",
                        UserErrorCode::NotAllowed,
                        "you schedule your own appointments, or those of the people and locations you plan for",
                    ));
                }
                let row =
                    write::create::<Appointment, _>(tx, caller, row, AppointmentScheduled::of)
                        .await?;
                super::notices::changed(tx, caller, &row, "scheduled").await?;
                Ok(row)
            })
            .await;
        answer(outcome, found)
    }

    /// Moves an appointment (a series moves as a whole: its rule repeats from the new start),
    /// if its attendee is free; otherwise `userErrors` and `conflicts`, unless overridden.
    #[graphql(directive = Require::apply(APPOINTMENT_MANAGE))]
    async fn move_appointment(
        &self,
        ctx: &Context<'_>,
        input: MoveAppointmentInput,
    ) -> async_graphql::Result<AppointmentPayload> {
        let caller = ctx.caller()?;
        let id = AppointmentId::from_input(&input.id)?;
        let window = (time::naive(input.starts_at), time::naive(input.ends_at));
        let mut found = Vec::new();
        let outcome = ctx
            .mutate(async |tx| {
                let before =
                    aggregate::find_in::<Appointment>(tx, caller, APPOINTMENT_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                still_scheduled(&before)?;
                let mut check = Check::new();
                let series = series(
                    &mut check,
                    "input.startsAt",
                    before.recurrence.as_deref(),
                    window,
                    &before.time_zone,
                );
                check.finish()?;
                let Some(series) = series else {
                    return Err(Error::internal(anyhow::anyhow!("no series after checks")).into());
                };
                let row = AppointmentRow {
                    starts_at: window.0,
                    ends_at: window.1,
                    series_ends_at: series.ends(),
                    ..before.clone()
                };
                availability(
                    tx,
                    caller,
                    &row,
                    &series,
                    input.r#override.as_ref(),
                    &mut found,
                )
                .await?;
                let row =
                    write::update::<Appointment, _>(tx, caller, &before, row, AppointmentMoved::of)
                        .await?;
                super::notices::changed(tx, caller, &row, "moved").await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        answer(outcome, found)
    }

    /// Marks an appointment COMPLETED; raises the follow-up task configured for its kind
    /// (`setAppointmentFollowUp`) about its customer, in the same transaction.
    #[graphql(directive = Require::apply(APPOINTMENT_MANAGE))]
    async fn complete_appointment(
        &self,
        ctx: &Context<'_>,
        input: CloseAppointmentInput,
    ) -> async_graphql::Result<AppointmentPayload> {
        close(ctx, input, AppointmentStatus::Completed).await
    }

    /// Calls an appointment off (a series as a whole).
    #[graphql(directive = Require::apply(APPOINTMENT_MANAGE))]
    async fn cancel_appointment(
        &self,
        ctx: &Context<'_>,
        input: CloseAppointmentInput,
    ) -> async_graphql::Result<AppointmentPayload> {
        close(ctx, input, AppointmentStatus::Cancelled).await
    }
}

/// Completes or cancels an appointment.
async fn close(
    ctx: &Context<'_>,
    input: CloseAppointmentInput,
    status: AppointmentStatus,
) -> async_graphql::Result<AppointmentPayload> {
    let caller = ctx.caller()?;
    let id = AppointmentId::from_input(&input.id)?;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let outcome = ctx
        .mutate(async |tx| {
            let before =
                aggregate::find_in::<Appointment>(tx, caller, APPOINTMENT_MANAGE, id).await?;
            check_version(input.expected_version, before.version)?;
            still_scheduled(&before)?;
            let mut check = Check::new();
            check.max_len("input.note", note.unwrap_or(""), 5000);
            check.finish()?;
            let now = time::now();
            let mut row = AppointmentRow {
                status,
                ..before.clone()
            };
            if let Some(note) = note {
                row.notes = if row.notes.is_empty() {
                    note.to_owned()
                } else {
                    format!("{}\n{note}", row.notes)
                };
            }
            if status == AppointmentStatus::Completed {
                row.completed_at = Some(now);
                row.follow_up_task_id = super::follow_ups::raise(tx, caller, &before, now).await?;
                let row = write::update::<Appointment, _>(
                    tx,
                    caller,
                    &before,
                    row,
                    AppointmentCompleted::of,
                )
                .await?;
                super::notices::changed(tx, caller, &row, "completed").await?;
                Ok::<_, Rejection>(row)
            } else {
                row.cancelled_at = Some(now);
                let row = write::update::<Appointment, _>(
                    tx,
                    caller,
                    &before,
                    row,
                    AppointmentCancelled::of,
                )
                .await?;
                super::notices::changed(tx, caller, &row, "cancelled").await?;
                Ok(row)
            }
        })
        .await;
    answer(outcome, Vec::new())
}

/// Whether `caller` plans for this attendee and place: its own at `own`; at `location`, also
/// the people and places of its locations; anyone's at `tenant`.
async fn may_plan(
    tx: &mut Conn<'_>,
    caller: &Caller,
    user: Option<UserId>,
    location: Option<LocationId>,
) -> Result<bool, Error> {
    Ok(match caller.row_scope(APPOINTMENT_MANAGE)? {
        RowScope::Tenant => true,
        RowScope::Own(me) => user == Some(me),
        RowScope::Location {
            user: me,
            locations,
        } => {
            user == Some(me)
                || location.is_some_and(|l| locations.contains(&l))
                || match user {
                    Some(user) => {
                        switchyard_identity::locations::works_at(
                            tx,
                            caller.tenant_id,
                            user,
                            &locations,
                        )
                        .await?
                    }
                    None => false,
                }
        }
    })
}

/// Checks the references of a new appointment (each must exist and be the caller's to see);
/// answers the zone a series repeats in.
async fn references(
    tx: &mut Conn<'_>,
    caller: &Caller,
    check: &mut Check,
    location: Option<LocationId>,
    user: Option<UserId>,
    customer: Option<CustomerId>,
    job: Option<JobId>,
) -> Result<String, Error> {
    let tenant = caller.tenant_id;
    let mut zone = "UTC".to_owned();
    if let Some(location) = location {
        match switchyard_identity::locations::time_zone(tx, tenant, location).await {
            Ok(found) => zone = found,
            Err(Error::NotFound) => {
                check.add(
                    "input.locationId",
                    UserErrorCode::UnknownReference,
                    "no such location",
                );
            }
            Err(other) => return Err(other),
        }
    }
    if let Some(user) = user
        && !switchyard_identity::users::is_active_staff(tx, tenant, user).await?
    {
        check.add(
            "input.userId",
            UserErrorCode::UnknownReference,
            "no active staff member with this ID",
        );
    }
    if let Some(customer) = customer {
        let seen =
            aggregate::find_in::<Customer>(tx, caller, <Customer as Aggregate>::READ, customer)
                .await;
        if matches!(seen, Err(Error::NotFound | Error::Forbidden(_))) {
            check.add(
                "input.customerId",
                UserErrorCode::UnknownReference,
                "no customer you may see has this ID",
            );
        } else {
            seen?;
        }
    }
    if let Some(job) = job {
        let seen = aggregate::find_in::<Job>(tx, caller, <Job as Aggregate>::READ, job).await;
        if matches!(seen, Err(Error::NotFound | Error::Forbidden(_))) {
            check.add(
                "input.jobId",
                UserErrorCode::UnknownReference,
                "no job you may see has this ID",
            );
        } else {
            seen?;
        }
    }
    Ok(zone)
}
