//! What happens to leads, as typed events.

use chrono::{DateTime, Utc};

use super::{LeadId, LeadPriority, LeadRow, LeadStatus};
use crate::customers::CustomerId;

switchyard_kernel::event_payload! {
    /// A lead as events carry it.
    pub struct LeadData {
        pub id: LeadId,
        pub customer_id: CustomerId,
        pub status: LeadStatus,
        pub priority: LeadPriority,
        /// 0 to 100.
        pub score: i32,
        pub follow_up_at: Option<DateTime<Utc>>,
        pub version: i32,
    }
}

impl From<&LeadRow> for LeadData {
    fn from(row: &LeadRow) -> Self {
        LeadData {
            id: row.id,
            customer_id: row.customer_id,
            status: row.status,
            priority: row.priority,
            score: row.score,
            follow_up_at: row.follow_up_at.map(|t| t.and_utc()),
            version: row.version,
        }
    }
}

switchyard_kernel::object_events! {
    "Lead" as lead: LeadData from LeadRow, v 1;
    /// A new lead.
    LeadCreated = "sales.lead.created",
    /// A lead's status, priority, score, source, value or follow-up changed.
    LeadUpdated = "sales.lead.updated",
}
