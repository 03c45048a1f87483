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
