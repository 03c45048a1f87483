//! Leads: sales opportunities of a customer, with status, priority and score.

pub mod events;
pub mod mutations;

use chrono::{NaiveDate, NaiveDateTime};
use switchyard_kernel::money::Money;
use switchyard_kernel::{Caller, Error, UserId};

use crate::customers::{Customer, CustomerId};
use crate::permissions::LEAD_READ;
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
        event = LeadData,
        one(name = lead, doc = "A lead by ID."),
        list(name = leads, doc = "Leads the caller may see, newest first."),
    )]
    pub struct Lead {
        /// The customer, if you may see it.
        #[field(to_one = Customer, guard, filter, event)]
        customer_id: CustomerId,
        #[field(filter, event)]
        status: LeadStatus,
        #[field(filter, event)]
        priority: LeadPriority,
        /// 0 to 100.
        #[field(filter, event)]
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
        #[field(filter, event)]
        follow_up_at: Option<NaiveDateTime>,
        notes: String,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
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
