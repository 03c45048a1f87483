//! Leads: sales opportunities of a customer, with status, priority and score.

pub mod events;
pub mod mutations;

use chrono::{NaiveDate, NaiveDateTime};
use switchyard_kernel::{Caller, Error, UserId};

use crate::customers::{Customer, CustomerId};
use crate::permissions::{LEAD_MANAGE, LEAD_READ};
use events::{LeadCreated, LeadUpdated};
use mutations::LeadPayload;
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
        changed(name = lead_changed, doc = "A lead (or, with `id`, that lead) as it is after each change you may see."),
        list(name = leads, doc = "Leads the caller may see, newest first."),
        create(name = create_lead, doc = "Opens a lead for a customer you may work on.", event = LeadCreated),
        update(name = update_lead, doc = "Changes a lead (its status, priority, score, dates, value, notes).", event = LeadUpdated),
        write(permission = LEAD_MANAGE, check = mutations::check, payload = LeadPayload),
    )]
    pub struct Lead {
        /// The customer, if you may see it.
        #[field(to_one = Customer, guard, filter, event, input(create))]
        customer_id: CustomerId,
        #[field(filter, event, input(default = LeadStatus::New))]
        status: LeadStatus,
        #[field(filter, event, input(default = LeadPriority::Medium))]
        priority: LeadPriority,
        /// 0 to 100.
        #[field(filter, event, input(default))]
        score: i32,
        #[field(filter, input)]
        source: Option<String>,
        /// When the customer expects to move.
        #[field(input)]
        estimated_move_date: Option<NaiveDate>,
        #[field(money = currency, input)]
        estimated_value_minor: Option<i64>,
        #[field(hidden)]
        currency: Option<String>,
        /// When the lead is to be followed up.
        #[field(filter, event, input)]
        follow_up_at: Option<NaiveDateTime>,
        #[field(input(default))]
        notes: String,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
        version: i32,
    }
}
