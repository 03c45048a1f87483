//! The quote template: what the quote of a web booking gets, per service asked for. Edited by
//! managers (`createQuoteTemplateItem`, `updateQuoteTemplateItem`; retire a line with
//! `active: false`); read by sellers.

use chrono::NaiveDateTime;
use switchyard_kernel::read::Expr;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{Caller, Conn, Error, Rejection, TenantId, UserErrorCode, UserId, payload};

use crate::permissions::{TEMPLATE_MANAGE, TEMPLATE_READ};
use crate::quotes::QuoteItemCategory;
use crate::quotes::pricing::{MAX_QUANTITY, MAX_UNIT_AMOUNT};

pub use crate::ids::TemplateItemId;

switchyard_kernel::text_enum! {
    /// What a template line's quantity is multiplied by.
    pub enum PriceBasis {
        /// The quantity as it is.
        Fixed = "FIXED",
        /// The quantity for each room of the home.
        PerRoom = "PER_ROOM",
        /// The quantity for each cubic metre of goods.
        PerCubicMetre = "PER_CUBIC_METRE",
    }
}

/// The template is the tenant's: whoever holds the permission sees all of it.
fn scope(_caller: &Caller, _permission: &str) -> Result<Expr, Error> {
    Ok(Expr::True)
}

switchyard_kernel::aggregate! {
    /// A line of the quote template: added to a booking's quote when the booking asks for its
    /// service.
    #[aggregate(
        table = crate::schema::quote_template_items,
        id = TemplateItemId,
        read = TEMPLATE_READ,
        scope = scope,
        order(sort_order, asc),
        event = TemplateItemData,
        one(name = quote_template_item, doc = "A line of the quote template by ID."),
        list(name = quote_template, doc = "The quote template's lines, in order."),
        create(name = create_quote_template_item, doc = "Adds a line to the quote template (managers).", event = TemplateItemCreated),
        update(name = update_quote_template_item, doc = "Changes a line of the quote template; `active: false` retires it.", event = TemplateItemUpdated),
        write(permission = TEMPLATE_MANAGE, check = check, payload = TemplateItemPayload),
    )]
    pub struct QuoteTemplateItem {
        /// The service the line prices.
        #[field(filter, event, input)]
        service: QuoteItemCategory,
        #[field(input)]
        description: String,
        #[field(event, input(default = PriceBasis::Fixed))]
        basis: PriceBasis,
        /// Multiplied by the rooms or cubic metres of the booking as `basis` says.
        #[field(event, input(default = 1))]
        quantity: i32,
        /// In the tenant's quote currency.
        #[field(money = currency, input)]
        unit_price_minor: Option<i64>,
        #[field(hidden)]
        currency: Option<String>,
        /// Retired lines stay for the record but price nothing.
        #[field(filter, event, input(default = true))]
        active: bool,
        #[field(order, input(default))]
        sort_order: i32,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
        version: i32,
    }
}

switchyard_kernel::object_events! {
    "QuoteTemplateItem" as template_item: TemplateItemData from QuoteTemplateItemRow, v 1;
    /// A line was added to the quote template.
    TemplateItemCreated = "sales.quote_template_item.created",
    /// A line of the quote template changed.
    TemplateItemUpdated = "sales.quote_template_item.updated",
}

payload!(
    /// The result of a quote-template mutation.
    TemplateItemPayload { quote_template_item: QuoteTemplateItem } from row
);

/// The rules of a template line: a description, a price in the tenant's quote currency, a
/// quantity a quote takes.
async fn check(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &QuoteTemplateItemRow,
    _before: Option<&QuoteTemplateItemRow>,
) -> Result<(), Rejection> {
    let settings = crate::settings::load(tx, caller.tenant_id).await?;
    let mut check = Check::new();
    check
        .text("input.description", &row.description, 500)
        .within("input.quantity", row.quantity, 1..=MAX_QUANTITY as i32)
        .within("input.sortOrder", row.sort_order, 0..=10_000);
    match (row.unit_price_minor, row.currency.as_deref()) {
        (Some(amount), Some(currency)) => {
            check.money("input.unitPrice", amount, currency);
            if amount > MAX_UNIT_AMOUNT {
                check.add(
                    "input.unitPrice",
                    UserErrorCode::OutOfRange,
                    format!("must be at most {MAX_UNIT_AMOUNT} minor units"),
                );
            }
            if currency != settings.currency {
                check.add(
                    "input.unitPrice.currency",
                    UserErrorCode::InvalidFormat,
                    format!("must be the tenant's quote currency, {}", settings.currency),
                );
            }
        }
        _ => {
            check.add(
                "input.unitPrice",
                UserErrorCode::Required,
                "a template line needs a price",
            );
        }
    }
    check.finish()
}

/// The active template lines of the services asked for, in order.
pub(crate) async fn lines_for(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    services: &[QuoteItemCategory],
) -> Result<Vec<QuoteTemplateItemRow>, Error> {
    use crate::schema::quote_template_items as t;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let services: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
    Ok(switchyard_kernel::db_run!(tx, |c| t::table
        .filter(t::tenant_id.eq(tenant))
        .filter(t::active.eq(true))
        .filter(t::service.eq_any(&services))
        .order((t::sort_order.asc(), t::created_at.asc()))
        .select(QuoteTemplateItemRow::as_select())
        .load(c)
        .await)?)
}
