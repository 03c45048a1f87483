//! The IDs of the support desk's aggregates.

switchyard_kernel::id_type!(
    /// A support ticket.
    TicketId,
    "Ticket"
);

switchyard_kernel::id_type!(
    /// An entry of a ticket's timeline.
    TicketActivityId,
    "TicketActivity"
);

switchyard_kernel::id_type!(
    /// A file attached to a ticket.
    TicketAttachmentId,
    "TicketAttachment"
);
