//! What a notification is about (its typed kind) and the channels it may go out on.

switchyard_kernel::text_enum! {
    /// What a notification is about. Other domains raise notifications of these kinds through
    /// [`raise`](crate::raise); people choose channels per kind.
    pub enum NotificationKind {
        /// You were put on a job's crew.
        JobAssigned = "JOB_ASSIGNED",
        /// You were taken off a job's crew.
        JobUnassigned = "JOB_UNASSIGNED",
        /// A job you work moved.
        JobRescheduled = "JOB_RESCHEDULED",
        /// A job you work was cancelled.
        JobCancelled = "JOB_CANCELLED",
        /// An appointment you attend was scheduled, moved or cancelled.
        AppointmentChanged = "APPOINTMENT_CHANGED",
        /// Something you work or attend starts soon.
        Reminder = "REMINDER",
        /// To a customer, not a person of the tenant: their job or appointment starts soon
        /// (its template is the customer's wording; nobody chooses channels for it).
        CustomerReminder = "CUSTOMER_REMINDER",
        /// Someone answered on a support ticket you asked or work.
        TicketReplied = "TICKET_REPLIED",
        /// A support ticket was assigned to you.
        TicketAssigned = "TICKET_ASSIGNED",
    }
}

switchyard_kernel::text_enum! {
    /// A way a notification reaches a person besides the app.
    pub enum Channel {
        /// To the person's email address, through SMTP.
        Email = "EMAIL",
        /// A text message to the phone number in the person's notification settings, through
        /// the SMS provider.
        Sms = "SMS",
    }
}

switchyard_kernel::text_enum! {
    /// Where a message stands.
    pub enum MessageStatus {
        /// Waiting for its (next) try.
        Pending = "PENDING",
        /// Accepted by the provider.
        Sent = "SENT",
        /// Not sent after the last try.
        Failed = "FAILED",
    }
}

impl NotificationKind {
    /// The channels of this kind for someone who has not chosen.
    pub fn default_channels(self) -> &'static [Channel] {
        &[Channel::Email]
    }

    /// Whether people of the tenant receive it (and so choose its channels): all but
    /// [`NotificationKind::CustomerReminder`].
    pub fn for_people(self) -> bool {
        self != NotificationKind::CustomerReminder
    }

    /// The variables a template of this kind may use.
    pub fn variables(self) -> &'static [&'static str] {
        &["name", "title", "body", "link"]
    }
}
