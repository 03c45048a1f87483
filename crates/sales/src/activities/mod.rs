//! Sales activities: calls, emails, meetings, proposals, follow-ups, site visits and notes.
//! An activity with a follow-up date creates a CALL_BACK task for its owner, in the same
//! transaction; moving the date moves the task, clearing it cancels the task.

pub mod events;
pub mod mutations;

use chrono::NaiveDateTime;
use switchyard_identity::User;
use switchyard_kernel::{Caller, Error, UserId};

use crate::customers::{Customer, CustomerId};
use crate::leads::LeadId;
use crate::permissions::ACTIVITY_READ;
use crate::tasks::{Task, TaskId};
use switchyard_kernel::read::Expr;

pub use crate::ids::ActivityId;

switchyard_kernel::text_enum! {
    /// What kind of contact an activity was.
    pub enum ActivityKind {
        Call = "CALL",
        Email = "EMAIL",
        Meeting = "MEETING",
        ProposalSent = "PROPOSAL_SENT",
        FollowUp = "FOLLOW_UP",
        SiteVisit = "SITE_VISIT",
        Note = "NOTE",
    }
}

/// The activities `caller` reaches with `permission`: those of the customers it reaches, and
/// those it logged.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    crate::scope::child_scope(caller, permission, "owner_id", None, None)
}

switchyard_kernel::aggregate! {
    /// A logged contact with a customer.
    #[aggregate(
        table = crate::schema::sales_activities,
        id = ActivityId,
        read = ACTIVITY_READ,
        event = ActivityData,
        scope = scope,
        prefix = Activity,
        order(created_at, desc),
        one(name = activity, doc = "An activity by ID."),
        list(name = activities, doc = "Activities the caller may see, newest first."),
    )]
    pub struct SalesActivity {
        #[field(to_one = Customer, guard, filter, event)]
        customer_id: CustomerId,
        #[field(filter)]
        lead_id: Option<LeadId>,
        /// Who logged it (and owns its follow-up).
        #[field(to_one = User, filter, event)]
        owner_id: UserId,
        #[field(filter, event)]
        kind: ActivityKind,
        #[field(filter, event)]
        subject: String,
        description: String,
        outcome: Option<String>,
        next_action: Option<String>,
        duration_minutes: Option<i32>,
        #[field(filter, event)]
        occurred_at: NaiveDateTime,
        /// When to call back; a CALL_BACK task exists for it while it is set.
        #[field(filter, event)]
        follow_up_at: Option<NaiveDateTime>,
        /// The CALL_BACK task the follow-up created.
        #[field(to_one = Task, guard, event)]
        follow_up_task_id: Option<TaskId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        #[field(event)]
        version: i32,
    }
}
