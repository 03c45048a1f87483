//! Changing tickets: `createTicket` (its rules in [`super::opening`]), `replyToTicket`
//! (a client's reply reopens a resolved ticket), and the agent's work: `assignTicket`,
//! `addInternalNote`, `changeTicketStatus`, `changeTicketPriority`. Each is one transaction that
//! stores the ticket with its event and writes the ticket's timeline entries.

use async_graphql::{Context, ID, InputObject, Object};
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, UserId, payload, time,
    write,
};

use super::events::{
    TicketAssigned, TicketNoted, TicketPriorityChanged, TicketReplied, TicketStatusChanged,
};
use super::opening::{CreateTicketInput, create};
use super::{Ticket, TicketId, TicketPriority, TicketRow, TicketStatus};
use crate::activities::{self, Entry, TicketActivityKind};
use crate::permissions::{AGENT_ROLES, TICKET_ASSIGN, TICKET_CREATE, TICKET_REPLY, TICKET_WORK};
use crate::slas;

payload!(
    /// The result of a ticket mutation.
    TicketPayload { ticket: Ticket } from row
);

/// The longest reply or note, characters.
pub(crate) const MAX_TEXT: usize = 10_000;

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
pub(crate) async fn open(
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
pub(crate) async fn store<E: switchyard_kernel::DomainEvent>(
    tx: &mut Conn<'_>,
    caller: &Caller,
    before: &TicketRow,
    row: TicketRow,
    entries: Vec<Entry>,
    event: impl Fn(&TicketRow) -> E,
) -> Result<TicketRow, Rejection> {
    let mut row = row;
    slas::settle(&mut row, time::now());
    super::ranked(&mut row);
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

fn unknown_agent() -> Rejection {
    Rejection::invalid(
        "input.assigneeId",
        UserErrorCode::UnknownReference,
        "no such active agent (a user with the support_agent, admin or owner role)",
    )
}
