//! What happens to a job's steps, as typed events.

use super::{JobStepData, JobStepRow};

switchyard_kernel::object_events! {
    "JobStep" as step: JobStepData from JobStepRow, v 1;
    /// A step was added to a job's plan.
    JobStepAdded = "operations.job_step.added",
    /// A step started, ended or was skipped.
    JobStepMoved = "operations.job_step.moved",
}
