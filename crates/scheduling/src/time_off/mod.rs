//! Time off: when a person is not available (vacation, sickness, training...). Recorded by the
//! person or their planners; on the calendar; refused against when staffing a job.

pub mod events;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    ContextExt, Error, Rejection, UserErrorCode, UserId, audit, db_run, payload, time, write,
};

use crate::permissions::{TIME_OFF_MANAGE, TIME_OFF_READ};
use crate::schema::time_off;
use events::{TimeOffRecorded, TimeOffWithdrawn};

pub use crate::ids::TimeOffId;

switchyard_kernel::text_enum! {
    /// Why a person is away.
    pub enum TimeOffKind {
        Personal = "PERSONAL",
        Sick = "SICK",
        Vacation = "VACATION",
        Training = "TRAINING",
        Other = "OTHER",
    }
}

switchyard_kernel::aggregate! {
    /// A span of time a person is not available.
    #[aggregate(
        table = crate::schema::time_off,
        id = TimeOffId,
        read = TIME_OFF_READ,
        scope = crate::scope::time_off,
        order(created_at, desc),
        event = TimeOffData,
        one(name = time_off, doc = "Time off by ID."),
        list(name = time_off_entries, doc = "Time off the caller may see (its own; a planner's: the people of their locations), newest first."),
    )]
    pub struct TimeOff {
        /// Who is away.
        #[field(to_one = User, filter, event)]
        user_id: UserId,
        #[field(filter, event)]
        kind: TimeOffKind,
        #[field(filter, event)]
        starts_at: NaiveDateTime,
        #[field(event)]
        ends_at: NaiveDateTime,
        note: String,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }
}

payload!(
    /// The result of a time-off mutation.
    TimeOffPayload { time_off: TimeOff } from row
);

/// Time off to record.
#[derive(InputObject)]
pub struct RecordTimeOffInput {
    /// Who is away (yourself, or a person you plan for).
    pub user_id: ID,
    pub kind: TimeOffKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[graphql(default)]
    pub note: String,
}

/// The longest span recorded at once.
const MAX_DAYS: i64 = 366;

#[derive(Default)]
pub struct TimeOffMutation;

#[Object]
impl TimeOffMutation {
    /// Records time off for yourself or a person you plan for.
    #[graphql(directive = Require::apply(TIME_OFF_MANAGE))]
    async fn record_time_off(
        &self,
        ctx: &Context<'_>,
        input: RecordTimeOffInput,
    ) -> async_graphql::Result<TimeOffPayload> {
        let caller = ctx.caller()?;
        let user = UserId::from_input(&input.user_id)?;
        let (start, end) = (time::naive(input.starts_at), time::naive(input.ends_at));
        let note = input.note.trim().to_owned();
        let outcome = ctx
            .mutate(async |tx| {
                if !switchyard_identity::users::is_active_staff(tx, caller.tenant_id, user).await? {
                    return Err(Error::NotFound.into());
                }
                let mut check = Check::new();
                if end <= start {
                    check.add(
                        "input.endsAt",
                        UserErrorCode::OutOfRange,
                        "must be after startsAt",
                    );
                } else if end - start > chrono::Duration::days(MAX_DAYS) {
                    check.add(
                        "input.endsAt",
                        UserErrorCode::OutOfRange,
                        format!("time off is recorded at most {MAX_DAYS} days at a time"),
                    );
                }
                check.max_len("input.note", &note, 1000);
                check.finish()?;
                let now = time::now();
                let row = TimeOffRow {
                    id: TimeOffId::new(),
                    tenant_id: caller.tenant_id,
                    user_id: user,
                    kind: input.kind,
                    starts_at: start,
                    ends_at: end,
                    note: note.clone(),
                    created_by: caller.user_id(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let row = write::create::<TimeOff, _>(tx, caller, row, TimeOffRecorded::of).await?;
                // Whose time off the caller manages is the scope's rule: read it back under it.
                match aggregate::find_in::<TimeOff>(tx, caller, TIME_OFF_MANAGE, row.id).await {
                    Ok(row) => Ok(row),
                    Err(Error::NotFound) => Err(Rejection::invalid(
                        "input.userId",
                        UserErrorCode::NotAllowed,
                        "you record time off for yourself or the people of your locations only",
                    )),
                    Err(other) => Err(other.into()),
                }
            })
            .await;
        TimeOffPayload::of(outcome)
    }

    /// Withdraws recorded time off; answers it as it was.
    #[graphql(directive = Require::apply(TIME_OFF_MANAGE))]
    async fn withdraw_time_off(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<TimeOffPayload> {
        let caller = ctx.caller()?;
        let id = TimeOffId::from_input(&id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let row = aggregate::find_in::<TimeOff>(tx, caller, TIME_OFF_MANAGE, id).await?;
                db_run!(tx, |c| diesel::delete(
                    time_off::table
                        .filter(time_off::tenant_id.eq(caller.tenant_id))
                        .filter(time_off::id.eq(id))
                )
                .execute(c)
                .await)?;
                audit::record_event(tx, caller, &TimeOffWithdrawn::of(&row), None).await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        TimeOffPayload::of(outcome)
    }
}
