//! The IDs of scheduling's aggregates.

switchyard_kernel::id_type!(
    /// Time off of a person.
    TimeOffId,
    "TimeOff"
);
