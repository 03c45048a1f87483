//! The IDs of scheduling's aggregates.

switchyard_kernel::id_type!(
    /// Time off of a person.
    TimeOffId,
    "TimeOff"
);

switchyard_kernel::id_type!(
    /// An appointment (site visit, meeting, maintenance block).
    AppointmentId,
    "Appointment"
);
