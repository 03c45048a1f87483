//! What happens to sales activities, as typed events.

use chrono::{DateTime, Utc};
use switchyard_kernel::{DomainEvent, UserId};

use super::{ActivityId, ActivityKind, ActivityRow};
use crate::customers::CustomerId;
use crate::tasks::TaskId;

switchyard_kernel::event_payload! {
    /// An activity as events carry it.
    pub struct ActivityData {
        pub id: ActivityId,
        pub customer_id: CustomerId,
        /// Who logged it.
        pub owner_id: UserId,
        pub kind: ActivityKind,
        pub subject: String,
        pub occurred_at: DateTime<Utc>,
        /// When to call back; a CALL_BACK task exists for it while it is set.
        pub follow_up_at: Option<DateTime<Utc>>,
        pub follow_up_task_id: Option<TaskId>,
        pub version: i32,
    }
}

impl From<&ActivityRow> for ActivityData {
    fn from(row: &ActivityRow) -> Self {
        ActivityData {
            id: row.id,
            customer_id: row.customer_id,
            owner_id: row.owner_id,
            kind: row.kind,
            subject: row.subject.clone(),
            occurred_at: row.occurred_at.and_utc(),
            follow_up_at: row.follow_up_at.map(|t| t.and_utc()),
            follow_up_task_id: row.follow_up_task_id,
            version: row.version,
        }
    }
}

switchyard_kernel::domain_event! {
    /// A call, email, meeting, visit or note was logged.
    pub struct ActivityLogged = "sales.activity.logged" v 1 on "SalesActivity" by activity.id {
        pub activity: ActivityData,
    }
}

switchyard_kernel::domain_event! {
    /// An activity's text, outcome or follow-up changed.
    pub struct ActivityUpdated = "sales.activity.updated" v 1 on "SalesActivity" by activity.id {
        pub activity: ActivityData,
    }
}

/// Every activity event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] =
    &[ActivityLogged::SPEC, ActivityUpdated::SPEC];
