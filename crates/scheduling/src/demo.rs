//! The demo company's working weeks and time off (deterministic, stored without events).

use chrono::{Duration, NaiveTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{LocationId, Rejection, Services, TenantId, UserId, db_run, time, write};

use crate::schema::working_hours;
use crate::time_off::{TimeOff, TimeOffId, TimeOffKind, TimeOffRow};

/// Weekdays 07:00 to 18:00 in every location; for each crew member a day or a week away.
pub async fn seed(
    services: &Services,
    tenant: TenantId,
    locations: &[LocationId],
    crew: &[UserId],
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
            Ok::<_, Rejection>(crew.len())
        })
        .await;
    outcome.map_err(|r| anyhow::anyhow!("demo schedule: {r:?}"))
}
