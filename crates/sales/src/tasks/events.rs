//! What happens to tasks, as typed events.

use chrono::{DateTime, Utc};
use switchyard_kernel::UserId;

use super::{TaskId, TaskKind, TaskQueue, TaskRow, TaskStatus};
use crate::customers::CustomerId;

switchyard_kernel::event_payload! {
    /// A task as events carry it.
    pub struct TaskData {
        pub id: TaskId,
        pub kind: TaskKind,
        pub title: String,
        pub status: TaskStatus,
        pub due_at: Option<DateTime<Utc>>,
        /// Who holds it; none while it waits in a queue.
        pub assignee_id: Option<UserId>,
        pub queue: Option<TaskQueue>,
        pub customer_id: Option<CustomerId>,
        pub version: i32,
    }
}

impl From<&TaskRow> for TaskData {
    fn from(row: &TaskRow) -> Self {
        TaskData {
            id: row.id,
            kind: row.kind,
            title: row.title.clone(),
            status: row.status,
            due_at: row.due_at.map(|t| t.and_utc()),
            assignee_id: row.assignee_id,
            queue: row.queue,
            customer_id: row.customer_id,
            version: row.version,
        }
    }
}

switchyard_kernel::object_events! {
    "Task" as task: TaskData from TaskRow, v 1;
    /// A new task, for a user or a queue.
    TaskCreated = "sales.task.created",
    /// A task's title or due time changed.
    TaskUpdated = "sales.task.updated",
    /// A task's due time moved (its activity's follow-up moved).
    TaskRescheduled = "sales.task.rescheduled",
    /// Someone took a task waiting in a queue.
    TaskClaimed = "sales.task.claimed",
    /// A task went to another user, or back to a queue.
    TaskHandedOver = "sales.task.handed_over",
    /// A task was done.
    TaskCompleted = "sales.task.completed",
    /// A task was called off.
    TaskCancelled = "sales.task.cancelled",
}
