//! What happens to jobs, as typed events.

use switchyard_sales::quotes::events::QuoteItemData;

use switchyard_kernel::LocationId;

use super::{JobData, JobId, JobRow};

switchyard_kernel::object_events! {
    "Job" as job: JobData from JobRow, v 1;
    /// A new job, made by hand or from an accepted quote.
    JobCreated = "operations.job.created",
    /// A job's addresses, contact, estimate, crew size or notes changed.
    JobUpdated = "operations.job.updated",
    /// A job's planned window was set or moved.
    JobRescheduled = "operations.job.rescheduled",
    /// The crew was sent out.
    JobDispatched = "operations.job.dispatched",
    /// Work started on site.
    JobStarted = "operations.job.started",
    /// The job was called off.
    JobCancelled = "operations.job.cancelled",
    /// A step of the job moved on (reported from the field).
    JobProgressed = "operations.job.progressed";
    also JobCompleted, JobRelocated
}

switchyard_kernel::domain_event! {
    /// A job moved to another location (with `operations.job.updated`): the calendar it left
    /// drops it.
    pub struct JobRelocated = "operations.job.relocated" v 1 on "Job" by job_id {
        /// The job.
        pub job_id: JobId,
        /// The location it left.
        pub from: Option<LocationId>,
        /// The location running it now.
        pub to: Option<LocationId>,
    }
}

switchyard_kernel::domain_event! {
    /// The work is done: finance drafts the invoice from this.
    pub struct JobCompleted = "operations.job.completed" v 1 on "Job" by job.id {
        /// The job as completed, with its actual minutes.
        pub job: JobData,
        /// The lines carried over from the accepted quote, in order (none for a job made by
        /// hand).
        pub items: Vec<QuoteItemData>,
        /// ISO 4217, when the job has lines.
        pub currency: Option<String>,
    }
}

impl JobCompleted {
    /// The event of this row.
    pub fn of(row: &JobRow) -> Self {
        JobCompleted {
            job: row.into(),
            items: row.lines(),
            currency: row.currency.clone(),
        }
    }
}
