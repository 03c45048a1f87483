//! Leads: sales opportunities of a customer, with status, priority and score.

pub mod events;

use events::{LeadCreated, LeadData, LeadUpdated};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::audit;
use switchyard_kernel::money::{Money, MoneyInput, is_currency};
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, ContextExt, Error, Rejection, UserErrorCode, UserId, db_run, payload, time,
};

use crate::customers::{Customer, CustomerId, customer_for};
use crate::permissions::{LEAD_MANAGE, LEAD_READ};
use crate::schema::leads;
use switchyard_kernel::read::Expr;

pub use crate::ids::LeadId;

switchyard_kernel::text_enum! {
    /// Where a lead stands.
    pub enum LeadStatus {
        New = "NEW",
        Contacted = "CONTACTED",
        Qualified = "QUALIFIED",
        ProposalSent = "PROPOSAL_SENT",
        Negotiation = "NEGOTIATION",
        Won = "WON",
        Lost = "LOST",
        Archived = "ARCHIVED",
    }
}

switchyard_kernel::text_enum! {
    /// How urgent a lead is.
    pub enum LeadPriority {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Urgent = "URGENT",
    }
}

/// The leads `caller` reaches with `permission`: those of the customers it reaches, and
/// those it created.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    crate::scope::child_scope(caller, permission, "created_by", None, None)
}

switchyard_kernel::aggregate! {
    /// A sales opportunity.
    #[aggregate(
        table = crate::schema::leads,
        id = LeadId,
        read = LEAD_READ,
        scope = scope,
        order(created_at, desc),
        one(name = lead, doc = "A lead by ID."),
        list(name = leads, doc = "Leads the caller may see, newest first."),
    )]
    pub struct Lead {
        /// The customer, if you may see it.
        #[field(to_one = Customer, guard, filter)]
        customer_id: CustomerId,
        #[field(filter)]
        status: LeadStatus,
        #[field(filter)]
        priority: LeadPriority,
        /// 0 to 100.
        #[field(filter)]
        score: i32,
        #[field(filter)]
        source: Option<String>,
        /// When the customer expects to move.
        estimated_move_date: Option<NaiveDate>,
        #[field(hidden)]
        estimated_value_minor: Option<i64>,
        #[field(hidden)]
        currency: Option<String>,
        /// When the lead is to be followed up.
        #[field(filter)]
        follow_up_at: Option<NaiveDateTime>,
        notes: String,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        version: i32,
    }

    impl Lead {
        async fn estimated_value(&self) -> Option<Money> {
            let row = self.row();
            row.estimated_value_minor
                .zip(row.currency.clone())
                .map(|(v, c)| Money::new(v, c))
        }
    }
}

async fn find(
    conn: &mut switchyard_kernel::Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: LeadId,
) -> Result<LeadRow, Error> {
    switchyard_kernel::read::aggregate::find_in::<Lead>(conn, caller, permission, id).await
}

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
    LeadPayload { lead: Lead }
);

fn check_common(
    check: &mut Check,
    score: i32,
    source: Option<&str>,
    value: Option<&MoneyInput>,
    notes: &str,
) {
    if !(0..=100).contains(&score) {
        check.add(
            "input.score",
            UserErrorCode::OutOfRange,
            "must be between 0 and 100",
        );
    }
    check.max_len("input.source", source.unwrap_or_default(), 100);
    check.max_len("input.notes", notes, 10_000);
    if let Some(v) = value {
        if v.amount_minor.0 < 0 {
            check.add(
                "input.estimatedValue.amountMinor",
                UserErrorCode::OutOfRange,
                "must not be negative",
            );
        }
        if !is_currency(&v.currency.trim().to_uppercase()) {
            check.add(
                "input.estimatedValue.currency",
                UserErrorCode::InvalidFormat,
                "must be an ISO 4217 code such as SEK or USD",
            );
        }
    }
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
        let mut check = Check::new();
        let source = input
            .source
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        check_common(
            &mut check,
            input.score,
            source.as_deref(),
            input.estimated_value.as_ref(),
            &input.notes,
        );
        let outcome = ctx
            .services()?
            .mutate(async |tx| {
                let new_id = LeadId::new();
                if let Some(id) = switchyard_kernel::idempotency::claim(
                    tx,
                    caller,
                    "createLead",
                    input.idempotency_key.as_deref(),
                    new_id,
                )
                .await?
                {
                    return Ok(find(
                        tx,
                        caller,
                        LEAD_MANAGE,
                        id.parse().map_err(Error::internal)?,
                    )
                    .await?);
                }
                let customer = customer_for(tx, caller, LEAD_MANAGE, customer).await?;
                crate::customers::still_active(&customer, "input.customerId")?;
                check.finish()?;
                let now = time::now();
                let row: LeadRow = db_run!(tx, |c| diesel::insert_into(leads::table)
                    .values((
                        leads::id.eq(new_id),
                        leads::tenant_id.eq(caller.tenant_id),
                        leads::customer_id.eq(customer.id),
                        leads::status.eq(input.status.as_str()),
                        leads::priority.eq(input.priority.as_str()),
                        leads::score.eq(input.score),
                        leads::source.eq(&source),
                        leads::estimated_move_date.eq(input.estimated_move_date),
                        leads::estimated_value_minor
                            .eq(input.estimated_value.as_ref().map(|v| v.amount_minor.0)),
                        leads::currency.eq(input
                            .estimated_value
                            .as_ref()
                            .map(|v| v.currency.trim().to_uppercase())),
                        leads::follow_up_at.eq(input.follow_up_at.map(time::naive)),
                        leads::notes.eq(input.notes.trim()),
                        leads::created_by.eq(caller.user_id().map(|u| u.to_string())),
                        leads::created_at.eq(now),
                        leads::updated_at.eq(now),
                        leads::version.eq(1),
                    ))
                    .returning(LeadRow::as_returning())
                    .get_result(c)
                    .await)?;
                audit::record_event(
                    tx,
                    caller,
                    &LeadCreated {
                        lead: (&row).into(),
                    },
                    None,
                )
                .await?;
                Ok::<_, Rejection>(row)
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
            .services()?
            .mutate(async |tx| {
                let before = find(tx, caller, LEAD_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                let score = input.score.unwrap_or(before.score);
                let source = match &input.source {
                    MaybeUndefined::Undefined => before.source.clone(),
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
                };
                let (value, currency) = match &input.estimated_value {
                    MaybeUndefined::Undefined => {
                        (before.estimated_value_minor, before.currency.clone())
                    }
                    MaybeUndefined::Null => (None, None),
                    MaybeUndefined::Value(v) => (
                        Some(v.amount_minor.0),
                        Some(v.currency.trim().to_uppercase()),
                    ),
                };
                let notes = input
                    .notes
                    .clone()
                    .map(|n| n.trim().to_owned())
                    .unwrap_or(before.notes.clone());
                let mut check = Check::new();
                check_common(
                    &mut check,
                    score,
                    source.as_deref(),
                    input.estimated_value.value(),
                    &notes,
                );
                check.finish()?;
                let row: LeadRow = db_run!(tx, |c| diesel::update(
                    leads::table
                        .find(id)
                        .filter(leads::version.eq(before.version))
                )
                .set((
                    leads::status.eq(input.status.unwrap_or(before.status)),
                    leads::priority.eq(input.priority.unwrap_or(before.priority)),
                    leads::score.eq(score),
                    leads::source.eq(&source),
                    leads::estimated_move_date.eq(match input.estimated_move_date {
                        MaybeUndefined::Undefined => before.estimated_move_date,
                        MaybeUndefined::Null => None,
                        MaybeUndefined::Value(d) => Some(d),
                    }),
                    leads::estimated_value_minor.eq(value),
                    leads::currency.eq(&currency),
                    leads::follow_up_at.eq(match input.follow_up_at {
                        MaybeUndefined::Undefined => before.follow_up_at,
                        MaybeUndefined::Null => None,
                        MaybeUndefined::Value(t) => Some(time::naive(t)),
                    }),
                    leads::notes.eq(&notes),
                    leads::version.eq(before.version + 1),
                    leads::updated_at.eq(time::now()),
                ))
                .returning(LeadRow::as_returning())
                .get_result(c)
                .await
                .optional())?
                .ok_or_else(Error::changed_meanwhile)?;
                audit::record_event(
                    tx,
                    caller,
                    &LeadUpdated {
                        lead: (&row).into(),
                    },
                    serde_json::to_value(LeadData::from(&before)).ok(),
                )
                .await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        LeadPayload::of(outcome)
    }
}

impl From<LeadRow> for LeadPayload {
    fn from(row: LeadRow) -> Self {
        LeadPayload {
            lead: Some(Lead::one(row)),
            user_errors: vec![],
        }
    }
}
