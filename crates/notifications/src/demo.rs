//! The demo company's notifications (stored without events or messages): for every staff
//! member a few, the oldest read; message templates in English and Swedish (customers'
//! reminders too); a crew member who reads Swedish and wants no email about moved jobs, a
//! dispatcher with quiet hours; customers reminded a day before their jobs.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{Rejection, Services, TenantId, UserId, db_run, time};

use crate::ids::NotificationId;
use crate::kinds::NotificationKind;
use crate::schema::{
    message_templates, notification_preferences, notification_settings, notifications,
    reminder_offsets,
};

/// The demo company's reminder times: its people at 24 h, 2 h and 30 min, its customers a day
/// ahead. Stored before the jobs are planned, which plan their reminders (the demo's
/// appointments are stored without reminders).
pub async fn choose_reminders(services: &Services, tenant: TenantId) -> anyhow::Result<()> {
    let outcome = services
        .mutate(async |tx| {
            db_run!(tx, |c| diesel::insert_into(reminder_offsets::table)
                .values((
                    reminder_offsets::tenant_id.eq(tenant),
                    reminder_offsets::minutes.eq("1440,120,30"),
                    reminder_offsets::customer_minutes.eq("1440"),
                ))
                .execute(c)
                .await)?;
            Ok::<_, Rejection>(())
        })
        .await;
    outcome.map_err(|r| anyhow::anyhow!("demo reminder times: {r:?}"))
}

/// Seeds notifications for `staff`, templates, and the choices of `crew` and `dispatcher`;
/// answers how many notifications, and how many reminders are due ahead (planned with the
/// jobs).
pub async fn seed(
    services: &Services,
    tenant: TenantId,
    staff: &[UserId],
    crew: UserId,
    dispatcher: UserId,
) -> anyhow::Result<(usize, i64)> {
    let notices = [
        (
            NotificationKind::JobAssigned,
            "You are on the job at Storgatan 1, Stockholm → Lillgatan 2, Uppsala",
            "When: Tue 08:00–16:00 (Europe/Stockholm).",
        ),
        (
            NotificationKind::JobRescheduled,
            "The job at Vasagatan 7, Göteborg moved",
            "When: Thu 07:00–15:00 (Europe/Stockholm).",
        ),
        (
            NotificationKind::Reminder,
            "The job at Sveavägen 12, Stockholm starts in 1 day",
            "It starts tomorrow at 07:00.",
        ),
    ];
    let templates = [
        (
            NotificationKind::JobAssigned,
            "en",
            "New job: {{title}}",
            "Hello {{name}},\n\n{{body}}\n\nOpen it in the app: {{link}}",
        ),
        (
            NotificationKind::JobAssigned,
            "sv",
            "Nytt jobb: {{title}}",
            "Hej {{name}}!\n\n{{body}}\n\nÖppna i appen: {{link}}",
        ),
        (
            NotificationKind::Reminder,
            "en",
            "Reminder: {{title}}",
            "Hello {{name}},\n\n{{body}}",
        ),
        (
            NotificationKind::Reminder,
            "sv",
            "Påminnelse: {{title}}",
            "Hej {{name}}!\n\n{{body}}",
        ),
        (
            NotificationKind::CustomerReminder,
            "en",
            "See you soon: {{title}}",
            "Hello {{name}},\n\n{{body}}\n\nCall us at +46 8 123 456 if anything has changed.\n\nNordic Movers",
        ),
        (
            NotificationKind::CustomerReminder,
            "sv",
            "Vi ses snart: {{title}}",
            "Hej {{name}}!\n\n{{body}}\n\nRing oss på 08-123 456 om något har ändrats.\n\nNordic Movers",
        ),
    ];
    let outcome = services
        .mutate(async |tx| {
            let now = time::now();
            let mut made = 0;
            for user in staff {
                for (n, (kind, title, body)) in notices.iter().enumerate() {
                    let at = now - chrono::Duration::hours(30 - 10 * n as i64);
                    let row = (
                        notifications::id.eq(NotificationId::new()),
                        notifications::tenant_id.eq(tenant),
                        notifications::user_id.eq(*user),
                        notifications::kind.eq(kind.as_str()),
                        notifications::title.eq(*title),
                        notifications::body.eq(*body),
                        notifications::read_at.eq((n == 0).then_some(at)),
                        notifications::created_at.eq(at),
                        notifications::updated_at.eq(at),
                    );
                    db_run!(tx, |c| diesel::insert_into(notifications::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                    made += 1;
                }
            }
            for (kind, language, subject, body) in templates {
                let row = (
                    message_templates::tenant_id.eq(tenant),
                    message_templates::kind.eq(kind.as_str()),
                    message_templates::language.eq(language),
                    message_templates::subject.eq(subject),
                    message_templates::body.eq(body),
                    message_templates::updated_at.eq(now),
                );
                db_run!(tx, |c| diesel::insert_into(message_templates::table)
                    .values(row)
                    .execute(c)
                    .await)?;
            }
            let settings = [
                (crew, "sv", None, None),
                (dispatcher, "en", Some("22:00"), Some("07:00")),
            ];
            for (user, language, starts, ends) in settings {
                let row = (
                    notification_settings::tenant_id.eq(tenant),
                    notification_settings::user_id.eq(user),
                    notification_settings::language.eq(language),
                    notification_settings::quiet_starts.eq(starts),
                    notification_settings::quiet_ends.eq(ends),
                );
                db_run!(tx, |c| diesel::insert_into(notification_settings::table)
                    .values(row)
                    .execute(c)
                    .await)?;
            }
            let row = (
                notification_preferences::tenant_id.eq(tenant),
                notification_preferences::user_id.eq(crew),
                notification_preferences::kind.eq(NotificationKind::JobRescheduled.as_str()),
                notification_preferences::channels.eq(""),
            );
            db_run!(tx, |c| diesel::insert_into(notification_preferences::table)
                .values(row)
                .execute(c)
                .await)?;
            let ahead = crate::reminders::pending(tx, tenant).await?;
            Ok::<_, Rejection>((made, ahead))
        })
        .await;
    outcome.map_err(|r| anyhow::anyhow!("demo notifications: {r:?}"))
}
