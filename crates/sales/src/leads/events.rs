//! What happens to leads, as typed events.

use super::{LeadData, LeadRow};

switchyard_kernel::object_events! {
    "Lead" as lead: LeadData from LeadRow, v 1;
    /// A new lead.
    LeadCreated = "sales.lead.created",
    /// A lead's status, priority, score, source, value or follow-up changed.
    LeadUpdated = "sales.lead.updated",
}
