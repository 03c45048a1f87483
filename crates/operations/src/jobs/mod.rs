//! Jobs (work orders): a move or a service visit for a customer, planned in a window and
//! worked by a crew. Made from an accepted quote by itself ([`from_quote`]), or by hand.

pub mod events;
pub mod follow_up;
pub mod from_quote;
pub mod mutations;

use async_graphql::{Context, SimpleObject};
use chrono::NaiveDateTime;
use switchyard_identity::Location;
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::Inherit;
use switchyard_kernel::{LocationId, UserId};
use switchyard_sales::customers::CustomerId;
use switchyard_sales::quotes::events::QuoteItemData;
use switchyard_sales::quotes::{QuoteId, QuoteItemCategory};
use switchyard_sales::tasks::TaskId;
use switchyard_sales::{Customer, Quote, Task};

use crate::crew::CrewMember;
use crate::field_updates::FieldUpdate;
use crate::permissions::{JOB_MANAGE, JOB_READ};
use crate::steps::JobStep;
use events::{JobCreated, JobUpdated};
use mutations::JobPayload;

pub use crate::ids::JobId;

switchyard_kernel::text_enum! {
    /// Where a job stands. SCHEDULED → DISPATCHED → IN_PROGRESS → COMPLETED; any but
    /// COMPLETED may be CANCELLED.
    pub enum JobStatus {
        /// Planned (or waiting to be planned: no window yet).
        Scheduled = "SCHEDULED",
        /// The crew was sent out.
        Dispatched = "DISPATCHED",
        /// Work started on site.
        InProgress = "IN_PROGRESS",
        /// Done; actual hours recorded.
        Completed = "COMPLETED",
        /// Called off.
        Cancelled = "CANCELLED",
    }
}

impl Default for JobStatus {
    /// A new job is SCHEDULED.
    fn default() -> Self {
        JobStatus::Scheduled
    }
}

switchyard_kernel::aggregate! {
    /// A job (work order): a move or a service visit for a customer, planned in a window and
    /// worked by a crew.
    #[aggregate(
        table = crate::schema::jobs,
        id = JobId,
        read = JOB_READ,
        scope = crate::scope::jobs,
        order(created_at, desc),
        event = JobData,
        one(name = job, doc = "A job by ID."),
        changed(name = job_changed, doc = "A job (or, with `id`, that job) as it is after each change you may see."),
        list(name = jobs, doc = "Jobs the caller may see (a crew member: the jobs they work), newest first."),
        has_many(name = crew, node = CrewMember, by = job_id, doc = "Who works the job."),
        has_many(name = field_updates, node = FieldUpdate, by = job_id, doc = "What phones reported from site, newest first."),
        create(name = create_job, doc = "Creates a job by hand for a customer you may see.", event = JobCreated),
        update(name = update_job, doc = "Changes a job that is not finished: its addresses, contact, estimate, crew size, notes (`rescheduleJob` moves its window).", event = JobUpdated),
        write(permission = JOB_MANAGE, check = mutations::check, payload = JobPayload, then = mutations::then),
    )]
    pub struct Job {
        /// The customer, if you may see it (crew work from the on-site contact instead).
        #[field(to_one = Customer, guard, filter, event, input(create))]
        customer_id: CustomerId,
        /// The accepted quote the job was made from, if you may see it.
        #[field(to_one = Quote, guard, filter, event)]
        quote_id: Option<QuoteId>,
        /// The location running the job.
        #[field(to_one = Location, filter, event, input)]
        location_id: Option<LocationId>,
        #[field(filter, event)]
        status: JobStatus,
        /// Whom to ask for on site.
        #[field(input)]
        contact_name: Option<String>,
        /// The on-site phone number.
        #[field(input)]
        on_site_phone: Option<String>,
        /// Where the work starts (a move: where it loads).
        #[field(input)]
        origin: Option<String>,
        /// Where a move unloads.
        #[field(input)]
        destination: Option<String>,
        /// When the work is planned to start; null until the job is planned.
        #[field(filter, event, input(create))]
        planned_start: Option<NaiveDateTime>,
        /// When the work is planned to end.
        #[field(filter, event, input(create))]
        planned_end: Option<NaiveDateTime>,
        /// How long the work is expected to take, in minutes.
        #[field(input)]
        estimated_minutes: Option<i32>,
        /// How many people the job needs.
        #[field(input)]
        crew_size: Option<i32>,
        #[field(input(default))]
        notes: String,
        #[field(hidden)]
        currency: Option<String>,
        #[field(hidden)]
        items: String,
        #[field(hidden)]
        total_minor: Option<i64>,
        /// How long the work took, in minutes (recorded on completion).
        #[field(event)]
        actual_minutes: Option<i32>,
        dispatched_at: Option<NaiveDateTime>,
        started_at: Option<NaiveDateTime>,
        #[field(event)]
        completed_at: Option<NaiveDateTime>,
        cancelled_at: Option<NaiveDateTime>,
        cancel_reason: Option<String>,
        /// The follow-up task its completion raised.
        #[field(to_one = Task, guard)]
        follow_up_task_id: Option<TaskId>,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
        version: i32,
    }

    impl Job {
        /// The plan of the day: the steps, in order.
        async fn steps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JobStep>> {
            let steps = self
                .0
                .siblings()
                .batch("steps", |rows| {
                    let ids: Vec<JobId> = rows.iter().map(|r| r.id).collect();
                    crate::steps::of_jobs(ctx, ids)
                })
                .await?;
            Ok(JobStep::all(steps.get(&self.row().id).cloned().unwrap_or_default()))
        }
        /// The lines carried over from the accepted quote, in order.
        async fn items(&self) -> Vec<JobItem> {
            let row = self.row();
            let currency = row.currency.clone().unwrap_or_default();
            row.lines()
                .into_iter()
                .map(|line| JobItem::of(line, &currency))
                .collect()
        }
        /// The accepted quote's total, if the job was made from one.
        async fn quoted_total(&self) -> Option<Money> {
            let row = self.row();
            row.total_minor.zip(row.currency.clone()).map(|(t, c)| Money::new(t, c))
        }
    }
}

impl JobRow {
    /// The lines carried over from the quote.
    pub fn lines(&self) -> Vec<QuoteItemData> {
        serde_json::from_str(&self.items).unwrap_or_default()
    }
}

/// A line of work or goods, as the accepted quote had it.
#[derive(SimpleObject)]
#[graphql(directive = Inherit::apply())]
pub struct JobItem {
    description: String,
    quantity: i32,
    unit_price: Money,
    /// `quantity × unitPrice`.
    line_total: Money,
    category: QuoteItemCategory,
    /// Offered but not counted in the quote's total.
    optional: bool,
}

impl JobItem {
    fn of(line: QuoteItemData, currency: &str) -> Self {
        JobItem {
            unit_price: Money::new(line.unit_price_minor, currency.to_owned()),
            line_total: Money::new(line.line_total_minor, currency.to_owned()),
            description: line.description,
            quantity: line.quantity,
            category: line.category,
            optional: line.optional,
        }
    }
}
