//! Changing tasks: create, update, claim, hand over, start, complete, cancel; each move is a
//! changed row, its history entry and its typed event.

use super::events::{TaskCancelled, TaskClaimed, TaskCompleted, TaskHandedOver, TaskUpdated};
use super::{
    NewTask, Reach, Task, TaskId, TaskKind, TaskQueue, TaskRow, TaskStatus, change, find, get,
    insert,
};
use crate::customers::{CustomerId, customer_for};
use crate::permissions::TASK_MANAGE;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use switchyard_identity::users::is_active_staff;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{ContextExt, Error, Rejection, UserErrorCode, UserId, payload, time};

/// A new task: for a user (`assigneeId`) or a queue.
#[derive(InputObject)]
pub struct CreateTaskInput {
    pub kind: TaskKind,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub customer_id: Option<ID>,
    /// Who does it; omit to put the task in `queue`.
    pub assignee_id: Option<ID>,
    pub queue: Option<TaskQueue>,
    /// A retried request with the same key returns the first result instead of creating twice.
    pub idempotency_key: Option<String>,
}

/// Changes to a task.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A task to act on.
#[derive(InputObject)]
pub struct TaskActionInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub note: Option<String>,
}

/// Handing a task to someone else, or back to a queue.
#[derive(InputObject)]
pub struct HandOverTaskInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    /// The new assignee; omit to return the task to `queue`.
    pub to_user_id: Option<ID>,
    pub to_queue: Option<TaskQueue>,
    pub note: Option<String>,
}

payload!(
    /// The result of a task mutation.
    TaskPayload { task: Task } from row
);

fn open(row: &TaskRow) -> Result<(), Rejection> {
    if row.status != TaskStatus::Open {
        return Err(Rejection::invalid(
            "input.id",
            UserErrorCode::InvalidState,
            format!("the task is {}", row.status),
        ));
    }
    Ok(())
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Creates a task for a user or a queue.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
    ) -> async_graphql::Result<TaskPayload> {
        let caller = ctx.caller()?;
        let title = input.title.trim().to_owned();
        let mut check = Check::new();
        check.text("input.title", &title, 200);
        let assignee = match &input.assignee_id {
            Some(id) => Some(UserId::parse(id)?),
            None => None,
        };
        if assignee.is_none() && input.queue.is_none() {
            check.add(
                "input.assigneeId",
                UserErrorCode::Required,
                "give an assignee or a queue",
            );
        }
        let customer = input
            .customer_id
            .as_ref()
            .map(CustomerId::parse)
            .transpose()?;
        let outcome = ctx
            .mutate(async |tx| {
                let new_id = TaskId::new();
                if let Some(id) = switchyard_kernel::idempotency::claim(
                    tx,
                    caller,
                    "createTask",
                    input.idempotency_key.as_deref(),
                    new_id,
                )
                .await?
                {
                    // The caller created it under their own key: answer what the first attempt
                    // answered, even for a task they gave to someone else.
                    let id = id.parse().map_err(Error::internal)?;
                    return Ok(get(tx, caller.tenant_id, id)
                        .await?
                        .ok_or(Error::NotFound)?);
                }
                if let Some(customer) = customer {
                    let row = customer_for(tx, caller, TASK_MANAGE, customer).await?;
                    crate::customers::still_active(&row, "input.customerId")?;
                }
                if let Some(user) = assignee
                    && !is_active_staff(tx, caller.tenant_id, user).await?
                {
                    check.add(
                        "input.assigneeId",
                        UserErrorCode::UnknownReference,
                        "no active staff member has this ID",
                    );
                }
                check.finish()?;
                let new = NewTask {
                    kind: input.kind,
                    title: title.clone(),
                    due_at: input.due_at.map(time::naive),
                    customer,
                    activity: None,
                    assignee,
                    queue: input.queue,
                };
                Ok::<_, Rejection>(insert(tx, caller, new_id, new).await?)
            })
            .await;
        TaskPayload::of(outcome)
    }

    /// Changes a task's title or due time.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        input: UpdateTaskInput,
    ) -> async_graphql::Result<TaskPayload> {
        let caller = ctx.caller()?;
        let id = TaskId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find(tx, caller, TASK_MANAGE, id, Reach::Held).await?;
                check_version(input.expected_version, before.version)?;
                open(&before)?;
                let title = input
                    .title
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.title)
                    .to_owned();
                let mut check = Check::new();
                check.text("input.title", &title, 200);
                check.finish()?;
                let row = TaskRow {
                    title,
                    due_at: input.due_at.map(time::naive).or(before.due_at),
                    ..before.clone()
                };
                let moved = (row.due_at != before.due_at).then_some("rescheduled");
                Ok::<_, Rejection>(
                    change(tx, caller, &before, row, moved, None, TaskUpdated::of).await?,
                )
            })
            .await;
        TaskPayload::of(outcome)
    }

    /// Takes a task waiting in a queue.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn claim_task(
        &self,
        ctx: &Context<'_>,
        input: TaskActionInput,
    ) -> async_graphql::Result<TaskPayload> {
        let caller = ctx.caller()?;
        let id = TaskId::parse(&input.id)?;
        let Some(me) = caller.user_id() else {
            return Err(Error::forbidden("only users claim tasks").into());
        };
        let outcome = ctx
            .mutate(async |tx| {
                note_fits(&input)?;
                let before = find(tx, caller, TASK_MANAGE, id, Reach::WithQueues).await?;
                check_version(input.expected_version, before.version)?;
                open(&before)?;
                if before.assignee_id.is_some() {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "the task already has an assignee; ask them to hand it over",
                    ));
                }
                let row = TaskRow {
                    assignee_id: Some(me),
                    ..before.clone()
                };
                let note = input.note.as_deref();
                let claimed = Some("claimed");
                Ok(change(tx, caller, &before, row, claimed, note, TaskClaimed::of).await?)
            })
            .await;
        TaskPayload::of(outcome)
    }

    /// Hands a task to another user, or back to a queue.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn hand_over_task(
        &self,
        ctx: &Context<'_>,
        input: HandOverTaskInput,
    ) -> async_graphql::Result<TaskPayload> {
        let caller = ctx.caller()?;
        let id = TaskId::parse(&input.id)?;
        let to_user = input.to_user_id.as_ref().map(UserId::parse).transpose()?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find(tx, caller, TASK_MANAGE, id, Reach::Held).await?;
                check_version(input.expected_version, before.version)?;
                open(&before)?;
                let mut check = Check::new();
                let queue = input.to_queue.or(before.queue);
                match to_user {
                    Some(user) => {
                        if !is_active_staff(tx, caller.tenant_id, user).await? {
                            check.add(
                                "input.toUserId",
                                UserErrorCode::UnknownReference,
                                "no active staff member has this ID",
                            );
                        } else if before.assignee_id == Some(user) {
                            check.add(
                                "input.toUserId",
                                UserErrorCode::InvalidState,
                                "the task is already theirs",
                            );
                        }
                    }
                    None if queue.is_none() => {
                        check.add(
                            "input.toQueue",
                            UserErrorCode::Required,
                            "give a user or a queue to hand the task to",
                        );
                    }
                    None => {}
                }
                check.max_len(
                    "input.note",
                    input.note.as_deref().unwrap_or_default(),
                    1000,
                );
                check.finish()?;
                let row = TaskRow {
                    assignee_id: to_user,
                    queue,
                    ..before.clone()
                };
                let action = Some(if to_user.is_some() {
                    "handed_over"
                } else {
                    "returned_to_queue"
                });
                let note = input.note.as_deref();
                Ok(change(tx, caller, &before, row, action, note, TaskHandedOver::of).await?)
            })
            .await;
        TaskPayload::of(outcome)
    }

    /// Marks a task done.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn complete_task(
        &self,
        ctx: &Context<'_>,
        input: TaskActionInput,
    ) -> async_graphql::Result<TaskPayload> {
        finish(ctx, input, TaskStatus::Done).await
    }

    /// Cancels a task.
    #[graphql(directive = Require::apply(TASK_MANAGE))]
    async fn cancel_task(
        &self,
        ctx: &Context<'_>,
        input: TaskActionInput,
    ) -> async_graphql::Result<TaskPayload> {
        finish(ctx, input, TaskStatus::Cancelled).await
    }
}

/// A task action's note is at most 1000 characters, as on hand-over.
fn note_fits(input: &TaskActionInput) -> Result<(), Rejection> {
    let mut check = Check::new();
    check.max_len(
        "input.note",
        input.note.as_deref().unwrap_or_default(),
        1000,
    );
    check.finish()
}

async fn finish(
    ctx: &Context<'_>,
    input: TaskActionInput,
    status: TaskStatus,
) -> async_graphql::Result<TaskPayload> {
    let caller = ctx.caller()?;
    let id = TaskId::parse(&input.id)?;
    let outcome = ctx
        .mutate(async |tx| {
            note_fits(&input)?;
            let before = find(tx, caller, TASK_MANAGE, id, Reach::Held).await?;
            check_version(input.expected_version, before.version)?;
            open(&before)?;
            let row = TaskRow {
                status,
                completed_at: (status == TaskStatus::Done).then(time::now),
                ..before.clone()
            };
            let note = input.note.as_deref();
            let row = if status == TaskStatus::Done {
                let completed = Some("completed");
                change(tx, caller, &before, row, completed, note, TaskCompleted::of).await?
            } else {
                let cancelled = Some("cancelled");
                change(tx, caller, &before, row, cancelled, note, TaskCancelled::of).await?
            };
            Ok::<_, Rejection>(row)
        })
        .await;
    TaskPayload::of(outcome)
}
