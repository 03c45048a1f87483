//! What happens to tickets, as typed events (each with the ticket after the change).

use super::{TicketData, TicketRow};

switchyard_kernel::object_events! {
    "Ticket" as ticket: TicketData from TicketRow, v 1;
    /// A ticket was opened.
    TicketOpened = "support.ticket.opened",
    /// Someone replied on a ticket (a client's reply may have reopened it).
    TicketReplied = "support.ticket.replied",
    /// Staff added an internal note.
    TicketNoted = "support.ticket.noted",
    /// A ticket's status changed.
    TicketStatusChanged = "support.ticket.status_changed",
    /// A ticket's priority changed.
    TicketPriorityChanged = "support.ticket.priority_changed",
    /// A ticket was assigned, reassigned or put back in the queue.
    TicketAssigned = "support.ticket.assigned",
    /// A file was attached to a ticket (for staff only, or for everyone on it).
    TicketAttached = "support.ticket.attached",
    /// A ticket's custom fields changed.
    TicketMetadataChanged = "support.ticket.metadata_changed",
}
