//! What happens to crews, as typed events.

use super::{CrewMemberData, CrewMemberRow};

switchyard_kernel::object_events! {
    "CrewMember" as crew_member: CrewMemberData from CrewMemberRow, v 1;
    /// A resource was assigned to a job.
    CrewAssigned = "operations.crew.assigned",
    /// The crew's lead changed.
    CrewLeadChanged = "operations.crew.lead_changed",
    /// A resource was taken off a job.
    CrewUnassigned = "operations.crew.unassigned",
}
