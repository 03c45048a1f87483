//! The calendar: everything in a time range for a location or a person, as the caller may see
//! it. Jobs come from their own planned window (no second copy that could drift: moving a
//! job's entry is `rescheduleJob`), appointments from their series (expanded in memory, one
//! entry per occurrence; moving one is `moveAppointment`), time off from its records. A fixed
//! number of statements whatever the number of entries: one each for the jobs, appointments
//! and time off, and one per relation the entries ask for (batched over all of them).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchyard_kernel::connection::Bounds;
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::list::Order;
use switchyard_kernel::read::{Expr, aggregate};
use switchyard_kernel::write::Settable;
use switchyard_kernel::{ContextExt, Error, LocationId, UserId, time};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobRow;
use switchyard_operations::permissions::JOB_READ;

use crate::appointments::{Appointment, AppointmentRow};
use crate::permissions::{APPOINTMENT_READ, TIME_OFF_READ};
use crate::time_off::{TimeOff, TimeOffRow};

switchyard_kernel::text_enum! {
    /// What a calendar entry is.
    pub enum CalendarEntryKind {
        Job = "JOB",
        /// One occurrence of an appointment (a series has one entry per occurrence).
        Appointment = "APPOINTMENT",
        TimeOff = "TIME_OFF",
    }
}

/// One entry on the calendar.
#[derive(SimpleObject)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct CalendarEntry {
    pub kind: CalendarEntryKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The job, for a JOB entry.
    pub job: Option<Job>,
    /// The appointment, for an APPOINTMENT entry (shown to those who may see it).
    pub appointment: Option<Appointment>,
    /// The time off, for a TIME_OFF entry (shown to those who may see it).
    pub time_off: Option<TimeOff>,
}

/// The longest range one calendar request covers.
pub(crate) const MAX_DAYS: i64 = 62;
/// The most entries of each kind one request answers.
const MAX_ENTRIES: i64 = 2000;

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    /// Jobs (by their planned window), appointments (each occurrence) and time off
    /// overlapping `[from, to)`, for one location, one person (`userId`) or a crew (`userIds`),
    /// or all the caller may see, in time order. At most 62 days.
    #[graphql(directive = Require::apply(JOB_READ))]
    async fn calendar(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        location_id: Option<ID>,
        user_id: Option<ID>,
        #[graphql(desc = "A crew's calendar: the entries of any of these people (at most 50).")]
        user_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<Vec<CalendarEntry>> {
        let caller = ctx.caller()?;
        if to <= from {
            return Err(Error::bad_input("to", "must be after from").into());
        }
        if to - from > chrono::Duration::days(MAX_DAYS) {
            return Err(Error::bad_input(
                "to",
                format!("a calendar covers at most {MAX_DAYS} days"),
            )
            .into());
        }
        let location = LocationId::from_optional(location_id.as_ref())?;
        let mut people: Vec<UserId> = UserId::from_optional(user_id.as_ref())?
            .into_iter()
            .collect();
        for id in user_ids.iter().flatten() {
            people.push(UserId::from_input(id)?);
        }
        if people.len() > 50 {
            return Err(Error::bad_input("userIds", "at most 50 people").into());
        }
        let user = (!people.is_empty()).then_some(&people);
        let (from, to) = (time::naive(from), time::naive(to));
        let overlap = |start: &str, end: &str| {
            let mut sql = Sql::new("t.");
            sql.push(start)
                .push(" < ")
                .bind(to)
                .push(" AND t.")
                .push(end)
                .push(" > ")
                .bind(from);
            sql
        };
        let mut jobs = overlap("planned_start", "planned_end");
        jobs.push(" AND t.status <> 'CANCELLED'");
        if let Some(location) = location {
            jobs.push(" AND t.location_id = ")
                .bind(location.to_string());
        }
        if let Some(people) = user {
            jobs.push(" AND ");
            switchyard_operations::scope::works_any(&mut jobs, "t.id", caller.tenant_id, people);
        }
        let by_start = |column| Order {
            column: Some(column),
            desc: false,
            numeric: false,
        };
        let bounds = || Bounds {
            after: None,
            before: None,
            backward: false,
            limit: MAX_ENTRIES,
        };
        let db = &ctx.services()?.db;
        let mut pooled = db.read().await?;
        let mut conn = pooled.conn();
        let rows: Vec<JobRow> = aggregate::listing::<Job>(
            caller,
            JOB_READ,
            Expr::Sql(jobs),
            by_start("planned_start"),
        )?
        .page(&mut conn, &bounds())
        .await?;
        let mut entries: Vec<CalendarEntry> = Job::all(rows)
            .into_iter()
            .filter_map(|job| {
                let row = job.row();
                let (start, end) = (row.planned_start?, row.planned_end?);
                Some(CalendarEntry {
                    kind: CalendarEntryKind::Job,
                    starts_at: start.and_utc(),
                    ends_at: end.and_utc(),
                    job: Some(job),
                    appointment: None,
                    time_off: None,
                })
            })
            .collect();
        if caller.require(APPOINTMENT_READ).is_ok() {
            let mut meetings = overlap("starts_at", "series_ends_at");
            meetings.push(" AND t.status <> 'CANCELLED'");
            if let Some(location) = location {
                meetings
                    .push(" AND t.location_id = ")
                    .bind(location.to_string());
            }
            if let Some(people) = user {
                meetings
                    .push(" AND t.user_id")
                    .is_in(people.iter().map(ToString::to_string));
            }
            let rows: Vec<AppointmentRow> = aggregate::listing::<Appointment>(
                caller,
                APPOINTMENT_READ,
                Expr::Sql(meetings),
                by_start("starts_at"),
            )?
            .page(&mut conn, &bounds())
            .await?;
            for appointment in Appointment::all(rows) {
                let occurrences = appointment.row().series().within(from, to);
                for (start, end) in occurrences {
                    entries.push(CalendarEntry {
                        kind: CalendarEntryKind::Appointment,
                        starts_at: start.and_utc(),
                        ends_at: end.and_utc(),
                        job: None,
                        appointment: Some(appointment.clone()),
                        time_off: None,
                    });
                }
            }
        }
        if caller.require(TIME_OFF_READ).is_ok() {
            let mut away = overlap("starts_at", "ends_at");
            if let Some(people) = user {
                away.push(" AND t.user_id")
                    .is_in(people.iter().map(ToString::to_string));
            }
            if let Some(location) = location {
                away.push(" AND ");
                switchyard_identity::locations::push_users_of(
                    &mut away,
                    "t.user_id",
                    caller.tenant_id,
                    &[location],
                );
            }
            let rows: Vec<TimeOffRow> = aggregate::listing::<TimeOff>(
                caller,
                TIME_OFF_READ,
                Expr::Sql(away),
                by_start("starts_at"),
            )?
            .page(&mut conn, &bounds())
            .await?;
            entries.extend(TimeOff::all(rows).into_iter().map(|away| {
                let row = away.row();
                CalendarEntry {
                    kind: CalendarEntryKind::TimeOff,
                    starts_at: row.starts_at.and_utc(),
                    ends_at: row.ends_at.and_utc(),
                    job: None,
                    appointment: None,
                    time_off: Some(away),
                }
            }));
        }
        entries.sort_by_key(|e| (e.starts_at, e.ends_at));
        Ok(entries)
    }
}
