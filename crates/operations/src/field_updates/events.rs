//! What phones report, as typed events.

use super::{FieldUpdateData, FieldUpdateRow};

switchyard_kernel::object_events! {
    "FieldUpdate" as field_update: FieldUpdateData from FieldUpdateRow, v 1;
    /// A phone on site reported on a job.
    FieldUpdateRecorded = "operations.field_update.recorded",
}
