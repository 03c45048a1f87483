//! What quotes tell the rest of the system: typed, versioned events (see the event catalogue).

use chrono::{DateTime, Utc};
use switchyard_kernel::{Actor, LocationId, UserId};

use super::{ItemRow, QuoteId, QuoteItemCategory, QuoteRow, QuoteStatus};
use crate::customers::CustomerId;

switchyard_kernel::event_payload! {
    /// A quote (one revision) as events carry it.
    pub struct QuoteData {
        /// The revision.
        pub id: QuoteId,
        /// `Q-000042`, shared by every revision of the quote.
        pub number: String,
        /// 1 for the first version.
        pub revision: i32,
        pub customer_id: CustomerId,
        /// As stored (an unanswered quote past its validity is EXPIRED once swept).
        pub status: QuoteStatus,
        /// ISO 4217.
        pub currency: String,
        /// The counted lines, in minor units.
        pub subtotal_minor: i64,
        /// Tax on the subtotal, rounded half up.
        pub tax_minor: i64,
        pub total_minor: i64,
        pub valid_until: DateTime<Utc>,
        /// A user, or `system`.
        pub created_by: Actor,
        pub accepted_by: Option<UserId>,
        /// Increases with every change.
        pub version: i32,
    }
}

impl From<&QuoteRow> for QuoteData {
    fn from(row: &QuoteRow) -> Self {
        QuoteData {
            id: row.id,
            number: row.number.clone(),
            revision: row.revision,
            customer_id: row.customer_id,
            status: row.status,
            currency: row.currency.clone(),
            subtotal_minor: row.subtotal_minor,
            tax_minor: row.tax_minor,
            total_minor: row.total_minor,
            valid_until: row.valid_until.and_utc(),
            created_by: row.created_by,
            accepted_by: row.accepted_by,
            version: row.version,
        }
    }
}

switchyard_kernel::event_payload! {
    /// One line of a quote as events carry it.
    pub struct QuoteItemData {
        pub description: String,
        pub quantity: i32,
        /// Per unit, in the quote's currency's minor units.
        pub unit_price_minor: i64,
        /// Quantity × unit price.
        pub line_total_minor: i64,
        pub category: QuoteItemCategory,
        /// Offered but not counted in the totals.
        pub optional: bool,
    }
}

impl From<&ItemRow> for QuoteItemData {
    fn from(row: &ItemRow) -> Self {
        QuoteItemData {
            description: row.description.clone(),
            quantity: row.quantity,
            unit_price_minor: row.unit_price_minor,
            line_total_minor: row.line_total_minor,
            category: row.category,
            optional: row.optional,
        }
    }
}

switchyard_kernel::object_events! {
    "Quote" as quote: QuoteData from QuoteRow, v 1;
    /// A new quote: revision 1, a DRAFT.
    QuoteCreated = "sales.quote.created",
    /// A DRAFT's lines, validity, notes or terms changed; any approval was withdrawn.
    QuoteUpdated = "sales.quote.updated",
    /// A holder of `sales.quote:approve` approved the DRAFT.
    QuoteApproved = "sales.quote.approved",
    /// The quote went to the customer.
    QuoteSent = "sales.quote.sent",
    /// The customer opened the quote.
    QuoteViewed = "sales.quote.viewed",
    /// The quote passed its validity unanswered.
    QuoteExpired = "sales.quote.expired",
    /// A new revision replaced a sent quote: this is the new revision, a DRAFT.
    QuoteRevised = "sales.quote.revised",
    /// A newer revision replaced this quote.
    QuoteSuperseded = "sales.quote.superseded",
    /// The accepted quote became a job (operations made it from `sales.quote.accepted`).
    QuoteConverted = "sales.quote.converted";
    also QuoteAccepted, QuoteRejected
}

switchyard_kernel::domain_event! {
    /// The customer said no.
    pub struct QuoteRejected = "sales.quote.rejected" v 1 on "Quote" by quote.id {
        pub quote: QuoteData,
        /// Why, if the customer said.
        pub reason: Option<String>,
    }
}

switchyard_kernel::domain_event! {
    /// The customer said yes: operations makes the job from this, with everything it needs.
    pub struct QuoteAccepted = "sales.quote.accepted" v 1 on "Quote" by quote.id {
        pub quote: QuoteData,
        /// Every line as accepted, optional ones included, in order.
        pub items: Vec<QuoteItemData>,
        /// The location serving the customer, if it has one.
        pub location_id: Option<LocationId>,
    }
}

/// The structures quote events carry, for the catalogue.
pub const PAYLOADS: &[switchyard_kernel::events::PayloadSpec] =
    &[QuoteData::SPEC, QuoteItemData::SPEC];
