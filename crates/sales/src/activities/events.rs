//! What happens to sales activities, as typed events.

use chrono::{DateTime, Utc};
use switchyard_kernel::UserId;

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

switchyard_kernel::object_events! {
    "SalesActivity" as activity: ActivityData from ActivityRow, v 1;
    /// A call, email, meeting, visit or note was logged.
    ActivityLogged = "sales.activity.logged",
    /// An activity's text, outcome or follow-up changed.
    ActivityUpdated = "sales.activity.updated",
}
