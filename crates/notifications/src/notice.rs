//! In-app notifications, and [`raise`]: the one service every domain raises them through.
//!
//! A notification is its person's alone: the row scope is the caller's own rows whatever the
//! role, so nobody reads another person's notifications. Raising one, in the caller's
//! transaction, also queues a message on each channel the person chose for its kind (sent
//! after commit by the delivery worker, outside quiet hours) and records
//! `notifications.notification.raised`, which feeds `notificationReceived`.

use async_graphql::{Context, ID, Object};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::access::Caller;
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::{Expr, aggregate};
use switchyard_kernel::write::Settable;
use switchyard_kernel::{Conn, ContextExt, Error, Rejection, UserId, db_run, payload, time};

use crate::ids::NotificationId;
use crate::kinds::{Channel, NotificationKind};
use crate::permissions::NOTIFICATION_READ;
use crate::schema::notifications;
use crate::{preferences, templates};

switchyard_kernel::aggregate! {
    /// Something that happened that concerns you: a job you were put on, a reminder.
    #[aggregate(
        table = crate::schema::notifications,
        id = NotificationId,
        read = NOTIFICATION_READ,
        scope = crate::notice::own,
        order(created_at, desc),
        event = NotificationData,
        one(name = notification, doc = "One of your notifications by ID."),
        list(name = notifications, doc = "Your notifications, newest first (`filter: {readAt: {isNull: true}}`: the unread)."),
    )]
    pub struct Notification {
        /// Whose it is (yours).
        #[field(to_one = User, event)]
        user_id: UserId,
        #[field(filter, event)]
        kind: NotificationKind,
        #[field(event)]
        title: String,
        #[field(event)]
        body: String,
        /// The type of the object it is about (`Job`), with `subjectId` its global ID: the link
        /// to open (`node(id:)`).
        #[field(event)]
        subject_type: Option<String>,
        #[field(event)]
        subject_id: Option<String>,
        #[field(hidden)]
        dedupe_key: Option<String>,
        /// When you read it; null: unread.
        #[field(filter)]
        read_at: Option<NaiveDateTime>,
        #[field(filter)]
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }
}

switchyard_kernel::object_events! {
    "Notification" as notification: NotificationData from NotificationRow, v 1;
    /// A notification was raised for a person.
    NotificationRaised = "notifications.notification.raised",
}

/// Your own notifications, whatever your role (on alias `t`).
pub fn own(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    caller.row_scope(permission)?;
    let user = caller
        .user_id()
        .ok_or_else(|| Error::forbidden("only people have notifications"))?;
    let mut sql = Sql::new("t.user_id = ");
    sql.bind(user.to_string());
    Ok(Expr::Sql(sql))
}

/// A notification to raise.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Who it is for (a user of the caller's tenant).
    pub user: UserId,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// What it is about: a GraphQL type and the object's global ID.
    pub subject: Option<(&'static str, ID)>,
    /// Shown to its person once: a second notice with the same key is dropped.
    pub key: Option<String>,
}

/// Raises `notice` in the caller's transaction: the in-app notification, a message on each
/// channel its person chose, and the event. `None` when a notice with its key was raised
/// before, or its person is not an active user of the tenant.
pub async fn raise(
    tx: &mut Conn<'_>,
    caller: &Caller,
    notice: Notice,
) -> Result<Option<NotificationId>, Error> {
    let tenant = caller.tenant_id;
    let Some((name, email)) = switchyard_identity::users::contact(tx, tenant, notice.user).await?
    else {
        return Ok(None);
    };
    let now = time::now();
    let (subject_type, subject_id) = match &notice.subject {
        Some((ty, id)) => (Some((*ty).to_owned()), Some(id.to_string())),
        None => (None, None),
    };
    let row = NotificationRow {
        id: NotificationId::new(),
        tenant_id: tenant,
        user_id: notice.user,
        kind: notice.kind,
        title: notice.title,
        body: notice.body,
        subject_type,
        subject_id,
        dedupe_key: notice.key,
        read_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let inserted = db_run!(tx, |c| diesel::insert_into(notifications::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    if inserted == 0 {
        return Ok(None);
    }
    switchyard_kernel::events::emit(tx, caller, &NotificationRaised::of(&row)).await?;
    let channels = preferences::channels(tx, tenant, notice.user, notice.kind).await?;
    if channels.is_empty() {
        return Ok(Some(row.id));
    }
    let person = preferences::person(tx, tenant, notice.user).await?;
    let link = match (&row.subject_type, &row.subject_id) {
        (Some(ty), Some(id)) => format!("{ty} {id}"),
        _ => String::new(),
    };
    let vars = [
        ("name", name.as_str()),
        ("title", row.title.as_str()),
        ("body", row.body.as_str()),
        ("link", link.as_str()),
    ];
    let (subject, body) =
        templates::render(tx, tenant, notice.kind, Some(&person.language), &vars).await?;
    let at = person.send_at(now);
    for channel in channels {
        let (recipient, body) = match channel {
            Channel::Email => (email.clone(), body.clone()),
            Channel::Sms => match &person.phone {
                Some(phone) => (
                    phone.clone(),
                    crate::messages::sms_text(&subject, &row.body),
                ),
                None => continue,
            },
        };
        crate::messages::queue(
            tx,
            crate::messages::Queued {
                tenant,
                recipient: crate::messages::Recipient::Person {
                    user: notice.user,
                    notification: row.id,
                },
                channel,
                address: recipient,
                subject: subject.clone(),
                body,
                at,
            },
        )
        .await?;
    }
    Ok(Some(row.id))
}

payload!(
    /// The result of `markNotificationRead`.
    NotificationPayload { notification: Notification } from row
);

payload!(
    /// The result of `markAllNotificationsRead`.
    MarkAllReadPayload { marked: i32 }
);

#[derive(Default)]
pub struct NotificationCountQuery;

#[Object]
impl NotificationCountQuery {
    /// How many of your notifications are unread.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let n: i64 = db_run!(&mut conn, |c| notifications::table
            .filter(notifications::tenant_id.eq(caller.tenant_id))
            .filter(notifications::user_id.eq(user))
            .filter(notifications::read_at.is_null())
            .count()
            .get_result(c)
            .await)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks one of your notifications read (again: no change); answers it.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<NotificationPayload> {
        let caller = ctx.caller()?;
        let id = NotificationId::from_input(&id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let row =
                    aggregate::find_in::<Notification>(tx, caller, NOTIFICATION_READ, id).await?;
                if row.read_at.is_some() {
                    return Ok(row);
                }
                let now = time::now();
                db_run!(tx, |c| diesel::update(
                    notifications::table
                        .filter(notifications::tenant_id.eq(caller.tenant_id))
                        .filter(notifications::id.eq(id))
                )
                .set((
                    notifications::read_at.eq(now),
                    notifications::updated_at.eq(now),
                    notifications::version.eq(row.version + 1),
                ))
                .execute(c)
                .await)?;
                Ok::<_, Rejection>(NotificationRow {
                    read_at: Some(now),
                    updated_at: now,
                    version: row.version + 1,
                    ..row
                })
            })
            .await;
        NotificationPayload::of(outcome)
    }

    /// Marks all your notifications read; answers how many were unread.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn mark_all_notifications_read(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<MarkAllReadPayload> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        let outcome = ctx
            .mutate(async |tx| {
                let now = time::now();
                let n = db_run!(tx, |c| diesel::update(
                    notifications::table
                        .filter(notifications::tenant_id.eq(caller.tenant_id))
                        .filter(notifications::user_id.eq(user))
                        .filter(notifications::read_at.is_null())
                )
                .set((
                    notifications::read_at.eq(now),
                    notifications::updated_at.eq(now),
                    notifications::version.eq(notifications::version + 1),
                ))
                .execute(c)
                .await)?;
                Ok::<_, Rejection>(i32::try_from(n).unwrap_or(i32::MAX))
            })
            .await;
        MarkAllReadPayload::from_outcome(outcome, |marked| MarkAllReadPayload {
            marked: Some(marked),
            user_errors: Vec::new(),
        })
    }
}

pub use live::NotificationSubscription;

/// The subscription, apart: Diesel's `RunQueryDsl` (above) and the subscription macro's
/// generated code both have an `execute`.
mod live {
    use async_graphql::{Context, Subscription};
    use futures_util::Stream;
    use switchyard_kernel::policy::Require;
    use switchyard_kernel::read::aggregate;
    use switchyard_kernel::{ContextExt, Error};

    use super::{Notification, NotificationRaised};
    use crate::permissions::NOTIFICATION_READ;

    #[derive(Default)]
    pub struct NotificationSubscription;

    #[Subscription]
    impl NotificationSubscription {
        /// Each notification raised for you, as it is raised.
        #[graphql(directive = Require::apply(NOTIFICATION_READ))]
        async fn notification_received(
            &self,
            ctx: &Context<'_>,
        ) -> async_graphql::Result<impl Stream<Item = Result<Notification, Error>> + use<>>
        {
            let me = ctx
                .caller()?
                .user_id()
                .ok_or_else(|| Error::forbidden("only people have notifications"))?
                .to_string();
            let raised = <NotificationRaised as switchyard_kernel::DomainEvent>::SPEC.name;
            Ok(aggregate::changes_where::<Notification, _>(
                ctx,
                None,
                move |event| {
                    event.event_type == raised
                        && event.payload["notification"]["userId"].as_str() == Some(me.as_str())
                },
            )?)
        }
    }
}
