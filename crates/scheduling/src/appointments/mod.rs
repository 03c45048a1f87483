//! Appointments: site visits, meetings and maintenance blocks on the calendar, once or
//! recurring (an RFC 5545 RRULE, [`recurrence`]). Scheduled and moved against the attendee's
//! availability like a job's crew (`scheduleAppointment`, `moveAppointment`); completing one
//! raises the follow-up the tenant configured for its kind (`completeAppointment`).

pub mod follow_ups;
pub mod mutations;
mod notices;
pub mod recurrence;

use chrono::NaiveDateTime;
use switchyard_identity::{Location, User};
use switchyard_kernel::{LocationId, UserId};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_sales::customers::CustomerId;
use switchyard_sales::tasks::TaskId;
use switchyard_sales::{Customer, Task};

use crate::permissions::APPOINTMENT_READ;
use recurrence::Series;

pub use crate::ids::AppointmentId;

switchyard_kernel::text_enum! {
    /// What an appointment is.
    pub enum AppointmentKind {
        /// Surveying a customer's home or site before quoting.
        SiteVisit = "SITE_VISIT",
        Meeting = "MEETING",
        /// A block for vehicle or equipment maintenance.
        Maintenance = "MAINTENANCE",
    }
}

switchyard_kernel::text_enum! {
    /// Where an appointment stands. SCHEDULED → COMPLETED or CANCELLED.
    pub enum AppointmentStatus {
        Scheduled = "SCHEDULED",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

switchyard_kernel::aggregate! {
    /// A site visit, meeting or maintenance block, once or recurring.
    #[aggregate(
        table = crate::schema::appointments,
        id = AppointmentId,
        read = APPOINTMENT_READ,
        scope = crate::scope::appointments,
        order(created_at, desc),
        event = AppointmentData,
        one(name = appointment, doc = "An appointment by ID."),
        list(name = appointments, doc = "Appointments the caller may see (its own; a planner's: those of their locations), newest first."),
    )]
    pub struct Appointment {
        #[field(filter, event)]
        kind: AppointmentKind,
        title: String,
        #[field(to_one = Location, filter, event)]
        location_id: Option<LocationId>,
        /// Who attends.
        #[field(to_one = User, filter, event)]
        user_id: Option<UserId>,
        /// The customer it is about, if you may see it.
        #[field(to_one = Customer, guard, event)]
        customer_id: Option<CustomerId>,
        /// The job it prepares, if you may see it.
        #[field(to_one = Job, guard, event)]
        job_id: Option<JobId>,
        /// The first occurrence's start.
        #[field(filter, event)]
        starts_at: NaiveDateTime,
        /// The first occurrence's end.
        #[field(event)]
        ends_at: NaiveDateTime,
        /// An RFC 5545 RRULE (`FREQ=WEEKLY;BYDAY=MO;COUNT=10`), expanded in `timeZone`; null: once.
        #[field(event)]
        recurrence: Option<String>,
        /// The zone the series repeats in (its location's, as it was scheduled).
        time_zone: String,
        /// When the last occurrence ends.
        series_ends_at: NaiveDateTime,
        #[field(filter, event)]
        status: AppointmentStatus,
        notes: String,
        /// The follow-up task its completion raised.
        #[field(to_one = Task, guard)]
        follow_up_task_id: Option<TaskId>,
        completed_at: Option<NaiveDateTime>,
        cancelled_at: Option<NaiveDateTime>,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to change it safely.
        #[field(event)]
        version: i32,
    }
}

switchyard_kernel::object_events! {
    "Appointment" as appointment: AppointmentData from AppointmentRow, v 1;
    /// An appointment was scheduled.
    AppointmentScheduled = "scheduling.appointment.scheduled",
    /// An appointment (or its series) moved.
    AppointmentMoved = "scheduling.appointment.moved",
    /// An appointment took place.
    AppointmentCompleted = "scheduling.appointment.completed",
    /// An appointment was called off.
    AppointmentCancelled = "scheduling.appointment.cancelled",
}

impl AppointmentRow {
    /// Its series, as stored (a stored rule was checked when saved; one that no longer
    /// expands counts as its first occurrence).
    pub fn series(&self) -> Series {
        let zone = self.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let length = self.ends_at - self.starts_at;
        Series::new(self.recurrence.as_deref(), self.starts_at, length, zone)
            .unwrap_or_else(|_| Series::once(self.starts_at, length))
    }
}
