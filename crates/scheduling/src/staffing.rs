//! Staffing and planning jobs against people's availability: `assignCrew` and
//! `rescheduleJob` refuse double bookings, time off and work outside the location's working
//! hours, listing every conflict; a holder of `scheduling.conflict:override` may go ahead with
//! a reason, which is kept with who gave it.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::batch::Member;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::{Aggregate, aggregate};
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Rejection, UserError, UserErrorCode, UserId,
    audit, db_run, time,
};
use switchyard_operations::Job;
use switchyard_operations::jobs::{JobId, JobRow};
use switchyard_operations::permissions::{CREW_ASSIGN, JOB_MANAGE};

use crate::appointments::AppointmentId;
use crate::appointments::recurrence::Series;
use crate::hours::Week;
use crate::permissions::CONFLICT_OVERRIDE;
use crate::schema::schedule_overrides;
use crate::time_off::TimeOffId;
use switchyard_kernel::db::sql::Sql;
use switchyard_operations::crew::BusyRow;

switchyard_kernel::text_enum! {
    /// Why a person is not available.
    pub enum ConflictKind {
        /// On another job's crew at that time.
        DoubleBooked = "DOUBLE_BOOKED",
        /// Away (vacation, sickness...).
        TimeOff = "TIME_OFF",
        /// Outside the location's working hours.
        OutsideWorkingHours = "OUTSIDE_WORKING_HOURS",
    }
}

/// One reason a person is not available for a job's window.
#[derive(SimpleObject, Clone, serde::Serialize, serde::Deserialize, PartialEq, Debug)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
#[serde(rename_all = "camelCase")]
pub struct ScheduleConflict {
    pub kind: ConflictKind,
    /// Who (a user's ID).
    pub user_id: ID,
    /// The entry in the way (a job's or a time off's ID), if any.
    pub entry_id: Option<ID>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub message: String,
}

/// Going ahead despite conflicts.
#[derive(InputObject)]
pub struct OverrideInput {
    /// Why, for the record.
    pub reason: String,
}

/// A person to put on a job's crew.
#[derive(InputObject)]
pub struct AssignCrewInput {
    pub job_id: ID,
    /// A staff user holding the crew role.
    pub user_id: ID,
    /// Makes them the crew's lead (the lead before stays on the crew).
    #[graphql(default)]
    pub lead: bool,
    /// Assign despite conflicts (needs `scheduling.conflict:override`).
    pub r#override: Option<OverrideInput>,
}

/// A job's new window.
#[derive(InputObject)]
pub struct RescheduleJobInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub planned_start: DateTime<Utc>,
    pub planned_end: DateTime<Utc>,
    /// Move it despite its crew's conflicts (needs `scheduling.conflict:override`).
    pub r#override: Option<OverrideInput>,
}

switchyard_kernel::payload!(
    /// The result of staffing or planning a job.
    StaffingPayload {
        job: Job,
        /// Every reason the people are not available then (refused unless overridden).
        conflicts: Vec<ScheduleConflict>,
    }
);

/// What is being planned, so that it is not in its own way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Planning {
    pub job: Option<JobId>,
    pub appointment: Option<AppointmentId>,
}

/// The working week of a location, if the work is at one (two statements, once per plan).
pub async fn week_at(
    tx: &mut Conn<'_>,
    caller: &Caller,
    location: Option<LocationId>,
) -> Result<Option<Week>, Error> {
    match location {
        Some(location) => Ok(Some(
            Week::of_location(tx, caller.tenant_id, location).await?,
        )),
        None => Ok(None),
    }
}

/// Why `user` is not available for each of `windows` (UTC; a job's one window, or every
/// occurrence of an appointment's series): ONE statement whatever the number of windows, a
/// `UNION ALL` of four index ranges over the windows' span (the person's unfinished jobs,
/// `operations::crew::push_busy`; their scheduled appointments; their time off; their own
/// working week), judged in memory (series expanded). Working hours are the person's own week
/// where they have one, else `week` (the location's, read once per plan).
pub async fn conflicts(
    tx: &mut Conn<'_>,
    caller: &Caller,
    user: UserId,
    planning: Planning,
    windows: &[(NaiveDateTime, NaiveDateTime)],
    week: Option<&Week>,
) -> Result<Vec<ScheduleConflict>, Error> {
    let (Some(span_from), Some(span_to)) = (
        windows.iter().map(|w| w.0).min(),
        windows.iter().map(|w| w.1).max(),
    ) else {
        return Ok(Vec::new());
    };
    let tenant = caller.tenant_id;
    let mut sql = Sql::new("");
    switchyard_operations::crew::push_busy(
        &mut sql,
        tenant,
        user,
        (span_from, span_to),
        planning.job,
    );
    sql.push(
        " UNION ALL SELECT 'APPOINTMENT', a.id, a.starts_at, a.ends_at, a.recurrence, a.time_zone \
         FROM appointments a WHERE a.tenant_id = ",
    )
    .bind(tenant.to_string())
    .push(" AND a.user_id = ")
    .bind(user.to_string())
    .push(" AND a.series_ends_at > ")
    .bind(span_from)
    .push(" AND a.starts_at < ")
    .bind(span_to)
    .push(" AND a.status = 'SCHEDULED' AND a.id <> ")
    .bind(
        planning
            .appointment
            .map(|a| a.to_string())
            .unwrap_or_default(),
    )
    .push(
        " UNION ALL SELECT 'TIME_OFF', o.id, o.starts_at, o.ends_at, o.kind, CAST(NULL AS TEXT) \
         FROM time_off o WHERE o.tenant_id = ",
    )
    .bind(tenant.to_string())
    .push(" AND o.user_id = ")
    .bind(user.to_string())
    .push(" AND o.starts_at < ")
    .bind(span_to)
    .push(" AND o.ends_at > ")
    .bind(span_from)
    .push(
        " UNION ALL SELECT 'HOURS', CAST(h.weekday AS TEXT), CAST(NULL AS TIMESTAMP), \
         CAST(NULL AS TIMESTAMP), h.starts, h.ends FROM user_working_hours h WHERE h.tenant_id = ",
    )
    .bind(tenant.to_string())
    .push(" AND h.user_id = ")
    .bind(user.to_string());
    let rows: Vec<BusyRow> = Sql::load(&sql, tx).await?;

    let who = user.to_global();
    let utc = |t: NaiveDateTime| Some(t.and_utc());
    let overlaps = |s: NaiveDateTime, e: NaiveDateTime| windows.iter().any(|w| s < w.1 && e > w.0);
    let mut found = Vec::new();
    let mut own_days = Vec::new();
    for row in &rows {
        let (Some(start), Some(end)) = (row.starts, row.ends) else {
            if row.kind == "HOURS" {
                own_days.push((
                    row.id.clone().unwrap_or_default(),
                    row.detail.clone().unwrap_or_default(),
                    row.zone.clone().unwrap_or_default(),
                ));
            }
            continue;
        };
        let id = row.id.clone().unwrap_or_default();
        let (kind, entry, spans, message): (
            ConflictKind,
            ID,
            Vec<(NaiveDateTime, NaiveDateTime)>,
            &str,
        ) = match row.kind.as_str() {
            "JOB" => {
                let Ok(job) = id.parse::<JobId>() else {
                    continue;
                };
                (
                    ConflictKind::DoubleBooked,
                    job.to_global(),
                    vec![(start, end)],
                    "on another job",
                )
            }
            "APPOINTMENT" => {
                let Ok(appointment) = id.parse::<AppointmentId>() else {
                    continue;
                };
                let zone = row
                    .zone
                    .as_deref()
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(chrono_tz::UTC);
                let series = Series::new(row.detail.as_deref(), start, end - start, zone)
                    .unwrap_or_else(|_| Series::once(start, end - start));
                (
                    ConflictKind::DoubleBooked,
                    appointment.to_global(),
                    series.within(span_from, span_to),
                    "at an appointment",
                )
            }
            _ => {
                let Ok(away) = id.parse::<TimeOffId>() else {
                    continue;
                };
                (
                    ConflictKind::TimeOff,
                    away.to_global(),
                    vec![(start, end)],
                    "",
                )
            }
        };
        for (s, e) in spans.into_iter().filter(|(s, e)| overlaps(*s, *e)) {
            let what = if message.is_empty() {
                row.detail.clone().unwrap_or_default().to_lowercase()
            } else {
                message.to_owned()
            };
            found.push(ScheduleConflict {
                kind,
                user_id: who.clone(),
                entry_id: Some(entry.clone()),
                starts_at: utc(s),
                ends_at: utc(e),
                message: format!(
                    "{what} from {} to {}",
                    s.and_utc().to_rfc3339(),
                    e.and_utc().to_rfc3339()
                ),
            });
        }
    }
    found.sort_by_key(|c| (c.kind as u8, c.starts_at));
    let own = Week::of_days(&own_days, week);
    if let Some(week) = own.as_ref().or(week) {
        for (from, to) in windows {
            if let Some(why) = week.outside(*from, *to) {
                let whose = if own.is_some() {
                    "their own"
                } else {
                    "the location's"
                };
                found.push(ScheduleConflict {
                    kind: ConflictKind::OutsideWorkingHours,
                    user_id: who.clone(),
                    entry_id: None,
                    starts_at: utc(*from),
                    ends_at: utc(*to),
                    message: format!("{why} ({whose} week)"),
                });
            }
        }
    }
    Ok(found)
}

/// What an override is kept against.
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    Job(JobId),
    Appointment(AppointmentId),
}

/// Refuses `found` unless the caller overrides with a reason and the right; an override is
/// recorded with who and why.
pub async fn settle(
    tx: &mut Conn<'_>,
    caller: &Caller,
    entry: Entry,
    found: &[ScheduleConflict],
    override_: Option<&OverrideInput>,
) -> Result<(), Rejection> {
    if found.is_empty() {
        return Ok(());
    }
    let Some(override_) = override_ else {
        return Err(Rejection::Invalid(
            found
                .iter()
                .map(|c| {
                    UserError::new(
                        "input.userId",
                        UserErrorCode::Unavailable,
                        format!(
                            "{} ({}): {}",
                            c.user_id.as_str(),
                            c.kind.as_str(),
                            c.message
                        ),
                    )
                })
                .collect(),
        ));
    };
    if caller.require(CONFLICT_OVERRIDE).is_err() {
        return Err(Rejection::invalid(
            "input.override",
            UserErrorCode::NotAllowed,
            "overriding conflicts needs scheduling.conflict:override",
        ));
    }
    let reason = override_.reason.trim();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(Rejection::invalid(
            "input.override.reason",
            UserErrorCode::Required,
            "say why, in at most 1000 characters",
        ));
    }
    let mut people: Vec<&ID> = found.iter().map(|c| &c.user_id).collect();
    people.dedup();
    for person in people {
        let user = UserId::from_input(person)?;
        let theirs: Vec<&ScheduleConflict> =
            found.iter().filter(|c| &c.user_id == person).collect();
        record(tx, caller, entry, user, &theirs, reason).await?;
    }
    Ok(())
}

/// Keeps an override: the conflicts, who and why (a row, and the event).
async fn record(
    tx: &mut Conn<'_>,
    caller: &Caller,
    entry: Entry,
    user: UserId,
    found: &[&ScheduleConflict],
    reason: &str,
) -> Result<(), Rejection> {
    let conflicts = serde_json::to_string(found).map_err(Error::internal)?;
    let (entry_id, entry_kind) = match entry {
        Entry::Job(job) => (job.to_string(), "JOB"),
        Entry::Appointment(appointment) => (appointment.to_string(), "APPOINTMENT"),
    };
    let row = (
        schedule_overrides::id.eq(uuid::Uuid::now_v7().to_string()),
        schedule_overrides::tenant_id.eq(caller.tenant_id),
        schedule_overrides::entry_id.eq(entry_id),
        schedule_overrides::entry_kind.eq(entry_kind),
        schedule_overrides::user_id.eq(user),
        schedule_overrides::conflicts.eq(&conflicts),
        schedule_overrides::reason.eq(reason),
        schedule_overrides::overridden_by.eq(caller.user_id()),
        schedule_overrides::created_at.eq(time::now()),
    );
    db_run!(tx, |c| diesel::insert_into(schedule_overrides::table)
        .values(row)
        .execute(c)
        .await)?;
    let conflicts: Vec<String> = found.iter().map(|c| c.message.clone()).collect();
    let reason = reason.to_owned();
    match entry {
        Entry::Job(job_id) => {
            let event = ConflictOverridden {
                job_id,
                user_id: user,
                conflicts,
                reason,
            };
            audit::record_event(tx, caller, &event, None).await?;
        }
        Entry::Appointment(appointment_id) => {
            let event = AppointmentConflictOverridden {
                appointment_id,
                user_id: user,
                conflicts,
                reason,
            };
            audit::record_event(tx, caller, &event, None).await?;
        }
    }
    Ok(())
}

switchyard_kernel::domain_event! {
    /// A planner staffed or planned a job despite a person's conflicts.
    pub struct ConflictOverridden = "scheduling.conflict.overridden" v 1 on "Job" by job_id {
        pub job_id: JobId,
        /// Whose conflicts.
        pub user_id: UserId,
        /// What was in the way.
        pub conflicts: Vec<String>,
        /// Why the planner went ahead.
        pub reason: String,
    }
}

switchyard_kernel::domain_event! {
    /// A planner scheduled or moved an appointment despite its attendee's conflicts.
    pub struct AppointmentConflictOverridden = "scheduling.appointment.conflict_overridden" v 1 on "Appointment" by appointment_id {
        pub appointment_id: AppointmentId,
        /// Whose conflicts.
        pub user_id: UserId,
        /// What was in the way.
        pub conflicts: Vec<String>,
        /// Why the planner went ahead.
        pub reason: String,
    }
}

#[derive(Default)]
pub struct StaffingMutation;

#[Object]
impl StaffingMutation {
    /// Puts a crew member on an unfinished job, if they are free for its window (not on
    /// another job, not away, within the location's working hours): otherwise `userErrors`
    /// and `conflicts` list every reason, unless overridden.
    #[graphql(directive = Require::apply(CREW_ASSIGN))]
    async fn assign_crew(
        &self,
        ctx: &Context<'_>,
        input: AssignCrewInput,
    ) -> async_graphql::Result<StaffingPayload> {
        let caller = ctx.caller()?;
        let job_id = JobId::from_input(&input.job_id)?;
        let user = UserId::from_input(&input.user_id)?;
        let mut found = Vec::new();
        let outcome = ctx
            .mutate(async |tx| {
                let job = aggregate::find_in::<Job>(tx, caller, CREW_ASSIGN, job_id).await?;
                if let (Some(from), Some(to)) = (job.planned_start, job.planned_end) {
                    let week = week_at(tx, caller, job.location_id).await?;
                    let planning = Planning {
                        job: Some(job_id),
                        ..Planning::default()
                    };
                    found =
                        conflicts(tx, caller, user, planning, &[(from, to)], week.as_ref()).await?;
                    let entry = Entry::Job(job_id);
                    settle(tx, caller, entry, &found, input.r#override.as_ref()).await?;
                }
                switchyard_operations::crew::mutations::assign(tx, caller, job, user, input.lead)
                    .await
            })
            .await;
        answer(outcome, found)
    }

    /// Plans or moves an unfinished job's window (the calendar entry moves with it), if its
    /// crew is free then; otherwise `userErrors` and `conflicts`, unless overridden.
    #[graphql(directive = Require::apply(JOB_MANAGE))]
    async fn reschedule_job(
        &self,
        ctx: &Context<'_>,
        input: RescheduleJobInput,
    ) -> async_graphql::Result<StaffingPayload> {
        let caller = ctx.caller()?;
        let id = JobId::from_input(&input.id)?;
        let (from, to) = (
            time::naive(input.planned_start),
            time::naive(input.planned_end),
        );
        let mut found = Vec::new();
        let outcome = ctx
            .mutate(async |tx| {
                let job = aggregate::find_in::<Job>(tx, caller, JOB_MANAGE, id).await?;
                if to > from {
                    let week = week_at(tx, caller, job.location_id).await?;
                    let planning = Planning {
                        job: Some(id),
                        ..Planning::default()
                    };
                    for user in
                        switchyard_operations::crew::people(tx, caller.tenant_id, id).await?
                    {
                        let theirs =
                            conflicts(tx, caller, user, planning, &[(from, to)], week.as_ref())
                                .await?;
                        found.extend(theirs);
                    }
                    let entry = Entry::Job(id);
                    settle(tx, caller, entry, &found, input.r#override.as_ref()).await?;
                }
                switchyard_operations::jobs::mutations::reschedule(
                    tx,
                    caller,
                    &job,
                    input.expected_version,
                    from,
                    to,
                )
                .await
            })
            .await;
        answer(outcome, found)
    }
}

fn answer(
    outcome: Result<JobRow, Rejection>,
    found: Vec<ScheduleConflict>,
) -> async_graphql::Result<StaffingPayload> {
    match outcome {
        Ok(job) => Ok(StaffingPayload {
            job: Some(Job::node(Member::one(job))),
            conflicts: Some(found),
            user_errors: Vec::new(),
        }),
        Err(Rejection::Invalid(user_errors)) => Ok(StaffingPayload {
            job: None,
            conflicts: Some(found),
            user_errors,
        }),
        Err(Rejection::Failed(error)) => Err(error.into()),
    }
}
