//! The live calendar: `calendarChanged(locationId, from, to)` tells an open calendar what to
//! redraw. Every job, crew, appointment and time-off event of the subscriber's tenant that
//! could touch the location is read again under the subscriber's own rules (as `calendar`
//! would show it); what it may not see never reaches it. A change answers the object's entries
//! inside the range now, or `removed` when it left the range (moved away, cancelled, withdrawn).
//!
//! Payload fields settle most events without a read (another location's job or appointment,
//! time off outside the range). A job moved to another location is not announced to the old
//! location's subscribers (the event carries only the job as it is now).

use std::sync::Arc;

use async_graphql::{Context, ID, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::{Stream, StreamExt};
use switchyard_identity::permissions::USER_READ;
use switchyard_kernel::access::RowScope;
use switchyard_kernel::events::Event;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{Caller, ContextExt, Db, Error, LocationId, Services, UserId, time};
use switchyard_operations::Job;
use switchyard_operations::jobs::events::JobRelocated;
use switchyard_operations::jobs::{JobId, JobStatus};
use switchyard_operations::permissions::JOB_READ;

use crate::appointments::{Appointment, AppointmentId, AppointmentStatus};
use crate::calendar::{CalendarEntry, CalendarEntryKind, MAX_DAYS};
use crate::permissions::{APPOINTMENT_READ, TIME_OFF_READ};
use crate::time_off::{TimeOff, TimeOffId};

/// What changed on a calendar.
#[derive(SimpleObject)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct CalendarChange {
    pub kind: CalendarEntryKind,
    /// The job, appointment or time off.
    pub id: ID,
    /// It is no longer on this calendar (cancelled, withdrawn, moved out of the range).
    pub removed: bool,
    /// Its entries in the range now (an appointment series may have several).
    pub entries: Vec<CalendarEntry>,
}

/// The calendar a subscriber watches.
struct Watch {
    caller: Caller,
    location: LocationId,
    from: NaiveDateTime,
    to: NaiveDateTime,
}

impl Watch {
    fn overlaps(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        start < self.to && end > self.from
    }
}

#[derive(Default)]
pub struct CalendarSubscription;

#[Subscription]
impl CalendarSubscription {
    /// Each change to the calendar of a location in `[from, to)` (at most 62 days): jobs
    /// planned, moved, staffed or cancelled, appointments, time off, as you may see them.
    /// A selection of the entries' own fields, crew and people (not the customer, quote or
    /// follow-up task; `Job.contactName` names the customer) is worked out once for everyone
    /// watching with your rights and locations, and so arrives soonest.
    #[graphql(directive = Require::apply(JOB_READ))]
    async fn calendar_changed(
        &self,
        ctx: &Context<'_>,
        location_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<impl Stream<Item = Result<CalendarChange, Error>> + use<>> {
        let caller = ctx.caller()?.clone();
        let services = ctx.services()?.clone();
        // Opened in a box of its own: the checks' database reads are done before the first
        // event, and an open subscription keeps no room for them.
        Box::pin(open(services, caller, location_id, from, to)).await
    }
}

/// `calendarChanged` for a caller who reaches the watched location's jobs, appointments and
/// time off through its location (or tenant-wide), never only as their owner, and every user
/// tenant-wide: which changes reach it, the entries' own fields, their crew and their people
/// are then the same for everyone with its rights and locations (see
/// `docs/person-dependent-reads.md`, section 2), so different people may share one execution.
/// Left out, because their answers may depend on the person: whatever leads away from the
/// location (`Job.customer`, `Job.quote`, follow-up tasks, `Appointment.job`,
/// `Appointment.customer`, `CrewMember.job`), field updates, and a user's roles, locations and
/// grants.
pub const IMPERSONAL: switchyard_kernel::module::Impersonal =
    switchyard_kernel::module::Impersonal {
        root: "calendarChanged",
        fields: &[
            ("CalendarChange", &["kind", "id", "removed", "entries"]),
            (
                "CalendarEntry",
                &[
                    "kind",
                    "startsAt",
                    "endsAt",
                    "job",
                    "appointment",
                    "timeOff",
                ],
            ),
            (
                "Job",
                &[
                    "id",
                    "status",
                    "plannedStart",
                    "plannedEnd",
                    "dispatchedAt",
                    "startedAt",
                    "completedAt",
                    "cancelledAt",
                    "cancelReason",
                    "estimatedMinutes",
                    "actualMinutes",
                    "crewSize",
                    "origin",
                    "destination",
                    "contactName",
                    "onSitePhone",
                    "notes",
                    "items",
                    "quotedTotal",
                    "location",
                    "crew",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "JobItem",
                &[
                    "category",
                    "description",
                    "quantity",
                    "unitPrice",
                    "lineTotal",
                    "optional",
                ],
            ),
            ("Money", &["amountMinor", "currency"]),
            (
                "CrewMemberConnection",
                &["edges", "nodes", "pageInfo", "totalCount"],
            ),
            ("CrewMemberEdge", &["cursor", "node"]),
            (
                "PageInfo",
                &["startCursor", "endCursor", "hasNextPage", "hasPreviousPage"],
            ),
            (
                "CrewMember",
                &[
                    "id",
                    "lead",
                    "resourceKind",
                    "user",
                    "assignedBy",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "User",
                &[
                    "id",
                    "name",
                    "email",
                    "kind",
                    "status",
                    "lastLoginAt",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "Appointment",
                &[
                    "id",
                    "kind",
                    "status",
                    "title",
                    "notes",
                    "startsAt",
                    "endsAt",
                    "timeZone",
                    "recurrence",
                    "seriesEndsAt",
                    "cancelledAt",
                    "completedAt",
                    "location",
                    "user",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "TimeOff",
                &[
                    "id",
                    "kind",
                    "note",
                    "user",
                    "startsAt",
                    "endsAt",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "Location",
                &[
                    "id",
                    "name",
                    "timeZone",
                    "active",
                    "address",
                    "createdAt",
                    "updatedAt",
                    "version",
                ],
            ),
            (
                "Address",
                &[
                    "line1",
                    "line2",
                    "postalCode",
                    "city",
                    "region",
                    "country",
                    "latitude",
                    "longitude",
                ],
            ),
        ],
        admits: reaches_by_location,
    };

/// Whether `caller` reaches the watched location's jobs, appointments and time off by its
/// location or tenant-wide (an `own` scope reaches rows by who the caller is), and users
/// tenant-wide (a `location` scope also reaches the caller, who may have left the location
/// since its rights were read). A permission it lacks answers alike for everyone with its
/// rights.
fn reaches_by_location(
    caller: &Caller,
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    let Some(location) = arguments
        .get("locationId")
        .and_then(serde_json::Value::as_str)
        .and_then(|id| LocationId::from_input(&ID::from(id)).ok())
    else {
        return false;
    };
    let users = matches!(caller.row_scope(USER_READ), Ok(RowScope::Tenant) | Err(_));
    users
        && [JOB_READ, APPOINTMENT_READ, TIME_OFF_READ]
            .into_iter()
            .all(|permission| match caller.row_scope(permission) {
                Ok(RowScope::Tenant) | Err(_) => true,
                Ok(RowScope::Location { locations, .. }) => locations.contains(&location),
                Ok(RowScope::Own(_)) => false,
            })
}

/// The checks of a `calendarChanged` and its stream of changes.
async fn open(
    services: Services,
    caller: Caller,
    location_id: ID,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> async_graphql::Result<impl Stream<Item = Result<CalendarChange, Error>> + use<>> {
    caller.require(JOB_READ)?;
    if to <= from {
        return Err(Error::bad_input("to", "must be after from").into());
    }
    if to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(
            Error::bad_input("to", format!("a calendar covers at most {MAX_DAYS} days")).into(),
        );
    }
    let location = LocationId::from_input(&location_id)?;
    {
        let mut pooled = services.db.read().await?;
        if !switchyard_identity::locations::exists(&mut pooled.conn(), caller.tenant_id, location)
            .await?
        {
            return Err(Error::NotFound.into());
        }
    }
    let watch = Watch {
        caller,
        location,
        from: time::naive(from),
        to: time::naive(to),
    };
    let live = services.bus.live_of(CALENDAR_TYPES);
    // One pointer for each event to take along, not a copy of the caller and services.
    let watch = Arc::new((watch, services));
    Ok(live.filter_map(move |event| {
        let watch = watch.clone();
        // Boxed: an idle subscription holds no room for the reading of a change.
        Box::pin(async move {
            let (watch, services) = &*watch;
            let event = match event {
                Ok(event) => event,
                Err(lagged) => return Some(Err(lagged)),
            };
            if event.tenant_id != watch.caller.tenant_id {
                return None;
            }
            match change(services, watch, &event).await {
                Ok(change) => change.map(Ok),
                Err(error) => {
                    tracing::warn!(?error, event = %event.id, "a calendar change could not be read");
                    None
                }
            }
        })
    }))
}

fn relocated() -> &'static str {
    <JobRelocated as switchyard_kernel::DomainEvent>::SPEC.name
}

fn field<'a>(event: &'a Event, object: &str, name: &str) -> Option<&'a str> {
    event.payload[object][name].as_str()
}

fn at(event: &Event, object: &str, name: &str) -> Option<NaiveDateTime> {
    field(event, object, name)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.naive_utc())
}

/// What `event` changes on the watched calendar, as the subscriber may see it.
/// The aggregate types whose events may change a calendar: every one [`change`] reads.
const CALENDAR_TYPES: &[&str] = &["Job", "CrewMember", "Appointment", "TimeOff"];

async fn change(
    services: &Services,
    watch: &Watch,
    event: &Event,
) -> Result<Option<CalendarChange>, Error> {
    let db = &services.db;
    let here = watch.location.to_string();
    match event.aggregate_type.as_str() {
        // A job that left this location: it was on this calendar, and no re-read here finds it.
        "Job" if event.event_type == relocated() => {
            let left = event.payload["from"].as_str() == Some(here.as_str())
                && event.payload["to"].as_str() != Some(here.as_str());
            let Some(job) = event.payload["jobId"]
                .as_str()
                .and_then(|id| id.parse::<JobId>().ok())
            else {
                return Ok(None);
            };
            if !left {
                return Ok(None);
            }
            // Told to whoever saw the location's jobs, or may still read this one (its crew).
            let saw = watch.caller.reaches(JOB_READ, None, Some(watch.location)) || {
                let mut pooled = db.read().await?;
                aggregate::find_in::<Job>(&mut pooled.conn(), &watch.caller, JOB_READ, job)
                    .await
                    .is_ok()
            };
            Ok(saw.then(|| CalendarChange {
                kind: CalendarEntryKind::Job,
                id: job.to_global(),
                removed: true,
                entries: Vec::new(),
            }))
        }
        "Job" => {
            if field(event, "job", "locationId") != Some(here.as_str()) {
                return Ok(None);
            }
            match field(event, "job", "id").and_then(|id| id.parse().ok()) {
                Some(job) => job_change(services, watch, event, job).await,
                None => Ok(None),
            }
        }
        "CrewMember" => match field(event, "crewMember", "jobId").and_then(|id| id.parse().ok()) {
            Some(job) => job_change(services, watch, event, job).await,
            None => Ok(None),
        },
        "Appointment" => {
            if field(event, "appointment", "locationId") != Some(here.as_str())
                || watch.caller.require(APPOINTMENT_READ).is_err()
            {
                return Ok(None);
            }
            match field(event, "appointment", "id").and_then(|id| id.parse().ok()) {
                Some(id) => appointment_change(db, watch, id).await,
                None => Ok(None),
            }
        }
        "TimeOff" => time_off_change(db, watch, event).await,
        _ => Ok(None),
    }
}

async fn job_change(
    services: &Services,
    watch: &Watch,
    event: &Event,
    id: JobId,
) -> Result<Option<CalendarChange>, Error> {
    // One read per change for every subscriber of this process; whoever reaches the job by
    // its location (or tenant-wide) is answered from it. Crew and the like, whose scope
    // reaches further (the jobs they work), are read under their own scope.
    let Some(row) = aggregate::read_after::<Job>(services, event, id).await? else {
        return Ok(None);
    };
    // Tenant-wide, or the job's location among the caller's: within `operations::scope::jobs`.
    let row = if watch.caller.reaches(JOB_READ, None, row.location_id) {
        row
    } else {
        let mut pooled = services.db.read().await?;
        match aggregate::find_in::<Job>(&mut pooled.conn(), &watch.caller, JOB_READ, id).await {
            Ok(row) => row,
            Err(Error::NotFound) => return Ok(None),
            Err(other) => return Err(other),
        }
    };
    if row.location_id != Some(watch.location) {
        return Ok(None);
    }
    let window = match (row.planned_start, row.planned_end) {
        (Some(start), Some(end))
            if row.status != JobStatus::Cancelled && watch.overlaps(start, end) =>
        {
            Some((start, end))
        }
        _ => None,
    };
    let entries = match window {
        None => Vec::new(),
        Some((start, end)) => Job::all(vec![row])
            .into_iter()
            .map(|job| CalendarEntry {
                kind: CalendarEntryKind::Job,
                starts_at: start.and_utc(),
                ends_at: end.and_utc(),
                job: Some(job),
                appointment: None,
                time_off: None,
            })
            .collect(),
    };
    Ok(Some(CalendarChange {
        kind: CalendarEntryKind::Job,
        id: id.to_global(),
        removed: entries.is_empty(),
        entries,
    }))
}

async fn appointment_change(
    db: &Db,
    watch: &Watch,
    id: AppointmentId,
) -> Result<Option<CalendarChange>, Error> {
    let mut pooled = db.read().await?;
    let row = match aggregate::find_in::<Appointment>(
        &mut pooled.conn(),
        &watch.caller,
        APPOINTMENT_READ,
        id,
    )
    .await
    {
        Ok(row) => row,
        Err(Error::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    // Not this calendar's (and its owner alone would still reach it elsewhere), as a job is.
    if row.location_id != Some(watch.location) {
        return Ok(None);
    }
    let occurrences = if row.status == AppointmentStatus::Cancelled {
        Vec::new()
    } else {
        row.series().within(watch.from, watch.to)
    };
    let entries: Vec<CalendarEntry> = match Appointment::all(vec![row]).pop() {
        Some(appointment) => occurrences
            .into_iter()
            .map(|(start, end)| CalendarEntry {
                kind: CalendarEntryKind::Appointment,
                starts_at: start.and_utc(),
                ends_at: end.and_utc(),
                job: None,
                appointment: Some(appointment.clone()),
                time_off: None,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(CalendarChange {
        kind: CalendarEntryKind::Appointment,
        id: id.to_global(),
        removed: entries.is_empty(),
        entries,
    }))
}

async fn time_off_change(
    db: &Db,
    watch: &Watch,
    event: &Event,
) -> Result<Option<CalendarChange>, Error> {
    let (Some(start), Some(end)) = (
        at(event, "timeOff", "startsAt"),
        at(event, "timeOff", "endsAt"),
    ) else {
        return Ok(None);
    };
    let user: Option<UserId> = field(event, "timeOff", "userId").and_then(|u| u.parse().ok());
    let id: Option<TimeOffId> = field(event, "timeOff", "id").and_then(|i| i.parse().ok());
    let (Some(user), Some(id)) = (user, id) else {
        return Ok(None);
    };
    // Whether the subscriber reaches this person's time off (read again below when it still
    // exists; a withdrawn one is judged from the event).
    let reached = match watch.caller.row_scope(TIME_OFF_READ) {
        Ok(RowScope::Tenant) => true,
        Ok(RowScope::Own(me)) => me == user,
        Ok(RowScope::Location {
            user: me,
            locations,
        }) => me == user || locations.contains(&watch.location),
        Err(_) => false,
    };
    if !watch.overlaps(start, end) || !reached {
        return Ok(None);
    }
    let mut pooled = db.read().await?;
    let mut conn = pooled.conn();
    if !switchyard_identity::locations::works_at(
        &mut conn,
        watch.caller.tenant_id,
        user,
        &[watch.location],
    )
    .await?
    {
        return Ok(None);
    }
    let row = match aggregate::find_in::<TimeOff>(&mut conn, &watch.caller, TIME_OFF_READ, id).await
    {
        Ok(row) => Some(row),
        Err(Error::NotFound) => None,
        Err(other) => return Err(other),
    };
    let entries: Vec<CalendarEntry> = row
        .map(|row| {
            TimeOff::all(vec![row])
                .into_iter()
                .map(|away| CalendarEntry {
                    kind: CalendarEntryKind::TimeOff,
                    starts_at: start.and_utc(),
                    ends_at: end.and_utc(),
                    job: None,
                    appointment: None,
                    time_off: Some(away),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(CalendarChange {
        kind: CalendarEntryKind::TimeOff,
        id: id.to_global(),
        removed: entries.is_empty(),
        entries,
    }))
}
