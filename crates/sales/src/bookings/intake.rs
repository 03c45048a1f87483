//! `submitBooking`: the public booking form. No sign-in; the tenant is named by its slug.
//!
//! In one transaction it finds the customer by the email or phone given (or makes one, routed
//! to the location's sales rep), opens a lead, drafts the quote from the tenant's quote
//! template and gives the rep a CALL_BACK task. Abuse-proof: attempts are limited per client
//! address and bookings per tenant (`booking_limit_*` settings), every field is bounded, and
//! the only answer is a booking reference, the same whether the customer existed or not.

use async_graphql::{Context, Object};
use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::Rng;
use switchyard_kernel::access::BuiltinRole;
use switchyard_kernel::module::Settings;
use switchyard_kernel::policy::Public;
use switchyard_kernel::throttle::Limit;
use switchyard_kernel::{
    Caller, ClientAddr, Conn, ContextExt, Error, LocationId, Rejection, TenantId, UserErrorCode,
    UserId, db_run, payload, time, write,
};

use super::form::{Form, SubmitBookingInput};
use super::templates::{self, PriceBasis};
use super::{Booking, BookingId, BookingReceived, BookingRow};
use crate::customers::{CustomerId, CustomerStage, mutations::Fields};
use crate::leads::{Lead, LeadId, LeadPriority, LeadRow, LeadStatus, events::LeadCreated};
use crate::quotes::QuoteItemCategory;
use crate::quotes::mutations::{QuoteItemInput, create_draft};
use crate::quotes::pricing::Line;
use crate::schema::customers;
use crate::tasks::{NewTask, TaskId, TaskKind, TaskQueue};

/// Booking attempts tolerated from one client address within the window.
pub const LIMIT_PER_ADDRESS: &str = "booking_limit_per_address";
/// Bookings one tenant takes within the window.
pub const LIMIT_PER_TENANT: &str = "booking_limit_per_tenant";
/// The window of both booking limits, in seconds.
pub const LIMIT_WINDOW_SECS: &str = "booking_limit_window_secs";

const PER_ADDRESS: &str = "sales.booking.address";
const PER_TENANT: &str = "sales.booking.tenant";

payload!(
    /// What the booking form is told: a reference to quote, nothing else.
    SubmitBookingPayload {
        /// `BK-` and eight letters or digits.
        reference: String,
    }
);

#[derive(Default)]
pub struct BookingFormMutation;

#[Object]
impl BookingFormMutation {
    /// Takes a booking from a company's public booking form (no sign-in). Answers a booking
    /// reference only; RATE_LIMITED when too many came from one address or to one company.
    #[graphql(directive = Public::apply())]
    async fn submit_booking(
        &self,
        ctx: &Context<'_>,
        input: SubmitBookingInput,
    ) -> async_graphql::Result<SubmitBookingPayload> {
        let services = ctx.services()?;
        let (per_address, per_tenant) = limits(&services.settings);
        let address = ctx
            .data_opt::<ClientAddr>()
            .map(|a| a.0.to_string())
            .unwrap_or_default();
        services.throttle.take(PER_ADDRESS, &address, per_address)?;
        let mut form = Form::of(input);
        let outcome = services
            .mutate(async |tx| {
                let tenant = identify(tx, &form.tenant).await?;
                form.check(tx, tenant).await?;
                services
                    .throttle
                    .take(PER_TENANT, &tenant.to_string(), per_tenant)?;
                let caller = Caller::system(tenant, &services.catalog);
                let row = book(tx, &caller, &form).await?;
                Ok::<_, Rejection>(row.reference)
            })
            .await;
        SubmitBookingPayload::from_outcome(outcome, |reference| SubmitBookingPayload {
            reference: Some(reference),
            user_errors: Vec::new(),
        })
    }
}

/// The two limits, from the settings (defaults if unreadable).
fn limits(settings: &Settings) -> (Limit, Limit) {
    let window = settings
        .secs(LIMIT_WINDOW_SECS)
        .unwrap_or(std::time::Duration::from_secs(3600));
    let number = |key, default| {
        settings
            .number(key)
            .map_or(default, |n| n.min(u32::MAX as u64) as u32)
    };
    (
        Limit {
            max: number(LIMIT_PER_ADDRESS, 10),
            window,
        },
        Limit {
            max: number(LIMIT_PER_TENANT, 500),
            window,
        },
    )
}

/// The tenant a form names, or a user error (the same for every unknown name).
async fn identify(tx: &mut Conn<'_>, slug: &str) -> Result<TenantId, Rejection> {
    let slug = slug.trim();
    let found = if slug.is_empty() || slug.len() > 100 {
        None
    } else {
        switchyard_identity::tenants::by_slug(tx, slug).await?
    };
    found.ok_or_else(|| {
        Rejection::invalid(
            "input.tenant",
            UserErrorCode::UnknownReference,
            "no company takes bookings under this name",
        )
    })
}

/// Records a checked booking and everything it sets off.
async fn book(tx: &mut Conn<'_>, caller: &Caller, form: &Form) -> Result<BookingRow, Rejection> {
    let tenant = caller.tenant_id;
    let now = time::now();
    let rep = sales_rep(tx, tenant, form.location).await?;
    let customer = match existing(tx, tenant, form).await? {
        Some(found) => found,
        None => new_customer(tx, caller, form, rep).await?,
    };
    let reference = reference();
    let lead = LeadRow {
        id: LeadId::new(),
        tenant_id: tenant,
        customer_id: customer,
        status: LeadStatus::New,
        priority: LeadPriority::Medium,
        score: 0,
        source: Some("booking form".to_owned()),
        estimated_move_date: Some(form.move_date),
        estimated_value_minor: None,
        currency: None,
        follow_up_at: None,
        notes: lead_notes(form, &reference),
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let lead = write::create::<Lead, _>(tx, caller, lead, LeadCreated::of).await?;
    let items = quote_items(tx, tenant, form).await?;
    let valid_until = now + Duration::days(i64::from(form.quote_validity_days.max(1)));
    let quote = create_draft(tx, caller, customer, &items, valid_until).await?;
    let task = crate::tasks::insert(
        tx,
        caller,
        TaskId::new(),
        NewTask {
            kind: TaskKind::CallBack,
            title: format!("Call back {} about booking {reference}", form.name()),
            due_at: Some(now + Duration::hours(2)),
            customer: Some(customer),
            activity: None,
            assignee: rep,
            queue: rep.is_none().then_some(TaskQueue::InsideSales),
        },
    )
    .await?;
    let row = BookingRow {
        id: BookingId::new(),
        tenant_id: tenant,
        reference,
        customer_id: customer,
        lead_id: lead.id,
        quote_id: quote.id,
        task_id: Some(task.id),
        location_id: form.location,
        assigned_to: rep,
        move_date: form.move_date,
        origin: form.origin.clone(),
        destination: form.destination.clone(),
        rooms: form.rooms,
        volume_m3: form.volume,
        services: form
            .services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        message: form.message.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    Ok(write::create::<Booking, _>(tx, caller, row, BookingReceived::of).await?)
}

/// What the lead says about the booking (the contact as given, which may differ from the
/// customer's on file).
fn lead_notes(form: &Form, reference: &str) -> String {
    let mut notes = format!("Booking {reference}: {} ", form.name());
    if let Some(email) = &form.email {
        notes.push_str(&format!("<{email}> "));
    }
    if let Some((phone, _)) = &form.phone {
        notes.push_str(&format!("{phone} "));
    }
    notes.push_str(&format!(
        "moving {} from {} to {}.",
        form.move_date, form.origin, form.destination
    ));
    if !form.message.is_empty() {
        notes.push_str(&format!("\n{}", form.message));
    }
    notes
}

/// The sales rep of the location with the fewest open tasks (a location's only rep, usually);
/// none when the location has none (the call-back then waits in the inside-sales queue).
async fn sales_rep(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    location: Option<LocationId>,
) -> Result<Option<UserId>, Error> {
    let Some(location) = location else {
        return Ok(None);
    };
    let reps = switchyard_identity::users::staff_with_role(
        tx,
        tenant,
        BuiltinRole::SalesRep.key(),
        Some(location),
    )
    .await?;
    let ids: Vec<UserId> = reps.into_iter().map(|(id, _)| id).collect();
    if ids.len() < 2 {
        return Ok(<[UserId]>::first(&ids).copied());
    }
    use crate::schema::tasks;
    let open: Vec<(Option<UserId>, i64)> = db_run!(tx, |c| tasks::table
        .filter(tasks::tenant_id.eq(tenant))
        .filter(tasks::status.eq("OPEN"))
        .filter(tasks::assignee_id.eq_any(&ids))
        .group_by(tasks::assignee_id)
        .select((tasks::assignee_id, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    let load = |id: &UserId| {
        open.iter()
            .find(|(a, _)| a.as_ref() == Some(id))
            .map_or(0, |(_, n)| *n)
    };
    Ok(ids.iter().min_by_key(|id| load(id)).copied())
}

/// The customer with the email given, else the one with the phone given (following a merge).
async fn existing(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    form: &Form,
) -> Result<Option<CustomerId>, Error> {
    let keys = [
        form.email.clone().map(|e| (true, e)),
        form.phone.clone().map(|(e164, _)| (false, e164)),
    ];
    for (by_email, value) in keys.into_iter().flatten() {
        let found: Option<(CustomerId, Option<CustomerId>)> = if by_email {
            db_run!(tx, |c| customers::table
                .filter(customers::tenant_id.eq(tenant))
                .filter(customers::email.eq(&value))
                .select((customers::id, customers::merged_into))
                .first(c)
                .await
                .optional())?
        } else {
            db_run!(tx, |c| customers::table
                .filter(customers::tenant_id.eq(tenant))
                .filter(customers::phone.eq(&value))
                .select((customers::id, customers::merged_into))
                .first(c)
                .await
                .optional())?
        };
        if let Some((id, merged_into)) = found {
            return Ok(Some(merged_into.unwrap_or(id)));
        }
    }
    Ok(None)
}

/// A new customer from the form, at the location, with its sales rep.
async fn new_customer(
    tx: &mut Conn<'_>,
    caller: &Caller,
    form: &Form,
    rep: Option<UserId>,
) -> Result<CustomerId, Error> {
    let fields = Fields {
        first_name: form.first_name.clone(),
        last_name: Some(form.last_name.clone()),
        company_name: None,
        email: form.email.clone(),
        phone: form.phone.as_ref().map(|(e164, _)| e164.clone()),
        phone_search: form
            .phone
            .as_ref()
            .map(|(_, search)| search.clone())
            .unwrap_or_default(),
        address: None,
        lead_source: Some("booking form".to_owned()),
        tags: Vec::new(),
        assigned_to: rep,
        portal_user: None,
        location: form.location,
        estimated_value: None,
        notes: String::new(),
    };
    let row = crate::customers::mutations::insert(
        tx,
        caller,
        CustomerId::new(),
        &fields,
        CustomerStage::Prospect,
    )
    .await?;
    Ok(row.id)
}

/// The quote's lines: the active template lines of the services asked for, each quantity
/// multiplied as its basis says (by rooms, or cubic metres; by one when the form left that out).
async fn quote_items(
    tx: &mut Conn<'_>,
    tenant: TenantId,
    form: &Form,
) -> Result<Vec<(QuoteItemInput, Line)>, Error> {
    let lines = templates::lines_for(tx, tenant, &form.services).await?;
    Ok(lines
        .into_iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let factor = match line.basis {
                PriceBasis::Fixed => 1,
                PriceBasis::PerRoom => form.rooms.unwrap_or(1),
                PriceBasis::PerCubicMetre => form.volume.unwrap_or(1),
            };
            let quantity = line.quantity.checked_mul(factor)?;
            let price = line.unit_price_minor?;
            let input = QuoteItemInput {
                description: line.description,
                quantity,
                unit_price_minor: switchyard_kernel::money::Long(price),
                unit_cost_minor: None,
                category: line.service,
                optional: false,
                sort_order: Some(i as i32),
            };
            let priced = Line {
                quantity: i64::from(quantity),
                unit_price: price,
                unit_cost: None,
                optional: false,
            };
            Some((input, priced))
        })
        .collect())
}

/// `BK-` and eight characters of Crockford's base 32 (no I, L, O, U): hard to guess, easy to
/// read out on the phone.
fn reference() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let code: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("BK-{code}")
}

/// The demo company's quote template and two bookings waiting for a call back (the demo seed).
pub(crate) async fn seed_demo(
    services: &switchyard_kernel::Services,
    tenant: TenantId,
    location: LocationId,
) -> Result<usize, Rejection> {
    use super::templates::{
        QuoteTemplateItem, QuoteTemplateItemRow, TemplateItemCreated, TemplateItemId,
    };
    let caller = Caller::system(tenant, &services.catalog);
    let lines = [
        (
            QuoteItemCategory::MovingServices,
            "Moving crew of two, hours per room",
            PriceBasis::PerRoom,
            2,
            79_500,
        ),
        (
            QuoteItemCategory::MovingServices,
            "Truck and fuel",
            PriceBasis::Fixed,
            1,
            120_000,
        ),
        (
            QuoteItemCategory::PackingServices,
            "Packing, per cubic metre",
            PriceBasis::PerCubicMetre,
            1,
            9_500,
        ),
        (
            QuoteItemCategory::StorageServices,
            "Storage, first month",
            PriceBasis::Fixed,
            1,
            90_000,
        ),
        (
            QuoteItemCategory::SpecialtyServices,
            "Piano or safe",
            PriceBasis::Fixed,
            1,
            150_000,
        ),
    ];
    let forms = [
        (
            "Elsa",
            "Berg",
            "elsa.berg@example.se",
            "070-555 01 01",
            12,
            "Vasagatan 10, Stockholm",
            "Kungsgatan 4, Uppsala",
            3,
            25,
        ),
        (
            "Nils",
            "Holm",
            "nils.holm@example.se",
            "070-555 02 02",
            20,
            "Storgatan 7, Solna",
            "Parkvägen 2, Täby",
            2,
            15,
        ),
    ];
    services
        .mutate(async |tx| {
            let now = time::now();
            for (i, (service, description, basis, quantity, price)) in lines.into_iter().enumerate()
            {
                let row = QuoteTemplateItemRow {
                    id: TemplateItemId::new(),
                    tenant_id: tenant,
                    service,
                    description: description.to_owned(),
                    basis,
                    quantity,
                    unit_price_minor: Some(price),
                    currency: Some("SEK".to_owned()),
                    active: true,
                    sort_order: i as i32,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                write::create::<QuoteTemplateItem, _>(tx, &caller, row, TemplateItemCreated::of)
                    .await?;
            }
            for (first, last, email, phone, days, origin, destination, rooms, volume) in forms {
                let mut form = Form::of(SubmitBookingInput {
                    tenant: String::new(),
                    location_id: Some(location.to_global()),
                    first_name: Some(first.to_owned()),
                    last_name: last.to_owned(),
                    email: Some(email.to_owned()),
                    phone: Some(phone.to_owned()),
                    move_date: now.date() + Duration::days(days),
                    origin: origin.to_owned(),
                    destination: destination.to_owned(),
                    rooms: Some(rooms),
                    volume_m3: Some(volume),
                    services: vec![
                        QuoteItemCategory::MovingServices,
                        QuoteItemCategory::PackingServices,
                    ],
                    message: "Booked on the website.".to_owned(),
                });
                form.check(tx, tenant).await?;
                book(tx, &caller, &form).await?;
            }
            Ok::<_, Rejection>(forms.len())
        })
        .await
}
