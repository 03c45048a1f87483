//! The demo company's notifications (stored without events or messages): for every staff
//! member a few, the oldest read; message templates in English and Swedish; a crew member who
//! reads Swedish and wants no email about moved jobs, a dispatcher with quiet hours.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{Rejection, Services, TenantId, UserId, db_run, time};

use crate::ids::NotificationId;
use crate::kinds::NotificationKind;
use crate::schema::{
    message_templates, notification_preferences, notification_settings, notifications,
};

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
