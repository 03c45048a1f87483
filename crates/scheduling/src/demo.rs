//! The demo company's working weeks, time off and appointments (deterministic, stored without
//! events).

use chrono::{Datelike, Duration, NaiveTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{
    Error, LocationId, Rejection, Services, TenantId, UserId, db_run, time, write,
};
use switchyard_sales::customers::CustomerId;

use crate::appointments::recurrence::Series;
use crate::appointments::{
    Appointment, AppointmentId, AppointmentKind, AppointmentRow, AppointmentStatus,
};
use crate::schema::{user_working_hours, working_hours};
use crate::time_off::{TimeOff, TimeOffId, TimeOffKind, TimeOffRow};

/// Weekdays 07:00 to 18:00 in every location; for each crew member a day or a week away; the
/// second crew member works a shorter week of their own; a weekly maintenance block for the
/// first; a site visit for each of `visits` (a customer and the rep who goes) in the coming
/// days.
pub async fn seed(
    services: &Services,
    tenant: TenantId,
    locations: &[LocationId],
    crew: &[UserId],
    visits: &[(CustomerId, UserId)],
) -> anyhow::Result<usize> {
    let outcome = services
        .mutate(async |tx| {
            for location in locations {
                for weekday in 1..=5 {
                    let row = (
                        working_hours::tenant_id.eq(tenant),
                        working_hours::location_id.eq(*location),
                        working_hours::weekday.eq(weekday),
                        working_hours::starts.eq("07:00"),
                        working_hours::ends.eq("18:00"),
                    );
                    db_run!(tx, |c| diesel::insert_into(working_hours::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
            }
            let today = time::now().date().and_time(NaiveTime::MIN);
            let kinds = [
                TimeOffKind::Vacation,
                TimeOffKind::Sick,
                TimeOffKind::Training,
                TimeOffKind::Personal,
            ];
            for (i, user) in crew.iter().enumerate() {
                let start = today + Duration::days(3 + 4 * i as i64);
                let days = if i % 4 == 0 { 5 } else { 1 };
                let row = TimeOffRow {
                    id: TimeOffId::new(),
                    tenant_id: tenant,
                    user_id: *user,
                    kind: kinds[i % kinds.len()],
                    starts_at: start,
                    ends_at: start + Duration::days(days),
                    note: String::new(),
                    created_by: Some(*user),
                    created_at: time::now(),
                    updated_at: time::now(),
                    version: 1,
                };
                write::insert::<TimeOff>(tx, row).await?;
            }
            if let Some(user) = crew.get(1) {
                for weekday in 1..=4 {
                    let row = (
                        user_working_hours::tenant_id.eq(tenant),
                        user_working_hours::user_id.eq(*user),
                        user_working_hours::weekday.eq(weekday),
                        user_working_hours::starts.eq("07:00"),
                        user_working_hours::ends.eq("15:00"),
                    );
                    db_run!(tx, |c| diesel::insert_into(user_working_hours::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
            }
            let location = locations.first().copied();
            let zone = match location {
                Some(l) => switchyard_identity::locations::time_zone(tx, tenant, l).await?,
                None => "UTC".to_owned(),
            };
            let monday = today
                + Duration::days(7 - i64::from(today.date().weekday().num_days_from_monday()));
            let mut appointments = Vec::new();
            if let Some(user) = crew.first() {
                // 06:00 UTC is 07:00 in Stockholm in winter.
                let start = monday + Duration::hours(6);
                appointments.push((
                    AppointmentKind::Maintenance,
                    "Truck inspection".to_owned(),
                    Some(*user),
                    None,
                    start,
                    Some("FREQ=WEEKLY;COUNT=8"),
                ));
            }
            for (i, (customer, rep)) in visits.iter().enumerate() {
                let start = monday + Duration::days(1 + i as i64) + Duration::hours(9);
                appointments.push((
                    AppointmentKind::SiteVisit,
                    "Survey before quoting".to_owned(),
                    Some(*rep),
                    Some(*customer),
                    start,
                    None,
                ));
            }
            for (kind, title, user, customer, start, rule) in appointments {
                let length = Duration::hours(1);
                let tz = zone.parse().unwrap_or(chrono_tz::UTC);
                let series = Series::new(rule, start, length, tz)
                    .map_err(|why| Error::internal(anyhow::anyhow!("demo series {why}")))?;
                let row = AppointmentRow {
                    id: AppointmentId::new(),
                    tenant_id: tenant,
                    kind,
                    title,
                    location_id: location,
                    user_id: user,
                    customer_id: customer,
                    job_id: None,
                    starts_at: start,
                    ends_at: start + length,
                    recurrence: rule.map(str::to_owned),
                    time_zone: zone.clone(),
                    series_ends_at: series.ends(),
                    status: AppointmentStatus::Scheduled,
                    notes: String::new(),
                    follow_up_task_id: None,
                    completed_at: None,
                    cancelled_at: None,
                    created_by: None,
                    created_at: time::now(),
                    updated_at: time::now(),
                    version: 1,
                };
                write::insert::<Appointment>(tx, row).await?;
            }
            Ok::<_, Rejection>(crew.len())
        })
        .await;
    outcome.map_err(|r| anyhow::anyhow!("demo schedule: {r:?}"))
}
