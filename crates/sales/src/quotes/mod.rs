//! Quotes: priced offers to a customer, in revisions. A DRAFT can be edited; once SENT, a
//! change means a new revision (the old one stays readable). Quotes past `validUntil` expire on
//! their own; accepting one emits `sales.quote.accepted` (QuoteAccepted) for other domains.

pub mod events;
pub mod expiry;
pub mod mutations;
pub mod pricing;

use std::collections::HashMap;

use async_graphql::{Context, Object};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::User;
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::{HideUnless, Inherit};
use switchyard_kernel::{Actor, Caller, Conn, ContextExt, Error, TenantId, UserId, db_run, time};

use crate::customers::{Customer, CustomerId};
use crate::permissions::{QUOTE_COST_READ, QUOTE_READ};
use crate::schema::{customers, quote_items};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::plan::{Column, Kind, Shape};
use switchyard_kernel::read::{Expr, Ordering, aggregate};

pub use crate::ids::QuoteId;

switchyard_kernel::text_enum! {
    /// Where a quote stands.
    pub enum QuoteStatus {
        /// Being prepared; editable.
        Draft = "DRAFT",
        /// Sent to the customer.
        Sent = "SENT",
        /// The customer opened it.
        Viewed = "VIEWED",
        /// The customer said yes.
        Accepted = "ACCEPTED",
        /// The customer said no.
        Rejected = "REJECTED",
        /// `validUntil` passed before an answer.
        Expired = "EXPIRED",
        /// Turned into a job.
        Converted = "CONVERTED",
    }
}

switchyard_kernel::text_enum! {
    /// What a quote line is for.
    pub enum QuoteItemCategory {
        MovingServices = "MOVING_SERVICES",
        StorageServices = "STORAGE_SERVICES",
        PackingServices = "PACKING_SERVICES",
        SpecialtyServices = "SPECIALTY_SERVICES",
        EquipmentRental = "EQUIPMENT_RENTAL",
        Insurance = "INSURANCE",
        Other = "OTHER",
    }
}

/// The quotes `caller` reaches with `permission`: those of the customers it reaches and those
/// it created; a customer-portal client, those of the customer it represents now, never a
/// DRAFT.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    crate::scope::child_scope(
        caller,
        permission,
        "created_by",
        Some("t.status <> 'DRAFT'"),
        None,
    )
}

switchyard_kernel::aggregate! {
    /// A priced offer to a customer (one revision).
    #[aggregate(
        table = crate::schema::quotes,
        id = QuoteId,
        read = QUOTE_READ,
        scope = scope,
        order(created_at, desc),
        lines(name = items, shape = ITEM_SHAPE, by = quote_id, order = sort_order),
        one(name = quote, doc = "A quote by ID."),
        changed(name = quote_changed, doc = "A quote (or, with `id`, that quote) as it is after each change you may see; a client\nsees the quotes addressed to them."),
        list(
            name = quotes,
            doc = "Quotes the caller may see (a client: those addressed to them), newest first.",
            defaults = latest_unless_asked,
        ),
    )]
    pub struct Quote {
        /// The customer, if you may see it.
        #[field(to_one = Customer, guard, filter)]
        customer_id: CustomerId,
        #[field(hidden)]
        quote_group_id: String,
        /// The quote's number, shared by its revisions (`Q-000042`).
        #[field(filter, order = Number)]
        number: String,
        /// 1 for the first version; each revision adds one.
        revision: i32,
        #[field(hidden)]
        status: QuoteStatus,
        currency: String,
        /// Tax rate in basis points, as it was when the quote was made.
        #[field(name = "tax_rate_basis_points")]
        tax_rate_bp: i32,
        #[field(hidden)]
        subtotal_minor: i64,
        #[field(hidden)]
        tax_minor: i64,
        #[field(hidden)]
        total_minor: i64,
        #[field(hidden)]
        optional_minor: i64,
        #[field(hidden)]
        cost_minor: Option<i64>,
        #[field(filter)]
        valid_until: NaiveDateTime,
        notes: String,
        terms: String,
        #[field(hidden)]
        created_by: Actor,
        #[field(to_one = User)]
        approved_by: Option<UserId>,
        approved_at: Option<NaiveDateTime>,
        #[field(filter)]
        sent_at: Option<NaiveDateTime>,
        viewed_at: Option<NaiveDateTime>,
        accepted_at: Option<NaiveDateTime>,
        /// Who accepted: the client, or the staff member who recorded it.
        #[field(to_one = User)]
        accepted_by: Option<UserId>,
        rejected_at: Option<NaiveDateTime>,
        rejection_reason: Option<String>,
        #[field(hidden)]
        expired_at: Option<NaiveDateTime>,
        /// The revision that replaced this one.
        superseded_by: Option<QuoteId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        version: i32,
    }

    pub struct QuoteFilter {
        /// As a client sees it: an unanswered quote past its validity is EXPIRED, swept or not.
        status: Option<switchyard_kernel::read::EnumFilter<QuoteStatus>>,
        /// Leave out revisions that were superseded (the default); false to include them.
        latest_only: Option<bool>,
    }

    impl Quote {
        async fn status(&self) -> QuoteStatus {
            self.row().status()
        }
        /// The lines, in order.
        async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuoteItem>> {
            let items = self
                .0
                .siblings()
                .batch("items", |rows| {
                    let ids: Vec<QuoteId> = rows.iter().map(|r| r.id).collect();
                    items_of(ctx, ids)
                })
                .await?;
            let currency = &self.row().currency;
            let costs = self.costs_visible(ctx).await?;
            Ok(items
                .get(&self.row().id)
                .map(|rows| {
                    rows.iter()
                        .map(|row| QuoteItem {
                            row: row.clone(),
                            currency: currency.clone(),
                            costs,
                        })
                        .collect()
                })
                .unwrap_or_default())
        }
        /// The sum of the non-optional lines.
        async fn subtotal(&self) -> Money {
            self.row().money(self.row().subtotal_minor)
        }
        /// `subtotal × rate`, rounded half up to the minor unit.
        async fn tax(&self) -> Money {
            self.row().money(self.row().tax_minor)
        }
        /// `subtotal + tax`.
        async fn total(&self) -> Money {
            self.row().money(self.row().total_minor)
        }
        /// The sum of the optional lines (not in the total).
        async fn optional_total(&self) -> Money {
            self.row().money(self.row().optional_minor)
        }
        /// What the counted lines cost; null unless your cost permission reaches this quote (or
        /// no line has a cost).
        #[graphql(directive = HideUnless::apply(QUOTE_COST_READ))]
        async fn cost(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
            let row = self.row();
            Ok(self
                .costs_visible(ctx)
                .await?
                .then(|| row.cost_minor.map(|c| row.money(c)))
                .flatten())
        }
        /// `subtotal − cost`; null unless your cost permission reaches this quote.
        #[graphql(directive = HideUnless::apply(QUOTE_COST_READ))]
        async fn margin(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
            let row = self.row();
            Ok(self
                .costs_visible(ctx)
                .await?
                .then(|| row.cost_minor.map(|c| row.money(row.subtotal_minor - c)))
                .flatten())
        }
        /// The customer-portal user the quote is addressed to: its customer's portal user, as
        /// the customer is now.
        async fn recipient(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
            let Some(id) = self.customer_facts(ctx).await?.portal_user else {
                return Ok(None);
            };
            let caller = ctx.caller()?;
            let mut found = aggregate::load::<User>(&ctx.services()?.db, caller, vec![id]).await?;
            Ok(found.remove(&id))
        }
        async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
            Ok(aggregate::to_one::<User, Self>(ctx, self, "created_by", |r| r.created_by.user()).await?)
        }
        /// Whether a holder of `sales.quote:approve` approved this revision.
        async fn approved(&self) -> bool {
            self.row().approved_at.is_some()
        }
        /// Every revision of this quote, oldest first.
        async fn revisions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Quote>> {
            let caller = ctx.caller()?;
            let db = &ctx.services()?.db;
            // Boxed: a database round trip is a large future, and async-graphql sizes every
            // field's future of this type by its largest resolver (see `Siblings::batch`).
            let rows = Box::pin(async {
                let mut pooled = db.read().await?;
                revisions(&mut pooled.conn(), caller, &self.row().quote_group_id).await
            })
            .await?;
            Ok(Quote::all(rows))
        }
    }
}

impl QuoteRow {
    /// The status as the customer would see it now: an unanswered quote past its validity is
    /// EXPIRED even before the expiry sweep has written it down.
    pub fn status(&self) -> QuoteStatus {
        match self.status {
            QuoteStatus::Sent | QuoteStatus::Viewed if self.valid_until <= time::now() => {
                QuoteStatus::Expired
            }
            other => other,
        }
    }

    fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.currency.clone())
    }
}

/// A row of `quote_items`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quote_items)]
pub struct ItemRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub quote_id: QuoteId,
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub unit_cost_minor: Option<i64>,
    pub category: QuoteItemCategory,
    pub optional: bool,
    pub sort_order: i32,
    pub line_total_minor: i64,
}

/// A quote's lines as the query planner reads them (`Quote.items`): the plain fields of
/// [`QuoteItem`]; its money fields are answered by the resolvers.
pub static ITEM_SHAPE: Shape = Shape {
    type_name: "QuoteItem",
    table: "quote_items",
    read: QUOTE_READ,
    scope: None,
    owner: (None, None),
    columns: &[
        Column {
            name: "description",
            column: "description",
            kind: Kind::Text,
            hide_unless: None,
        },
        Column {
            name: "quantity",
            column: "quantity",
            kind: Kind::Int,
            hide_unless: None,
        },
        Column {
            name: "category",
            column: "category",
            kind: Kind::Text,
            hide_unless: None,
        },
        Column {
            name: "optional",
            column: "optional",
            kind: Kind::Bool,
            hide_unless: None,
        },
        Column {
            name: "sortOrder",
            column: "sort_order",
            kind: Kind::Int,
            hide_unless: None,
        },
    ],
    to_one: &[],
    nested: &[],
    lines: &[],
    list: None,
    one: None,
};

/// A line of a quote.
pub struct QuoteItem {
    row: ItemRow,
    currency: String,
    /// Whether the caller's cost permission reaches the quote.
    costs: bool,
}

#[Object(directive = Inherit::apply())]
impl QuoteItem {
    async fn description(&self) -> &str {
        &self.row.description
    }
    async fn quantity(&self) -> i32 {
        self.row.quantity
    }
    async fn unit_price(&self) -> Money {
        Money::new(self.row.unit_price_minor, self.currency.clone())
    }
    /// What the line costs the tenant; null unless your cost permission reaches the quote.
    #[graphql(directive = HideUnless::apply(QUOTE_COST_READ))]
    async fn unit_cost(&self) -> Option<Money> {
        self.row
            .unit_cost_minor
            .filter(|_| self.costs)
            .map(|c| Money::new(c, self.currency.clone()))
    }
    async fn category(&self) -> QuoteItemCategory {
        self.row.category
    }
    /// Offered but not counted in the totals.
    async fn optional(&self) -> bool {
        self.row.optional
    }
    async fn sort_order(&self) -> i32 {
        self.row.sort_order
    }
    /// `quantity × unitPrice`.
    async fn line_total(&self) -> Money {
        Money::new(self.row.line_total_minor, self.currency.clone())
    }
}

/// What a quote needs to know of its customer, as the customer is now: whom the quote is
/// addressed to (its portal user) and to whom it belongs (assignee, location: the rows a
/// scoped permission such as `sales.quote_cost:read` reaches). Not scoped by the caller's
/// customer access: the caller reached the quote, and these are facts of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerFacts {
    portal_user: Option<UserId>,
    assignee: Option<UserId>,
    location: Option<switchyard_kernel::LocationId>,
}

/// The facts of the customers of quotes loaded together, in one statement.
async fn customer_facts(
    ctx: &Context<'_>,
    customers_of: Vec<CustomerId>,
) -> Result<HashMap<CustomerId, CustomerFacts>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    type Row = (CustomerId, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = db_run!(&mut conn, |c| customers::table
        .filter(customers::tenant_id.eq(tenant))
        .filter(customers::id.eq_any(&customers_of))
        .select((
            customers::id,
            customers::portal_user_id,
            customers::assigned_to,
            customers::location_id,
        ))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, portal, assignee, location)| {
            let parse = |v: Option<String>| v.and_then(|v| v.parse().ok());
            (
                id,
                CustomerFacts {
                    portal_user: parse(portal),
                    assignee: parse(assignee),
                    location: location.and_then(|l| l.parse().ok()),
                },
            )
        })
        .collect())
}

pub(crate) async fn find(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: QuoteId,
) -> Result<QuoteRow, Error> {
    aggregate::find_in::<Quote>(conn, caller, permission, id).await
}

async fn revisions(
    conn: &mut Conn<'_>,
    caller: &Caller,
    group: &str,
) -> Result<Vec<QuoteRow>, Error> {
    let mut rows: Vec<QuoteRow> = aggregate::listing::<Quote>(
        caller,
        QUOTE_READ,
        Expr::Cmp {
            column: "quote_group_id",
            op: "=",
            value: group.into(),
        },
        QuoteOrder::default().order(),
    )?
    .page(conn, &switchyard_kernel::Bounds::all())
    .await?;
    rows.sort_by_key(|r| r.revision);
    Ok(rows)
}

impl Quote {
    /// Its customer's facts, loaded for every quote of its sibling set at once.
    async fn customer_facts(&self, ctx: &Context<'_>) -> Result<CustomerFacts, Error> {
        let facts = self
            .0
            .siblings()
            .batch("customer_facts", |rows| {
                let ids: Vec<CustomerId> = rows.iter().map(|r| r.customer_id).collect();
                customer_facts(ctx, ids)
            })
            .await?;
        Ok(facts
            .get(&self.0.row().customer_id)
            .cloned()
            .unwrap_or_default())
    }

    /// Whether the caller's `sales.quote_cost:read` reaches this quote at its scope, as
    /// `sales.quote:read` reaches quotes: its author, or its customer within the scope.
    async fn costs_visible(&self, ctx: &Context<'_>) -> Result<bool, Error> {
        let caller = ctx.caller()?;
        let scope = match caller.row_scope(QUOTE_COST_READ) {
            Ok(scope) => scope,
            Err(_) => return Ok(false),
        };
        if scope == switchyard_kernel::RowScope::Tenant
            || caller
                .user_id()
                .is_some_and(|me| Actor::User(me) == self.0.row().created_by)
        {
            return Ok(true);
        }
        let facts = self.customer_facts(ctx).await?;
        Ok(scope.reaches(facts.assignee, facts.location))
    }
}

/// The items of quotes, in order, in one statement.
async fn items_of(
    ctx: &Context<'_>,
    ids: Vec<QuoteId>,
) -> Result<HashMap<QuoteId, Vec<ItemRow>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<ItemRow> = db_run!(&mut conn, |c| quote_items::table
        .filter(quote_items::tenant_id.eq(tenant))
        .filter(quote_items::quote_id.eq_any(&ids))
        .order((
            quote_items::quote_id.asc(),
            quote_items::sort_order.asc(),
            quote_items::id.asc()
        ))
        .select(ItemRow::as_select())
        .load(c)
        .await)?;
    let mut out: HashMap<QuoteId, Vec<ItemRow>> = HashMap::new();
    for row in rows {
        out.entry(row.quote_id).or_default().push(row);
    }
    Ok(out)
}

/// The condition of a status as it reads now (see [`QuoteRow::status`]).
fn status_is(status: QuoteStatus) -> Expr {
    let mut sql = Sql::new("");
    match status {
        QuoteStatus::Expired => {
            sql.push(
                "t.status = 'EXPIRED' OR (t.status IN ('SENT', 'VIEWED') AND t.valid_until <= ",
            )
            .bind(time::now())
            .push(")");
        }
        QuoteStatus::Sent | QuoteStatus::Viewed => {
            sql.push("t.status = ")
                .bind(status.as_str())
                .push(" AND t.valid_until > ")
                .bind(time::now());
        }
        other => {
            sql.push("t.status = ").bind(other.as_str());
        }
    }
    Expr::Sql(sql)
}

impl switchyard_kernel::read::FilterExtra for QuoteFilter {
    fn extra(&self, _caller: &Caller) -> Result<Vec<Expr>, Error> {
        let mut parts = Vec::new();
        if self.latest_only == Some(true) {
            parts.push(Expr::IsNull {
                column: "superseded_by",
                null: true,
            });
        }
        if let Some(status) = &self.status {
            if let Some(eq) = status.eq {
                parts.push(status_is(eq));
            }
            if let Some(any) = &status.any_of {
                parts.push(Expr::Or(any.iter().map(|s| status_is(*s)).collect()));
            }
            if let Some(null) = status.is_null {
                parts.push(Expr::IsNull {
                    column: "status",
                    null,
                });
            }
        }
        Ok(parts)
    }
}

/// Latest revisions only, unless the filter's top level asks about `latestOnly`.
fn latest_unless_asked(filter: &QuoteFilter, _caller: &Caller) -> Result<Vec<Expr>, Error> {
    Ok(match filter.latest_only {
        Some(_) => Vec::new(),
        None => vec![Expr::IsNull {
            column: "superseded_by",
            null: true,
        }],
    })
}
