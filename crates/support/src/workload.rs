//! Each agent's workload and performance, for whoever assigns tickets: open tickets now, and
//! over a period the tickets resolved and the median times to first response and resolution.

use std::collections::BTreeMap;

use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::policy::{Inherit, Require};
use switchyard_kernel::read::aggregate;
use switchyard_kernel::{ContextExt, Error, UserId, db_run, time};

use crate::permissions::TICKET_ASSIGN;
use crate::schema::support_tickets as t;
use crate::tickets::TicketStatus;

/// One agent's figures.
#[derive(SimpleObject)]
#[graphql(complex, directive = Inherit::apply())]
pub struct AgentWorkload {
    #[graphql(skip)]
    pub agent_id: UserId,
    /// Tickets assigned to the agent that are not RESOLVED or CLOSED, now.
    pub open: i32,
    /// Tickets the agent resolved within the period.
    pub resolved: i32,
    /// Median minutes from opening to the first staff reply, over the agent's tickets opened
    /// within the period that have one; null when there are none.
    pub median_first_response_minutes: Option<i64>,
    /// Median minutes from opening to resolution, over the tickets resolved within the period.
    pub median_resolution_minutes: Option<i64>,
}

#[ComplexObject]
impl AgentWorkload {
    /// The agent.
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(aggregate::load_one::<User>(ctx, self.agent_id).await?)
    }
}

type Row = (
    Option<UserId>,
    TicketStatus,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn median(mut minutes: Vec<i64>) -> Option<i64> {
    minutes.sort_unstable();
    let n = minutes.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(minutes[n / 2]),
        _ => Some((minutes[n / 2 - 1] + minutes[n / 2]) / 2),
    }
}

/// The figures of every agent with a ticket assigned, open now or touched within `from..to`.
fn figures(rows: Vec<Row>, from: NaiveDateTime, to: NaiveDateTime) -> Vec<AgentWorkload> {
    #[derive(Default)]
    struct Acc {
        open: i32,
        resolved: i32,
        first: Vec<i64>,
        resolution: Vec<i64>,
    }
    let within = |at: NaiveDateTime| at >= from && at < to;
    let mut by_agent: BTreeMap<UserId, Acc> = BTreeMap::new();
    for (agent, status, created, first_response, resolved) in rows {
        let Some(agent) = agent else { continue };
        let acc = by_agent.entry(agent).or_default();
        if !matches!(status, TicketStatus::Resolved | TicketStatus::Closed) {
            acc.open += 1;
        }
        if let Some(first) = first_response.filter(|_| within(created)) {
            acc.first.push((first - created).num_minutes());
        }
        if let Some(done) = resolved.filter(|at| within(*at)) {
            acc.resolved += 1;
            acc.resolution.push((done - created).num_minutes());
        }
    }
    by_agent
        .into_iter()
        .map(|(agent_id, acc)| AgentWorkload {
            agent_id,
            open: acc.open,
            resolved: acc.resolved,
            median_first_response_minutes: median(acc.first),
            median_resolution_minutes: median(acc.resolution),
        })
        .collect()
}

#[derive(Default)]
pub struct WorkloadQuery;

#[Object]
impl WorkloadQuery {
    /// Each agent's open tickets now, and over `from`..`to` (default: the last 30 days) the
    /// tickets resolved and the median times to first response and to resolution.
    #[graphql(directive = Require::apply(TICKET_ASSIGN))]
    async fn agent_workloads(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Vec<AgentWorkload>> {
        let caller = ctx.caller()?;
        let to = to.map_or_else(time::now, time::naive);
        let from = from.map_or(to - chrono::Duration::days(30), time::naive);
        if from >= to || to - from > chrono::Duration::days(366) {
            return Err(
                Error::bad_input("to", "`from` must be before `to`, at most a year apart").into(),
            );
        }
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let open = [
            TicketStatus::Resolved.as_str(),
            TicketStatus::Closed.as_str(),
        ];
        let rows: Vec<Row> = db_run!(&mut conn, |c| t::table
            .filter(t::tenant_id.eq(caller.tenant_id))
            .filter(t::assignee_id.is_not_null())
            .filter(
                t::status
                    .ne_all(open)
                    .or(t::created_at.ge(from))
                    .or(t::resolved_at.ge(from)),
            )
            .select((
                t::assignee_id,
                t::status,
                t::created_at,
                t::first_response_at,
                t::resolved_at,
            ))
            .load(c)
            .await)?;
        Ok(figures(rows, from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts_and_none() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![30, 10, 20]), Some(20));
        assert_eq!(median(vec![40, 10, 20, 30]), Some(25));
    }
}
