//! What an attendee hears about their appointment: a notification when someone else schedules,
//! moves or cancels it, and reminders before its next occurrences (moved with it, gone with
//! it). In the transaction of the change.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use switchyard_kernel::{Caller, Conn, Error, time};
use switchyard_notifications::reminders::{self, Audience, Subject};
use switchyard_notifications::{Notice, NotificationKind, raise};

use super::{AppointmentRow, AppointmentStatus};

/// Reminders are planned for this many upcoming occurrences of a series.
const UPCOMING: usize = 10;

fn subject(row: &AppointmentRow) -> Subject {
    Subject {
        type_name: "Appointment",
        id: row.id.to_global(),
    }
}

/// Tells the attendee (unless they made the change) and plans or drops the reminders.
/// `what` is the verb: "scheduled", "moved", "cancelled", "completed".
pub(super) async fn changed(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &AppointmentRow,
    what: &str,
) -> Result<(), Error> {
    if row.status != AppointmentStatus::Scheduled {
        reminders::cancel(tx, row.tenant_id, &subject(row), None).await?;
    } else {
        let now = time::now();
        let starts: Vec<NaiveDateTime> = row
            .series()
            .occurrences()
            .into_iter()
            .map(|(start, _)| start)
            .filter(|start| *start > now)
            .take(UPCOMING)
            .collect();
        let audience = Audience {
            time_zone: row.time_zone.parse().unwrap_or(Tz::UTC),
            people: row.user_id.as_slice(),
            title: row.title.clone(),
            customer: row.customer_id.map(|customer| {
                let kind = row.kind.as_str().replace('_', " ").to_lowercase();
                (customer, format!("Your {kind} appointment"))
            }),
        };
        reminders::schedule_each(tx, row.tenant_id, &subject(row), &audience, &starts, now).await?;
    }
    let Some(attendee) = row.user_id else {
        return Ok(());
    };
    if caller.user_id() == Some(attendee) || what == "completed" {
        return Ok(());
    }
    let zone: Tz = row.time_zone.parse().unwrap_or(Tz::UTC);
    let local = |at: NaiveDateTime| at.and_utc().with_timezone(&zone);
    let notice = Notice {
        user: attendee,
        kind: NotificationKind::AppointmentChanged,
        title: format!("{} {what}", row.title),
        body: format!(
            "{} {}–{} ({zone}){}.",
            row.kind.as_str().replace('_', " ").to_lowercase(),
            local(row.starts_at).format("%a %-d %b %H:%M"),
            local(row.ends_at).format("%H:%M"),
            if row.recurrence.is_some() {
                ", repeating"
            } else {
                ""
            }
        ),
        subject: Some(("Appointment", row.id.to_global())),
        key: None,
    };
    raise(tx, caller, notice).await?;
    Ok(())
}
