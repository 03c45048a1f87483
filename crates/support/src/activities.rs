//! A ticket's timeline: every change to a ticket writes one entry in the same transaction
//! (opened, comment, internal note, status, priority, assignment, attachment), so the timeline
//! is complete.
//! Entries are never edited.

use chrono::NaiveDateTime;
use switchyard_identity::User;
use switchyard_kernel::{Caller, Conn, Error, UserId, time, write};

use crate::permissions::TICKET_READ;
use crate::tickets::{Ticket, TicketId};

pub use crate::ids::TicketActivityId;

switchyard_kernel::text_enum! {
    /// What an entry of a ticket's timeline records.
    pub enum TicketActivityKind {
        /// The ticket was opened (`body`: its description).
        Opened = "OPENED",
        /// A reply everyone on the ticket sees.
        Comment = "COMMENT",
        /// A note among staff; never shown to the client.
        InternalNote = "INTERNAL_NOTE",
        /// The status changed (`fromValue` → `toValue`).
        StatusChanged = "STATUS_CHANGED",
        /// The priority changed (`fromValue` → `toValue`).
        PriorityChanged = "PRIORITY_CHANGED",
        /// The assigned agent changed (user IDs; null: unassigned).
        AgentAssigned = "AGENT_ASSIGNED",
        /// A file was attached (`body`: its name; `toValue`: the attachment's ID).
        AttachmentAdded = "ATTACHMENT_ADDED",
        /// Custom fields changed (`fromValue` → `toValue`, JSON objects); staff only.
        MetadataChanged = "METADATA_CHANGED",
    }
}

switchyard_kernel::aggregate! {
    /// An entry of a ticket's timeline.
    #[aggregate(
        table = crate::schema::support_ticket_activities,
        id = TicketActivityId,
        read = TICKET_READ,
        scope = crate::scope::activities,
        order(created_at, desc),
        one(name = ticket_activity, doc = "A timeline entry by ID."),
    )]
    pub struct TicketActivity {
        /// The ticket, if you may see it.
        #[field(to_one = Ticket, filter)]
        ticket_id: TicketId,
        #[field(filter)]
        kind: TicketActivityKind,
        /// Who made the change; null for Switchyard itself.
        #[field(to_one = User)]
        author_id: Option<UserId>,
        /// The text of a comment or note.
        body: Option<String>,
        /// The value before the change (status, priority, assignee ID).
        from_value: Option<String>,
        /// The value after the change.
        to_value: Option<String>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
        /// For staff only (an internal note, an internal attachment): clients never see it.
        internal: bool,
    }
}

/// One entry to record.
pub(crate) struct Entry {
    pub kind: TicketActivityKind,
    pub body: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// For staff only.
    pub internal: bool,
}

impl Entry {
    pub(crate) fn text(kind: TicketActivityKind, body: impl Into<String>) -> Self {
        Entry {
            kind,
            body: Some(body.into()),
            from: None,
            to: None,
            internal: kind == TicketActivityKind::InternalNote,
        }
    }

    pub(crate) fn change(
        kind: TicketActivityKind,
        from: Option<String>,
        to: Option<String>,
    ) -> Self {
        Entry {
            kind,
            body: None,
            from,
            to,
            internal: false,
        }
    }

    /// A file attached (`toValue`: the attachment's ID).
    pub(crate) fn attached(name: &str, attachment: String, internal: bool) -> Self {
        Entry {
            kind: TicketActivityKind::AttachmentAdded,
            body: Some(name.to_owned()),
            from: None,
            to: Some(attachment),
            internal,
        }
    }
}

/// Writes the entries on `ticket`'s timeline, by the caller, in the caller's transaction.
pub(crate) async fn record(
    tx: &mut Conn<'_>,
    caller: &Caller,
    ticket: TicketId,
    entries: Vec<Entry>,
) -> Result<(), Error> {
    for entry in entries {
        let now = time::now();
        let row = TicketActivityRow {
            id: TicketActivityId::new(),
            tenant_id: caller.tenant_id,
            ticket_id: ticket,
            kind: entry.kind,
            author_id: caller.user_id(),
            body: entry.body,
            from_value: entry.from,
            to_value: entry.to,
            created_at: now,
            updated_at: now,
            version: 1,
            internal: entry.internal,
        };
        write::insert::<TicketActivity>(tx, row).await?;
    }
    Ok(())
}
