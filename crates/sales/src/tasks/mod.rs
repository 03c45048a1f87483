//! Tasks: work to do for a user or waiting in a queue (call back, follow up, send a quote,
//! visit a site). A queued task can be claimed; a task can be handed over to someone else or
//! back to a queue; every move is kept in the task's history.

pub mod events;
pub mod mutations;

use events::{TaskCancelled, TaskCreated, TaskRescheduled};

use std::collections::HashMap;

use async_graphql::{Context, ID, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::policy::Inherit;
use switchyard_kernel::{
    Caller, Conn, ContextExt, DomainEvent, Error, TenantId, UserId, db_run, time, write,
};

use crate::customers::{Customer, CustomerId};
use crate::permissions::TASK_READ;
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
        event = TaskData,
        scope = scope,
        order(created_at, desc),
        one(name = task, doc = "A task by ID."),
        list(name = tasks, doc = "Tasks the caller may see, newest first."),
    )]
    pub struct Task {
        #[field(filter, event)]
        kind: TaskKind,
        #[field(filter, event)]
        title: String,
        #[field(filter, event)]
        status: TaskStatus,
        #[field(filter, event)]
        due_at: Option<NaiveDateTime>,
        /// The customer the task is about, if any and if you may see it.
        #[field(to_one = Customer, guard, filter, event)]
        customer_id: Option<CustomerId>,
        /// The activity whose follow-up created this task.
        activity_id: Option<ActivityId>,
        /// Who does it; null while it waits in a queue.
        #[field(to_one = User, filter, event)]
        assignee_id: Option<UserId>,
        /// The queue it belongs to.
        #[field(filter, event)]
        queue: Option<TaskQueue>,
        #[field(hidden)]
        created_by: Option<UserId>,
        completed_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        #[field(event)]
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

/// Asks sales to contact a customer: a task of `kind` about the customer for its sales rep, or
/// in the account-management queue when it has none (how other domains raise follow-ups, such
/// as the satisfaction call after a job). In the caller's transaction.
pub async fn follow_up_customer(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: TaskId,
    customer: CustomerId,
    kind: TaskKind,
    title: String,
    due_at: NaiveDateTime,
) -> Result<TaskRow, Error> {
    let row = crate::customers::find_in_tenant(conn, caller.tenant_id, customer).await?;
    let assignee = row.assigned_to;
    let new = NewTask {
        kind,
        title,
        due_at: Some(due_at),
        customer: Some(customer),
        activity: None,
        assignee,
        queue: assignee.is_none().then_some(TaskQueue::AccountManagement),
    };
    insert(conn, caller, id, new).await
}
