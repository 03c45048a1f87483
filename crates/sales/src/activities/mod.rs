//! Sales activities: calls, emails, meetings, proposals, follow-ups, site visits and notes.
//! An activity with a follow-up date creates a CALL_BACK task for its owner, in the same
//! transaction; moving the date moves the task, clearing it cancels the task.

pub mod events;

use events::{ActivityData, ActivityLogged, ActivityUpdated};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::audit;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, UserErrorCode, UserId, db_run, payload, time,
};

use crate::customers::{Customer, CustomerId, customer_for};
use crate::leads::LeadId;
use crate::permissions::{ACTIVITY_LOG, ACTIVITY_READ};
use crate::schema::{leads, sales_activities};
use crate::tasks::{self, NewTask, Task, TaskId, TaskKind};
use switchyard_kernel::read::Expr;

pub use crate::ids::ActivityId;

switchyard_kernel::text_enum! {
    /// What kind of contact an activity was.
    pub enum ActivityKind {
        Call = "CALL",
        Email = "EMAIL",
        Meeting = "MEETING",
        ProposalSent = "PROPOSAL_SENT",
        FollowUp = "FOLLOW_UP",
        SiteVisit = "SITE_VISIT",
        Note = "NOTE",
    }
}

/// The activities `caller` reaches with `permission`: those of the customers it reaches, and
/// those it logged.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    crate::scope::child_scope(caller, permission, "owner_id", None, None)
}

switchyard_kernel::aggregate! {
    /// A logged contact with a customer.
    #[aggregate(
        table = crate::schema::sales_activities,
        id = ActivityId,
        read = ACTIVITY_READ,
        scope = scope,
        prefix = Activity,
        order(created_at, desc),
        one(name = activity, doc = "An activity by ID."),
        list(name = activities, doc = "Activities the caller may see, newest first."),
    )]
    pub struct SalesActivity {
        #[field(to_one = Customer, guard, filter)]
        customer_id: CustomerId,
        #[field(filter)]
        lead_id: Option<LeadId>,
        /// Who logged it (and owns its follow-up).
        #[field(to_one = User, filter)]
        owner_id: UserId,
        #[field(filter)]
        kind: ActivityKind,
        #[field(filter)]
        subject: String,
        description: String,
        outcome: Option<String>,
        next_action: Option<String>,
        duration_minutes: Option<i32>,
        #[field(filter)]
        occurred_at: NaiveDateTime,
        /// When to call back; a CALL_BACK task exists for it while it is set.
        #[field(filter)]
        follow_up_at: Option<NaiveDateTime>,
        /// The CALL_BACK task the follow-up created.
        #[field(to_one = Task, guard)]
        follow_up_task_id: Option<TaskId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }
}

async fn find(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: ActivityId,
) -> Result<ActivityRow, Error> {
    switchyard_kernel::read::aggregate::find_in::<SalesActivity>(conn, caller, permission, id).await
}

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
    ActivityPayload { activity: SalesActivity }
);

fn check_text(
    check: &mut Check,
    subject: &str,
    description: &str,
    outcome: Option<&str>,
    next_action: Option<&str>,
    duration: Option<i32>,
) {
    check.text("input.subject", subject, 200);
    check.max_len("input.description", description, 10_000);
    check.max_len("input.outcome", outcome.unwrap_or_default(), 500);
    check.max_len("input.nextAction", next_action.unwrap_or_default(), 500);
    if duration.is_some_and(|d| !(0..=24 * 60).contains(&d)) {
        check.add(
            "input.durationMinutes",
            UserErrorCode::OutOfRange,
            "must be between 0 and 1440",
        );
    }
}

fn call_back(row: &ActivityRow, due: NaiveDateTime) -> NewTask {
    NewTask {
        kind: TaskKind::CallBack,
        title: format!("Call back: {}", row.subject),
        due_at: Some(due),
        customer: Some(row.customer_id),
        activity: Some(row.id.to_string()),
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
        let subject = input.subject.trim().to_owned();
        let mut check = Check::new();
        check_text(
            &mut check,
            &subject,
            &input.description,
            input.outcome.as_deref(),
            input.next_action.as_deref(),
            input.duration_minutes,
        );
        let outcome = ctx
            .services()?
            .mutate(async |tx| {
                let new_id = ActivityId::new();
                if let Some(id) = switchyard_kernel::idempotency::claim(
                    tx,
                    caller,
                    "logActivity",
                    input.idempotency_key.as_deref(),
                    new_id,
                )
                .await?
                {
                    return Ok(find(
                        tx,
                        caller,
                        ACTIVITY_LOG,
                        id.parse().map_err(Error::internal)?,
                    )
                    .await?);
                }
                let customer_row = customer_for(tx, caller, ACTIVITY_LOG, customer).await?;
                crate::customers::still_active(&customer_row, "input.customerId")?;
                if let Some(lead) = lead {
                    let belongs: i64 = db_run!(tx, |c| leads::table
                        .filter(leads::tenant_id.eq(caller.tenant_id))
                        .filter(leads::id.eq(lead))
                        .filter(leads::customer_id.eq(customer))
                        .count()
                        .get_result(c)
                        .await)?;
                    if belongs == 0 {
                        check.add(
                            "input.leadId",
                            UserErrorCode::UnknownReference,
                            "this customer has no such lead",
                        );
                    }
                }
                check.finish()?;
                let now = time::now();
                let mut row: ActivityRow =
                    db_run!(tx, |c| diesel::insert_into(sales_activities::table)
                        .values((
                            sales_activities::id.eq(new_id),
                            sales_activities::tenant_id.eq(caller.tenant_id),
                            sales_activities::customer_id.eq(customer),
                            sales_activities::lead_id.eq(lead.map(|l| l.to_string())),
                            sales_activities::owner_id.eq(owner),
                            sales_activities::kind.eq(input.kind.as_str()),
                            sales_activities::subject.eq(&subject),
                            sales_activities::description.eq(input.description.trim()),
                            sales_activities::outcome.eq(input.outcome.as_deref().map(str::trim)),
                            sales_activities::next_action
                                .eq(input.next_action.as_deref().map(str::trim)),
                            sales_activities::duration_minutes.eq(input.duration_minutes),
                            sales_activities::occurred_at
                                .eq(input.occurred_at.map(time::naive).unwrap_or(now)),
                            sales_activities::follow_up_at.eq(input.follow_up_at.map(time::naive)),
                            sales_activities::created_at.eq(now),
                            sales_activities::updated_at.eq(now),
                            sales_activities::version.eq(1),
                        ))
                        .returning(ActivityRow::as_returning())
                        .get_result(c)
                        .await
                        .optional())?
                    .ok_or_else(Error::changed_meanwhile)?;
                if let Some(due) = row.follow_up_at {
                    let task =
                        tasks::insert(tx, caller, TaskId::new(), call_back(&row, due)).await?;
                    let id = row.id;
                    row = db_run!(tx, |c| diesel::update(sales_activities::table.find(id))
                        .set(sales_activities::follow_up_task_id.eq(Some(task.id.to_string())))
                        .returning(ActivityRow::as_returning())
                        .get_result(c)
                        .await)?;
                }
                audit::record_event(
                    tx,
                    caller,
                    &ActivityLogged {
                        activity: (&row).into(),
                    },
                    None,
                )
                .await?;
                Ok::<_, Rejection>(row)
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
            .services()?
            .mutate(async |tx| {
                let before = find(tx, caller, ACTIVITY_LOG, id).await?;
                check_version(input.expected_version, before.version)?;
                let pick = |field: &MaybeUndefined<String>, current: &Option<String>| match field {
                    MaybeUndefined::Undefined => current.clone(),
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(v) => Some(v.trim().to_owned()),
                };
                let subject = input
                    .subject
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.subject)
                    .to_owned();
                let description = input
                    .description
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.description)
                    .to_owned();
                let outcome_text = pick(&input.outcome, &before.outcome);
                let next_action = pick(&input.next_action, &before.next_action);
                let duration = match input.duration_minutes {
                    MaybeUndefined::Undefined => before.duration_minutes,
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(d) => Some(d),
                };
                let follow_up = match &input.follow_up_at {
                    MaybeUndefined::Undefined => before.follow_up_at,
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(t) => Some(time::naive(*t)),
                };
                let mut check = Check::new();
                check_text(
                    &mut check,
                    &subject,
                    &description,
                    outcome_text.as_deref(),
                    next_action.as_deref(),
                    duration,
                );
                check.finish()?;
                let mut task_id = before.follow_up_task_id;
                match (follow_up, task_id) {
                    (Some(due), Some(task)) if Some(due) != before.follow_up_at => {
                        // The call-back was done or cancelled meanwhile: a new date is a new one.
                        let moved = tasks::reschedule(tx, caller, task, due).await?;
                        if !moved {
                            let row = ActivityRow {
                                subject: subject.clone(),
                                ..before.clone()
                            };
                            task_id = Some(
                                tasks::insert(tx, caller, TaskId::new(), call_back(&row, due))
                                    .await?
                                    .id,
                            );
                        }
                    }
                    (None, Some(task)) => {
                        tasks::cancel(tx, caller, task, "the follow-up was cleared").await?;
                        task_id = None;
                    }
                    (Some(due), None) => {
                        let task = tasks::insert(
                            tx,
                            caller,
                            TaskId::new(),
                            call_back(
                                &ActivityRow {
                                    subject: subject.clone(),
                                    ..before.clone()
                                },
                                due,
                            ),
                        )
                        .await?;
                        task_id = Some(task.id);
                    }
                    _ => {}
                }
                let row: ActivityRow = db_run!(tx, |c| diesel::update(
                    sales_activities::table
                        .find(id)
                        .filter(sales_activities::version.eq(before.version))
                )
                .set((
                    sales_activities::subject.eq(&subject),
                    sales_activities::description.eq(&description),
                    sales_activities::outcome.eq(&outcome_text),
                    sales_activities::next_action.eq(&next_action),
                    sales_activities::duration_minutes.eq(duration),
                    sales_activities::follow_up_at.eq(follow_up),
                    sales_activities::follow_up_task_id.eq(task_id.map(|t| t.to_string())),
                    sales_activities::version.eq(before.version + 1),
                    sales_activities::updated_at.eq(time::now()),
                ))
                .returning(ActivityRow::as_returning())
                .get_result(c)
                .await)?;
                audit::record_event(
                    tx,
                    caller,
                    &ActivityUpdated {
                        activity: (&row).into(),
                    },
                    serde_json::to_value(ActivityData::from(&before)).ok(),
                )
                .await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        ActivityPayload::of(outcome)
    }
}

impl From<ActivityRow> for ActivityPayload {
    fn from(row: ActivityRow) -> Self {
        ActivityPayload {
            activity: Some(SalesActivity::one(row)),
            user_errors: vec![],
        }
    }
}
