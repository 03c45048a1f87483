//! Notifications: what tells people that something concerns them. In-app notifications (read
//! flags, unread count, `notificationReceived`), messages on other channels (email through
//! SMTP, retried, logged), each person's channels, language and quiet hours, the tenant's
//! templates, and reminders before jobs and appointments. Other domains raise notifications
//! through [`raise`] and plan reminders through [`reminders::schedule`], in their own
//! transactions.

pub mod demo;
pub mod ids;
pub mod kinds;
pub mod messages;
pub mod notice;
pub mod permissions;
pub mod preferences;
pub mod reminders;
mod schema;
pub mod templates;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::{Module, Setting};

pub use kinds::NotificationKind;
pub use messages::NotificationMessage;
pub use notice::{Notice, Notification, raise};

/// Notifications' queries.
#[derive(MergedObject, Default)]
pub struct NotificationsQuery(
    notice::NotificationQuery,
    notice::NotificationCountQuery,
    messages::NotificationMessageQuery,
    preferences::PreferenceQuery,
    templates::TemplateQuery,
    reminders::ReminderQuery,
);

/// Notifications' mutations.
#[derive(MergedObject, Default)]
pub struct NotificationsMutation(
    notice::NotificationMutation,
    preferences::PreferenceMutation,
    templates::TemplateMutation,
    reminders::ReminderMutation,
);

/// Notifications' subscriptions.
#[derive(MergedSubscription, Default)]
pub struct NotificationsSubscription(notice::NotificationSubscription);

pub type Query = NotificationsQuery;
pub type Mutation = NotificationsMutation;
pub type Subscription = NotificationsSubscription;

/// Notifications, as the server registers it.
pub fn module() -> Module {
    Module {
        name: "notifications",
        permissions: permissions::PERMISSIONS,
        events: &[notice::SPECS],
        payloads: &[&[notice::NotificationData::SPEC]],
        jobs: |services, settings, shutdown| {
            let senders = messages::Senders::from_settings(settings)?;
            Ok(vec![
                messages::spawn(
                    services.clone(),
                    senders,
                    settings.secs(messages::DELIVERY_POLL_SECS)?,
                    shutdown.clone(),
                ),
                reminders::spawn(
                    services.clone(),
                    settings.secs(reminders::SWEEP_SECS)?,
                    shutdown,
                ),
            ])
        },
        settings: &[
            Setting {
                key: messages::SMTP_URL,
                default: "",
                description: "The SMTP server notification email goes through, `smtp://[user:password@]host[:port]` (plain SMTP to a relay); empty: email waits, PENDING.",
            },
            Setting {
                key: messages::MAIL_FROM,
                default: "Switchyard <noreply@localhost>",
                description: "The sender of notification email.",
            },
            Setting {
                key: messages::SMS_URL,
                default: "",
                description: "The SMS provider's endpoint: text messages are POSTed there as JSON `{to, body}` with the bearer token; empty: text messages wait, PENDING.",
            },
            Setting {
                key: messages::SMS_TOKEN,
                default: "",
                description: "The bearer token the SMS provider is called with.",
            },
            Setting {
                key: messages::DELIVERY_POLL_SECS,
                default: "15",
                description: "Seconds between sweeps for messages due (retries, quiet hours ending); a new notification is sent at once.",
            },
            Setting {
                key: messages::MAX_ATTEMPTS,
                default: "5",
                description: "Tries before a message is FAILED (backoff 1, 2, 4, 8... minutes).",
            },
            Setting {
                key: reminders::SWEEP_SECS,
                default: "30",
                description: "Seconds between sweeps for reminders due.",
            },
        ],
        ..Module::named("notifications")
    }
}
