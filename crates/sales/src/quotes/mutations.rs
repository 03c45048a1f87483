//! (Over 600 lines: nine mutations of one lifecycle sharing its guards (`require`), its pricing and its lines; each step is now a pure `moved` plus one `kernel::write` call, and what keeps the file long is the input objects and the precondition messages. To split by mutation.)
//!
//! Making, revising, approving, sending and answering quotes.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::users::is_active_client;
use switchyard_kernel::money::is_currency;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Rejection, UserErrorCode, UserId, db_run, payload, time, write,
};

use super::events::{
    QuoteAccepted, QuoteApproved, QuoteConverted, QuoteCreated, QuoteItemData, QuoteRejected,
    QuoteRevised, QuoteSent, QuoteSuperseded, QuoteUpdated, QuoteViewed,
};
use super::pricing::{self, Line, MAX_LINES, MAX_QUANTITY, MAX_UNIT_AMOUNT};
use super::{ItemRow, Quote, QuoteId, QuoteItemCategory, QuoteRow, QuoteStatus, find};
use crate::customers::{CustomerId, customer_for, find_in_tenant};
use crate::permissions::{QUOTE_APPROVE, QUOTE_MANAGE, QUOTE_RESPOND};
use crate::schema::{quote_items, quotes};
use crate::settings;

payload!(
    /// The result of a quote mutation.
    QuotePayload { quote: Quote } from row
);

/// A line of a quote.
#[derive(InputObject, Clone)]
pub struct QuoteItemInput {
    pub description: String,
    /// A whole number, at least 1.
    pub quantity: i32,
    /// Minor units of the quote's currency.
    pub unit_price_minor: switchyard_kernel::money::Long,
    /// What the line costs the tenant (for margins), in minor units.
    pub unit_cost_minor: Option<switchyard_kernel::money::Long>,
    pub category: QuoteItemCategory,
    /// Offered, not counted in the total.
    #[graphql(default)]
    pub optional: bool,
    /// Position; defaults to the order given.
    pub sort_order: Option<i32>,
}

/// A new quote (a DRAFT).
#[derive(InputObject)]
pub struct CreateQuoteInput {
    pub customer_id: ID,
    #[graphql(default)]
    pub items: Vec<QuoteItemInput>,
    /// Defaults to the tenant's currency.
    pub currency: Option<String>,
    /// Defaults to now plus the tenant's validity period.
    pub valid_until: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub notes: String,
    #[graphql(default)]
    pub terms: String,
    /// The customer-portal user who may view and answer it.
    pub recipient_id: Option<ID>,
    pub idempotency_key: Option<String>,
}

/// Changes to a DRAFT quote; `items` replaces all lines.
#[derive(InputObject)]
pub struct UpdateQuoteInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub items: Option<Vec<QuoteItemInput>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub recipient_id: Option<ID>,
}

/// A quote to act on.
#[derive(InputObject)]
pub struct QuoteActionInput {
    pub id: ID,
    pub expected_version: Option<i32>,
}

/// A quote to reject, and why.
#[derive(InputObject)]
pub struct RejectQuoteInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub reason: Option<String>,
}

/// Checks lines; returns them priced.
fn check_items(items: &[QuoteItemInput], check: &mut Check) -> Vec<(QuoteItemInput, Line)> {
    if items.len() > MAX_LINES {
        check.add(
            "input.items",
            UserErrorCode::OutOfRange,
            format!("at most {MAX_LINES} lines"),
        );
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = |f: &str| format!("input.items.{i}.{f}");
        check.text(&path("description"), &item.description, 500);
        let quantity = i64::from(item.quantity);
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            check.add(
                &path("quantity"),
                UserErrorCode::OutOfRange,
                format!("must be a whole number from 1 to {MAX_QUANTITY}"),
            );
        }
        if !(0..=MAX_UNIT_AMOUNT).contains(&item.unit_price_minor.0) {
            check.add(
                &path("unitPriceMinor"),
                UserErrorCode::OutOfRange,
                format!("must be between 0 and {MAX_UNIT_AMOUNT}"),
            );
        }
        if let Some(cost) = item.unit_cost_minor
            && !(0..=MAX_UNIT_AMOUNT).contains(&cost.0)
        {
            check.add(
                &path("unitCostMinor"),
                UserErrorCode::OutOfRange,
                format!("must be between 0 and {MAX_UNIT_AMOUNT}"),
            );
        }
        out.push((
            item.clone(),
            Line {
                quantity,
                unit_price: item.unit_price_minor.0,
                unit_cost: item.unit_cost_minor.map(|c| c.0),
                optional: item.optional,
            },
        ));
    }
    out
}

/// A quote is addressed to its customer's portal user, whoever that is when the quote is read
/// (nothing is stored on the quote that could go stale). A recipient given in the input is a
/// check only: it must be that user, active.
async fn check_recipient(
    conn: &mut Conn<'_>,
    caller: &Caller,
    portal_user: Option<UserId>,
    recipient: Option<&ID>,
    check: &mut Check,
) -> Result<(), Error> {
    let Some(id) = recipient else {
        return Ok(());
    };
    match UserId::from_global(id) {
        Some(user)
            if Some(user) == portal_user
                && is_active_client(conn, caller.tenant_id, user).await? => {}
        Some(_) if portal_user.is_some() => {
            check.add(
                "input.recipientId",
                UserErrorCode::NotAllowed,
                "a quote is addressed to the customer's own portal user",
            );
        }
        _ => {
            check.add(
                "input.recipientId",
                UserErrorCode::UnknownReference,
                "the customer has no such portal user (set the customer's portalUserId first)",
            );
        }
    }
    Ok(())
}

fn check_valid_until(valid_until: NaiveDateTime, check: &mut Check) {
    if valid_until <= time::now() {
        check.add(
            "input.validUntil",
            UserErrorCode::OutOfRange,
            "must be in the future",
        );
    }
}

/// Replaces a quote's lines.
async fn write_items(
    conn: &mut Conn<'_>,
    caller: &Caller,
    quote: QuoteId,
    items: &[(QuoteItemInput, Line)],
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::delete(
        quote_items::table
            .filter(quote_items::tenant_id.eq(caller.tenant_id))
            .filter(quote_items::quote_id.eq(quote))
    )
    .execute(c)
    .await)?;
    for (i, (item, line)) in items.iter().enumerate() {
        db_run!(conn, |c| diesel::insert_into(quote_items::table)
            .values((
                quote_items::id.eq(uuid::Uuid::now_v7().to_string()),
                quote_items::tenant_id.eq(caller.tenant_id),
                quote_items::quote_id.eq(quote),
                quote_items::description.eq(item.description.trim()),
                quote_items::quantity.eq(item.quantity),
                quote_items::unit_price_minor.eq(line.unit_price),
                quote_items::unit_cost_minor.eq(line.unit_cost),
                quote_items::category.eq(item.category.as_str()),
                quote_items::optional.eq(item.optional),
                quote_items::sort_order.eq(item.sort_order.unwrap_or(i as i32)),
                quote_items::line_total_minor.eq(pricing::line_total(line)),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// The quote priced by `items` at its tax rate.
fn priced(row: &mut QuoteRow, items: &[(QuoteItemInput, Line)]) {
    let lines: Vec<Line> = items.iter().map(|(_, l)| *l).collect();
    let totals = pricing::totals(&lines, row.tax_rate_bp);
    row.subtotal_minor = totals.subtotal;
    row.tax_minor = totals.tax;
    row.total_minor = totals.total;
    row.optional_minor = totals.optional;
    row.cost_minor = totals.cost;
}

/// The revisions of a quote: the first, or one after `group`'s `revision` (its number).
struct Revision<'a> {
    group: &'a str,
    number: &'a str,
    revision: i32,
}

/// A new DRAFT revision, priced by its lines (stored by the caller, then its lines).
#[allow(clippy::too_many_arguments)]
fn draft(
    caller: &Caller,
    id: QuoteId,
    customer: CustomerId,
    of: Revision<'_>,
    currency: &str,
    tax_rate_bp: i32,
    valid_until: NaiveDateTime,
    notes: &str,
    terms: &str,
    items: &[(QuoteItemInput, Line)],
) -> QuoteRow {
    let now = time::now();
    let mut row = QuoteRow {
        id,
        tenant_id: caller.tenant_id,
        customer_id: customer,
        quote_group_id: of.group.to_owned(),
        number: of.number.to_owned(),
        revision: of.revision,
        status: QuoteStatus::Draft,
        currency: currency.to_owned(),
        tax_rate_bp,
        subtotal_minor: 0,
        tax_minor: 0,
        total_minor: 0,
        optional_minor: 0,
        cost_minor: None,
        valid_until,
        notes: notes.to_owned(),
        terms: terms.to_owned(),
        created_by: caller.actor(),
        approved_by: None,
        approved_at: None,
        sent_at: None,
        viewed_at: None,
        accepted_at: None,
        accepted_by: None,
        rejected_at: None,
        rejection_reason: None,
        expired_at: None,
        superseded_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    priced(&mut row, items);
    row
}

/// Drafts a quote of these lines for a customer (a web booking, the demo seed).
pub(crate) async fn create_draft(
    conn: &mut Conn<'_>,
    caller: &Caller,
    customer: CustomerId,
    items: &[(QuoteItemInput, Line)],
    valid_until: NaiveDateTime,
) -> Result<QuoteRow, Error> {
    let settings = settings::load(conn, caller.tenant_id).await?;
    let number = settings::next_quote_number(conn, caller.tenant_id).await?;
    let group = uuid::Uuid::now_v7().to_string();
    let first = Revision {
        group: &group,
        number: &number,
        revision: 1,
    };
    let (currency, tax) = (&settings.currency, settings.tax_rate_bp);
    let id = QuoteId::new();
    let row = draft(
        caller,
        id,
        customer,
        first,
        currency,
        tax,
        valid_until,
        "",
        "",
        items,
    );
    let row = write::insert::<Quote>(conn, row).await?;
    write_items(conn, caller, row.id, items).await?;
    Ok(row)
}

/// The quote moved to `status`, with the time (and who, and why) of that step.
pub(crate) fn moved(
    before: &QuoteRow,
    status: QuoteStatus,
    by: Option<UserId>,
    reason: Option<&str>,
) -> QuoteRow {
    let now = Some(time::now());
    let mut row = QuoteRow {
        status,
        ..before.clone()
    };
    match status {
        QuoteStatus::Sent => row.sent_at = now,
        QuoteStatus::Viewed => row.viewed_at = now,
        QuoteStatus::Accepted => (row.accepted_at, row.accepted_by) = (now, by),
        QuoteStatus::Rejected => {
            (row.rejected_at, row.rejection_reason) = (now, reason.map(str::to_owned));
        }
        QuoteStatus::Expired => row.expired_at = now,
        QuoteStatus::Draft | QuoteStatus::Converted => {}
    }
    row
}

/// Marks an ACCEPTED quote of `caller`'s tenant CONVERTED (its job was made), in the caller's
/// transaction, with `sales.quote.converted`. `false` when it already was; a quote in any
/// other state is a conflict (nothing to convert).
pub async fn convert(conn: &mut Conn<'_>, caller: &Caller, id: QuoteId) -> Result<bool, Error> {
    let before: QuoteRow = db_run!(conn, |c| quotes::table
        .filter(quotes::tenant_id.eq(caller.tenant_id))
        .find(id)
        .select(QuoteRow::as_select())
        .first(c)
        .await)?;
    match before.status {
        QuoteStatus::Converted => Ok(false),
        QuoteStatus::Accepted => {
            let row = moved(&before, QuoteStatus::Converted, None, None);
            write::update::<Quote, _>(conn, caller, &before, row, QuoteConverted::of).await?;
            Ok(true)
        }
        other => Err(Error::conflict(format!(
            "a {} quote cannot become a job",
            other.as_str()
        ))),
    }
}

/// The states a quote must be in for an action, and the refusal otherwise.
fn require(row: &QuoteRow, allowed: &[QuoteStatus], done: &str) -> Result<(), Rejection> {
    let status = row.status();
    if row.superseded_by.is_some() {
        return Err(Rejection::invalid(
            "input.id",
            UserErrorCode::InvalidState,
            format!(
                "revision {} was superseded by a newer revision; use that one instead",
                row.revision
            ),
        ));
    }
    if status == QuoteStatus::Expired && !allowed.contains(&QuoteStatus::Expired) {
        return Err(Rejection::invalid(
            "input.id",
            UserErrorCode::InvalidState,
            format!(
                "the quote expired at {}; revise it to offer it again",
                row.valid_until.and_utc().to_rfc3339()
            ),
        ));
    }
    if !allowed.contains(&status) {
        let hint = if status != QuoteStatus::Draft && done == "edited" {
            "; revise it (reviseQuote) to make a new version"
        } else {
            ""
        };
        return Err(Rejection::invalid(
            "input.id",
            UserErrorCode::InvalidState,
            format!("a {} quote cannot be {done}{hint}", status.as_str()),
        ));
    }
    Ok(())
}

/// The lines of a quote, in order.
async fn items(
    conn: &mut Conn<'_>,
    tenant: switchyard_kernel::TenantId,
    id: QuoteId,
) -> Result<Vec<ItemRow>, Error> {
    Ok(db_run!(conn, |c| quote_items::table
        .filter(quote_items::tenant_id.eq(tenant))
        .filter(quote_items::quote_id.eq(id))
        .order((quote_items::sort_order.asc(), quote_items::id.asc()))
        .select(ItemRow::as_select())
        .load(c)
        .await)?)
}

#[derive(Default)]
pub struct QuoteMutation;

#[Object]
impl QuoteMutation {
    /// Creates a DRAFT quote for a customer, priced on the server.
    #[graphql(directive = Require::apply(QUOTE_MANAGE))]
    async fn create_quote(
        &self,
        ctx: &Context<'_>,
        input: CreateQuoteInput,
    ) -> async_graphql::Result<QuotePayload> {
        let caller = ctx.caller()?;
        let customer = CustomerId::parse(&input.customer_id)?;
        let mut check = Check::new();
        let items = check_items(&input.items, &mut check);
        check.max_len("input.notes", &input.notes, 10_000).max_len(
            "input.terms",
            &input.terms,
            10_000,
        );
        let outcome = ctx
            .mutate(async |tx| {
                let new_id = QuoteId::new();
                let key = input.idempotency_key.as_deref();
                if let Some(first) =
                    write::replay::<Quote>(tx, caller, "createQuote", key, QUOTE_MANAGE, new_id)
                        .await?
                {
                    return Ok(first);
                }
                let customer_row = customer_for(tx, caller, QUOTE_MANAGE, customer).await?;
                crate::customers::still_active(&customer_row, "input.customerId")?;
                let settings = settings::load(tx, caller.tenant_id).await?;
                let currency = input
                    .currency
                    .as_deref()
                    .map(|c| c.trim().to_uppercase())
                    .unwrap_or(settings.currency.clone());
                if !is_currency(&currency) {
                    check.add(
                        "input.currency",
                        UserErrorCode::InvalidFormat,
                        "must be an ISO 4217 code such as SEK or USD",
                    );
                }
                let valid_until = input.valid_until.map(time::naive).unwrap_or_else(|| {
                    time::now() + chrono::Duration::days(i64::from(settings.quote_validity_days))
                });
                check_valid_until(valid_until, &mut check);
                check_recipient(
                    tx,
                    caller,
                    customer_row.portal_user(),
                    input.recipient_id.as_ref(),
                    &mut check,
                )
                .await?;
                check.finish()?;
                let number = settings::next_quote_number(tx, caller.tenant_id).await?;
                let group = uuid::Uuid::now_v7().to_string();
                let first = Revision {
                    group: &group,
                    number: &number,
                    revision: 1,
                };
                let (notes, terms) = (input.notes.trim(), input.terms.trim());
                let tax = settings.tax_rate_bp;
                let row = draft(
                    caller,
                    new_id,
                    customer,
                    first,
                    &currency,
                    tax,
                    valid_until,
                    notes,
                    terms,
                    &items,
                );
                let row = write::create::<Quote, _>(tx, caller, row, QuoteCreated::of).await?;
                write_items(tx, caller, row.id, &items).await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        QuotePayload::of(outcome)
    }

    /// Changes a DRAFT quote. A quote that was sent is changed by revising it instead.
    #[graphql(directive = Require::apply(QUOTE_MANAGE))]
    async fn update_quote(
        &self,
        ctx: &Context<'_>,
        input: UpdateQuoteInput,
    ) -> async_graphql::Result<QuotePayload> {
        let caller = ctx.caller()?;
        let id = QuoteId::parse(&input.id)?;
        let mut check = Check::new();
        let items = input
            .items
            .as_ref()
            .map(|items| check_items(items, &mut check));
        let outcome = ctx
            .mutate(async |tx| {
                let before = find(tx, caller, QUOTE_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                require(&before, &[QuoteStatus::Draft], "edited")?;
                let valid_until = input
                    .valid_until
                    .map(time::naive)
                    .unwrap_or(before.valid_until);
                if input.valid_until.is_some() {
                    check_valid_until(valid_until, &mut check);
                }
                let notes = input
                    .notes
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.notes)
                    .to_owned();
                let terms = input
                    .terms
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.terms)
                    .to_owned();
                check
                    .max_len("input.notes", &notes, 10_000)
                    .max_len("input.terms", &terms, 10_000);
                if input.recipient_id.is_some() {
                    let customer =
                        customer_for(tx, caller, QUOTE_MANAGE, before.customer_id).await?;
                    check_recipient(
                        tx,
                        caller,
                        customer.portal_user(),
                        input.recipient_id.as_ref(),
                        &mut check,
                    )
                    .await?;
                }
                check.finish()?;
                // Any change to a draft withdraws its approval.
                let mut row = QuoteRow {
                    valid_until,
                    notes,
                    terms,
                    approved_by: None,
                    approved_at: None,
                    ..before.clone()
                };
                if let Some(items) = &items {
                    write_items(tx, caller, id, items).await?;
                    priced(&mut row, items);
                }
                let row =
                    write::update::<Quote, _>(tx, caller, &before, row, QuoteUpdated::of).await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        QuotePayload::of(outcome)
    }

    /// Approves a DRAFT quote for sending (needed when the tenant requires approval).
    #[graphql(directive = Require::apply(QUOTE_APPROVE))]
    async fn approve_quote(
        &self,
        ctx: &Context<'_>,
        input: QuoteActionInput,
    ) -> async_graphql::Result<QuotePayload> {
        let caller = ctx.caller()?;
        let id = QuoteId::parse(&input.id)?;
        let outcome = ctx.mutate(async |tx| {
                let before = find(tx, caller, QUOTE_APPROVE, id).await?;
                check_version(input.expected_version, before.version)?;
                require(&before, &[QuoteStatus::Draft], "approved")?;
                if before.approved_at.is_some() {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "the quote is already approved",
                    ));
                }
                let settings = settings::load(tx, caller.tenant_id).await?;
                let approver = caller.user_id();
                if settings.quote_approval_required
                    && settings.quote_approver_must_differ
                    && caller.actor() == before.created_by
                {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::PreconditionFailed,
                        "rule approver_not_author: a quote is approved by someone other than its author (the tenant's quoteApproverMustDiffer setting)",
                    ));
                }
                let row = QuoteRow {
                    approved_by: approver,
                    approved_at: Some(time::now()),
                    ..before.clone()
                };
                Ok(write::update::<Quote, _>(tx, caller, &before, row, QuoteApproved::of).await?)
            })
            .await;
        QuotePayload::of(outcome)
    }

    /// Sends a DRAFT quote to the customer. It needs at least one line, a validity in the
    /// future, and, when the tenant requires it, an approval.
    #[graphql(directive = Require::apply(QUOTE_MANAGE))]
    async fn send_quote(
        &self,
        ctx: &Context<'_>,
        input: QuoteActionInput,
    ) -> async_graphql::Result<QuotePayload> {
        let caller = ctx.caller()?;
        let id = QuoteId::parse(&input.id)?;
        let outcome = ctx.mutate(async |tx| {
                let before = find(tx, caller, QUOTE_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                require(&before, &[QuoteStatus::Draft], "sent")?;
                let mut check = Check::new();
                let lines: i64 = db_run!(tx, |c| quote_items::table
                    .filter(quote_items::tenant_id.eq(caller.tenant_id))
                    .filter(quote_items::quote_id.eq(id))
                    .count()
                    .get_result(c)
                    .await)?;
                if lines == 0 {
                    check.add("input.id", UserErrorCode::PreconditionFailed, "rule quote_needs_lines: add at least one line before sending");
                }
                if before.valid_until <= time::now() {
                    check.add("input.id", UserErrorCode::PreconditionFailed, "rule quote_needs_future_validity: move validUntil into the future before sending");
                }
                let settings = settings::load(tx, caller.tenant_id).await?;
                if settings.quote_approval_required && before.approved_at.is_none() {
                    check.add("input.id", UserErrorCode::PreconditionFailed, "rule quote_needs_approval: this company requires a manager's approval (sales.quote:approve) before a quote is sent");
                }
                check.finish()?;
                let row = moved(&before, QuoteStatus::Sent, caller.user_id(), None);
                Ok(write::update::<Quote, _>(tx, caller, &before, row, QuoteSent::of).await?)
            })
            .await;
        QuotePayload::of(outcome)
    }

    /// Makes a new DRAFT revision of a quote that was sent (or answered, or expired); the old
    /// revision stays readable and can no longer be accepted.
    #[graphql(directive = Require::apply(QUOTE_MANAGE))]
    async fn revise_quote(
        &self,
        ctx: &Context<'_>,
        input: QuoteActionInput,
    ) -> async_graphql::Result<QuotePayload> {
        let caller = ctx.caller()?;
        let id = QuoteId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = find(tx, caller, QUOTE_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                if before.status() == QuoteStatus::Draft && before.superseded_by.is_none() {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "a DRAFT quote is edited directly (updateQuote), not revised",
                    ));
                }
                require(
                    &before,
                    &[
                        QuoteStatus::Sent,
                        QuoteStatus::Viewed,
                        QuoteStatus::Rejected,
                        QuoteStatus::Expired,
                    ],
                    "revised",
                )?;
                let items: Vec<ItemRow> = db_run!(tx, |c| quote_items::table
                    .filter(quote_items::tenant_id.eq(caller.tenant_id))
                    .filter(quote_items::quote_id.eq(id))
                    .order(quote_items::sort_order.asc())
                    .select(ItemRow::as_select())
                    .load(c)
                    .await)?;
                let copied: Vec<(QuoteItemInput, Line)> = items
                    .into_iter()
                    .map(|i| {
                        let line = Line {
                            quantity: i64::from(i.quantity),
                            unit_price: i.unit_price_minor,
                            unit_cost: i.unit_cost_minor,
                            optional: i.optional,
                        };
                        (
                            QuoteItemInput {
                                description: i.description,
                                quantity: i.quantity,
                                unit_price_minor: switchyard_kernel::money::Long(
                                    i.unit_price_minor,
                                ),
                                unit_cost_minor: i
                                    .unit_cost_minor
                                    .map(switchyard_kernel::money::Long),
                                category: i.category,
                                optional: i.optional,
                                sort_order: Some(i.sort_order),
                            },
                            line,
                        )
                    })
                    .collect();
                let settings = settings::load(tx, caller.tenant_id).await?;
                let valid_until =
                    time::now() + chrono::Duration::days(i64::from(settings.quote_validity_days));
                let next = Revision {
                    group: &before.quote_group_id,
                    number: &before.number,
                    revision: before.revision + 1,
                };
                let (notes, terms, tax) = (&before.notes, &before.terms, settings.tax_rate_bp);
                let row = draft(
                    caller,
                    QuoteId::new(),
                    before.customer_id,
                    next,
                    &before.currency,
                    tax,
                    valid_until,
                    notes,
                    terms,
                    &copied,
                );
                let row = write::create::<Quote, _>(tx, caller, row, QuoteRevised::of).await?;
                write_items(tx, caller, row.id, &copied).await?;
                let old = QuoteRow {
                    superseded_by: Some(row.id),
                    ..before.clone()
                };
                write::update::<Quote, _>(tx, caller, &before, old, QuoteSuperseded::of).await?;
                Ok(row)
            })
            .await;
        QuotePayload::of(outcome)
    }

    /// Records that the customer opened a SENT quote.
    #[graphql(directive = Require::apply(QUOTE_RESPOND))]
    async fn mark_quote_viewed(
        &self,
        ctx: &Context<'_>,
        input: QuoteActionInput,
    ) -> async_graphql::Result<QuotePayload> {
        respond(
            ctx,
            input.id,
            input.expected_version,
            QuoteStatus::Viewed,
            None,
        )
        .await
    }

    /// Accepts a SENT or VIEWED quote that has not expired, for the customer. Emits
    /// `sales.quote.accepted` (QuoteAccepted).
    #[graphql(directive = Require::apply(QUOTE_RESPOND))]
    async fn accept_quote(
        &self,
        ctx: &Context<'_>,
        input: QuoteActionInput,
    ) -> async_graphql::Result<QuotePayload> {
        respond(
            ctx,
            input.id,
            input.expected_version,
            QuoteStatus::Accepted,
            None,
        )
        .await
    }

    /// Rejects a SENT or VIEWED quote, for the customer.
    #[graphql(directive = Require::apply(QUOTE_RESPOND))]
    async fn reject_quote(
        &self,
        ctx: &Context<'_>,
        input: RejectQuoteInput,
    ) -> async_graphql::Result<QuotePayload> {
        let reason = input
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        respond(
            ctx,
            input.id,
            input.expected_version,
            QuoteStatus::Rejected,
            reason,
        )
        .await
    }
}

async fn respond(
    ctx: &Context<'_>,
    id: ID,
    expected: Option<i32>,
    to: QuoteStatus,
    reason: Option<String>,
) -> async_graphql::Result<QuotePayload> {
    let caller = ctx.caller()?;
    let id = QuoteId::parse(&id)?;
    let outcome = ctx
        .mutate(async |tx| {
            let before = find(tx, caller, QUOTE_RESPOND, id).await?;
            check_version(expected, before.version)?;
            let (allowed, verb): (&[QuoteStatus], &str) = match to {
                QuoteStatus::Viewed => (&[QuoteStatus::Sent], "marked viewed"),
                QuoteStatus::Accepted => (&[QuoteStatus::Sent, QuoteStatus::Viewed], "accepted"),
                _ => (&[QuoteStatus::Sent, QuoteStatus::Viewed], "rejected"),
            };
            require(&before, allowed, verb)?;
            let mut check = Check::new();
            check.max_len("input.reason", reason.as_deref().unwrap_or_default(), 1000);
            check.finish()?;
            let row = moved(&before, to, caller.user_id(), reason.as_deref());
            let row = match to {
                QuoteStatus::Viewed => {
                    write::update::<Quote, _>(tx, caller, &before, row, QuoteViewed::of).await?
                }
                QuoteStatus::Accepted => {
                    // The customer as it is (a client accepting cannot read customers).
                    let customer = find_in_tenant(tx, caller.tenant_id, row.customer_id).await?;
                    let items: Vec<QuoteItemData> = items(tx, caller.tenant_id, row.id)
                        .await?
                        .iter()
                        .map(QuoteItemData::from)
                        .collect();
                    let accepted = |r: &QuoteRow| QuoteAccepted {
                        quote: r.into(),
                        items: items.clone(),
                        location_id: customer.location(),
                    };
                    write::update::<Quote, _>(tx, caller, &before, row, accepted).await?
                }
                _ => {
                    let rejected = |r: &QuoteRow| QuoteRejected {
                        quote: r.into(),
                        reason: reason.clone(),
                    };
                    write::update::<Quote, _>(tx, caller, &before, row, rejected).await?
                }
            };
            Ok(row)
        })
        .await;
    QuotePayload::of(outcome)
}
