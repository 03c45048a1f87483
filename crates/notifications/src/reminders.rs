//! Reminders before jobs and appointments: kept in the database, so they survive a restart.
//!
//! The domain that owns the thing calls [`schedule`] in its transaction whenever its start or
//! its people change (the unsent reminders are replaced) and [`cancel`] when it is cancelled
//! or a person leaves it. [`sweep`] claims those due (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
//! SQLite has one writer), so two processes never both take one, and raises a REMINDER
//! notification keyed by the reminder: delivered at least once, shown to its person once.

use std::time::Duration;

use async_graphql::{Context, ID, Object};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::db::sql::{self, Sql};
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, Services, TenantId, UserErrorCode, UserId, db_run,
    payload,
};
use switchyard_sales::customers::CustomerId;
use tokio_util::sync::CancellationToken;

use crate::ids::ReminderId;
use crate::kinds::{Channel, NotificationKind};
use crate::notice::{Notice, raise};
use crate::permissions::{NOTIFICATION_READ, NOTIFICATION_SETTINGS_MANAGE};
use crate::schema::{reminder_offsets, reminders};
use crate::{messages, templates};

/// Seconds between sweeps for reminders due.
pub const SWEEP_SECS: &str = "reminder_sweep_secs";

/// Minutes before the start, when a tenant has not chosen: 24 h, 2 h, 30 min.
pub const DEFAULT_OFFSETS: [i32; 3] = [1440, 120, 30];

/// How long a claim keeps other processes off a reminder.
const CLAIM: chrono::Duration = chrono::Duration::seconds(120);
const BATCH: i64 = 100;

/// What a reminder is about: a GraphQL type and the object's global ID.
#[derive(Debug, Clone)]
pub struct Subject {
    pub type_name: &'static str,
    pub id: ID,
}

/// Whom the reminders of one thing go to, and how they read.
#[derive(Debug, Clone)]
pub struct Audience<'a> {
    /// The zone its times are told in (its location's).
    pub time_zone: Tz,
    /// The people who work or attend it.
    pub people: &'a [UserId],
    /// Their title: "The job at Storgatan 1 → Lillgatan 2".
    pub title: String,
    /// Its customer, with the title as the customer reads it ("Your job at Storgatan 1 →
    /// Lillgatan 2"), reminded at the tenant's customer offsets (none unless it chose some).
    pub customer: Option<(CustomerId, String)>,
}

/// The tenant's offsets, minutes before the start, largest first: its staff's and its
/// customers'.
pub async fn offsets(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(Vec<i32>, Vec<i32>), Error> {
    let stored: Option<(String, String)> = db_run!(conn, |c| reminder_offsets::table
        .filter(reminder_offsets::tenant_id.eq(tenant))
        .select((
            reminder_offsets::minutes,
            reminder_offsets::customer_minutes
        ))
        .first(c)
        .await
        .optional())?;
    let list = |text: &str| {
        let mut minutes: Vec<i32> = text
            .split(',')
            .filter_map(|m| m.trim().parse().ok())
            .collect();
        minutes.sort_unstable_by(|a, b| b.cmp(a));
        minutes
    };
    Ok(match stored {
        Some((staff, customers)) => (list(&staff), list(&customers)),
        None => (DEFAULT_OFFSETS.to_vec(), Vec::new()),
    })
}

/// Replaces the unsent reminders of `subject` with one per offset for each of its audience,
/// for a start at `starts_at` (those already past at `now` are skipped; reminders sent stay
/// sent).
pub async fn schedule(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    subject: &Subject,
    audience: &Audience<'_>,
    starts_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), Error> {
    schedule_each(tx, tenant, subject, audience, &[starts_at], now).await
}

/// [`schedule`] for something that happens several times (the next occurrences of a series).
pub async fn schedule_each(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    subject: &Subject,
    audience: &Audience<'_>,
    starts: &[NaiveDateTime],
    now: NaiveDateTime,
) -> Result<(), Error> {
    cancel(tx, tenant, subject, None).await?;
    let (staff, customers) = offsets(tx, tenant).await?;
    // Each recipient (a person or the customer), with its title and offsets.
    type Recipient<'a> = ((Option<UserId>, Option<CustomerId>), &'a str, &'a [i32]);
    let mut recipients: Vec<Recipient> = audience
        .people
        .iter()
        .map(|p| ((Some(*p), None), audience.title.as_str(), staff.as_slice()))
        .collect();
    if let Some((customer, title)) = &audience.customer {
        recipients.push((
            (None, Some(*customer)),
            title.as_str(),
            customers.as_slice(),
        ));
    }
    let mut rows = Vec::new();
    for ((person, customer), title, offsets) in recipients {
        for (starts_at, minutes) in starts
            .iter()
            .flat_map(|s| offsets.iter().map(move |m| (*s, *m)))
        {
            let due = starts_at - chrono::Duration::minutes(i64::from(minutes));
            if due <= now {
                continue;
            }
            rows.push((
                reminders::id.eq(ReminderId::new()),
                reminders::tenant_id.eq(tenant),
                reminders::subject_type.eq(subject.type_name),
                reminders::subject_id.eq(subject.id.to_string()),
                reminders::user_id.eq(person),
                reminders::customer_id.eq(customer.map(|c| c.to_string())),
                reminders::lead_minutes.eq(minutes),
                reminders::starts_at.eq(starts_at),
                reminders::due_at.eq(due),
                reminders::title.eq(title.to_owned()),
                reminders::time_zone.eq(audience.time_zone.name()),
            ));
        }
    }
    // A reminder already sent for this very start stays as it was. (Row by row: SQLite takes
    // no multi-row insert with a conflict clause; a crew has a handful of people.)
    for row in rows {
        db_run!(tx, |c| diesel::insert_into(reminders::table)
            .values(row.clone())
            .on_conflict_do_nothing()
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// Removes the unsent reminders of `subject` (of `person` only, when given).
pub async fn cancel(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    subject: &Subject,
    person: Option<UserId>,
) -> Result<(), Error> {
    let id = subject.id.to_string();
    match person {
        None => db_run!(tx, |c| diesel::delete(
            reminders::table
                .filter(reminders::tenant_id.eq(tenant))
                .filter(reminders::subject_type.eq(subject.type_name))
                .filter(reminders::subject_id.eq(&id))
                .filter(reminders::sent_at.is_null())
        )
        .execute(c)
        .await)?,
        Some(person) => db_run!(tx, |c| diesel::delete(
            reminders::table
                .filter(reminders::tenant_id.eq(tenant))
                .filter(reminders::subject_type.eq(subject.type_name))
                .filter(reminders::subject_id.eq(&id))
                .filter(reminders::user_id.eq(person))
                .filter(reminders::sent_at.is_null())
        )
        .execute(c)
        .await)?,
    };
    Ok(())
}

/// How many reminders of the tenant are still to go out.
pub async fn pending(conn: &mut Conn<'_>, tenant: TenantId) -> Result<i64, Error> {
    Ok(db_run!(conn, |c| reminders::table
        .filter(reminders::tenant_id.eq(tenant))
        .filter(reminders::sent_at.is_null())
        .count()
        .get_result(c)
        .await)?)
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    tenant_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    subject_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    subject_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    customer_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    lead_minutes: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    starts_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Text)]
    title: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    time_zone: String,
}

impl Due {
    /// "Your job … starts in 1 day" and "Your job … starts Tue 12 Jan 09:00
    /// (Europe/Stockholm)." in the zone of what it is about.
    fn wording(&self) -> (String, String) {
        let zone: Tz = self.time_zone.parse().unwrap_or(Tz::UTC);
        let local = self.starts_at.and_utc().with_timezone(&zone);
        (
            format!("{} starts {}", self.title, lead(self.lead_minutes)),
            format!(
                "{} starts {} ({zone}).",
                self.title,
                local.format("%a %-d %b %H:%M")
            ),
        )
    }
}

/// Raises every reminder due at `now` (the clock is the caller's, so tests need not wait);
/// returns how many notifications it raised.
pub async fn sweep(services: &Services, now: NaiveDateTime) -> Result<usize, Error> {
    let mut raised = 0;
    loop {
        let due = claim(services, now).await?;
        if due.is_empty() {
            return Ok(raised);
        }
        let fetched = due.len();
        for reminder in due {
            raised += usize::from(deliver(services, &reminder, now).await?);
        }
        if (fetched as i64) < BATCH {
            return Ok(raised);
        }
    }
}

async fn claim(services: &Services, now: NaiveDateTime) -> Result<Vec<Due>, Error> {
    let mut due = Sql::new("sent_at IS NULL AND due_at <= ");
    due.bind(now)
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(now)
        .push(")");
    let sql = sql::claim(
        "reminders",
        "claimed_until",
        now + CLAIM,
        &due,
        "due_at",
        BATCH,
        "id, tenant_id, subject_type, subject_id, user_id, customer_id, lead_minutes, starts_at, title, time_zone",
    );
    let mut pooled = services.db.write().await?;
    let mut conn = pooled.conn();
    Ok(Sql::load(&sql, &mut conn).await?)
}

/// "in 2 hours", "in 30 minutes", "in 1 day".
fn lead(minutes: i32) -> String {
    let (n, unit) = if minutes % 1440 == 0 {
        (minutes / 1440, "day")
    } else if minutes % 60 == 0 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    format!("in {n} {unit}{}", if n == 1 { "" } else { "s" })
}

async fn deliver(services: &Services, due: &Due, now: NaiveDateTime) -> Result<bool, Error> {
    let Ok(tenant) = due.tenant_id.parse::<TenantId>() else {
        return Ok(false);
    };
    let (title, body) = due.wording();
    let id = due.id.clone();
    services
        .mutate(async |tx| {
            // Taken first, and only while still unsent: a reminder another process sent
            // meanwhile (its claim ran out) or that a change removed (a cancelled job) is not
            // delivered again.
            let taken = db_run!(tx, |c| diesel::update(
                reminders::table
                    .filter(reminders::id.eq(&id))
                    .filter(reminders::sent_at.is_null())
            )
            .set((
                reminders::sent_at.eq(now),
                reminders::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(c)
            .await)?;
            if taken == 0 {
                return Ok(false);
            }
            let delivered = match (&due.user_id, &due.customer_id) {
                (Some(user), None) => {
                    let Ok(user) = user.parse() else {
                        return Ok(false);
                    };
                    let type_name: &'static str = match due.subject_type.as_str() {
                        "Job" => "Job",
                        "Appointment" => "Appointment",
                        _ => "Object",
                    };
                    let notice = Notice {
                        user,
                        kind: NotificationKind::Reminder,
                        title: title.clone(),
                        body: body.clone(),
                        subject: Some((type_name, ID(due.subject_id.clone()))),
                        key: Some(format!(
                            "reminder:{}:{}:{}:{}",
                            due.subject_type,
                            due.subject_id,
                            due.lead_minutes,
                            due.starts_at.format("%Y%m%dT%H%M%S")
                        )),
                    };
                    let system = Caller::system(tenant, &services.catalog);
                    raise(tx, &system, notice).await?.is_some()
                }
                (None, Some(customer)) => match customer.parse() {
                    Ok(customer) => remind_customer(tx, tenant, customer, &title, &body).await?,
                    Err(_) => false,
                },
                _ => false,
            };
            Ok::<_, Rejection>(delivered)
        })
        .await
        .map_err(|r| match r {
            Rejection::Failed(e) => e,
            Rejection::Invalid(_) => Error::internal(anyhow::anyhow!("reminder refused")),
        })
}

/// Queues a reminder to a customer: by email when the customer has an address, else by text
/// message when it has a phone number. A customer merged since is reminded as the customer it
/// was merged into (its jobs and appointments stay where they were); one retired, or with
/// neither address nor number, gets nothing. Customers choose no language: the tenant's
/// English template is used, or else its first. False when nothing was queued.
async fn remind_customer(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    customer: CustomerId,
    title: &str,
    body: &str,
) -> Result<bool, Error> {
    let (mut customer, mut hops) = (customer, 0);
    let contact = loop {
        let contact =
            match switchyard_sales::customers::contact_in_tenant(tx, tenant, customer).await {
                Ok(contact) => contact,
                Err(Error::NotFound) => return Ok(false),
                Err(e) => return Err(e),
            };
        match (contact.active, contact.merged_into) {
            (true, _) => break contact,
            // (A merge names an active customer; the bound only guards against a cycle.)
            (false, Some(survivor)) if hops < 5 => (customer, hops) = (survivor, hops + 1),
            (false, _) => return Ok(false),
        }
    };
    let (channel, address) = match (&contact.email, &contact.phone) {
        (Some(email), _) => (Channel::Email, email.clone()),
        (None, Some(phone)) => (Channel::Sms, phone.clone()),
        (None, None) => return Ok(false),
    };
    let vars = [
        ("name", contact.name.as_str()),
        ("title", title),
        ("body", body),
        ("link", ""),
    ];
    let (subject, text) =
        templates::render(tx, tenant, NotificationKind::CustomerReminder, None, &vars).await?;
    let text = match channel {
        Channel::Email => text,
        Channel::Sms => messages::sms_text(&subject, body),
    };
    messages::queue(
        tx,
        messages::Queued {
            tenant,
            recipient: messages::Recipient::Customer(customer),
            channel,
            address,
            subject,
            body: text,
            // At once, by the delivery worker's clock (as a notification's messages go).
            at: switchyard_kernel::time::now(),
        },
    )
    .await?;
    Ok(true)
}

/// Raises due reminders every `interval` until `shutdown`.
pub fn spawn(
    services: Services,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = sweep(&services, switchyard_kernel::time::now()).await {
                tracing::warn!(?error, "reminder sweep failed; will retry");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    })
}

payload!(
    /// The result of `setReminderOffsets`.
    ReminderOffsetsPayload {
        minutes: Vec<i32>,
        customer_minutes: Vec<i32>,
    }
);

#[derive(Default)]
pub struct ReminderQuery;

#[Object]
impl ReminderQuery {
    /// When reminders go out to the people who work or attend, in minutes before a job or
    /// appointment starts.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn reminder_offsets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<i32>> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(offsets(&mut pooled.conn(), caller.tenant_id).await?.0)
    }

    /// When reminders go out to the customer of a job or appointment (by email, or by text
    /// message to a customer without an address), in minutes before it starts; empty (the
    /// default): customers get none.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn customer_reminder_offsets(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<i32>> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(offsets(&mut pooled.conn(), caller.tenant_id).await?.1)
    }
}

#[derive(Default)]
pub struct ReminderMutation;

/// Sorted largest first, each once; checked: up to five, each 5 minutes to 7 days.
fn checked(check: &mut Check, field: &str, minutes: &mut Vec<i32>) {
    minutes.sort_unstable_by(|a, b| b.cmp(a));
    minutes.dedup();
    if minutes.len() > 5 {
        check.add(field, UserErrorCode::OutOfRange, "at most five reminders");
    }
    for (i, m) in minutes.iter().enumerate() {
        check.within(&format!("{field}.{i}"), *m, 5..=10_080);
    }
}

fn joined(minutes: &[i32]) -> String {
    minutes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[Object]
impl ReminderMutation {
    /// Sets when reminders go out (up to five, each 5 minutes to 7 days before the start):
    /// `minutes` to the people who work or attend, `customerMinutes` (left out: unchanged;
    /// empty: none) to the customer. Reminders planned already keep their times.
    #[graphql(directive = Require::apply(NOTIFICATION_SETTINGS_MANAGE))]
    async fn set_reminder_offsets(
        &self,
        ctx: &Context<'_>,
        minutes: Vec<i32>,
        customer_minutes: Option<Vec<i32>>,
    ) -> async_graphql::Result<ReminderOffsetsPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let mut check = Check::new();
                let mut staff = minutes.clone();
                checked(&mut check, "minutes", &mut staff);
                let mut customers = match &customer_minutes {
                    Some(list) => list.clone(),
                    None => offsets(tx, caller.tenant_id).await?.1,
                };
                checked(&mut check, "customerMinutes", &mut customers);
                check.finish()?;
                db_run!(tx, |c| diesel::delete(
                    reminder_offsets::table
                        .filter(reminder_offsets::tenant_id.eq(caller.tenant_id))
                )
                .execute(c)
                .await)?;
                db_run!(tx, |c| diesel::insert_into(reminder_offsets::table)
                    .values((
                        reminder_offsets::tenant_id.eq(caller.tenant_id),
                        reminder_offsets::minutes.eq(joined(&staff)),
                        reminder_offsets::customer_minutes.eq(joined(&customers)),
                    ))
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>((staff, customers))
            })
            .await;
        ReminderOffsetsPayload::from_outcome(outcome, |(minutes, customers)| {
            ReminderOffsetsPayload {
                minutes: Some(minutes),
                customer_minutes: Some(customers),
                user_errors: Vec::new(),
            }
        })
    }
}
