//! The IDs of operations' aggregates, in one place.

switchyard_kernel::id_type!(
    /// A job (work order).
    JobId,
    "Job"
);

switchyard_kernel::id_type!(
    /// A resource assigned to a job: a crew member today.
    CrewMemberId,
    "CrewMember"
);

switchyard_kernel::id_type!(
    /// A step of a job.
    JobStepId,
    "JobStep"
);

switchyard_kernel::id_type!(
    /// What a phone on site reported about a job.
    FieldUpdateId,
    "FieldUpdate"
);
