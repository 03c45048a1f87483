//! The IDs of sales' aggregates, in one place: an aggregate refers to another by its ID
//! without depending on its module.

switchyard_kernel::id_type!(
    /// A customer.
    CustomerId,
    "Customer"
);

switchyard_kernel::id_type!(
    /// A lead.
    LeadId,
    "Lead"
);

switchyard_kernel::id_type!(
    /// A sales activity.
    ActivityId,
    "SalesActivity"
);

switchyard_kernel::id_type!(
    /// A task.
    TaskId,
    "Task"
);

switchyard_kernel::id_type!(
    /// A quote (one revision).
    QuoteId,
    "Quote"
);

switchyard_kernel::id_type!(
    /// A booking from the public booking form.
    BookingId,
    "Booking"
);

switchyard_kernel::id_type!(
    /// A line of the quote template.
    TemplateItemId,
    "QuoteTemplateItem"
);
