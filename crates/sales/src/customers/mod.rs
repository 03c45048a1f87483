//! Customers: people or companies a tenant sells to, with their place in the pipeline.

pub mod events;
pub mod mutations;
pub mod stage;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::{Location, User, load_locations, load_users};
use switchyard_kernel::address::Address;
use switchyard_kernel::batch::{Member, Siblings};
use switchyard_kernel::connection::{Connection, PageArgs};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::{HideUnless, Inherit, Require};
use switchyard_kernel::read::{Expr, Listing};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LoaderEnv, LocationId, RequestLoader, RowScope, TenantId,
    UserId, db_run,
};

use crate::activities::{ActivityChildren, ActivityRow, SalesActivity};
use crate::leads::{Lead, LeadChildren, LeadRow};
use crate::nested_connection;
use crate::permissions::{
    ACTIVITY_READ, CUSTOMER_CONTACT_READ, CUSTOMER_READ, LEAD_READ, QUOTE_READ, TASK_READ,
};
use crate::quotes::{Quote, QuoteChildren, QuoteRow};
use crate::schema::{customer_stage_history, customers};
use crate::tasks::{Task, TaskChildren, TaskRow};
pub use stage::CustomerStage;

switchyard_kernel::id_type!(
    /// A customer.
    CustomerId,
    "Customer"
);

/// A row of `customers`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = customers)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub location_id: Option<LocationId>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_search: String,
    pub search_text: String,
    pub name_search: String,
    pub address: Option<String>,
    pub lead_source: Option<String>,
    pub tags: String,
    pub assigned_to: Option<UserId>,
    pub portal_user_id: Option<UserId>,
    pub estimated_value_minor: Option<i64>,
    pub currency: Option<String>,
    pub notes: String,
    pub active: bool,
    pub stage: CustomerStage,
    pub stage_changed_at: NaiveDateTime,
    pub merged_into: Option<CustomerId>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl CustomerRow {
    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
    pub fn assignee(&self) -> Option<UserId> {
        self.assigned_to
    }
    pub fn portal_user(&self) -> Option<UserId> {
        self.portal_user_id
    }
    pub fn location(&self) -> Option<LocationId> {
        self.location_id
    }
    pub fn stage(&self) -> CustomerStage {
        self.stage
    }
}

/// A person or company the tenant sells to (a member of the page it was loaded with).
#[derive(Clone)]
pub struct Customer(pub(crate) Member<CustomerRow>);

/// One move along the pipeline.
#[derive(SimpleObject, Clone)]
#[graphql(directive = Inherit::apply())]
pub struct StageChange {
    /// Null for the first stage.
    pub from: Option<CustomerStage>,
    pub to: CustomerStage,
    pub reason: Option<String>,
    pub changed_by: Option<ID>,
    pub changed_at: DateTime<Utc>,
}

#[Object(directive = Require::apply(CUSTOMER_READ))]
impl Customer {
    pub async fn id(&self) -> ID {
        self.0.row().id.to_global()
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.row().first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.row().last_name.as_deref()
    }
    async fn company_name(&self) -> Option<&str> {
        self.0.row().company_name.as_deref()
    }
    /// The company name, or the first and last name.
    async fn display_name(&self) -> &str {
        &self.0.row().display_name
    }
    /// Lower-cased; unique within the tenant. Null for callers whose contact permission does
    /// not reach this customer.
    #[graphql(directive = HideUnless::apply(CUSTOMER_CONTACT_READ))]
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.contact(ctx, &self.0.row().email)
    }
    /// E.164 (`+46701234567`); unique within the tenant. Null for callers whose contact
    /// permission does not reach this customer.
    #[graphql(directive = HideUnless::apply(CUSTOMER_CONTACT_READ))]
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        self.contact(ctx, &self.0.row().phone)
    }
    async fn address(&self) -> Option<Address> {
        self.0.row().address.as_deref().and_then(Address::from_json)
    }
    /// Where the customer came from: website, referral, trade show...
    async fn lead_source(&self) -> Option<&str> {
        self.0.row().lead_source.as_deref()
    }
    async fn tags(&self) -> Vec<String> {
        self.0.row().tags()
    }
    /// The sales rep responsible.
    async fn assigned_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.row().assignee() else {
            return Ok(None);
        };
        let users = self
            .0
            .siblings()
            .batch("assignees", |rows| {
                let ids: Vec<UserId> = rows.iter().filter_map(CustomerRow::assignee).collect();
                load_users(ctx, ids)
            })
            .await?;
        Ok(users.get(&id).cloned())
    }
    /// The customer-portal user who acts for this customer: quotes are addressed to them.
    async fn portal_user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.row().portal_user() {
            Some(id) => Ok(switchyard_identity::load_user(ctx, id).await?),
            None => Ok(None),
        }
    }
    /// The location serving the customer.
    async fn location(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Location>> {
        let Some(id) = self.0.row().location() else {
            return Ok(None);
        };
        let locations = self
            .0
            .siblings()
            .batch("locations", |rows| {
                let ids: Vec<LocationId> = rows.iter().filter_map(CustomerRow::location).collect();
                load_locations(ctx, ids)
            })
            .await?;
        Ok(locations.get(&id).cloned())
    }
    /// What the customer is expected to be worth.
    async fn estimated_value(&self) -> Option<Money> {
        match (self.0.row().estimated_value_minor, &self.0.row().currency) {
            (Some(v), Some(c)) => Some(Money::new(v, c.clone())),
            _ => None,
        }
    }
    async fn notes(&self) -> &str {
        &self.0.row().notes
    }
    /// False once merged into another customer or retired.
    async fn active(&self) -> bool {
        self.0.row().active
    }
    /// Where the customer stands in the pipeline.
    async fn stage(&self) -> CustomerStage {
        self.0.row().stage()
    }
    async fn stage_changed_at(&self) -> DateTime<Utc> {
        self.0.row().stage_changed_at.and_utc()
    }
    /// Every move along the pipeline, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StageChange>> {
        let histories = self
            .0
            .siblings()
            .batch("stage_history", |rows| {
                let ids: Vec<CustomerId> = rows.iter().map(|r| r.id).collect();
                stage_histories(ctx, ids)
            })
            .await?;
        Ok(histories.get(&self.0.row().id).cloned().unwrap_or_default())
    }
    /// The customer this one was merged into.
    async fn merged_into(&self) -> Option<ID> {
        self.0.row().merged_into.map(|m| m.to_global())
    }
    /// The customer's leads, newest first.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(LEAD_READ))]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Lead>> {
        nested_connection!(
            ctx,
            self.0,
            LeadChildren,
            |set: &Arc<Siblings<LeadRow>>, i: usize| Lead(set.rows()[i].clone()),
            first,
            after,
            last,
            before
        )
    }
    /// Calls, emails, meetings... newest first.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(ACTIVITY_READ))]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<SalesActivity>> {
        nested_connection!(
            ctx,
            self.0,
            ActivityChildren,
            |set: &Arc<Siblings<ActivityRow>>, i: usize| SalesActivity(set.rows()[i].clone()),
            first,
            after,
            last,
            before
        )
    }
    /// Quotes (every revision), newest first.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(QUOTE_READ))]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Quote>> {
        nested_connection!(
            ctx,
            self.0,
            QuoteChildren,
            |set: &Arc<Siblings<QuoteRow>>, i: usize| Quote(Member::of(set, i)),
            first,
            after,
            last,
            before
        )
    }
    /// Tasks about this customer, newest first.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(TASK_READ))]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Task>> {
        nested_connection!(
            ctx,
            self.0,
            TaskChildren,
            |set: &Arc<Siblings<TaskRow>>, i: usize| Task(set.rows()[i].clone()),
            first,
            after,
            last,
            before
        )
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

switchyard_kernel::node_type!(Customer, CustomerId);

impl Customer {
    pub fn row(&self) -> &CustomerRow {
        self.0.row()
    }

    /// A customer on its own.
    pub fn one(row: CustomerRow) -> Customer {
        Customer(Member::one(row))
    }

    /// Customers loaded together.
    pub fn all(rows: Vec<CustomerRow>) -> Vec<Customer> {
        Member::all(rows).into_iter().map(Customer).collect()
    }

    /// A customer by ID as the caller may see it, or NOT_FOUND.
    pub async fn find(ctx: &Context<'_>, id: CustomerId) -> Result<Customer, Error> {
        let caller = ctx.caller()?;
        caller.require(CUSTOMER_READ)?;
        ctx.loader::<CustomerById>()?
            .load_one((caller.tenant_id, id))
            .await?
            .map(Customer::one)
            .ok_or(Error::NotFound)
    }
}

/// The customers a row scope reaches, filtered and ordered.
pub(crate) fn listing(
    tenant: TenantId,
    scope: &RowScope,
    filter: Expr,
    order: switchyard_kernel::read::Order,
) -> Listing {
    Listing {
        table: "customers",
        tenant,
        scope: crate::scope::customer_scope(scope),
        filter,
        order,
    }
}

/// A customer within a row scope (NOT_FOUND-worthy `None` otherwise).
pub(crate) async fn find_scoped(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    scope: &RowScope,
    id: CustomerId,
) -> Result<Option<CustomerRow>, Error> {
    listing(tenant, scope, Expr::True, CustomerOrder::default().order())
        .one(conn, &id.to_string())
        .await
}

/// Customers by ID, as the caller's `sales.customer:read` scope reaches them (a relation to a
/// customer out of reach reads as null).
pub struct CustomerById(LoaderEnv);

impl RequestLoader for CustomerById {
    fn new(env: &LoaderEnv) -> Self {
        CustomerById(env.clone())
    }
}

impl async_graphql::dataloader::Loader<(TenantId, CustomerId)> for CustomerById {
    type Value = CustomerRow;
    type Error = Error;

    async fn load(
        &self,
        keys: &[(TenantId, CustomerId)],
    ) -> Result<HashMap<(TenantId, CustomerId), CustomerRow>, Error> {
        let tenant = self.0.caller.tenant_id;
        let Ok(scope) = self.0.caller.row_scope(CUSTOMER_READ) else {
            return Ok(HashMap::new());
        };
        let ids: Vec<CustomerId> = keys
            .iter()
            .filter(|(t, _)| *t == tenant)
            .map(|(_, c)| *c)
            .collect();
        let by_ids = Expr::In {
            column: "id",
            values: ids.iter().map(ToString::to_string).collect(),
        };
        let mut pooled = self.0.db.read().await?;
        let rows: Vec<CustomerRow> =
            listing(tenant, &scope, by_ids, CustomerOrder::default().order())
                .page(&mut pooled.conn(), &switchyard_kernel::Bounds::all())
                .await?;
        Ok(rows.into_iter().map(|r| ((r.tenant_id, r.id), r)).collect())
    }
}

/// Resolves a customer reference for other types and domains.
pub async fn load_customer(ctx: &Context<'_>, id: CustomerId) -> Result<Option<Customer>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    Ok(ctx
        .loader::<CustomerById>()?
        .load_one((tenant, id))
        .await?
        .map(Customer::one))
}

/// The stage histories of customers, in one statement.
async fn stage_histories(
    ctx: &Context<'_>,
    ids: Vec<CustomerId>,
) -> Result<HashMap<CustomerId, Vec<StageChange>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    type Row = (
        CustomerId,
        Option<CustomerStage>,
        CustomerStage,
        Option<String>,
        Option<String>,
        NaiveDateTime,
    );
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<Row> = db_run!(&mut conn, |c| customer_stage_history::table
        .filter(customer_stage_history::tenant_id.eq(tenant))
        .filter(customer_stage_history::customer_id.eq_any(&ids))
        .order(customer_stage_history::id.asc())
        .select((
            customer_stage_history::customer_id,
            customer_stage_history::from_stage,
            customer_stage_history::to_stage,
            customer_stage_history::reason,
            customer_stage_history::changed_by,
            customer_stage_history::changed_at,
        ))
        .load(c)
        .await)?;
    let mut out: HashMap<CustomerId, Vec<StageChange>> = HashMap::new();
    for (customer, from, to, reason, by, at) in rows {
        out.entry(customer).or_default().push(StageChange {
            from,
            to,
            reason,
            changed_by: by
                .and_then(|b| b.parse::<UserId>().ok())
                .map(|u| u.to_global()),
            changed_at: at.and_utc(),
        });
    }
    Ok(out)
}

switchyard_kernel::filter! {
    /// Which customers to list.
    pub struct CustomerFilter {
        display_name: Text = "display_name",
        stage: Enum<CustomerStage> = "stage",
        /// The responsible sales rep.
        assigned_to_id: Id<UserId> = "assigned_to",
        location_id: Id<LocationId> = "location_id",
        /// Active customers only unless given (`eq: false`: inactive ones only).
        active: Bool = "active",
    }
    extra {
        /// Customers carrying this tag.
        tag: Option<String>,
    }
}

switchyard_kernel::order! {
    /// How customers are sorted.
    pub enum CustomerOrderField, CustomerOrder for CustomerRow {
        /// By display name.
        Name = "display_name": display_name,
        /// Creation order.
        CreatedAt = id,
    }
    default Name Asc
}

impl CustomerFilter {
    /// The declared fields' condition, the tag, and active customers only unless asked.
    fn condition(&self) -> Result<Expr, Error> {
        let mut parts = vec![self.expr()?];
        if self.active.is_none() {
            parts.push(Expr::Cmp {
                column: "active",
                op: "=",
                value: true.into(),
            });
        }
        if let Some(tag) = self.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            // Tags are stored lower-case as a JSON array; match the quoted tag.
            let quoted = serde_json::to_string(&tag.to_lowercase()).unwrap_or_default();
            let mut sql = Sql::new("t.tags LIKE ");
            sql.bind(switchyard_kernel::validate::like_contains(&quoted))
                .push(" ESCAPE '\\'");
            parts.push(Expr::Sql(sql));
        }
        Ok(Expr::all(parts))
    }
}

impl Customer {
    /// A contact detail, when the caller's contact permission reaches this customer at its
    /// scope (the field rule says whether the caller holds it at all; this says for which
    /// rows): a rep with tenant-wide read but `own` contact rights sees their own customers'.
    fn contact<'a>(&self, ctx: &Context<'_>, value: &'a Option<String>) -> Option<&'a str> {
        let row = self.0.row();
        ctx.caller()
            .is_ok_and(|c| c.reaches(CUSTOMER_CONTACT_READ, row.assignee(), row.location()))
            .then_some(value.as_deref())
            .flatten()
    }
}

/// Words of a search, safe for both full-text syntaxes.
fn search_words(term: &str) -> Vec<String> {
    let mut words: Vec<String> = term
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(switchyard_kernel::validate::fold)
        .take(8)
        .collect();
    if let Some(digits) = crate::phone::search_digits(term) {
        words = vec![digits];
    }
    words
}

/// Customers matching every word of a search (`search` in the stored words: names, email words,
/// phone numbers; the full-text index of each backend). Where the caller's contact scope
/// does not reach a customer, every word must also be in its name: nobody finds a customer
/// by an email or phone they may not see.
fn search(term: &str, contact: Option<&RowScope>) -> Expr {
    let words = search_words(term);
    if words.is_empty() {
        return Expr::Sql(Sql::new("1 = 0"));
    }
    let mut pg = Sql::new("t.search @@ to_tsquery('simple', ");
    pg.bind(
        words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    )
    .push(")");
    let mut sqlite =
        Sql::new("t.id IN (SELECT customer_id FROM customers_fts WHERE customers_fts MATCH ");
    sqlite
        .bind(
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .push(")");
    let mut fts = Sql::new("");
    fts.either(pg, sqlite);
    let mut parts = vec![Expr::Sql(fts)];
    if contact != Some(&RowScope::Tenant) {
        // AND over the words of (in the contact scope OR the name has the word) is: in the
        // contact scope, or the name has every word.
        let in_scope = contact.map(crate::scope::customer_scope);
        for word in &words {
            let name = Expr::Contains {
                column: "name_search",
                term: word.clone(),
            };
            parts.push(match &in_scope {
                Some(scope) => Expr::Or(vec![scope.clone(), name]),
                None => name,
            });
        }
    }
    Expr::all(parts)
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// A customer by ID.
    #[graphql(directive = Require::apply(CUSTOMER_READ))]
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Customer>> {
        // One object at the root: straight to the database, without the loader's batching
        // window (`node(id:)` and `nodes(ids:)` go through the loader and batch).
        let id = CustomerId::parse(&id)?;
        let caller = ctx.caller()?;
        let scope = caller.row_scope(CUSTOMER_READ)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let row = find_scoped(&mut pooled.conn(), caller.tenant_id, &scope, id).await?;
        Ok(Some(row.map(Customer::one).ok_or(Error::NotFound)?))
    }

    /// Customers the caller may see. `search` matches words of the name and email, and phone
    /// numbers in national or international form.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(CUSTOMER_READ))]
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search: Option<String>,
        filter: Option<CustomerFilter>,
        order_by: Option<CustomerOrder>,
    ) -> async_graphql::Result<Connection<Customer>> {
        let caller = ctx.caller()?;
        let order = CustomerOrder::or_default(order_by);
        let mut parts = vec![filter.unwrap_or_default().condition()?];
        if let Some(term) = switchyard_kernel::validate::search_term("search", search)? {
            parts.push(self::search(
                &term,
                caller.row_scope(CUSTOMER_CONTACT_READ).ok().as_ref(),
            ));
        }
        let listing = listing(
            caller.tenant_id,
            &caller.row_scope(CUSTOMER_READ)?,
            Expr::all(parts),
            order.order(),
        );
        let args = PageArgs::new(first, after, last, before);
        Ok(listing
            .connection(
                &ctx.services()?.db,
                &args,
                order.arity(),
                |r| order.cursor(r),
                Customer::all,
            )
            .await?)
    }

    /// Active customers that may be the same as this one: the same name (ignoring case), or
    /// the same street address and postal code.
    #[graphql(directive = Require::apply(CUSTOMER_READ))]
    async fn possible_duplicates(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
    ) -> async_graphql::Result<Vec<Customer>> {
        let caller = ctx.caller()?;
        let scope = caller.row_scope(CUSTOMER_READ)?;
        let id = CustomerId::parse(&customer_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let me = find_scoped(&mut conn, caller.tenant_id, &scope, id)
            .await?
            .ok_or(Error::NotFound)?;
        let name = me.display_name.to_lowercase();
        let address = me.address.as_deref().and_then(Address::from_json);
        // The same name, or the street and postal code both in the address; refined below.
        let mut same = Sql::new("LOWER(t.display_name) = ");
        same.bind(name.clone());
        if let Some(a) = &address {
            same.push(" OR (t.address LIKE ")
                .bind(switchyard_kernel::validate::like_contains(&a.line1))
                .push(" ESCAPE '\\' AND t.address LIKE ")
                .bind(switchyard_kernel::validate::like_contains(&a.postal_code))
                .push(" ESCAPE '\\')");
        }
        let filter = Expr::all(vec![
            Expr::Cmp {
                column: "id",
                op: "<>",
                value: id.to_string().into(),
            },
            Expr::Cmp {
                column: "active",
                op: "=",
                value: true.into(),
            },
            Expr::Sql(same),
        ]);
        let by_id = CustomerOrder {
            field: CustomerOrderField::CreatedAt,
            direction: switchyard_kernel::SortDirection::Asc,
        };
        let mut bounds = switchyard_kernel::Bounds::all();
        bounds.limit = 20;
        let candidates: Vec<CustomerRow> = listing(caller.tenant_id, &scope, filter, by_id.order())
            .page(&mut conn, &bounds)
            .await?;
        Ok(Customer::all(
            candidates
                .into_iter()
                .filter(|c| {
                    c.display_name.to_lowercase() == name
                        || match (&address, c.address.as_deref().and_then(Address::from_json)) {
                            (Some(a), Some(b)) => {
                                a.line1.eq_ignore_ascii_case(&b.line1)
                                    && a.postal_code == b.postal_code
                            }
                            _ => false,
                        }
                })
                .collect(),
        ))
    }
}

/// Caller-visible customer IDs check used by mutations: the customer, if in scope of `permission`.
/// New work (a lead, an activity, a task, a quote, a stage move) goes to active customers only:
/// a merged-away record points at its survivor, a retired one must be reactivated first.
pub(crate) fn still_active(
    row: &CustomerRow,
    field: &str,
) -> Result<(), switchyard_kernel::Rejection> {
    use switchyard_kernel::{Rejection, UserErrorCode};
    if row.merged_into.is_some() {
        return Err(Rejection::invalid(
            field,
            UserErrorCode::InvalidState,
            "the customer was merged into another one (see mergedInto); work on that one",
        ));
    }
    if !row.active {
        return Err(Rejection::invalid(
            field,
            UserErrorCode::InvalidState,
            "the customer is inactive; reactivate it first",
        ));
    }
    Ok(())
}

pub(crate) async fn customer_for(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: CustomerId,
) -> Result<CustomerRow, Error> {
    let scope = caller.row_scope(permission)?;
    find_scoped(conn, caller.tenant_id, &scope, id)
        .await?
        .ok_or(Error::NotFound)
}
