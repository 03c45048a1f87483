//! What a crew hears about its jobs: a notification when someone is put on or taken off a
//! job, when it moves or is cancelled, and reminders before it starts (moved with it). All in
//! the transaction of the change.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use switchyard_kernel::{Caller, Conn, Error, UserId, time};
use switchyard_notifications::reminders::{self, Audience, Subject};
use switchyard_notifications::{Notice, NotificationKind, raise};

use crate::jobs::{JobRow, JobStatus};

fn subject(job: &JobRow) -> Subject {
    Subject {
        type_name: "Job",
        id: job.id.to_global(),
    }
}

/// "the job at Storgatan 1 → Kungsgatan 2".
fn label(job: &JobRow) -> String {
    match (&job.origin, &job.destination) {
        (Some(from), Some(to)) => format!("the job at {from} → {to}"),
        (Some(at), None) | (None, Some(at)) => format!("the job at {at}"),
        (None, None) => match &job.contact_name {
            Some(name) => format!("the job for {name}"),
            None => "a job".to_owned(),
        },
    }
}

/// The job as its customer reads it: "Your job at Storgatan 1 → Kungsgatan 2".
fn customer_label(job: &JobRow) -> String {
    match (&job.origin, &job.destination) {
        (Some(from), Some(to)) => format!("Your job at {from} → {to}"),
        (Some(at), None) | (None, Some(at)) => format!("Your job at {at}"),
        (None, None) => "Your job".to_owned(),
    }
}

/// The time zone of the job's location (UTC without one).
async fn zone(tx: &mut Conn<'_>, job: &JobRow) -> Result<Tz, Error> {
    Ok(match job.location_id {
        Some(location) => switchyard_identity::locations::time_zone(tx, job.tenant_id, location)
            .await?
            .parse()
            .unwrap_or(Tz::UTC),
        None => Tz::UTC,
    })
}

/// The job's window in its location's time zone: "Fri 4 Dec 08:00–16:00 (Europe/Stockholm)".
async fn window(tx: &mut Conn<'_>, job: &JobRow) -> Result<String, Error> {
    let (Some(start), Some(end)) = (job.planned_start, job.planned_end) else {
        return Ok("not planned yet".to_owned());
    };
    let zone = zone(tx, job).await?;
    let local = |at: NaiveDateTime| at.and_utc().with_timezone(&zone);
    Ok(format!(
        "{}–{} ({zone})",
        local(start).format("%a %-d %b %H:%M"),
        local(end).format("%H:%M")
    ))
}

/// Tells each of `people` about `job`.
pub(crate) async fn tell(
    tx: &mut Conn<'_>,
    caller: &Caller,
    job: &JobRow,
    people: &[UserId],
    kind: NotificationKind,
) -> Result<(), Error> {
    if people.is_empty() {
        return Ok(());
    }
    let what = label(job);
    let when = window(tx, job).await?;
    let title = match kind {
        NotificationKind::JobAssigned => format!("You are on {what}"),
        NotificationKind::JobUnassigned => format!("You are off {what}"),
        NotificationKind::JobRescheduled => format!("{what} moved", what = capital(&what)),
        NotificationKind::JobCancelled => format!("{what} is cancelled", what = capital(&what)),
        _ => capital(&what),
    };
    for person in people {
        let notice = Notice {
            user: *person,
            kind,
            title: title.clone(),
            body: format!("When: {when}."),
            subject: Some(("Job", job.id.to_global())),
            key: None,
        };
        raise(tx, caller, notice).await?;
    }
    Ok(())
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Plans the reminders of `job` for its whole crew and its customer: none when it has no
/// window, or once its work has begun (a reminder that it "starts in 2 h" would then be wrong;
/// cancelling drops them too).
pub(crate) async fn plan(tx: &mut Conn<'_>, job: &JobRow) -> Result<(), Error> {
    let ahead = matches!(job.status, JobStatus::Scheduled | JobStatus::Dispatched);
    let Some(start) = job.planned_start.filter(|_| ahead) else {
        return reminders::cancel(tx, job.tenant_id, &subject(job), None).await;
    };
    let people = super::people(tx, job.tenant_id, job.id).await?;
    let audience = Audience {
        time_zone: zone(tx, job).await?,
        people: &people,
        title: capital(&label(job)),
        customer: Some((job.customer_id, customer_label(job))),
    };
    reminders::schedule(
        tx,
        job.tenant_id,
        &subject(job),
        &audience,
        start,
        time::now(),
    )
    .await
}

/// Drops the reminders of `job` (of `person` only, when given).
pub(crate) async fn drop(
    tx: &mut Conn<'_>,
    job: &JobRow,
    person: Option<UserId>,
) -> Result<(), Error> {
    reminders::cancel(tx, job.tenant_id, &subject(job), person).await
}
