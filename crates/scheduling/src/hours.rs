//! Working hours: a location's week in its own IANA time zone (daylight-saving changes
//! included: a window is judged in local time on each day it covers), and a person's own week
//! where they have one (judged in the zone of the location the work is at). A location without
//! working hours works around the clock; a person without their own week works the location's.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{Datelike, NaiveDateTime, NaiveTime, TimeZone};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Conn, ContextExt, Error, LocationId, Rejection, RowScope, TenantId, UserErrorCode, UserId,
    db_run,
};

use crate::permissions::HOURS_MANAGE;
use crate::schema::{user_working_hours, working_hours};

/// The hours of one weekday.
#[derive(SimpleObject, Clone)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct WorkingDay {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// Local time, `08:00`.
    pub starts: String,
    pub ends: String,
}

/// A location's working week.
#[derive(SimpleObject)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct WorkingWeek {
    pub location_id: ID,
    /// IANA, as the location has it.
    pub time_zone: String,
    /// The days it works, Monday first; empty: around the clock.
    pub days: Vec<WorkingDay>,
    /// The person's own week, not the location's.
    pub personal: bool,
}

/// The hours of one weekday, as input.
#[derive(InputObject)]
pub struct WorkingDayInput {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// Local time, `HH:MM`.
    pub starts: String,
    pub ends: String,
}

#[derive(Default)]
pub struct HoursQuery;

#[Object]
impl HoursQuery {
    /// A location's working week; with `userId`, that person's own week there if they have
    /// one (`personal`), else the location's.
    #[graphql(directive = Authenticated::apply())]
    async fn working_hours(
        &self,
        ctx: &Context<'_>,
        location_id: ID,
        user_id: Option<ID>,
    ) -> async_graphql::Result<WorkingWeek> {
        let caller = ctx.caller()?;
        let location = LocationId::from_input(&location_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let week = Week::of_location(&mut conn, caller.tenant_id, location).await?;
        let own = match UserId::from_optional(user_id.as_ref())? {
            Some(user) => Week::of_user(&mut conn, caller.tenant_id, user, Some(&week)).await?,
            None => None,
        };
        Ok(WorkingWeek {
            location_id,
            time_zone: week.zone().to_owned(),
            personal: own.is_some(),
            days: own.as_ref().unwrap_or(&week).days(),
        })
    }
}

#[derive(Default)]
pub struct HoursMutation;

#[Object]
impl HoursMutation {
    /// Sets a location's working week (the days given; the others are days off). An empty
    /// list: around the clock.
    #[graphql(directive = Require::apply(HOURS_MANAGE))]
    async fn set_working_hours(
        &self,
        ctx: &Context<'_>,
        location_id: ID,
        days: Vec<WorkingDayInput>,
    ) -> async_graphql::Result<WorkingWeekPayload> {
        let caller = ctx.caller()?;
        let location = LocationId::from_input(&location_id)?;
        let outcome = ctx
            .mutate(async |tx| {
                switchyard_identity::locations::time_zone(tx, caller.tenant_id, location).await?;
                match caller.row_scope(HOURS_MANAGE)? {
                    RowScope::Tenant => {}
                    RowScope::Location { locations, .. } if locations.contains(&location) => {}
                    _ => {
                        return Err(Rejection::invalid(
                            "locationId",
                            UserErrorCode::NotAllowed,
                            "you set the hours of your own locations only",
                        ));
                    }
                }
                let parsed = parse_week(&days)?;
                db_run!(tx, |c| diesel::delete(
                    working_hours::table
                        .filter(working_hours::tenant_id.eq(caller.tenant_id))
                        .filter(working_hours::location_id.eq(location))
                )
                .execute(c)
                .await)?;
                for (weekday, s, e) in &parsed {
                    let row = (
                        working_hours::tenant_id.eq(caller.tenant_id),
                        working_hours::location_id.eq(location),
                        working_hours::weekday.eq(*weekday),
                        working_hours::starts.eq(s.format("%H:%M").to_string()),
                        working_hours::ends.eq(e.format("%H:%M").to_string()),
                    );
                    db_run!(tx, |c| diesel::insert_into(working_hours::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
                Ok::<_, Rejection>(parsed.len())
            })
            .await;
        match outcome {
            Ok(_) => Ok(WorkingWeekPayload {
                saved: Some(true),
                user_errors: Vec::new(),
            }),
            Err(Rejection::Invalid(user_errors)) => Ok(WorkingWeekPayload {
                saved: None,
                user_errors,
            }),
            Err(Rejection::Failed(e)) => Err(e.into()),
        }
    }

    /// Sets a person's own working week (the days given; the others are days off), judged in
    /// the zone of the location the work is at. An empty list: they work the location's week.
    #[graphql(directive = Require::apply(HOURS_MANAGE))]
    async fn set_user_working_hours(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        days: Vec<WorkingDayInput>,
    ) -> async_graphql::Result<WorkingWeekPayload> {
        let caller = ctx.caller()?;
        let user = UserId::from_input(&user_id)?;
        let outcome = ctx
            .mutate(async |tx| {
                if !switchyard_identity::users::is_active_staff(tx, caller.tenant_id, user).await? {
                    return Err(Error::NotFound.into());
                }
                let allowed = match caller.row_scope(HOURS_MANAGE)? {
                    RowScope::Tenant => true,
                    RowScope::Location { locations, .. } => {
                        switchyard_identity::locations::works_at(
                            tx,
                            caller.tenant_id,
                            user,
                            &locations,
                        )
                        .await?
                    }
                    RowScope::Own(_) => false,
                };
                if !allowed {
                    return Err(Rejection::invalid(
                        "userId",
                        UserErrorCode::NotAllowed,
                        "you set the hours of the people of your own locations only",
                    ));
                }
                let parsed = parse_week(&days)?;
                db_run!(tx, |c| diesel::delete(
                    user_working_hours::table
                        .filter(user_working_hours::tenant_id.eq(caller.tenant_id))
                        .filter(user_working_hours::user_id.eq(user))
                )
                .execute(c)
                .await)?;
                for (weekday, s, e) in &parsed {
                    let row = (
                        user_working_hours::tenant_id.eq(caller.tenant_id),
                        user_working_hours::user_id.eq(user),
                        user_working_hours::weekday.eq(*weekday),
                        user_working_hours::starts.eq(s.format("%H:%M").to_string()),
                        user_working_hours::ends.eq(e.format("%H:%M").to_string()),
                    );
                    db_run!(tx, |c| diesel::insert_into(user_working_hours::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
                Ok::<_, Rejection>(parsed.len())
            })
            .await;
        WorkingWeekPayload::from_outcome(outcome, |_| WorkingWeekPayload {
            saved: Some(true),
            user_errors: Vec::new(),
        })
    }
}

switchyard_kernel::payload!(
    /// The result of `setWorkingHours` (read them back with `workingHours`).
    WorkingWeekPayload { saved: bool }
);

/// A working week in a time zone: the days it works, Monday first (empty: around the clock).
#[derive(Debug, Clone)]
pub struct Week {
    zone: chrono_tz::Tz,
    zone_name: String,
    days: Vec<(i32, NaiveTime, NaiveTime)>,
}

fn parse_days(rows: Vec<(i32, String, String)>) -> Vec<(i32, NaiveTime, NaiveTime)> {
    rows.into_iter()
        .filter_map(|(d, s, e)| {
            let t = |x: &str| NaiveTime::parse_from_str(x, "%H:%M").ok();
            Some((d, t(&s)?, t(&e)?))
        })
        .collect()
}

fn zone_of(name: &str) -> Result<chrono_tz::Tz, Error> {
    name.parse()
        .map_err(|_| Error::internal(anyhow::anyhow!("time zone {name} unknown")))
}

impl Week {
    /// A location's week in its zone: two statements.
    pub async fn of_location(
        conn: &mut Conn<'_>,
        tenant: TenantId,
        location: LocationId,
    ) -> Result<Week, Error> {
        let zone_name = switchyard_identity::locations::time_zone(conn, tenant, location).await?;
        let rows: Vec<(i32, String, String)> = db_run!(conn, |c| working_hours::table
            .filter(working_hours::tenant_id.eq(tenant))
            .filter(working_hours::location_id.eq(location))
            .order(working_hours::weekday.asc())
            .select((
                working_hours::weekday,
                working_hours::starts,
                working_hours::ends
            ))
            .load(c)
            .await)?;
        Ok(Week {
            zone: zone_of(&zone_name)?,
            zone_name,
            days: parse_days(rows),
        })
    }

    /// A person's own week in `zone` (the work's location's), if they have one: one statement.
    pub async fn of_user(
        conn: &mut Conn<'_>,
        tenant: TenantId,
        user: UserId,
        zone: Option<&Week>,
    ) -> Result<Option<Week>, Error> {
        let rows: Vec<(i32, String, String)> = db_run!(conn, |c| user_working_hours::table
            .filter(user_working_hours::tenant_id.eq(tenant))
            .filter(user_working_hours::user_id.eq(user))
            .order(user_working_hours::weekday.asc())
            .select((
                user_working_hours::weekday,
                user_working_hours::starts,
                user_working_hours::ends
            ))
            .load(c)
            .await)?;
        let rows: Vec<(String, String, String)> = rows
            .into_iter()
            .map(|(d, s, e)| (d.to_string(), s, e))
            .collect();
        Ok(Week::of_days(&rows, zone))
    }

    /// A person's own week from rows `(weekday, starts, ends)` as text, in the zone of `zone`
    /// (the work's location's; UTC without one); none without rows.
    pub fn of_days(rows: &[(String, String, String)], zone: Option<&Week>) -> Option<Week> {
        if rows.is_empty() {
            return None;
        }
        let rows = rows
            .iter()
            .filter_map(|(d, s, e)| Some((d.parse().ok()?, s.clone(), e.clone())))
            .collect();
        Some(Week {
            zone: zone.map_or(chrono_tz::UTC, |w| w.zone),
            zone_name: zone.map_or_else(|| "UTC".to_owned(), |w| w.zone_name.clone()),
            days: parse_days(rows),
        })
    }

    /// The zone's name (IANA).
    pub fn zone(&self) -> &str {
        &self.zone_name
    }

    /// Why `[from, to)` (UTC) lies outside this week, day by day in its zone; `None` when it
    /// lies within (or the week is around the clock).
    pub fn outside(&self, from: NaiveDateTime, to: NaiveDateTime) -> Option<String> {
        let (days, zone, tz) = (&self.days, &self.zone_name, self.zone);
        if days.is_empty() {
            return None;
        }
        let (start, end) = (
            tz.from_utc_datetime(&from).naive_local(),
            tz.from_utc_datetime(&to).naive_local(),
        );
        let mut date = start.date();
        while date.and_time(NaiveTime::MIN) < end {
            let day_start = date.and_time(NaiveTime::MIN).max(start);
            let next = date.succ_opt().unwrap_or(date);
            let day_end = end.min(next.and_time(NaiveTime::MIN));
            let weekday = date.weekday().number_from_monday() as i32;
            let Some((_, opens, closes)) = days.iter().find(|d| d.0 == weekday) else {
                return Some(format!("{date} is not a working day ({zone})"));
            };
            let ends_at_midnight = day_end == next.and_time(NaiveTime::MIN);
            if day_start.time() < *opens || ends_at_midnight || day_end.time() > *closes {
                return Some(format!(
                    "{} to {} on {date} is outside the working hours {}–{} ({zone})",
                    day_start.time().format("%H:%M"),
                    if ends_at_midnight {
                        "24:00".to_owned()
                    } else {
                        day_end.time().format("%H:%M").to_string()
                    },
                    opens.format("%H:%M"),
                    closes.format("%H:%M"),
                ));
            }
            if next == date {
                break;
            }
            date = next;
        }
        None
    }

    fn days(&self) -> Vec<WorkingDay> {
        self.days
            .iter()
            .map(|(weekday, starts, ends)| WorkingDay {
                weekday: *weekday,
                starts: starts.format("%H:%M").to_string(),
                ends: ends.format("%H:%M").to_string(),
            })
            .collect()
    }
}

/// Why `[from, to)` (UTC) lies outside the location's working hours, if it does.
pub async fn outside(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    location: LocationId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Option<String>, Error> {
    Ok(Week::of_location(conn, tenant, location)
        .await?
        .outside(from, to))
}

/// Checks a week as given: each weekday once, 1 to 7, `HH:MM`, ending after it starts.
fn parse_week(days: &[WorkingDayInput]) -> Result<Vec<(i32, NaiveTime, NaiveTime)>, Rejection> {
    let mut check = Check::new();
    let mut parsed = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let path = format!("days.{i}");
        if !(1..=7).contains(&day.weekday) {
            check.add(
                &format!("{path}.weekday"),
                UserErrorCode::OutOfRange,
                "1 (Monday) to 7 (Sunday)",
            );
        } else if days[..i].iter().any(|d| d.weekday == day.weekday) {
            check.add(
                &format!("{path}.weekday"),
                UserErrorCode::Duplicate,
                "one entry per weekday",
            );
        }
        let at = |text: &str, field: &str, check: &mut Check| {
            NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| {
                check.add(
                    &format!("{path}.{field}"),
                    UserErrorCode::InvalidFormat,
                    "a local time as HH:MM, such as 08:00",
                );
            })
        };
        let (starts, ends) = (
            at(&day.starts, "starts", &mut check),
            at(&day.ends, "ends", &mut check),
        );
        if let (Ok(s), Ok(e)) = (starts, ends) {
            if e <= s {
                check.add(
                    &format!("{path}.ends"),
                    UserErrorCode::OutOfRange,
                    "must be after starts",
                );
            }
            parsed.push((day.weekday, s, e));
        }
    }
    check.finish()?;
    Ok(parsed)
}
