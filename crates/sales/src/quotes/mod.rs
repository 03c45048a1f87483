//! Quotes: priced offers to a customer, in revisions. A DRAFT can be edited; once SENT, a
//! change means a new revision (the old one stays readable). Quotes past `validUntil` expire on
//! their own; accepting one emits `sales.quote.accepted` (QuoteAccepted) for other domains.

pub mod events;
pub mod expiry;
pub mod mutations;
pub mod pricing;

use std::collections::HashMap;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::{User, load_user};
use switchyard_kernel::batch::Member;
use switchyard_kernel::connection::{Connection, PageArgs};
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::{HideUnless, Inherit, Require};
use switchyard_kernel::{Actor, Caller, Conn, ContextExt, Error, TenantId, UserId, db_run, time};

use crate::customers::{Customer, CustomerId, load_customer};
use crate::nested::Children;
use crate::permissions::{CUSTOMER_READ, QUOTE_COST_READ, QUOTE_READ};
use crate::schema::{customers, quote_items, quotes};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;

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

/// A row of `quotes`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = quotes)]
pub struct QuoteRow {
    pub id: QuoteId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub quote_group_id: String,
    pub number: String,
    pub revision: i32,
    pub status: QuoteStatus,
    pub currency: String,
    pub tax_rate_bp: i32,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub optional_minor: i64,
    pub cost_minor: Option<i64>,
    pub valid_until: NaiveDateTime,
    pub notes: String,
    pub terms: String,
    pub created_by: Actor,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub viewed_at: Option<NaiveDateTime>,
    pub accepted_at: Option<NaiveDateTime>,
    pub accepted_by: Option<UserId>,
    pub rejected_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
    pub expired_at: Option<NaiveDateTime>,
    pub superseded_by: Option<QuoteId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
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

/// A priced offer to a customer (one revision; a member of the page it was loaded with).
#[derive(Clone)]
pub struct Quote(pub(crate) Member<QuoteRow>);

#[Object(directive = Require::apply(QUOTE_READ))]
impl Quote {
    pub async fn id(&self) -> ID {
        self.0.row().id.to_global()
    }
    /// The quote's number, shared by its revisions (`Q-000042`).
    async fn number(&self) -> &str {
        &self.0.row().number
    }
    /// 1 for the first version; each revision adds one.
    async fn revision(&self) -> i32 {
        self.0.row().revision
    }
    async fn status(&self) -> QuoteStatus {
        self.0.row().status()
    }
    /// The customer, if you may see it.
    #[graphql(directive = Require::apply(CUSTOMER_READ))]
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        Ok(load_customer(ctx, self.0.row().customer_id).await?)
    }
    async fn currency(&self) -> &str {
        &self.0.row().currency
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
        let currency = &self.0.row().currency;
        let costs = self.costs_visible(ctx).await?;
        Ok(items
            .get(&self.0.row().id)
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
        self.0.row().money(self.0.row().subtotal_minor)
    }
    /// Tax rate in basis points, as it was when the quote was made.
    async fn tax_rate_basis_points(&self) -> i32 {
        self.0.row().tax_rate_bp
    }
    /// `subtotal × rate`, rounded half up to the minor unit.
    async fn tax(&self) -> Money {
        self.0.row().money(self.0.row().tax_minor)
    }
    /// `subtotal + tax`.
    async fn total(&self) -> Money {
        self.0.row().money(self.0.row().total_minor)
    }
    /// The sum of the optional lines (not in the total).
    async fn optional_total(&self) -> Money {
        self.0.row().money(self.0.row().optional_minor)
    }
    /// What the counted lines cost; null unless your cost permission reaches this quote (or
    /// no line has a cost).
    #[graphql(directive = HideUnless::apply(QUOTE_COST_READ))]
    async fn cost(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
        let row = self.0.row();
        Ok(self
            .costs_visible(ctx)
            .await?
            .then(|| row.cost_minor.map(|c| row.money(c)))
            .flatten())
    }
    /// `subtotal − cost`; null unless your cost permission reaches this quote.
    #[graphql(directive = HideUnless::apply(QUOTE_COST_READ))]
    async fn margin(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
        let row = self.0.row();
        Ok(self
            .costs_visible(ctx)
            .await?
            .then(|| row.cost_minor.map(|c| row.money(row.subtotal_minor - c)))
            .flatten())
    }
    async fn valid_until(&self) -> DateTime<Utc> {
        self.0.row().valid_until.and_utc()
    }
    async fn notes(&self) -> &str {
        &self.0.row().notes
    }
    async fn terms(&self) -> &str {
        &self.0.row().terms
    }
    /// The customer-portal user the quote is addressed to: its customer's portal user, as the
    /// customer is now.
    async fn recipient(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.customer_facts(ctx).await?.portal_user {
            Some(id) => Ok(load_user(ctx, id).await?),
            None => Ok(None),
        }
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.row().created_by.user() {
            Some(id) => Ok(load_user(ctx, id).await?),
            None => Ok(None),
        }
    }
    /// Whether a holder of `sales.quote:approve` approved this revision.
    async fn approved(&self) -> bool {
        self.0.row().approved_at.is_some()
    }
    async fn approved_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.row().approved_by {
            Some(id) => Ok(load_user(ctx, id).await?),
            None => Ok(None),
        }
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.row().approved_at.map(|t| t.and_utc())
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.row().sent_at.map(|t| t.and_utc())
    }
    async fn viewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.row().viewed_at.map(|t| t.and_utc())
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.row().accepted_at.map(|t| t.and_utc())
    }
    /// Who accepted: the client, or the staff member who recorded it.
    async fn accepted_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.row().accepted_by {
            Some(id) => Ok(load_user(ctx, id).await?),
            None => Ok(None),
        }
    }
    async fn rejected_at(&self) -> Option<DateTime<Utc>> {
        self.0.row().rejected_at.map(|t| t.and_utc())
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.row().rejection_reason.as_deref()
    }
    /// The revision that replaced this one.
    async fn superseded_by(&self) -> Option<ID> {
        self.0.row().superseded_by.map(|q| q.to_global())
    }
    /// Every revision of this quote, oldest first.
    async fn revisions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Quote>> {
        let caller = ctx.caller()?;
        let db = &ctx.services()?.db;
        // Boxed: a database round trip is a large future, and async-graphql sizes every
        // field's future of this type by its largest resolver (see `Siblings::batch`).
        let rows = Box::pin(async {
            let mut pooled = db.read().await?;
            revisions(&mut pooled.conn(), caller, &self.0.row().quote_group_id).await
        })
        .await?;
        Ok(Quote::all(rows))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row().created_at.and_utc()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.row().updated_at.and_utc()
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.row().version
    }
}

/// Quotes under their customer.
pub struct QuoteChildren;

impl Children for QuoteChildren {
    type Row = QuoteRow;
    const TABLE: &'static str = "quotes";
    const PARENT: &'static str = "customer_id";
    const MINE: &'static str = "created_by";
    const PERMISSION: &'static str = QUOTE_READ;
    const CLIENT: Option<&'static str> = Some("t.status <> 'DRAFT'");
    fn parent(row: &QuoteRow) -> String {
        row.customer_id.to_string()
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
    crate::nested::find::<QuoteChildren>(conn, caller, permission, &id.to_string()).await
}

async fn revisions(
    conn: &mut Conn<'_>,
    caller: &Caller,
    group: &str,
) -> Result<Vec<QuoteRow>, Error> {
    let mut rows: Vec<QuoteRow> = crate::nested::listing::<QuoteChildren>(
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

switchyard_kernel::node_type!(Quote, QuoteId);

impl Quote {
    pub async fn find(ctx: &Context<'_>, id: QuoteId) -> Result<Quote, Error> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(Quote::one(
            find(&mut pooled.conn(), caller, QUOTE_READ, id).await?,
        ))
    }

    /// A quote on its own.
    pub fn one(row: QuoteRow) -> Quote {
        Quote(Member::one(row))
    }

    /// Quotes loaded together.
    pub fn all(rows: Vec<QuoteRow>) -> Vec<Quote> {
        Member::all(rows).into_iter().map(Quote).collect()
    }

    pub fn row(&self) -> &QuoteRow {
        self.0.row()
    }

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

switchyard_kernel::filter! {
    /// Which quotes to list.
    pub struct QuoteFilter {
        customer_id: Id<CustomerId> = "customer_id",
        /// `Q-000042`.
        number: Text = "number",
        valid_until: Time = "valid_until",
        sent_at: Time = "sent_at",
    }
    extra {
        /// As a client sees it: an unanswered quote past its validity is EXPIRED, swept or not.
        status: Option<switchyard_kernel::read::EnumFilter<QuoteStatus>>,
        /// Leave out revisions that were superseded (the default); false to include them.
        latest_only: Option<bool>,
    }
}

switchyard_kernel::order! {
    /// How quotes are sorted.
    pub enum QuoteOrderField, QuoteOrder for QuoteRow {
        /// By creation (newest first by default).
        CreatedAt = id,
        /// By number, then revision order.
        Number = "number": number,
    }
    default CreatedAt Desc
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

impl QuoteFilter {
    /// The filter's condition, and latest revisions only unless the top level says otherwise.
    fn condition(&self, caller: &Caller) -> Result<Expr, Error> {
        let mut parts = vec![self.expr(caller)?];
        if self.latest_only.is_none() {
            parts.push(Expr::IsNull {
                column: "superseded_by",
                null: true,
            });
        }
        Ok(Expr::all(parts))
    }
}

#[derive(Default)]
pub struct QuoteQuery;

#[Object]
impl QuoteQuery {
    /// A quote by ID.
    #[graphql(directive = Require::apply(QUOTE_READ))]
    async fn quote(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Quote>> {
        Ok(Some(Quote::find(ctx, QuoteId::parse(&id)?).await?))
    }

    /// Quotes the caller may see (a client: those addressed to them), newest first.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(QUOTE_READ))]
    #[allow(clippy::too_many_arguments)]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<QuoteFilter>,
        order_by: Option<QuoteOrder>,
    ) -> async_graphql::Result<Connection<Quote>> {
        let order = QuoteOrder::or_default(order_by);
        let caller = ctx.caller()?;
        let filter = filter.unwrap_or_default().condition(caller)?;
        let listing = crate::nested::listing::<QuoteChildren>(
            ctx.caller()?,
            QUOTE_READ,
            filter,
            order.order(),
        )?;
        let args = PageArgs::new(first, after, last, before);
        Ok(listing
            .connection(
                &ctx.services()?.db,
                &args,
                order.arity(),
                |r| order.cursor(r),
                Quote::all,
            )
            .await?)
    }
}
