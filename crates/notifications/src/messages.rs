//! Messages on channels other than in-app (email through SMTP, text messages through an SMS
//! provider), and their log.
//!
//! [`raise`](crate::raise) queues a message in the notification's transaction; the delivery
//! worker sends it after commit. A message is claimed before it is sent (`claimed_until`, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), so two processes never both
//! send it; a failed try is retried with backoff from the database, and after the last try the
//! message is FAILED, visible in the log. The in-app notification is never lost: it committed
//! before any try.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use switchyard_identity::User;
use switchyard_kernel::access::{Caller, RowScope};
use switchyard_kernel::db::sql::{self, Sql};
use switchyard_kernel::module::Settings;
use switchyard_kernel::read::Expr;
use switchyard_kernel::{Conn, Error, Services, TenantId, UserId, db_run, time};
use switchyard_sales::customers::{Customer, CustomerId};
use switchyard_sales::permissions::CUSTOMER_CONTACT_READ;
use switchyard_sales::scope::push_customer_ids;
use tokio_util::sync::CancellationToken;

use crate::ids::{MessageId, NotificationId};
use crate::kinds::{Channel, MessageStatus};
use crate::notice::NotificationRaised;
use crate::permissions::MESSAGE_LOG_READ;
use crate::schema::notification_messages;

/// `smtp://[user:password@]host[:port]`; empty: no email is sent (none is queued).
pub const SMTP_URL: &str = "smtp_url";
/// The sender of notification email.
pub const MAIL_FROM: &str = "mail_from";
/// Seconds between sweeps for messages due (a raised notification wakes the worker at once).
pub const DELIVERY_POLL_SECS: &str = "notification_delivery_poll_secs";
/// Tries before a message is FAILED.
pub const MAX_ATTEMPTS: &str = "notification_max_attempts";
/// The SMS provider's endpoint (see [`HttpSms`]); empty: text messages wait.
pub const SMS_URL: &str = "sms_url";
/// The bearer token the SMS provider is called with.
pub const SMS_TOKEN: &str = "sms_token";

/// How long a claim keeps other processes off a message.
const CLAIM: chrono::Duration = chrono::Duration::seconds(120);
const BATCH: i64 = 50;

switchyard_kernel::aggregate! {
    /// A message sent (or to be sent) for a notification: the log staff read.
    #[aggregate(
        table = crate::schema::notification_messages,
        id = MessageId,
        read = MESSAGE_LOG_READ,
        scope = crate::messages::log_scope,
        order(created_at, desc),
        list(name = notification_messages, doc = "The messages sent for notifications, newest first: channel, recipient, status, provider id."),
    )]
    pub struct NotificationMessage {
        #[field(hidden)]
        notification_id: Option<NotificationId>,
        /// The person it went to; null for a message to a customer.
        #[field(to_one = User, filter)]
        user_id: Option<UserId>,
        /// The customer it went to (a reminder), if you may see it; null for a message to a
        /// person.
        #[field(to_one = Customer, guard, filter)]
        customer_id: Option<CustomerId>,
        #[field(filter)]
        channel: Channel,
        /// The address it went to.
        recipient: String,
        subject: String,
        #[field(hidden)]
        body: String,
        #[field(filter)]
        status: MessageStatus,
        /// Tries so far.
        attempts: i32,
        /// When it is (next) tried, while PENDING.
        next_attempt_at: NaiveDateTime,
        #[field(hidden)]
        claimed_until: Option<NaiveDateTime>,
        /// Why the last try failed.
        last_error: Option<String>,
        /// What the provider answered when it took the message.
        provider_id: Option<String>,
        #[field(filter)]
        created_at: NaiveDateTime,
        sent_at: Option<NaiveDateTime>,
    }
}

/// Whom a message is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Recipient {
    /// A person, for one of their notifications.
    Person {
        user: UserId,
        notification: NotificationId,
    },
    /// A customer (a reminder before their job or appointment).
    Customer(CustomerId),
}

/// A message to queue.
pub(crate) struct Queued {
    pub tenant: TenantId,
    pub recipient: Recipient,
    pub channel: Channel,
    /// The email address or phone number it goes to.
    pub address: String,
    pub subject: String,
    pub body: String,
    /// When it may go (the end of its person's quiet hours).
    pub at: NaiveDateTime,
}

/// A text message's words: short, the subject and the notice's own body (not the template's
/// whole email body), at most 320 characters (two SMS parts).
pub(crate) fn sms_text(subject: &str, body: &str) -> String {
    format!("{subject}. {body}").chars().take(320).collect()
}

/// Queues `message` in the caller's transaction; the delivery worker sends it after commit.
pub(crate) async fn queue(tx: &mut Conn<'_>, message: Queued) -> Result<(), Error> {
    let (user, notification, customer) = match message.recipient {
        Recipient::Person { user, notification } => (Some(user), Some(notification), None),
        Recipient::Customer(customer) => (None, None, Some(customer.to_string())),
    };
    let row = (
        notification_messages::id.eq(MessageId::new()),
        notification_messages::tenant_id.eq(message.tenant),
        notification_messages::notification_id.eq(notification),
        notification_messages::user_id.eq(user),
        notification_messages::customer_id.eq(customer),
        notification_messages::channel.eq(message.channel.as_str()),
        notification_messages::recipient.eq(message.address),
        notification_messages::subject.eq(message.subject),
        notification_messages::body.eq(message.body),
        notification_messages::status.eq(MessageStatus::Pending.as_str()),
        notification_messages::attempts.eq(0),
        notification_messages::next_attempt_at.eq(message.at),
        notification_messages::created_at.eq(time::now()),
    );
    db_run!(tx, |c| diesel::insert_into(notification_messages::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(())
}

/// The message log's rows a caller reaches. A person's messages: every one of the tenant, or
/// (scoped to locations or to themselves) those of the people they reach. A customer's: only
/// where the caller reaches the customer both under the log's scope and under
/// `sales.customer_contact:read` (the message shows its address, number and wording), so
/// none for a reader without that right.
pub fn log_scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    let log = caller.row_scope(permission)?;
    let people = match log {
        RowScope::Tenant => Expr::True,
        _ => switchyard_identity::locations::people_scope(caller, permission)?,
    };
    let people = Expr::And(vec![
        Expr::IsNull {
            column: "user_id",
            null: false,
        },
        people,
    ]);
    let customers = match caller.row_scope(CUSTOMER_CONTACT_READ) {
        Ok(contact) => {
            let mut sql = Sql::new("");
            let tenant = caller.tenant_id;
            push_customer_ids(&mut sql, "t.customer_id", tenant, &log);
            sql.push(" AND ");
            push_customer_ids(&mut sql, "t.customer_id", tenant, &contact);
            Expr::Sql(sql)
        }
        Err(_) => Expr::Not(Box::new(Expr::True)),
    };
    Ok(Expr::Or(vec![people, customers]))
}

/// Sends text messages.
#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync {
    /// Sends `body` to `to` (E.164); answers the provider's id for the message.
    async fn send(&self, to: &str, body: &str) -> anyhow::Result<String>;
}

/// An SMS provider over HTTP: `POST <url>` with `{"to": "+46…", "body": "…"}` as JSON and
/// `Authorization: Bearer <token>`; a 2xx answer is accepted, its JSON `id` (or its text) is
/// the provider id. Most providers take this shape, or a small relay gives it to them.
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: String,
}

#[async_trait::async_trait]
impl SmsProvider for HttpSms {
    async fn send(&self, to: &str, body: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"to": to, "body": body}))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "the SMS provider answered {status}");
        Ok(serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or(text)
            .chars()
            .take(200)
            .collect())
    }
}

/// What sends messages: email through SMTP, text messages through the SMS provider. A channel
/// without its sender configured leaves its messages waiting, PENDING.
#[derive(Clone)]
pub struct Senders {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    sms: Option<std::sync::Arc<dyn SmsProvider>>,
    max_attempts: i32,
}

impl Senders {
    /// From the `smtp_url`, `mail_from`, `sms_url`, `sms_token` and
    /// `notification_max_attempts` settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Senders> {
        let from: Mailbox = settings
            .get(MAIL_FROM)
            .unwrap_or("Switchyard <noreply@localhost>")
            .parse()
            .map_err(|e| anyhow::anyhow!("{MAIL_FROM} is not a mailbox: {e}"))?;
        let max_attempts = i32::try_from(settings.number(MAX_ATTEMPTS)?.clamp(1, 50))?;
        let url = settings.get(SMTP_URL).unwrap_or("").trim();
        let transport = if url.is_empty() {
            None
        } else {
            Some(smtp(url)?)
        };
        let sms_url = settings.get(SMS_URL).unwrap_or("").trim();
        let sms: Option<std::sync::Arc<dyn SmsProvider>> = if sms_url.is_empty() {
            None
        } else {
            anyhow::ensure!(
                sms_url.starts_with("http://") || sms_url.starts_with("https://"),
                "{SMS_URL} must be an http(s) URL"
            );
            Some(std::sync::Arc::new(HttpSms {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()?,
                url: sms_url.to_owned(),
                token: settings.get(SMS_TOKEN).unwrap_or("").to_owned(),
            }))
        };
        Ok(Senders {
            transport,
            from,
            sms,
            max_attempts,
        })
    }

    /// The channels that go out.
    pub fn enabled(&self) -> Vec<Channel> {
        let mut on = Vec::new();
        if self.transport.is_some() {
            on.push(Channel::Email);
        }
        if self.sms.is_some() {
            on.push(Channel::Sms);
        }
        on
    }

    async fn send(&self, message: &Claimed) -> anyhow::Result<String> {
        match Channel::parse(&message.channel) {
            Some(Channel::Email) => {
                self.email(&message.recipient, &message.subject, &message.body)
                    .await
            }
            Some(Channel::Sms) => match &self.sms {
                Some(sms) => sms.send(&message.recipient, &message.body).await,
                None => anyhow::bail!("no SMS provider is configured"),
            },
            None => anyhow::bail!("unknown channel {}", message.channel),
        }
    }

    async fn email(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<String> {
        let transport = self
            .transport
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no SMTP server is configured"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to.parse()?)
            .subject(subject)
            .body(body.to_owned())?;
        let response = transport.send(message).await?;
        Ok(response.message().collect::<Vec<_>>().join(" "))
    }
}

/// `smtp://[user:password@]host[:port]`, plain SMTP (a relay on the host or the network).
fn smtp(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| anyhow::anyhow!("{SMTP_URL} must start with smtp://"))?;
    let (credentials, host) = match rest.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, rest),
    };
    let host = host.trim_end_matches('/');
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (
            name,
            port.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("{SMTP_URL} has a bad port"))?,
        ),
        None => (host, 25),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(name)
        .port(port)
        .timeout(Some(Duration::from_secs(20)));
    if let Some(user) = credentials {
        let (user, password) = user.split_once(':').unwrap_or((user, ""));
        builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
    }
    Ok(builder.build())
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    channel: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    recipient: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    subject: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// Sends every message due at `now` (the clock is the caller's, so tests need not wait);
/// returns how many went out.
pub async fn deliver_due(
    services: &Services,
    senders: &Senders,
    now: NaiveDateTime,
) -> Result<usize, Error> {
    // A channel without its sender leaves its messages waiting (PENDING) rather than failing.
    let channels = senders.enabled();
    if channels.is_empty() {
        return Ok(0);
    }
    let mut sent = 0;
    loop {
        let claimed = claim(services, &channels, now).await?;
        if claimed.is_empty() {
            return Ok(sent);
        }
        let fetched = claimed.len();
        for message in claimed {
            let outcome = senders.send(&message).await;
            sent += usize::from(outcome.is_ok());
            settle(services, senders, &message, outcome, now).await?;
        }
        if (fetched as i64) < BATCH {
            return Ok(sent);
        }
    }
}

async fn claim(
    services: &Services,
    channels: &[Channel],
    now: NaiveDateTime,
) -> Result<Vec<Claimed>, Error> {
    let mut due = Sql::new("status = 'PENDING' AND next_attempt_at <= ");
    due.bind(now)
        .push(" AND channel")
        .is_in(channels.iter().map(|c| c.as_str()))
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(now)
        .push(")");
    let sql = sql::claim(
        "notification_messages",
        "claimed_until",
        now + CLAIM,
        &due,
        "next_attempt_at",
        BATCH,
        "id, channel, recipient, subject, body, attempts",
    );
    let mut pooled = services.db.write().await?;
    let mut conn = pooled.conn();
    Ok(Sql::load(&sql, &mut conn).await?)
}

async fn settle(
    services: &Services,
    senders: &Senders,
    message: &Claimed,
    outcome: anyhow::Result<String>,
    now: NaiveDateTime,
) -> Result<(), Error> {
    let attempts = message.attempts + 1;
    let mut pooled = services.db.write().await?;
    let mut conn = pooled.conn();
    let row = notification_messages::table.filter(notification_messages::id.eq(&message.id));
    match outcome {
        Ok(provider) => {
            db_run!(&mut conn, |c| diesel::update(row)
                .set((
                    notification_messages::status.eq(MessageStatus::Sent.as_str()),
                    notification_messages::attempts.eq(attempts),
                    notification_messages::provider_id.eq(&provider),
                    notification_messages::sent_at.eq(now),
                    notification_messages::claimed_until.eq(None::<NaiveDateTime>),
                ))
                .execute(c)
                .await)?;
        }
        Err(error) => {
            tracing::warn!(message = %message.id, attempts, %error, "a message was not sent");
            let status = if attempts >= senders.max_attempts {
                MessageStatus::Failed
            } else {
                MessageStatus::Pending
            };
            let backoff = chrono::Duration::seconds(30 * 2i64.pow(attempts.clamp(0, 12) as u32));
            db_run!(&mut conn, |c| diesel::update(row)
                .set((
                    notification_messages::status.eq(status.as_str()),
                    notification_messages::attempts.eq(attempts),
                    notification_messages::last_error.eq(error.to_string()),
                    notification_messages::next_attempt_at.eq(now + backoff),
                    notification_messages::claimed_until.eq(None::<NaiveDateTime>),
                ))
                .execute(c)
                .await)?;
        }
    }
    Ok(())
}

/// Sends due messages until `shutdown`: at once when a notification is raised, and every
/// `interval` for retries.
pub fn spawn(
    services: Services,
    senders: Senders,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let raised = <NotificationRaised as switchyard_kernel::DomainEvent>::SPEC.name;
    let mut events = services.bus.subscribe();
    tokio::spawn(async move {
        loop {
            if let Err(error) =
                deliver_due(&services, &senders, switchyard_kernel::time::now()).await
            {
                tracing::warn!(?error, "message delivery failed; will retry");
            }
            let woken = async {
                loop {
                    match events.recv().await {
                        Ok(event) if event.event_type == raised => return,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = woken => {}
                _ = tokio::time::sleep(interval) => {}
            }
        }
    })
}
