//! What happens to leads, as typed events.

use chrono::{DateTime, Utc};
use switchyard_kernel::DomainEvent;

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

switchyard_kernel::domain_event! {
    /// A new lead.
    pub struct LeadCreated = "sales.lead.created" v 1 on "Lead" by lead.id {
        pub lead: LeadData,
    }
}

switchyard_kernel::domain_event! {
    /// A lead's status, priority, score, source, value or follow-up changed.
    pub struct LeadUpdated = "sales.lead.updated" v 1 on "Lead" by lead.id {
        pub lead: LeadData,
    }
}

/// Every lead event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] = &[LeadCreated::SPEC, LeadUpdated::SPEC];
