//! Tickets: a client's request for help, numbered per tenant (#1001, #1002, ...), worked by an
//! agent from NEW to RESOLVED and CLOSED, with a complete timeline ([`crate::activities`]).

pub mod events;
pub mod metadata;
pub mod mutations;
mod notices;
pub mod opening;

use chrono::NaiveDateTime;
use switchyard_identity::User;
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;
use switchyard_kernel::{Caller, Error, UserId};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_sales::Customer;
use switchyard_sales::customers::CustomerId;

use crate::activities::TicketActivity;
use crate::attachments::TicketAttachment;
use crate::permissions::TICKET_READ;

pub use crate::ids::TicketId;

switchyard_kernel::text_enum! {
    /// Where a ticket stands. NEW → IN_PROGRESS ⇄ WAITING_ON_CLIENT → RESOLVED → CLOSED; a
    /// resolved ticket may be reopened (IN_PROGRESS), by an agent or by the client's reply.
    pub enum TicketStatus {
        /// Opened; nobody has worked it yet.
        New = "NEW",
        /// An agent is on it.
        InProgress = "IN_PROGRESS",
        /// The agent asked the client something; the client's reply puts it back in progress.
        WaitingOnClient = "WAITING_ON_CLIENT",
        /// Answered; the client may still reply, which reopens it.
        Resolved = "RESOLVED",
        /// Done for good: nothing more is added.
        Closed = "CLOSED",
    }
}

impl TicketStatus {
    /// Where the status stands in the workflow (what `orderBy: STATUS` sorts by).
    pub fn rank(self) -> i32 {
        match self {
            TicketStatus::New => 1,
            TicketStatus::InProgress => 2,
            TicketStatus::WaitingOnClient => 3,
            TicketStatus::Resolved => 4,
            TicketStatus::Closed => 5,
        }
    }

    /// The states a ticket may move to from this one.
    pub fn next(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match self {
            New => &[InProgress, WaitingOnClient, Resolved, Closed],
            InProgress => &[WaitingOnClient, Resolved, Closed],
            WaitingOnClient => &[InProgress, Resolved, Closed],
            Resolved => &[InProgress, Closed],
            Closed => &[],
        }
    }
}

switchyard_kernel::text_enum! {
    /// How urgent a ticket is; agents and admins set it, clients do not.
    pub enum TicketPriority {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Urgent = "URGENT",
    }
}

impl TicketPriority {
    /// How urgent, as a number (what `orderBy: PRIORITY` sorts by: descending is the most
    /// urgent first).
    pub fn rank(self) -> i32 {
        match self {
            TicketPriority::Low => 1,
            TicketPriority::Medium => 2,
            TicketPriority::High => 3,
            TicketPriority::Urgent => 4,
        }
    }
}

/// Sets the columns tickets sort by priority and status with (before every write).
pub(crate) fn ranked(row: &mut TicketRow) {
    row.priority_rank = row.priority.rank();
    row.status_rank = row.status.rank();
}

switchyard_kernel::aggregate! {
    /// A support ticket: a client's request, its state and who works it.
    #[aggregate(
        table = crate::schema::support_tickets,
        id = TicketId,
        read = TICKET_READ,
        scope = crate::scope::tickets,
        order(created_at, desc),
        event = TicketData,
        one(name = ticket, doc = "A ticket by ID."),
        changed(name = ticket_changed, doc = "A ticket (or, with `id`, that ticket) as it is after each change you may see: open ticket pages and an agent's queue."),
        list(
            name = tickets,
            doc = "Tickets the caller may see (a client: its own; an agent: its own and the unassigned queue; an admin: all), newest first. `search` matches words of the subject and description.",
            search = search,
        ),
        has_many(name = activities, node = TicketActivity, by = ticket_id, doc = "The ticket's timeline as you may see it, newest first (clients never see internal notes)."),
        has_many(name = attachments, node = TicketAttachment, by = ticket_id, doc = "Files attached to the ticket that you may see, newest first (clients never see internal ones)."),
    )]
    pub struct Ticket {
        /// The ticket's number within the tenant (#1001, #1002, ...).
        #[field(filter, order, event)]
        number: i32,
        #[field(event)]
        subject: String,
        description: String,
        #[field(filter, event)]
        status: TicketStatus,
        #[field(filter, event)]
        priority: TicketPriority,
        /// Who asked for help.
        #[field(to_one = User, filter, event)]
        requester_id: UserId,
        /// The agent working the ticket; null while it waits in the queue.
        #[field(to_one = User, filter, event)]
        assignee_id: Option<UserId>,
        /// The sales customer the ticket is about, if you may see it.
        #[field(to_one = Customer, guard, filter, event)]
        customer_id: Option<CustomerId>,
        /// The job the ticket is about, if you may see it.
        #[field(to_one = Job, guard, filter, event)]
        job_id: Option<JobId>,
        #[field(hidden)]
        tags: String,
        #[field(hidden)]
        reply_token: String,
        #[field(hidden)]
        search_text: String,
        /// When staff first replied.
        first_response_at: Option<NaiveDateTime>,
        /// When the ticket was last resolved; null while it is open.
        #[field(event)]
        resolved_at: Option<NaiveDateTime>,
        closed_at: Option<NaiveDateTime>,
        /// When the first response is due (the service level of the ticket's priority).
        first_response_due_at: NaiveDateTime,
        /// When the resolution is due.
        resolution_due_at: NaiveDateTime,
        /// The first response's due time until it is given, then the resolution's.
        #[field(filter, order)]
        due_at: NaiveDateTime,
        #[field(hidden)]
        sla_breached: bool,
        /// By urgency: descending, URGENT first.
        #[field(hidden, order = Priority)]
        priority_rank: i32,
        /// By the workflow: NEW, IN_PROGRESS, WAITING_ON_CLIENT, RESOLVED, CLOSED.
        #[field(hidden, order = Status)]
        status_rank: i32,
        #[field(hidden)]
        metadata: String,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        #[field(order)]
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to change the ticket safely.
        version: i32,
    }

    pub struct TicketFilter {
        /// Tickets carrying this tag.
        tag: Option<String>,
        /// Tickets that missed a target (true) or met every one so far (false).
        breached: Option<bool>,
        /// Open tickets whose next target falls within this many minutes from now (or has
        /// passed): the ones at risk.
        at_risk_within_minutes: Option<i32>,
        /// Tickets whose custom field `key` is `value` (staff only).
        metadata: Option<metadata::TicketMetadataFilter>,
    }

    impl Ticket {
        /// The address a reply by email goes to, landing on this ticket (when inbound email
        /// is configured: `support_reply_domain`).
        async fn reply_address(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<String>> {
            use switchyard_kernel::ContextExt;
            let domain = ctx.services()?.settings.get(crate::inbound::REPLY_DOMAIN).unwrap_or_default();
            Ok((!domain.is_empty()).then(|| crate::inbound::address(&self.row().reply_token, domain)))
        }
        /// Whether a service-level target was missed: met late, or an open ticket is past
        /// `dueAt`.
        async fn breached(&self) -> bool {
            let row = self.row();
            row.sla_breached || (open(row.status) && row.due_at < switchyard_kernel::time::now())
        }
        /// Labels agents put on the ticket (lower-case).
        async fn tags(&self) -> Vec<String> {
            serde_json::from_str(&self.row().tags).unwrap_or_default()
        }
        /// Custom fields (an order number from a partner's system, say), sorted by key; for
        /// staff who work tickets: empty for anyone else.
        async fn metadata(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Vec<metadata::TicketMetadataEntry>> {
            use switchyard_kernel::ContextExt;
            Ok(metadata::visible(ctx.caller()?, &self.row().metadata))
        }
    }
}

/// Whether a ticket in this status is still being worked.
fn open(status: TicketStatus) -> bool {
    !matches!(status, TicketStatus::Resolved | TicketStatus::Closed)
}

/// ` t.status NOT IN ('RESOLVED', 'CLOSED') AND t.due_at < <at>`: open and past `at`.
fn due_before(at: NaiveDateTime) -> Sql {
    let mut sql = Sql::new("t.status NOT IN ('RESOLVED', 'CLOSED') AND t.due_at < ");
    sql.bind(at);
    sql
}

impl switchyard_kernel::read::FilterExtra for TicketFilter {
    fn extra(&self, caller: &Caller) -> Result<Vec<Expr>, Error> {
        let mut extra = Vec::new();
        if let Some(wanted) = &self.metadata {
            extra.push(Expr::Sql(metadata::condition(caller, wanted)?));
        }
        if let Some(tag) = self.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            // Tags are stored lower-case as a JSON array; match the quoted tag.
            let quoted = serde_json::to_string(&tag.to_lowercase()).unwrap_or_default();
            let mut sql = Sql::new("t.tags LIKE ");
            sql.bind(switchyard_kernel::validate::like_contains(&quoted))
                .push(" ESCAPE '\\'");
            extra.push(Expr::Sql(sql));
        }
        let now = switchyard_kernel::time::now();
        if let Some(breached) = self.breached {
            let mut sql = Sql::new(if breached { "(" } else { "NOT (" });
            sql.push("t.sla_breached OR (")
                .append(&due_before(now))
                .push("))");
            extra.push(Expr::Sql(sql));
        }
        if let Some(minutes) = self.at_risk_within_minutes {
            let minutes = minutes.clamp(0, 366 * 24 * 60);
            extra.push(Expr::Sql(due_before(
                now + chrono::Duration::minutes(minutes.into()),
            )));
        }
        Ok(extra)
    }
}

/// The words a ticket is found by: its subject and description, folded.
pub(crate) fn search_text(subject: &str, description: &str) -> String {
    words(&format!("{subject} {description}"), usize::MAX).join(" ")
}

/// Words of a text, folded (lower-case, no diacritics), safe for both full-text syntaxes.
fn words(text: &str, at_most: usize) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(switchyard_kernel::validate::fold)
        .take(at_most)
        .collect()
}

/// Tickets matching every word of a search in their subject or description (the full-text
/// index of each backend).
fn search(_caller: &Caller, term: &str) -> Result<Expr, Error> {
    let words = words(term, 8);
    if words.is_empty() {
        return Ok(Expr::Sql(Sql::new("1 = 0")));
    }
    let mut pg = Sql::new("t.search @@ to_tsquery('simple', ");
    pg.bind(
        words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    )
    .push(")");
    let mut sqlite = Sql::new(
        "t.id IN (SELECT ticket_id FROM support_tickets_fts WHERE support_tickets_fts MATCH ",
    );
    sqlite
        .bind(
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .push(")");
    let mut fts = Sql::new("");
    fts.either(pg, sqlite);
    Ok(Expr::Sql(fts))
}
