//! What happens to tasks, as typed events.

use super::{TaskData, TaskRow};

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
