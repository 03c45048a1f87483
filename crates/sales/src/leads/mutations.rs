//! Changing leads: opening one for a customer, and updating it.

use super::events::{LeadCreated, LeadUpdated};
use super::{Lead, LeadId, LeadPriority, LeadRow, LeadStatus};
use crate::customers::{CustomerId, customer_for};
use crate::permissions::LEAD_MANAGE;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDate, Utc};
use switchyard_kernel::money::MoneyInput;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate::find_in;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{ContextExt, Rejection, payload, time, write};

/// A new lead.
#[derive(InputObject)]
pub struct CreateLeadInput {
    pub customer_id: ID,
    pub source: Option<String>,
    #[graphql(default_with = "LeadStatus::New")]
    pub status: LeadStatus,
    #[graphql(default_with = "LeadPriority::Medium")]
    pub priority: LeadPriority,
    #[graphql(default)]
    pub score: i32,
    pub estimated_move_date: Option<NaiveDate>,
    pub estimated_value: Option<MoneyInput>,
    pub follow_up_at: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub notes: String,
    /// A retried request with the same key returns the first result instead of creating twice.
    pub idempotency_key: Option<String>,
}

/// Changes to a lead.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub status: Option<LeadStatus>,
    pub priority: Option<LeadPriority>,
    pub score: Option<i32>,
    pub source: MaybeUndefined<String>,
    pub estimated_move_date: MaybeUndefined<NaiveDate>,
    pub estimated_value: MaybeUndefined<MoneyInput>,
    pub follow_up_at: MaybeUndefined<DateTime<Utc>>,
    pub notes: Option<String>,
}

payload!(
    /// The result of a lead mutation.
    LeadPayload { lead: Lead } from row
);

/// A money input as stored: amount and upper-case currency.
fn money(v: MoneyInput) -> (Option<i64>, Option<String>) {
    (
        Some(v.amount_minor.0),
        Some(v.currency.trim().to_uppercase()),
    )
}

/// The rules of a lead as it is to be stored.
fn check(row: &LeadRow) -> Result<(), Rejection> {
    let mut check = Check::new();
    check
        .within("input.score", row.score, 0..=100)
        .max_len(
            "input.source",
            row.source.as_deref().unwrap_or_default(),
            100,
        )
        .max_len("input.notes", &row.notes, 10_000);
    if let (Some(amount), Some(currency)) = (row.estimated_value_minor, &row.currency) {
        check.money("input.estimatedValue", amount, currency);
    }
    check.finish()
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Opens a lead for a customer you may work on.
    #[graphql(directive = Require::apply(LEAD_MANAGE))]
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        input: CreateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let caller = ctx.caller()?;
        let customer = CustomerId::parse(&input.customer_id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let id = LeadId::new();
                let key = input.idempotency_key.as_deref();
                if let Some(first) =
                    write::replay::<Lead>(tx, caller, "createLead", key, LEAD_MANAGE, id).await?
                {
                    return Ok(first);
                }
                let customer = customer_for(tx, caller, LEAD_MANAGE, customer).await?;
                crate::customers::still_active(&customer, "input.customerId")?;
                let (estimated_value_minor, currency) =
                    input.estimated_value.map(money).unwrap_or_default();
                let now = time::now();
                let row = LeadRow {
                    id,
                    tenant_id: caller.tenant_id,
                    customer_id: customer.id,
                    status: input.status,
                    priority: input.priority,
                    score: input.score,
                    source: trimmed(input.source),
                    estimated_move_date: input.estimated_move_date,
                    estimated_value_minor,
                    currency,
                    follow_up_at: input.follow_up_at.map(time::naive),
                    notes: input.notes.trim().to_owned(),
                    created_by: caller.user_id(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                check(&row)?;
                Ok::<_, Rejection>(
                    write::create::<Lead, _>(tx, caller, row, LeadCreated::of).await?,
                )
            })
            .await;
        LeadPayload::of(outcome)
    }

    /// Changes a lead (its status, priority, score, dates, value, notes).
    #[graphql(directive = Require::apply(LEAD_MANAGE))]
    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        input: UpdateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let caller = ctx.caller()?;
        let id = LeadId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find_in::<Lead>(tx, caller, LEAD_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut row = before.clone();
                write::set(&mut row.status, input.status);
                write::set(&mut row.priority, input.priority);
                write::set(&mut row.score, input.score);
                write::set(&mut row.notes, input.notes.map(|n| n.trim().to_owned()));
                write::patch(
                    &mut row.source,
                    input.source.map_value(|s| s.trim().to_owned()),
                );
                row.source = trimmed(row.source);
                write::patch(&mut row.estimated_move_date, input.estimated_move_date);
                write::patch(
                    &mut row.follow_up_at,
                    input.follow_up_at.map_value(time::naive),
                );
                if !input.estimated_value.is_undefined() {
                    (row.estimated_value_minor, row.currency) =
                        input.estimated_value.take().map(money).unwrap_or_default();
                }
                check(&row)?;
                Ok::<_, Rejection>(
                    write::update::<Lead, _>(tx, caller, &before, row, LeadUpdated::of).await?,
                )
            })
            .await;
        LeadPayload::of(outcome)
    }
}

/// A text that is blank is no text.
fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}
