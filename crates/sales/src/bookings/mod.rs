//! Booking intake: the public booking form's `submitBooking` ([`intake`]), the bookings it
//! records, and the quote template that prices them ([`templates`]). A booking is the first
//! arrow of the flow: it finds or makes the customer, opens a lead, drafts the quote and asks
//! the location's sales rep to call back, in one transaction; the job made from its quote
//! later takes its move date and addresses.

pub mod form;
pub mod intake;
pub mod templates;

use async_graphql::Context;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::{Location, User};
use switchyard_kernel::{Caller, Conn, Error, LocationId, TenantId, UserId, db_run};

use crate::customers::{Customer, CustomerId};
use crate::leads::{Lead, LeadId};
use crate::permissions::BOOKING_READ;
use crate::quotes::{Quote, QuoteId, QuoteItemCategory};
use crate::schema::bookings;
use crate::tasks::{Task, TaskId};

pub use crate::ids::BookingId;

/// The bookings `caller` reaches: those routed to them and those of the customers they reach.
fn scope(caller: &Caller, permission: &str) -> Result<switchyard_kernel::read::Expr, Error> {
    crate::scope::child_scope(caller, permission, "assigned_to", None, None)
}

switchyard_kernel::aggregate! {
    /// A booking that came in through the public booking form.
    #[aggregate(
        table = crate::schema::bookings,
        id = BookingId,
        read = BOOKING_READ,
        scope = scope,
        order(created_at, desc),
        event = BookingData,
        one(name = booking, doc = "A booking by ID."),
        list(name = bookings, doc = "Bookings from the booking form the caller may see, newest first."),
    )]
    pub struct Booking {
        /// What the client was told to quote (`BK-…`).
        #[field(filter, event)]
        reference: String,
        /// The customer, found by the email or phone given, or made.
        #[field(to_one = Customer, guard, filter, event)]
        customer_id: CustomerId,
        #[field(to_one = Lead, guard, event)]
        lead_id: LeadId,
        /// The drafted quote.
        #[field(to_one = Quote, guard, event)]
        quote_id: QuoteId,
        /// The call-back task.
        #[field(to_one = Task, guard)]
        task_id: Option<TaskId>,
        #[field(to_one = Location, filter, event)]
        location_id: Option<LocationId>,
        /// The sales rep asked to call back.
        #[field(to_one = User, filter)]
        assigned_to: Option<UserId>,
        /// When the client wants to move.
        #[field(event)]
        move_date: NaiveDate,
        /// Where the move loads.
        origin: String,
        /// Where it unloads.
        destination: String,
        rooms: Option<i32>,
        volume_m3: Option<i32>,
        #[field(hidden)]
        services: String,
        /// What the client wrote.
        message: String,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }

    impl Booking {
        /// The services asked for.
        async fn services(&self, _ctx: &Context<'_>) -> Vec<QuoteItemCategory> {
            self.row().services()
        }
    }
}

impl BookingRow {
    /// The services asked for.
    pub fn services(&self) -> Vec<QuoteItemCategory> {
        self.services
            .split(',')
            .filter_map(QuoteItemCategory::parse)
            .collect()
    }
}

switchyard_kernel::object_events! {
    "Booking" as booking: BookingData from BookingRow, v 1;
    /// A booking arrived through the public booking form.
    BookingReceived = "sales.booking.received",
}

/// What the job of a quote takes from its booking: the move date and addresses.
pub struct Move {
    pub date: NaiveDate,
    pub origin: String,
    pub destination: String,
    pub location: Option<LocationId>,
}

/// The booking a quote (or an earlier revision of it) was drafted for, if any (for the job
/// made from the quote).
pub async fn move_of_quote(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    quote: QuoteId,
) -> Result<Option<Move>, Error> {
    use crate::schema::quotes;
    let group: Option<String> = db_run!(conn, |c| quotes::table
        .filter(quotes::tenant_id.eq(tenant))
        .filter(quotes::id.eq(quote))
        .select(quotes::quote_group_id)
        .first(c)
        .await
        .optional())?;
    let Some(group) = group else {
        return Ok(None);
    };
    let row: Option<BookingRow> = db_run!(conn, |c| bookings::table
        .filter(bookings::tenant_id.eq(tenant))
        .filter(
            bookings::quote_id.eq_any(
                quotes::table
                    .filter(quotes::tenant_id.eq(tenant))
                    .filter(quotes::quote_group_id.eq(&group))
                    .select(quotes::id),
            ),
        )
        .select(BookingRow::as_select())
        .first(c)
        .await
        .optional())?;
    Ok(row.map(|b| Move {
        date: b.move_date,
        origin: b.origin,
        destination: b.destination,
        location: b.location_id,
    }))
}
