//! (Over 600 lines: the task's declaration plus its queue moves (create, update, claim, hand over, complete, cancel, and the follow-up's reschedule and cancel), which share the history writer and the holder rules; each move is a changed row through `kernel::write` plus its history entry. The GraphQL input objects are most of what is left to split off.)
//!
//! Tasks: work to do for a user or waiting in a queue (call back, follow up, send a quote,
//! visit a site). A queued task can be claimed; a task can be handed over to someone else or
//! back to a queue; every move is kept in the task's history.

pub mod events;

use events::{
    TaskCancelled, TaskClaimed, TaskCompleted, TaskCreated, TaskHandedOver, TaskRescheduled,
    TaskUpdated,
};

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_identity::users::is_active_staff;
use switchyard_kernel::policy::{Inherit, Require};
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, DomainEvent, Error, Rejection, TenantId, UserErrorCode, UserId,
    db_run, payload, time, write,
};

use crate::customers::{Customer, CustomerId, customer_for};
use crate::permissions::{TASK_MANAGE, TASK_READ};
use crate::schema::{task_events, tasks};
use switchyard_kernel::read::{Expr, Ordering};

use crate::ids::ActivityId;
pub use crate::ids::TaskId;

switchyard_kernel::text_enum! {
    /// What a task is for.
    pub enum TaskKind {
        CallBack = "CALL_BACK",
        FollowUp = "FOLLOW_UP",
        SendQuote = "SEND_QUOTE",
        SiteVisit = "SITE_VISIT",
        Other = "OTHER",
    }
}

switchyard_kernel::text_enum! {
    /// Whether a task is still to do.
    pub enum TaskStatus {
        Open = "OPEN",
        Done = "DONE",
        Cancelled = "CANCELLED",
    }
}

switchyard_kernel::text_enum! {
    /// Shared work queues a task may wait in.
    pub enum TaskQueue {
        InsideSales = "INSIDE_SALES",
        SalesOps = "SALES_OPS",
        FieldSales = "FIELD_SALES",
        AccountManagement = "ACCOUNT_MANAGEMENT",
    }
}

/// One change in a task's life.
#[derive(SimpleObject, Clone)]
#[graphql(directive = Inherit::apply())]
pub struct TaskEvent {
    /// `created`, `claimed`, `handed_over`, `returned_to_queue`, `rescheduled`, `completed`, `cancelled`.
    pub action: String,
    pub from_assignee: Option<ID>,
    pub to_assignee: Option<ID>,
    pub from_queue: Option<TaskQueue>,
    pub to_queue: Option<TaskQueue>,
    pub by: Option<ID>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

fn user_id(text: &Option<String>) -> Option<ID> {
    text.as_deref()
        .and_then(|u| u.parse::<UserId>().ok())
        .map(|u| u.to_global())
}

/// A condition that makes a task visible to everyone who may read tasks: unassigned, waiting
/// in a queue (so it can be claimed).
const QUEUED: &str = "t.assignee_id IS NULL AND t.queue IS NOT NULL";

/// The tasks `caller` reaches with `permission`: its own, those of the customers it reaches,
/// and unassigned tasks waiting in a queue.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    crate::scope::child_scope(caller, permission, "assignee_id", None, Some(QUEUED))
}

switchyard_kernel::aggregate! {
    /// Work to do.
    #[aggregate(
        table = crate::schema::tasks,
        id = TaskId,
        read = TASK_READ,
        scope = scope,
        order(created_at, desc),
        one(name = task, doc = "A task by ID."),
        list(name = tasks, doc = "Tasks the caller may see, newest first."),
    )]
    pub struct Task {
        #[field(filter)]
        kind: TaskKind,
        #[field(filter)]
        title: String,
        #[field(filter)]
        status: TaskStatus,
        #[field(filter)]
        due_at: Option<NaiveDateTime>,
        /// The customer the task is about, if any and if you may see it.
        #[field(to_one = Customer, guard, filter)]
        customer_id: Option<CustomerId>,
        /// The activity whose follow-up created this task.
        activity_id: Option<ActivityId>,
        /// Who does it; null while it waits in a queue.
        #[field(to_one = User, filter)]
        assignee_id: Option<UserId>,
        /// The queue it belongs to.
        #[field(filter)]
        queue: Option<TaskQueue>,
        #[field(hidden)]
        created_by: Option<UserId>,
        completed_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }

    pub struct TaskFilter {
        /// Only the tasks you hold.
        mine: Option<bool>,
    }

    impl Task {
        /// Every change of hands and state, oldest first.
        async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaskEvent>> {
            let histories = self
                .0
                .siblings()
                .batch("history", |rows| {
                    let ids: Vec<TaskId> = rows.iter().map(|r| r.id).collect();
                    histories(ctx, ids)
                })
                .await?;
            Ok(histories.get(&self.row().id).cloned().unwrap_or_default())
        }
    }
}

/// Which tasks a `find` reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Reading, or claiming: queued tasks are open to all.
    WithQueues,
    /// Managing: only one's own and those of reachable customers.
    Held,
}

pub(crate) async fn find(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: TaskId,
    reach: Reach,
) -> Result<TaskRow, Error> {
    let open = match reach {
        Reach::WithQueues => Some(QUEUED),
        Reach::Held => None,
    };
    switchyard_kernel::read::Listing {
        table: "tasks",
        tenant: caller.tenant_id,
        scope: crate::scope::child_scope(caller, permission, "assignee_id", None, open)?,
        filter: Expr::True,
        order: TaskOrder::default().order(),
    }
    .one(conn, &id.to_string())
    .await?
    .ok_or(Error::NotFound)
}

#[derive(Queryable)]
struct EventRow {
    task_id: TaskId,
    action: String,
    from_assignee: Option<String>,
    to_assignee: Option<String>,
    from_queue: Option<TaskQueue>,
    to_queue: Option<TaskQueue>,
    actor_id: Option<String>,
    note: Option<String>,
    created_at: NaiveDateTime,
}

/// The histories of tasks loaded together, in one statement.
async fn histories(
    ctx: &Context<'_>,
    ids: Vec<TaskId>,
) -> Result<HashMap<TaskId, Vec<TaskEvent>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<EventRow> = db_run!(&mut conn, |c| task_events::table
        .filter(task_events::tenant_id.eq(tenant))
        .filter(task_events::task_id.eq_any(&ids))
        .order(task_events::id.asc())
        .select((
            task_events::task_id,
            task_events::action,
            task_events::from_assignee,
            task_events::to_assignee,
            task_events::from_queue,
            task_events::to_queue,
            task_events::actor_id,
            task_events::note,
            task_events::created_at,
        ))
        .load(c)
        .await)?;
    let mut out: HashMap<TaskId, Vec<TaskEvent>> = HashMap::new();
    for r in rows {
        out.entry(r.task_id).or_default().push(TaskEvent {
            action: r.action,
            from_assignee: user_id(&r.from_assignee),
            to_assignee: user_id(&r.to_assignee),
            from_queue: r.from_queue,
            to_queue: r.to_queue,
            by: user_id(&r.actor_id),
            note: r.note,
            at: r.created_at.and_utc(),
        });
    }
    Ok(out)
}

impl switchyard_kernel::read::FilterExtra for TaskFilter {
    fn extra(&self, caller: &Caller) -> Result<Vec<Expr>, Error> {
        if self.mine != Some(true) {
            return Ok(Vec::new());
        }
        Ok(vec![Expr::Cmp {
            column: "assignee_id",
            op: "=",
            value: caller
                .user_id()
                .map(|u| u.to_string())
                .unwrap_or_default()
                .into(),
        }])
    }
}

/// A task to create (used by mutations and by activities' follow-ups).
pub(crate) struct NewTask {
    pub kind: TaskKind,
    pub title: String,
    pub due_at: Option<NaiveDateTime>,
    pub customer: Option<CustomerId>,
    pub activity: Option<ActivityId>,
    pub assignee: Option<UserId>,
    pub queue: Option<TaskQueue>,
}

/// Writes one entry of a task's history: `action` moved it from `from` to where it is now.
async fn history(
    conn: &mut Conn<'_>,
    caller: &Caller,
    row: &TaskRow,
    action: &str,
    from: (Option<UserId>, Option<TaskQueue>),
    note: Option<&str>,
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::insert_into(task_events::table)
        .values((
            task_events::id.eq(uuid::Uuid::now_v7().to_string()),
            task_events::tenant_id.eq(caller.tenant_id),
            task_events::task_id.eq(row.id),
            task_events::action.eq(action),
            task_events::from_assignee.eq(&from.0),
            task_events::from_queue.eq(from.1),
            task_events::to_assignee.eq(&row.assignee_id),
            task_events::to_queue.eq(row.queue),
            task_events::actor_id.eq(caller.user_id().map(|u| u.to_string())),
            task_events::note.eq(note),
            task_events::created_at.eq(time::now()),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Inserts a task with its first history entry and its event.
pub(crate) async fn insert(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: TaskId,
    new: NewTask,
) -> Result<TaskRow, Error> {
    let now = time::now();
    let row = TaskRow {
        id,
        tenant_id: caller.tenant_id,
        kind: new.kind,
        title: new.title,
        status: TaskStatus::Open,
        due_at: new.due_at,
        customer_id: new.customer,
        activity_id: new.activity,
        assignee_id: new.assignee,
        queue: new.queue,
        created_by: caller.user_id(),
        completed_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = write::create::<Task, _>(conn, caller, row, TaskCreated::of).await?;
    history(conn, caller, &row, "created", (None, None), None).await?;
    Ok(row)
}

/// Stores a changed task with its event and, when it moved (`action`), its history entry.
async fn change<E: DomainEvent>(
    conn: &mut Conn<'_>,
    caller: &Caller,
    before: &TaskRow,
    row: TaskRow,
    action: Option<&str>,
    note: Option<&str>,
    event: impl Fn(&TaskRow) -> E,
) -> Result<TaskRow, Error> {
    let row = write::update::<Task, _>(conn, caller, before, row, event).await?;
    if let Some(action) = action {
        let from = (before.assignee_id, before.queue);
        history(conn, caller, &row, action, from, note).await?;
    }
    Ok(row)
}

/// The open task with this ID in the caller's tenant, whoever holds it (an activity's
/// follow-up belongs to the activity's owner).
async fn open_task(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: TaskId,
) -> Result<Option<TaskRow>, Error> {
    Ok(get(conn, caller.tenant_id, id)
        .await?
        .filter(|t| t.status == TaskStatus::Open))
}

/// Moves an open task's due time (an activity's follow-up moved); false when the task is no
/// longer open (done or cancelled), so the caller makes a new one.
pub(crate) async fn reschedule(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: TaskId,
    due: NaiveDateTime,
) -> Result<bool, Error> {
    let Some(before) = open_task(conn, caller, id).await? else {
        return Ok(false);
    };
    let row = TaskRow {
        due_at: Some(due),
        ..before.clone()
    };
    let rescheduled = Some("rescheduled");
    change(
        conn,
        caller,
        &before,
        row,
        rescheduled,
        None,
        TaskRescheduled::of,
    )
    .await?;
    Ok(true)
}

/// Cancels an open task (an activity's follow-up was cleared).
pub(crate) async fn cancel(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: TaskId,
    note: &str,
) -> Result<(), Error> {
    let Some(before) = open_task(conn, caller, id).await? else {
        return Ok(());
    };
    let row = TaskRow {
        status: TaskStatus::Cancelled,
        ..before.clone()
    };
    let cancelled = Some("cancelled");
    change(
        conn,
        caller,
        &before,
        row,
        cancelled,
        Some(note),
        TaskCancelled::of,
    )
    .await?;
    Ok(())
}

async fn get(conn: &mut Conn<'_>, tenant: TenantId, id: TaskId) -> Result<Option<TaskRow>, Error> {
    Ok(db_run!(conn, |c| tasks::table
        .filter(tasks::tenant_id.eq(tenant))
        .filter(tasks::id.eq(id))
        .select(TaskRow::as_select())
        .first(c)
        .await
        .optional())?)
}

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
    TaskPayload { task: Task }
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
            .services()?
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
            .services()?
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
            .services()?
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
            .services()?
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
        .services()?
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

impl From<TaskRow> for TaskPayload {
    fn from(row: TaskRow) -> Self {
        TaskPayload {
            task: Some(Task::one(row)),
            user_errors: vec![],
        }
    }
}
