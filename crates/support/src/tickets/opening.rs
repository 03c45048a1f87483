//! Opening a ticket (`createTicket`): who may set what, the checks, and the tenant's ticket
//! numbers (#1001, #1002, ... taken in the creating transaction).

use async_graphql::{ID, InputObject};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Caller, Conn, Error, Rejection, TenantId, UserErrorCode, UserId, db_run, time, write,
};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_operations::permissions::JOB_READ;
use switchyard_sales::Customer;
use switchyard_sales::customers::CustomerId;
use switchyard_sales::permissions::CUSTOMER_READ;

use super::events::TicketOpened;
use super::metadata::{self, TicketMetadataInput};
use super::mutations::MAX_TEXT;
use super::{Ticket, TicketId, TicketPriority, TicketRow, TicketStatus, search_text};
use crate::activities::{self, Entry, TicketActivityKind};
use crate::permissions::{TICKET_CREATE, TICKET_WORK};
use crate::schema::support_ticket_numbers as numbers;
use crate::slas;

const MAX_SUBJECT: usize = 200;
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
    /// Staff only: custom fields.
    pub metadata: Option<Vec<TicketMetadataInput>>,
    /// A key of your choosing: a retry with the same key answers the ticket the first
    /// request opened, and opens no second one.
    pub idempotency_key: Option<String>,
}

pub(crate) async fn create(
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
            ("input.metadata", input.metadata.is_some()),
        ];
        for (field, given) in only_staff {
            if given {
                check.add(field, UserErrorCode::NotAllowed, "only staff set this");
            }
        }
    }
    let tags = tags(&mut check, input.tags.as_deref().unwrap_or_default());
    let mut fields = Default::default();
    metadata::apply(
        &mut check,
        "input.metadata",
        &mut fields,
        input.metadata.as_deref().unwrap_or_default(),
    );
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
        priority_rank: 0,
        status_rank: 0,
        metadata: serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into()),
        created_by: Some(me),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut row = row;
    let sla = slas::of(tx, caller.tenant_id, row.priority).await?;
    slas::plan(&mut row, sla);
    slas::settle(&mut row, now);
    super::ranked(&mut row);
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
fn unknown(field: &str, what: &str) -> Rejection {
    Rejection::invalid(
        field,
        UserErrorCode::UnknownReference,
        format!("no such {what} that you may see"),
    )
}
