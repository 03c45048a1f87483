//! Service levels: how soon a ticket gets its first response and its resolution, per priority,
//! configurable per tenant (built-in targets otherwise). A ticket carries its two due times
//! (from its opening, recomputed when its priority changes), `dueAt` (the first response's
//! until it is given, then the resolution's: lists sort and filter by it), and whether a
//! target was missed (`breached`: one was met late, or an open ticket is past `dueAt`).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{Conn, ContextExt, Error, Rejection, TenantId, db_run, payload};

use crate::permissions::{TICKET_ASSIGN, TICKET_WORK};
use crate::schema::support_slas;
use crate::tickets::{TicketPriority, TicketRow, TicketStatus};

/// The targets of one priority, in minutes from a ticket's opening.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct TicketSla {
    pub priority: TicketPriority,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
}

/// The built-in targets: URGENT 1 h / 4 h, HIGH 4 h / 1 day, MEDIUM 8 h / 3 days, LOW 1 day /
/// 1 week.
pub fn builtin(priority: TicketPriority) -> TicketSla {
    let (first_response_minutes, resolution_minutes) = match priority {
        TicketPriority::Urgent => (60, 4 * 60),
        TicketPriority::High => (4 * 60, 24 * 60),
        TicketPriority::Medium => (8 * 60, 3 * 24 * 60),
        TicketPriority::Low => (24 * 60, 7 * 24 * 60),
    };
    TicketSla {
        priority,
        first_response_minutes,
        resolution_minutes,
    }
}

/// The tenant's targets for `priority`.
pub async fn of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    priority: TicketPriority,
) -> Result<TicketSla, Error> {
    let row: Option<(i32, i32)> = db_run!(conn, |c| support_slas::table
        .find((tenant, priority.as_str()))
        .select((
            support_slas::first_response_minutes,
            support_slas::resolution_minutes,
        ))
        .first(c)
        .await
        .optional())?;
    Ok(match row {
        Some((first_response_minutes, resolution_minutes)) => TicketSla {
            priority,
            first_response_minutes,
            resolution_minutes,
        },
        None => builtin(priority),
    })
}

/// Sets `row`'s due times from `sla` (counted from its opening).
pub(crate) fn plan(row: &mut TicketRow, sla: TicketSla) {
    row.first_response_due_at =
        row.created_at + Duration::minutes(sla.first_response_minutes.into());
    row.resolution_due_at = row.created_at + Duration::minutes(sla.resolution_minutes.into());
}

/// Brings `row`'s `dueAt` and breach up to date at `now`, as it is about to be stored.
pub(crate) fn settle(row: &mut TicketRow, now: NaiveDateTime) {
    let responded = row.first_response_at.unwrap_or(now);
    let resolved = match row.status {
        TicketStatus::Resolved | TicketStatus::Closed => row.resolved_at.or(row.closed_at),
        _ => None,
    };
    row.sla_breached = row.sla_breached
        || responded > row.first_response_due_at
        || resolved.unwrap_or(now) > row.resolution_due_at;
    row.due_at = if row.first_response_at.is_none() {
        row.first_response_due_at
    } else {
        row.resolution_due_at
    };
}

/// New targets for a priority.
#[derive(InputObject)]
pub struct SetTicketSlaInput {
    pub priority: TicketPriority,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
}

payload!(
    /// The result of setting a priority's targets.
    TicketSlaPayload { sla: TicketSla }
);

/// The longest target: a year.
const MAX_MINUTES: i32 = 366 * 24 * 60;

#[derive(Default)]
pub struct SlaQuery;

#[Object]
impl SlaQuery {
    /// The tenant's service-level targets, one per priority, most urgent first.
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn ticket_slas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TicketSla>> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let set: Vec<(String, i32, i32)> = db_run!(&mut conn, |c| support_slas::table
            .filter(support_slas::tenant_id.eq(caller.tenant_id))
            .select((
                support_slas::priority,
                support_slas::first_response_minutes,
                support_slas::resolution_minutes,
            ))
            .load(c)
            .await)?;
        let all: Vec<TicketSla> = [
            TicketPriority::Urgent,
            TicketPriority::High,
            TicketPriority::Medium,
            TicketPriority::Low,
        ]
        .into_iter()
        .map(|priority| {
            set.iter()
                .find(|(p, _, _)| p == priority.as_str())
                .map_or_else(
                    || builtin(priority),
                    |&(_, first_response_minutes, resolution_minutes)| TicketSla {
                        priority,
                        first_response_minutes,
                        resolution_minutes,
                    },
                )
        })
        .collect();
        Ok(all)
    }
}

#[derive(Default)]
pub struct SlaMutation;

#[Object]
impl SlaMutation {
    /// Sets the targets of one priority for tickets opened from now on (and tickets whose
    /// priority changes later).
    #[graphql(directive = Require::apply(TICKET_ASSIGN))]
    async fn set_ticket_sla(
        &self,
        ctx: &Context<'_>,
        input: SetTicketSlaInput,
    ) -> async_graphql::Result<TicketSlaPayload> {
        let caller = ctx.caller()?;
        let sla = TicketSla {
            priority: input.priority,
            first_response_minutes: input.first_response_minutes,
            resolution_minutes: input.resolution_minutes,
        };
        let outcome = ctx
            .mutate(async |tx| {
                let mut check = Check::new();
                check
                    .within(
                        "input.firstResponseMinutes",
                        sla.first_response_minutes,
                        1..=MAX_MINUTES,
                    )
                    .within(
                        "input.resolutionMinutes",
                        sla.resolution_minutes,
                        1..=MAX_MINUTES,
                    );
                if sla.resolution_minutes < sla.first_response_minutes {
                    check.add(
                        "input.resolutionMinutes",
                        switchyard_kernel::UserErrorCode::OutOfRange,
                        "must not be shorter than firstResponseMinutes",
                    );
                }
                check.finish()?;
                let row = (
                    support_slas::tenant_id.eq(caller.tenant_id),
                    support_slas::priority.eq(sla.priority.as_str()),
                    support_slas::first_response_minutes.eq(sla.first_response_minutes),
                    support_slas::resolution_minutes.eq(sla.resolution_minutes),
                );
                db_run!(tx, |c| diesel::insert_into(support_slas::table)
                    .values(row)
                    .on_conflict((support_slas::tenant_id, support_slas::priority))
                    .do_update()
                    .set((
                        support_slas::first_response_minutes.eq(sla.first_response_minutes),
                        support_slas::resolution_minutes.eq(sla.resolution_minutes),
                    ))
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>(sla)
            })
            .await;
        TicketSlaPayload::from_outcome(outcome, |sla| TicketSlaPayload {
            sla: Some(sla),
            user_errors: Vec::new(),
        })
    }
}
