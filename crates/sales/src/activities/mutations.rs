//! Logging contacts with customers and changing them; a follow-up becomes a call-back task.

use super::events::{ActivityLogged, ActivityUpdated};
use super::{ActivityId, ActivityKind, ActivityRow, SalesActivity};
use crate::customers::{CustomerId, customer_for};
use crate::leads::LeadId;
use crate::permissions::ACTIVITY_LOG;
use crate::schema::leads;
use crate::tasks::{self, NewTask, TaskId, TaskKind};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate::find_in;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    ContextExt, Error, Rejection, UserErrorCode, db_run, payload, time, write,
};

/// A contact to log.
#[derive(InputObject)]
pub struct LogActivityInput {
    pub customer_id: ID,
    pub lead_id: Option<ID>,
    pub kind: ActivityKind,
    pub subject: String,
    #[graphql(default)]
    pub description: String,
    pub outcome: Option<String>,
    pub next_action: Option<String>,
    pub duration_minutes: Option<i32>,
    /// When it happened; defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// When to call back: creates a CALL_BACK task for you.
    pub follow_up_at: Option<DateTime<Utc>>,
    /// A retried request with the same key returns the first result instead of logging twice.
    pub idempotency_key: Option<String>,
}

/// Changes to an activity; `followUpAt: null` cancels its call-back task.
#[derive(InputObject)]
pub struct UpdateActivityInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub outcome: MaybeUndefined<String>,
    pub next_action: MaybeUndefined<String>,
    pub duration_minutes: MaybeUndefined<i32>,
    pub follow_up_at: MaybeUndefined<DateTime<Utc>>,
}

payload!(
    /// The result of an activity mutation.
    ActivityPayload { activity: SalesActivity } from row
);

/// The rules of an activity as it is to be stored.
fn check(row: &ActivityRow, check: &mut Check) -> Result<(), Rejection> {
    check
        .text("input.subject", &row.subject, 200)
        .max_len("input.description", &row.description, 10_000)
        .max_len(
            "input.outcome",
            row.outcome.as_deref().unwrap_or_default(),
            500,
        )
        .max_len(
            "input.nextAction",
            row.next_action.as_deref().unwrap_or_default(),
            500,
        );
    if let Some(minutes) = row.duration_minutes {
        check.within("input.durationMinutes", minutes, 0..=24 * 60);
    }
    std::mem::take(check).finish()
}

/// An optional text as stored: trimmed.
fn trim(text: String) -> String {
    text.trim().to_owned()
}

fn call_back(row: &ActivityRow, due: NaiveDateTime) -> NewTask {
    NewTask {
        kind: TaskKind::CallBack,
        title: format!("Call back: {}", row.subject),
        due_at: Some(due),
        customer: Some(row.customer_id),
        activity: Some(row.id),
        assignee: Some(row.owner_id),
        queue: None,
    }
}

#[derive(Default)]
pub struct ActivityMutation;

#[Object]
impl ActivityMutation {
    /// Logs a contact with a customer; a follow-up date creates a CALL_BACK task for you.
    #[graphql(directive = Require::apply(ACTIVITY_LOG))]
    async fn log_activity(
        &self,
        ctx: &Context<'_>,
        input: LogActivityInput,
    ) -> async_graphql::Result<ActivityPayload> {
        let caller = ctx.caller()?;
        let Some(owner) = caller.user_id() else {
            return Err(Error::forbidden("activities are logged by users").into());
        };
        let customer = CustomerId::parse(&input.customer_id)?;
        let lead = input.lead_id.as_ref().map(LeadId::parse).transpose()?;
        let outcome = ctx
            .mutate(async |tx| {
                let id = ActivityId::new();
                let key = input.idempotency_key.as_deref();
                if let Some(first) =
                    write::replay::<SalesActivity>(tx, caller, "logActivity", key, ACTIVITY_LOG, id)
                        .await?
                {
                    return Ok(first);
                }
                let customer_row = customer_for(tx, caller, ACTIVITY_LOG, customer).await?;
                crate::customers::still_active(&customer_row, "input.customerId")?;
                let mut problems = Check::new();
                if let Some(lead) = lead {
                    let belongs: i64 = db_run!(tx, |c| leads::table
                        .filter(leads::tenant_id.eq(caller.tenant_id))
                        .filter(leads::id.eq(lead))
                        .filter(leads::customer_id.eq(customer))
                        .count()
                        .get_result(c)
                        .await)?;
                    if belongs == 0 {
                        problems.add(
                            "input.leadId",
                            UserErrorCode::UnknownReference,
                            "this customer has no such lead",
                        );
                    }
                }
                let now = time::now();
                let mut row = ActivityRow {
                    id,
                    tenant_id: caller.tenant_id,
                    customer_id: customer,
                    lead_id: lead,
                    owner_id: owner,
                    kind: input.kind,
                    subject: trim(input.subject),
                    description: trim(input.description),
                    outcome: input.outcome.map(trim),
                    next_action: input.next_action.map(trim),
                    duration_minutes: input.duration_minutes,
                    occurred_at: input.occurred_at.map(time::naive).unwrap_or(now),
                    follow_up_at: input.follow_up_at.map(time::naive),
                    follow_up_task_id: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                check(&row, &mut problems)?;
                if let Some(due) = row.follow_up_at {
                    let task = tasks::insert(tx, caller, TaskId::new(), call_back(&row, due));
                    row.follow_up_task_id = Some(task.await?.id);
                }
                Ok::<_, Rejection>(
                    write::create::<SalesActivity, _>(tx, caller, row, ActivityLogged::of).await?,
                )
            })
            .await;
        ActivityPayload::of(outcome)
    }

    /// Changes an activity. Moving `followUpAt` moves its call-back task; `null` cancels it;
    /// setting one where there was none creates the task.
    #[graphql(directive = Require::apply(ACTIVITY_LOG))]
    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        input: UpdateActivityInput,
    ) -> async_graphql::Result<ActivityPayload> {
        let caller = ctx.caller()?;
        let id = ActivityId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find_in::<SalesActivity>(tx, caller, ACTIVITY_LOG, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut row = before.clone();
                write::set(&mut row.subject, input.subject.map(trim));
                write::set(&mut row.description, input.description.map(trim));
                write::patch(&mut row.outcome, input.outcome.map_value(trim));
                write::patch(&mut row.next_action, input.next_action.map_value(trim));
                write::patch(&mut row.duration_minutes, input.duration_minutes);
                write::patch(
                    &mut row.follow_up_at,
                    input.follow_up_at.map_value(time::naive),
                );
                check(&row, &mut Check::new())?;
                // The call-back follows the follow-up: moved, cancelled, or made anew (also
                // when the old one was done or cancelled meanwhile).
                let kept = match (row.follow_up_at, before.follow_up_task_id) {
                    (Some(due), Some(task)) if Some(due) != before.follow_up_at => {
                        tasks::reschedule(tx, caller, task, due).await?
                    }
                    (None, Some(task)) => {
                        tasks::cancel(tx, caller, task, "the follow-up was cleared").await?;
                        row.follow_up_task_id = None;
                        true
                    }
                    (due, task) => due.is_none() || task.is_some(),
                };
                if let (false, Some(due)) = (kept, row.follow_up_at) {
                    let task = tasks::insert(tx, caller, TaskId::new(), call_back(&row, due));
                    row.follow_up_task_id = Some(task.await?.id);
                }
                let row = write::update::<SalesActivity, _>(
                    tx,
                    caller,
                    &before,
                    row,
                    ActivityUpdated::of,
                );
                Ok::<_, Rejection>(row.await?)
            })
            .await;
        ActivityPayload::of(outcome)
    }
}
