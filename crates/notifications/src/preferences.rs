//! What each person chooses: the channels per kind of notification (in-app always), their
//! language, and quiet hours in their location's time zone, during which messages wait.

use async_graphql::{Context, MaybeUndefined, Object, SimpleObject};
use chrono::{NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, UserId, db_run, payload,
};

use crate::kinds::{Channel, NotificationKind};
use crate::permissions::NOTIFICATION_READ;
use crate::schema::{notification_preferences, notification_settings};

/// The channels of one kind of notification for you.
#[derive(SimpleObject, Clone)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct NotificationPreference {
    pub kind: NotificationKind,
    /// Besides in-app.
    pub channels: Vec<Channel>,
    /// False while you have not chosen (the kind's default holds).
    pub chosen: bool,
}

/// Your language and quiet hours.
#[derive(SimpleObject, Clone)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct NotificationSettings {
    /// For message templates (`en`, `sv`, `pt-BR`).
    pub language: String,
    /// Quiet hours (`22:00` to `07:00`) in your location's time zone: messages wait until they
    /// end; in-app notifications arrive as ever.
    pub quiet_starts: Option<String>,
    pub quiet_ends: Option<String>,
    /// Where text messages go (E.164, `+46701234567`); none: no SMS.
    pub phone: Option<String>,
}

payload!(
    /// The result of `setNotificationPreference`.
    NotificationPreferencePayload { preference: NotificationPreference }
);

payload!(
    /// The result of `setNotificationSettings`.
    NotificationSettingsPayload { settings: NotificationSettings }
);

/// A person's settings as raising a notification needs them.
pub(crate) struct Person {
    pub language: String,
    pub phone: Option<String>,
    quiet: Option<(NaiveTime, NaiveTime)>,
    zone: Tz,
}

impl Person {
    /// When a message raised at `now` (UTC) may go: now, or when quiet hours end.
    pub fn send_at(&self, now: NaiveDateTime) -> NaiveDateTime {
        let Some((starts, ends)) = self.quiet else {
            return now;
        };
        let local = self.zone.from_utc_datetime(&now).naive_local();
        let t = local.time();
        let quiet = if starts <= ends {
            t >= starts && t < ends
        } else {
            t >= starts || t < ends
        };
        if !quiet {
            return now;
        }
        let mut day = local.date();
        if t >= ends && starts > ends {
            day = day.succ_opt().unwrap_or(day);
        }
        let end = day.and_time(ends);
        // A local end that does not exist (a DST gap): at once rather than never.
        self.zone
            .from_local_datetime(&end)
            .earliest()
            .map_or(now, |at| at.naive_utc())
    }
}

/// `HH:MM`.
fn clock(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").ok()
}

/// The channels `user` wants for `kind`.
pub(crate) async fn channels(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    kind: NotificationKind,
) -> Result<Vec<Channel>, Error> {
    let chosen: Option<String> = db_run!(conn, |c| notification_preferences::table
        .filter(notification_preferences::tenant_id.eq(tenant))
        .filter(notification_preferences::user_id.eq(user))
        .filter(notification_preferences::kind.eq(kind.as_str()))
        .select(notification_preferences::channels)
        .first(c)
        .await
        .optional())?;
    Ok(match chosen {
        Some(list) => parse_channels(&list),
        None => kind.default_channels().to_vec(),
    })
}

fn parse_channels(list: &str) -> Vec<Channel> {
    list.split(',').filter_map(Channel::parse).collect()
}

/// `user`'s language, quiet hours and time zone (of their first location; UTC without one).
pub(crate) async fn person(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
) -> Result<Person, Error> {
    let settings = stored(conn, tenant, user).await?;
    let zone = match switchyard_identity::locations::of_users(conn, tenant, &[user])
        .await?
        .remove(&user)
        .and_then(|l| l.into_iter().min())
    {
        Some(location) => switchyard_identity::locations::time_zone(conn, tenant, location)
            .await?
            .parse()
            .unwrap_or(Tz::UTC),
        None => Tz::UTC,
    };
    let quiet = match (&settings.quiet_starts, &settings.quiet_ends) {
        (Some(s), Some(e)) => clock(s).zip(clock(e)),
        _ => None,
    };
    Ok(Person {
        language: settings.language,
        phone: settings.phone,
        quiet,
        zone,
    })
}

async fn stored(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
) -> Result<NotificationSettings, Error> {
    type Stored = (String, Option<String>, Option<String>, Option<String>);
    let row: Option<Stored> = db_run!(conn, |c| notification_settings::table
        .filter(notification_settings::tenant_id.eq(tenant))
        .filter(notification_settings::user_id.eq(user))
        .select((
            notification_settings::language,
            notification_settings::quiet_starts,
            notification_settings::quiet_ends,
            notification_settings::phone
        ))
        .first(c)
        .await
        .optional())?;
    Ok(match row {
        Some((language, quiet_starts, quiet_ends, phone)) => NotificationSettings {
            language,
            quiet_starts,
            quiet_ends,
            phone,
        },
        None => NotificationSettings {
            language: "en".into(),
            quiet_starts: None,
            quiet_ends: None,
            phone: None,
        },
    })
}

/// A language tag as templates are kept by: `en`, `sv`, `pt-BR`.
pub(crate) fn check_language(check: &mut Check, field: &str, language: &str) {
    let mut parts = language.split('-');
    let primary = parts.next().unwrap_or("");
    let region = parts.next();
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
        && parts.next().is_none();
    if !ok {
        check.add(
            field,
            UserErrorCode::InvalidFormat,
            "must be a language tag such as en, sv or pt-BR",
        );
    }
}

#[derive(Default)]
pub struct PreferenceQuery;

#[Object]
impl PreferenceQuery {
    /// Your channels for every kind of notification.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<NotificationPreference>> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let rows: Vec<(String, String)> = db_run!(&mut conn, |c| notification_preferences::table
            .filter(notification_preferences::tenant_id.eq(caller.tenant_id))
            .filter(notification_preferences::user_id.eq(user))
            .select((
                notification_preferences::kind,
                notification_preferences::channels
            ))
            .load(c)
            .await)?;
        Ok(NotificationKind::ALL
            .iter()
            .filter(|kind| kind.for_people())
            .map(|kind| match rows.iter().find(|(k, _)| k == kind.as_str()) {
                Some((_, list)) => NotificationPreference {
                    kind: *kind,
                    channels: parse_channels(list),
                    chosen: true,
                },
                None => NotificationPreference {
                    kind: *kind,
                    channels: kind.default_channels().to_vec(),
                    chosen: false,
                },
            })
            .collect())
    }

    /// Your language and quiet hours.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn notification_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<NotificationSettings> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(stored(&mut pooled.conn(), caller.tenant_id, user).await?)
    }
}

#[derive(Default)]
pub struct PreferenceMutation;

#[Object]
impl PreferenceMutation {
    /// Chooses the channels of one kind of notification for you (none: in-app only).
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn set_notification_preference(
        &self,
        ctx: &Context<'_>,
        kind: NotificationKind,
        channels: Vec<Channel>,
    ) -> async_graphql::Result<NotificationPreferencePayload> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        let mut channels = channels;
        channels.sort_by_key(|c| c.as_str());
        channels.dedup();
        let list = channels
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let outcome = ctx
            .mutate(async |tx| {
                if !kind.for_people() {
                    let mut check = Check::new();
                    check.add(
                        "kind",
                        UserErrorCode::NotAllowed,
                        "customer reminders go to customers; nobody chooses their channels",
                    );
                    check.finish()?;
                }
                db_run!(tx, |c| diesel::delete(
                    notification_preferences::table
                        .filter(notification_preferences::tenant_id.eq(caller.tenant_id))
                        .filter(notification_preferences::user_id.eq(user))
                        .filter(notification_preferences::kind.eq(kind.as_str()))
                )
                .execute(c)
                .await)?;
                let row = (
                    notification_preferences::tenant_id.eq(caller.tenant_id),
                    notification_preferences::user_id.eq(user),
                    notification_preferences::kind.eq(kind.as_str()),
                    notification_preferences::channels.eq(&list),
                );
                db_run!(tx, |c| diesel::insert_into(notification_preferences::table)
                    .values(row)
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>(NotificationPreference {
                    kind,
                    channels: channels.clone(),
                    chosen: true,
                })
            })
            .await;
        NotificationPreferencePayload::from_outcome(outcome, |p| NotificationPreferencePayload {
            preference: Some(p),
            user_errors: Vec::new(),
        })
    }

    /// Changes your language, quiet hours and phone number. What you leave out stays as it
    /// was; `null` clears quiet hours (both ends together) or the phone number.
    #[graphql(directive = Require::apply(NOTIFICATION_READ))]
    async fn set_notification_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A language tag such as `en`, `sv` or `pt-BR`.")] language: Option<String>,
        #[graphql(desc = "When quiet hours begin, `HH:MM` in your location's time zone.")]
        quiet_starts: MaybeUndefined<String>,
        #[graphql(desc = "When quiet hours end, `HH:MM` in your location's time zone.")]
        quiet_ends: MaybeUndefined<String>,
        #[graphql(desc = "Where text messages go, E.164 (`+46701234567`).")] phone: MaybeUndefined<
            String,
        >,
    ) -> async_graphql::Result<NotificationSettingsPayload> {
        let caller = ctx.caller()?;
        let user = caller
            .user_id()
            .ok_or_else(|| Error::forbidden("only people have notifications"))?;
        // Absent: as stored; null: cleared; a value: that value.
        fn merge(given: &MaybeUndefined<String>, stored: Option<String>) -> Option<String> {
            match given {
                MaybeUndefined::Undefined => stored,
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(v) => Some(v.clone()),
            }
        }
        let outcome = ctx
            .mutate(async |tx| {
                let now = stored(tx, caller.tenant_id, user).await?;
                let language = language
                    .as_deref()
                    .map_or(now.language, |l| l.trim().to_owned());
                let phone = merge(&phone, now.phone)
                    .map(|p| {
                        p.chars()
                            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
                            .collect::<String>()
                    })
                    .filter(|p| !p.is_empty());
                let quiet_starts = merge(&quiet_starts, now.quiet_starts);
                let quiet_ends = merge(&quiet_ends, now.quiet_ends);
                let mut check = Check::new();
                check_language(&mut check, "language", &language);
                if let Some(phone) = &phone {
                    let digits = phone.strip_prefix('+').unwrap_or("");
                    if !(8..=15).contains(&digits.len())
                        || !digits.chars().all(|c| c.is_ascii_digit())
                        || digits.starts_with('0')
                    {
                        check.add(
                            "phone",
                            UserErrorCode::InvalidFormat,
                            "must be an international number such as +46701234567",
                        );
                    }
                }
                let mut quiet = None;
                match (&quiet_starts, &quiet_ends) {
                    (None, None) => {}
                    (Some(s), Some(e)) => match (clock(s), clock(e)) {
                        (Some(s), Some(e)) if s != e => {
                            quiet =
                                Some((s.format("%H:%M").to_string(), e.format("%H:%M").to_string()))
                        }
                        (Some(_), Some(_)) => {
                            check.add(
                                "quietEnds",
                                UserErrorCode::InvalidFormat,
                                "must differ from quietStarts",
                            );
                        }
                        (s, e) => {
                            for (field, ok) in
                                [("quietStarts", s.is_some()), ("quietEnds", e.is_some())]
                            {
                                if !ok {
                                    check.add(
                                        field,
                                        UserErrorCode::InvalidFormat,
                                        "must be a time of day as HH:MM",
                                    );
                                }
                            }
                        }
                    },
                    _ => {
                        check.add(
                            if quiet_starts.is_none() {
                                "quietStarts"
                            } else {
                                "quietEnds"
                            },
                            UserErrorCode::Required,
                            "quiet hours need both ends",
                        );
                    }
                }
                check.finish()?;
                db_run!(tx, |c| diesel::delete(
                    notification_settings::table
                        .filter(notification_settings::tenant_id.eq(caller.tenant_id))
                        .filter(notification_settings::user_id.eq(user))
                )
                .execute(c)
                .await)?;
                let (starts, ends) = quiet.unzip();
                let row = (
                    notification_settings::tenant_id.eq(caller.tenant_id),
                    notification_settings::user_id.eq(user),
                    notification_settings::language.eq(&language),
                    notification_settings::quiet_starts.eq(&starts),
                    notification_settings::quiet_ends.eq(&ends),
                    notification_settings::phone.eq(&phone),
                );
                db_run!(tx, |c| diesel::insert_into(notification_settings::table)
                    .values(row)
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>(NotificationSettings {
                    language: language.clone(),
                    quiet_starts: starts,
                    quiet_ends: ends,
                    phone: phone.clone(),
                })
            })
            .await;
        NotificationSettingsPayload::from_outcome(outcome, |s| NotificationSettingsPayload {
            settings: Some(s),
            user_errors: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("a time")
    }

    #[test]
    fn quiet_hours_hold_messages_until_they_end_in_the_persons_zone() {
        let person = Person {
            language: "en".into(),
            phone: None,
            quiet: Some((clock("22:00").expect("time"), clock("07:00").expect("time"))),
            zone: chrono_tz::Europe::Stockholm,
        };
        // 21:30 UTC in winter is 22:30 in Stockholm: quiet until 07:00 local, 06:00 UTC.
        assert_eq!(
            person.send_at(at("2026-12-03 21:30")),
            at("2026-12-04 06:00")
        );
        // 03:00 local: the same morning.
        assert_eq!(
            person.send_at(at("2026-12-04 02:00")),
            at("2026-12-04 06:00")
        );
        // 12:00 local: at once.
        assert_eq!(
            person.send_at(at("2026-12-04 11:00")),
            at("2026-12-04 11:00")
        );
        // Summer time: 07:00 local is 05:00 UTC.
        assert_eq!(
            person.send_at(at("2026-07-01 21:00")),
            at("2026-07-02 05:00")
        );
    }
}
