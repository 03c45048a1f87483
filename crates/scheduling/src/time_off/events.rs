//! What happens to time off, as typed events.

use super::{TimeOffData, TimeOffRow};

switchyard_kernel::object_events! {
    "TimeOff" as time_off: TimeOffData from TimeOffRow, v 1;
    /// Time off was recorded.
    TimeOffRecorded = "scheduling.time_off.recorded",
    /// Time off was withdrawn.
    TimeOffWithdrawn = "scheduling.time_off.withdrawn",
}
