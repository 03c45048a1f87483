//! Changing tickets: `createTicket` (a client for itself; staff for a client), `replyToTicket`
//! (a client's reply reopens a resolved ticket), and the agent's work: `assignTicket`,
//! `addInternalNote`, `changeTicketStatus`, `changeTicketPriority`. Each is one transaction that
//! stores the ticket with its event and writes the ticket's timeline entries.

use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, UserId, db_run, payload,
    time, write,
};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_operations::permissions::JOB_READ;
use switchyard_sales::Customer;
use switchyard_sales::customers::CustomerId;
use switchyard_sales::permissions::CUSTOMER_READ;

use super::events::{
    TicketAssigned, TicketNoted, TicketOpened, TicketPriorityChanged, TicketReplied,
    TicketStatusChanged,
};
use super::{Ticket, TicketId, TicketPriority, TicketRow, TicketStatus, search_text};
use crate::activities::{self, Entry, TicketActivityKind};
use crate::permissions::{AGENT_ROLES, TICKET_ASSIGN, TICKET_CREATE, TICKET_REPLY, TICKET_WORK};
use crate::schema::support_ticket_numbers as numbers;
use crate::slas;

payload!(
    /// The result of a ticket mutation.
    TicketPayload { ticket: Ticket } from row
);

const MAX_SUBJECT: usize = 200;
const MAX_TEXT: usize = 10_000;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 40;
/// The first number of a tenant's tickets.
const FIRST_NUMBER: i32 = 1001;

/// A ticket to open.
#[derive(InputObject)]
pub struct CreateTicketInput {
    /// What it is about, in a line.
    pub subject: String,
    /// What happened, in the client's words.
    #[graphql(default)]
    pub description: String,
    /// Staff only; MEDIUM when not given.
    pub priority: Option<TicketPriority>,
    /// Staff only: the client (or colleague) the ticket is for; yourself when not given.
    pub requester_id: Option<ID>,
    /// Staff only: the sales customer it is about.
    pub customer_id: Option<ID>,
    /// Staff only: the job it is about.
    pub job_id: Option<ID>,
    /// Staff only: labels (lower-cased, at most 20 of at most 40 characters).
    pub tags: Option<Vec<String>>,
    /// A key of your choosing: a retry with the same key answers the ticket the first
    /// request opened, and opens no second one.
    pub idempotency_key: Option<String>,
}

/// A reply on a ticket.
#[derive(InputObject)]
pub struct ReplyToTicketInput {
    pub ticket_id: ID,
    pub body: String,
    /// The version you read, if you want a CONFLICT when the ticket changed since.
    pub expected_version: Option<i32>,
}

/// An internal note on a ticket.
#[derive(InputObject)]
pub struct AddInternalNoteInput {
    pub ticket_id: ID,
    pub body: String,
}

/// Who works a ticket.
#[derive(InputObject)]
pub struct AssignTicketInput {
    pub ticket_id: ID,
    /// The agent; null puts the ticket back in the queue. Without `support.ticket:assign`,
    /// only yourself, on an unassigned ticket (or null, on your own).
    pub assignee_id: Option<ID>,
    pub expected_version: Option<i32>,
}

/// A ticket's new status.
#[derive(InputObject)]
pub struct ChangeTicketStatusInput {
    pub ticket_id: ID,
    pub status: TicketStatus,
    pub expected_version: Option<i32>,
}

/// A ticket's new priority.
#[derive(InputObject)]
pub struct ChangeTicketPriorityInput {
    pub ticket_id: ID,
    pub priority: TicketPriority,
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct TicketMutation;

#[Object]
impl TicketMutation {
    /// Opens a ticket. A client opens it for itself and sets only subject and description;
    /// staff may open it for a client, with priority, tags and links to a customer and a job.
    #[graphql(directive = Require::apply(TICKET_CREATE))]
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| create(tx, caller, &input).await)
            .await;
        TicketPayload::of(outcome)
    }

    /// Replies on a ticket you may see. The requester's reply puts a RESOLVED or
    /// WAITING_ON_CLIENT ticket back IN_PROGRESS; staff's first reply is the first response
    /// (and takes a NEW ticket IN_PROGRESS). A CLOSED ticket takes no replies.
    #[graphql(directive = Require::apply(TICKET_REPLY))]
    async fn reply_to_ticket(
        &self,
        ctx: &Context<'_>,
        input: ReplyToTicketInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let id = TicketId::parse(&input.ticket_id)?;
                reply(tx, caller, id, &input.body, input.expected_version).await
            })
            .await;
        TicketPayload::of(outcome)
    }

    /// Adds a note among staff to a ticket you work; clients never see it.
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn add_internal_note(
        &self,
        ctx: &Context<'_>,
        input: AddInternalNoteInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let body = input.body.trim().to_owned();
        let outcome = ctx
            .mutate(async |tx| {
                let before = open(tx, caller, TICKET_WORK, &input.ticket_id).await?;
                let mut check = Check::new();
                check.text("input.body", &body, MAX_TEXT);
                check.finish()?;
                let entries = vec![Entry::text(TicketActivityKind::InternalNote, body.clone())];
                let row = before.clone();
                store(tx, caller, &before, row, entries, TicketNoted::of).await
            })
            .await;
        TicketPayload::of(outcome)
    }

    /// Assigns a ticket. An agent takes an unassigned ticket (or gives its own back to the
    /// queue); holders of `support.ticket:assign` assign and reassign to any agent.
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn assign_ticket(
        &self,
        ctx: &Context<'_>,
        input: AssignTicketInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let assignee = input
                    .assignee_id
                    .as_ref()
                    .map(UserId::parse)
                    .transpose()
                    .map_err(|_| unknown_agent())?;
                let manager = caller.has(TICKET_ASSIGN);
                let permission = if manager { TICKET_ASSIGN } else { TICKET_WORK };
                let before = open(tx, caller, permission, &input.ticket_id).await?;
                check_version(input.expected_version, before.version)?;
                if before.assignee_id == assignee {
                    return Ok(before);
                }
                let me = caller.user_id();
                let allowed = manager
                    || match assignee {
                        Some(user) => Some(user) == me && before.assignee_id.is_none(),
                        None => before.assignee_id == me,
                    };
                if !allowed {
                    return Err(Rejection::invalid(
                        "input.assigneeId",
                        UserErrorCode::NotAllowed,
                        "you take unassigned tickets for yourself only; assigning others takes support.ticket:assign",
                    ));
                }
                if let Some(user) = assignee
                    && !is_agent(tx, caller.tenant_id, user).await?
                {
                    return Err(unknown_agent());
                }
                let mut row = before.clone();
                row.assignee_id = assignee;
                let entries = vec![Entry::change(
                    TicketActivityKind::AgentAssigned,
                    before.assignee_id.map(|u| u.to_global().to_string()),
                    assignee.map(|u| u.to_global().to_string()),
                )];
                let row = store(tx, caller, &before, row, entries, TicketAssigned::of).await?;
                super::notices::assigned(tx, caller, &row).await?;
                Ok(row)
            })
            .await;
        TicketPayload::of(outcome)
    }

    /// Moves a ticket you work to another status (allowed transitions only: see
    /// `TicketStatus`). RESOLVED records `resolvedAt`; reopening clears it.
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn change_ticket_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeTicketStatusInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find(tx, caller, TICKET_WORK, &input.ticket_id).await?;
                check_version(input.expected_version, before.version)?;
                if !before.status.next().contains(&input.status) {
                    let names: Vec<&str> =
                        before.status.next().iter().map(|s| s.as_str()).collect();
                    return Err(Rejection::invalid(
                        "input.status",
                        UserErrorCode::InvalidTransition,
                        if names.is_empty() {
                            format!(
                                "a {} ticket does not change any more",
                                before.status.as_str()
                            )
                        } else {
                            format!(
                                "a {} ticket can become {} only",
                                before.status.as_str(),
                                names.join(", ")
                            )
                        },
                    ));
                }
                let mut row = before.clone();
                let entries = vec![moved(&mut row, input.status)];
                store(tx, caller, &before, row, entries, TicketStatusChanged::of).await
            })
            .await;
        TicketPayload::of(outcome)
    }

    /// Sets the priority of a ticket you work (an admin: any ticket).
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn change_ticket_priority(
        &self,
        ctx: &Context<'_>,
        input: ChangeTicketPriorityInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = open(tx, caller, TICKET_WORK, &input.ticket_id).await?;
                check_version(input.expected_version, before.version)?;
                if before.priority == input.priority {
                    return Ok(before);
                }
                let mut row = before.clone();
                row.priority = input.priority;
                let sla = slas::of(tx, caller.tenant_id, row.priority).await?;
                slas::plan(&mut row, sla);
                let entries = vec![Entry::change(
                    TicketActivityKind::PriorityChanged,
                    Some(before.priority.as_str().to_owned()),
                    Some(input.priority.as_str().to_owned()),
                )];
                store(tx, caller, &before, row, entries, TicketPriorityChanged::of).await
            })
            .await;
        TicketPayload::of(outcome)
    }
}

/// Replies on ticket `id` as `caller` (the API's `replyToTicket`, and an email reply).
pub(crate) async fn reply(
    tx: &mut Conn<'_>,
    caller: &Caller,
    id: TicketId,
    body: &str,
    expected: Option<i32>,
) -> Result<TicketRow, Rejection> {
    let body = body.trim().to_owned();
    let before = aggregate::find_in::<Ticket>(tx, caller, TICKET_REPLY, id).await?;
    closed(&before)?;
    check_version(expected, before.version)?;
    let mut check = Check::new();
    check.text("input.body", &body, MAX_TEXT);
    check.finish()?;
    let mut row = before.clone();
    let mut entries = vec![Entry::text(TicketActivityKind::Comment, body.clone())];
    let to = if Some(before.requester_id) == caller.user_id() {
        matches!(
            before.status,
            TicketStatus::Resolved | TicketStatus::WaitingOnClient
        )
        .then_some(TicketStatus::InProgress)
    } else {
        row.first_response_at.get_or_insert(time::now());
        (before.status == TicketStatus::New).then_some(TicketStatus::InProgress)
    };
    if let Some(to) = to {
        entries.push(moved(&mut row, to));
    }
    let row = store(tx, caller, &before, row, entries, TicketReplied::of).await?;
    super::notices::replied(tx, caller, &row, &body).await?;
    Ok(row)
}

async fn create(
    tx: &mut Conn<'_>,
    caller: &Caller,
    input: &CreateTicketInput,
) -> Result<TicketRow, Rejection> {
    let id = TicketId::new();
    let key = input.idempotency_key.as_deref();
    if let Some(first) =
        write::replay::<Ticket>(tx, caller, "createTicket", key, TICKET_CREATE, id).await?
    {
        return Ok(first);
    }
    let staff = caller.has(TICKET_WORK);
    let subject = input.subject.trim().to_owned();
    let description = input.description.trim().to_owned();
    let mut check = Check::new();
    check.text("input.subject", &subject, MAX_SUBJECT);
    check.max_len("input.description", &description, MAX_TEXT);
    if !staff {
        let only_staff = [
            ("input.priority", input.priority.is_some()),
            ("input.requesterId", input.requester_id.is_some()),
            ("input.customerId", input.customer_id.is_some()),
            ("input.jobId", input.job_id.is_some()),
            ("input.tags", input.tags.is_some()),
        ];
        for (field, given) in only_staff {
            if given {
                check.add(field, UserErrorCode::NotAllowed, "only staff set this");
            }
        }
    }
    let tags = tags(&mut check, input.tags.as_deref().unwrap_or_default());
    check.finish()?;
    let Some(me) = caller.user_id() else {
        return Err(Error::forbidden("tickets are opened by a user").into());
    };
    let requester = match &input.requester_id {
        None => me,
        Some(id) => {
            let user = UserId::parse(id).map_err(|_| unknown("input.requesterId", "user"))?;
            let tenant = caller.tenant_id;
            if !(switchyard_identity::users::is_active_client(tx, tenant, user).await?
                || switchyard_identity::users::is_active_staff(tx, tenant, user).await?)
            {
                return Err(unknown("input.requesterId", "user"));
            }
            user
        }
    };
    let customer_id = match &input.customer_id {
        None => None,
        Some(id) => {
            let customer =
                CustomerId::parse(id).map_err(|_| unknown("input.customerId", "customer"))?;
            match aggregate::find_in::<Customer>(tx, caller, CUSTOMER_READ, customer).await {
                Ok(row) => Some(row.id),
                Err(Error::NotFound | Error::Forbidden(_)) => {
                    return Err(unknown("input.customerId", "customer"));
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let job_id = match &input.job_id {
        None => None,
        Some(id) => {
            let job = JobId::parse(id).map_err(|_| unknown("input.jobId", "job"))?;
            match aggregate::find_in::<Job>(tx, caller, JOB_READ, job).await {
                Ok(row) => Some(row.id),
                Err(Error::NotFound | Error::Forbidden(_)) => {
                    return Err(unknown("input.jobId", "job"));
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let number = next_number(tx, caller.tenant_id).await?;
    let now = time::now();
    let row = TicketRow {
        id,
        tenant_id: caller.tenant_id,
        number,
        search_text: search_text(&subject, &description),
        subject,
        description: description.clone(),
        status: TicketStatus::New,
        priority: input.priority.unwrap_or(TicketPriority::Medium),
        requester_id: requester,
        assignee_id: None,
        customer_id,
        job_id,
        tags: serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        reply_token: crate::inbound::token(),
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        first_response_due_at: now,
        resolution_due_at: now,
        due_at: now,
        sla_breached: false,
        created_by: Some(me),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut row = row;
    let sla = slas::of(tx, caller.tenant_id, row.priority).await?;
    slas::plan(&mut row, sla);
    slas::settle(&mut row, now);
    let row = write::create::<Ticket, _>(tx, caller, row, TicketOpened::of).await?;
    activities::record(
        tx,
        caller,
        row.id,
        vec![Entry::text(TicketActivityKind::Opened, description)],
    )
    .await?;
    Ok(row)
}

/// Tags as stored: trimmed, lower-cased, without duplicates, each checked.
fn tags(check: &mut Check, given: &[String]) -> Vec<String> {
    if given.len() > MAX_TAGS {
        check.add(
            "input.tags",
            UserErrorCode::OutOfRange,
            format!("at most {MAX_TAGS} tags"),
        );
    }
    let mut tags: Vec<String> = Vec::new();
    for (i, tag) in given.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        check.text(&format!("input.tags.{i}"), &tag, MAX_TAG);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// The next number of the tenant's tickets, taken in the caller's transaction: the counter's
/// row stays locked until it commits, and a rollback gives the number back.
async fn next_number(tx: &mut Conn<'_>, tenant: TenantId) -> Result<i32, Error> {
    Ok(db_run!(tx, |c| diesel::insert_into(numbers::table)
        .values((
            numbers::tenant_id.eq(tenant),
            numbers::last_number.eq(FIRST_NUMBER),
        ))
        .on_conflict(numbers::tenant_id)
        .do_update()
        .set(numbers::last_number.eq(numbers::last_number + 1))
        .returning(numbers::last_number)
        .get_result::<i32>(c)
        .await)?)
}

/// Makes `last` the tenant's last ticket number (tickets stored by the demo seed).
pub(crate) async fn reserve_numbers(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    last: i32,
) -> Result<(), Error> {
    db_run!(tx, |c| diesel::insert_into(numbers::table)
        .values((numbers::tenant_id.eq(tenant), numbers::last_number.eq(last)))
        .on_conflict(numbers::tenant_id)
        .do_update()
        .set(numbers::last_number.eq(last))
        .execute(c)
        .await)?;
    Ok(())
}

/// The ticket by its global ID, under `permission`.
async fn find(
    tx: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: &ID,
) -> Result<TicketRow, Rejection> {
    let id = TicketId::parse(id)?;
    Ok(aggregate::find_in::<Ticket>(tx, caller, permission, id).await?)
}

/// The ticket, which must not be CLOSED: a closed ticket takes nothing more.
async fn open(
    tx: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: &ID,
) -> Result<TicketRow, Rejection> {
    let row = find(tx, caller, permission, id).await?;
    closed(&row)?;
    Ok(row)
}

/// Refuses a CLOSED ticket: nothing more is added to it.
fn closed(row: &TicketRow) -> Result<(), Rejection> {
    if row.status == TicketStatus::Closed {
        return Err(Rejection::invalid(
            "input.ticketId",
            UserErrorCode::InvalidState,
            "the ticket is CLOSED: nothing more is added to it",
        ));
    }
    Ok(())
}

/// Moves `row` to status `to` (with its times), as a timeline entry.
fn moved(row: &mut TicketRow, to: TicketStatus) -> Entry {
    let from = row.status;
    row.status = to;
    match to {
        TicketStatus::Resolved => row.resolved_at = Some(time::now()),
        TicketStatus::Closed => {
            // Closing an open ticket resolves it too.
            row.closed_at = Some(time::now());
            row.resolved_at.get_or_insert(time::now());
        }
        TicketStatus::New | TicketStatus::InProgress | TicketStatus::WaitingOnClient => {
            row.resolved_at = None;
        }
    }
    Entry::change(
        TicketActivityKind::StatusChanged,
        Some(from.as_str().to_owned()),
        Some(to.as_str().to_owned()),
    )
}

/// Stores the changed ticket with its event, and its timeline entries.
async fn store<E: switchyard_kernel::DomainEvent>(
    tx: &mut Conn<'_>,
    caller: &Caller,
    before: &TicketRow,
    row: TicketRow,
    entries: Vec<Entry>,
    event: impl Fn(&TicketRow) -> E,
) -> Result<TicketRow, Rejection> {
    let mut row = row;
    slas::settle(&mut row, time::now());
    let row = write::update::<Ticket, _>(tx, caller, before, row, event).await?;
    activities::record(tx, caller, row.id, entries).await?;
    Ok(row)
}

/// Whether `user` is an active staff user holding a role that works tickets.
async fn is_agent(tx: &mut Conn<'_>, tenant: TenantId, user: UserId) -> Result<bool, Error> {
    for role in AGENT_ROLES {
        if switchyard_identity::users::is_active_with_role(tx, tenant, user, role).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn unknown(field: &str, what: &str) -> Rejection {
    Rejection::invalid(
        field,
        UserErrorCode::UnknownReference,
        format!("no such {what} that you may see"),
    )
}

fn unknown_agent() -> Rejection {
    Rejection::invalid(
        "input.assigneeId",
        UserErrorCode::UnknownReference,
        "no such active agent (a user with the support_agent, admin or owner role)",
    )
}
