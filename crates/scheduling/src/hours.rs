//! Working hours: a location's week in its own IANA time zone (daylight-saving changes
//! included: a window is judged in local time on each day it covers). A location without
//! working hours works around the clock.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{Datelike, NaiveDateTime, NaiveTime, TimeZone};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Conn, ContextExt, Error, LocationId, Rejection, RowScope, TenantId, UserErrorCode, db_run,
};

use crate::permissions::HOURS_MANAGE;
use crate::schema::working_hours;

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
    /// A location's working week.
    #[graphql(directive = Authenticated::apply())]
    async fn working_hours(
        &self,
        ctx: &Context<'_>,
        location_id: ID,
    ) -> async_graphql::Result<WorkingWeek> {
        let caller = ctx.caller()?;
        let location = LocationId::from_input(&location_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let time_zone =
            switchyard_identity::locations::time_zone(&mut conn, caller.tenant_id, location)
                .await?;
        let days = week(&mut conn, caller.tenant_id, location).await?;
        Ok(WorkingWeek {
            location_id,
            time_zone,
            days: days
                .into_iter()
                .map(|(weekday, starts, ends)| WorkingDay {
                    weekday,
                    starts: starts.format("%H:%M").to_string(),
                    ends: ends.format("%H:%M").to_string(),
                })
                .collect(),
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
}

switchyard_kernel::payload!(
    /// The result of `setWorkingHours` (read them back with `workingHours`).
    WorkingWeekPayload { saved: bool }
);

/// A location's working days, Monday first.
async fn week(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    location: LocationId,
) -> Result<Vec<(i32, NaiveTime, NaiveTime)>, Error> {
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
    Ok(rows
        .into_iter()
        .filter_map(|(d, s, e)| {
            let t = |x: &str| NaiveTime::parse_from_str(x, "%H:%M").ok();
            Some((d, t(&s)?, t(&e)?))
        })
        .collect())
}

/// Why `[from, to)` (UTC) lies outside the location's working hours, day by day in its time
/// zone; `None` when it lies within (or the location works around the clock).
pub async fn outside(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    location: LocationId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Option<String>, Error> {
    let days = week(conn, tenant, location).await?;
    if days.is_empty() {
        return Ok(None);
    }
    let zone = switchyard_identity::locations::time_zone(conn, tenant, location).await?;
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| Error::internal(anyhow::anyhow!("location time zone {zone} unknown")))?;
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
            return Ok(Some(format!("{date} is not a working day ({zone})")));
        };
        let ends_at_midnight = day_end == next.and_time(NaiveTime::MIN);
        if day_start.time() < *opens || ends_at_midnight || day_end.time() > *closes {
            return Ok(Some(format!(
                "{} to {} on {date} is outside the working hours {}–{} ({zone})",
                day_start.time().format("%H:%M"),
                if ends_at_midnight {
                    "24:00".to_owned()
                } else {
                    day_end.time().format("%H:%M").to_string()
                },
                opens.format("%H:%M"),
                closes.format("%H:%M"),
            )));
        }
        if next == date {
            break;
        }
        date = next;
    }
    Ok(None)
}
