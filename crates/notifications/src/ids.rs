//! The IDs of notifications' records.

switchyard_kernel::id_type!(
    /// An in-app notification.
    NotificationId,
    "Notification"
);

switchyard_kernel::id_type!(
    /// A message sent (or to be sent) on a channel other than in-app.
    MessageId,
    "NotificationMessage"
);

switchyard_kernel::id_type!(
    /// A reminder due before a job or appointment.
    ReminderId,
    "Reminder"
);
