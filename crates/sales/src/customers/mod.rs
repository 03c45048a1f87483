//! Customers: people or companies a tenant sells to, with their place in the pipeline.

pub mod events;
pub mod mutations;
pub mod stage;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::{Location, User, load_locations, load_users};
use switchyard_kernel::address::Address;
use switchyard_kernel::batch::{Member, Siblings};
use switchyard_kernel::connection::{Connection, Cursor, PageArgs, SortDirection};
use switchyard_kernel::db::Backend;
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::{HideUnless, Inherit, Require};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LoaderEnv, LocationId, RequestLoader, RowScope, TenantId,
    UserId, db_run, keyset,
};

use crate::activities::{ActivityChildren, ActivityRow, SalesActivity};
use crate::leads::{Lead, LeadChildren, LeadRow};
use crate::permissions::{
    ACTIVITY_READ, CUSTOMER_CONTACT_READ, CUSTOMER_READ, LEAD_READ, QUOTE_READ, TASK_READ,
};
use crate::quotes::{Quote, QuoteChildren, QuoteRow};
use crate::schema::{customer_stage_history, customers};
use crate::tasks::{Task, TaskChildren, TaskRow};
use crate::{customer_filter, nested_connection};
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

/// A customer within a row scope (NOT_FOUND-worthy `None` otherwise).
pub(crate) async fn find_scoped(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    scope: &RowScope,
    id: CustomerId,
) -> Result<Option<CustomerRow>, Error> {
    Ok(db_run!(conn, |c| {
        let mut query = customers::table
            .filter(customers::tenant_id.eq(tenant))
            .filter(customers::id.eq(id))
            .select(CustomerRow::as_select())
            .into_boxed();
        customer_filter!(query, scope);
        query.first(c).await.optional()
    })?)
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
        let mut pooled = self.0.db.read().await?;
        let mut conn = pooled.conn();
        let rows: Vec<CustomerRow> = db_run!(&mut conn, |c| {
            let mut query = customers::table
                .filter(customers::tenant_id.eq(tenant))
                .filter(customers::id.eq_any(&ids))
                .select(CustomerRow::as_select())
                .into_boxed();
            customer_filter!(query, &scope);
            query.load(c).await
        })?;
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

/// Filters for `customers`.
#[derive(Debug, Default, InputObject)]
pub struct CustomerFilter {
    pub stage: Option<CustomerStage>,
    pub assigned_to_id: Option<ID>,
    pub location_id: Option<ID>,
    /// Customers carrying this tag.
    pub tag: Option<String>,
    /// Active customers only (the default); false for inactive ones only.
    pub active: Option<bool>,
}

/// Sort keys of `customers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum CustomerOrderField {
    /// By display name.
    #[default]
    Name,
    /// Creation order.
    CreatedAt,
}

/// How `customers` is sorted.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct CustomerOrder {
    pub field: CustomerOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
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

/// A validated `customers` request, applied the same way to the page and its count.
#[derive(Clone)]
pub(crate) struct CustomerList {
    pub tenant: TenantId,
    pub scope: RowScope,
    pub stage: Option<&'static str>,
    pub assigned_to: Option<String>,
    pub location: Option<String>,
    pub tag: Option<String>,
    pub active: bool,
    /// A full-text search term.
    pub search: Option<String>,
    /// Where the search may match contact details (email, phone): the caller's contact scope.
    /// `None`: nowhere, names only; outside the scope a customer is found by its name only,
    /// so nobody finds a customer by an email or phone they may not see.
    pub contact: Option<RowScope>,
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

fn fts(backend: Backend, words: &[String]) -> (&'static str, String) {
    match backend {
        Backend::Sqlite => (
            "customers.id IN (SELECT customer_id FROM customers_fts WHERE customers_fts MATCH ",
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Backend::Postgres => (
            "customers.search @@ to_tsquery('simple', ",
            words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
        ),
    }
}

macro_rules! customer_list_filters {
    ($query:ident, $list:expr, $backend:expr) => {{
        let list: &CustomerList = $list;
        $query = $query.filter(customers::tenant_id.eq(list.tenant));
        customer_filter!($query, &list.scope);
        $query = $query.filter(customers::active.eq(list.active));
        if let Some(stage) = list.stage {
            $query = $query.filter(customers::stage.eq(stage));
        }
        if let Some(user) = &list.assigned_to {
            $query = $query.filter(customers::assigned_to.eq(user.clone()));
        }
        if let Some(location) = &list.location {
            $query = $query.filter(customers::location_id.eq(location.clone()));
        }
        if let Some(tag) = &list.tag {
            // Tags are stored lower-case as a JSON array; match the quoted tag.
            let quoted = serde_json::to_string(&tag.to_lowercase()).unwrap_or_default();
            $query = $query.filter(
                customers::tags
                    .like(switchyard_kernel::validate::like_contains(&quoted))
                    .escape('\\'),
            );
        }
        if let Some(term) = &list.search {
            let words = search_words(term);
            if words.is_empty() {
                $query = $query.filter(customers::id.eq(""));
            } else {
                let (prefix, query_text) = fts($backend, &words);
                $query = $query.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(prefix)
                        .bind::<diesel::sql_types::Text, _>(query_text)
                        .sql(")"),
                );
                // Every word matches the name, or the row lies in the contact scope:
                // AND over words of (in scope OR name matches) = in scope OR all names match.
                let (mine, locations): (Option<String>, Vec<String>) = match &list.contact {
                    Some(RowScope::Tenant) => (None, Vec::new()),
                    Some(RowScope::Own(user)) => (Some(user.to_string()), Vec::new()),
                    Some(RowScope::Location { user, locations }) => (
                        Some(user.to_string()),
                        crate::scope::location_texts(locations),
                    ),
                    None => (Some(String::new()), Vec::new()),
                };
                if let Some(mine) = mine {
                    for word in &words {
                        $query = $query.filter(
                            customers::assigned_to
                                .eq(mine.clone())
                                .or(customers::location_id.eq_any(locations.clone()))
                                .or(customers::name_search
                                    .like(switchyard_kernel::validate::like_contains(word))
                                    .escape('\\')),
                        );
                    }
                }
            }
        }
    }};
}

impl CustomerList {
    pub(crate) async fn page(
        &self,
        conn: &mut Conn<'_>,
        bounds: &switchyard_kernel::Bounds,
        order: CustomerOrder,
    ) -> Result<Vec<CustomerRow>, Error> {
        let backend = conn.backend();
        let desc = order.direction.is_desc();
        Ok(db_run!(conn, |c| {
            let mut query = customers::table
                .select(CustomerRow::as_select())
                .into_boxed();
            customer_list_filters!(query, self, backend);
            match order.field {
                CustomerOrderField::Name => {
                    keyset!(query, bounds, desc, customers::id, customers::display_name)
                }
                CustomerOrderField::CreatedAt => keyset!(query, bounds, desc, customers::id),
            }
            query.load(c).await
        })?)
    }

    pub(crate) async fn count(&self, conn: &mut Conn<'_>) -> Result<i64, Error> {
        let backend = conn.backend();
        Ok(db_run!(conn, |c| {
            let mut query = customers::table.count().into_boxed();
            customer_list_filters!(query, self, backend);
            query.get_result(c).await
        })?)
    }
}

fn parse_user(id: &ID) -> Result<String, Error> {
    Ok(UserId::parse(id)?.to_string())
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
        let page = PageArgs::new(first, after, last, before).page()?;
        let order = order_by.unwrap_or_default();
        let bounds = page.bounds(if order.field == CustomerOrderField::CreatedAt {
            1
        } else {
            2
        })?;
        let filter = filter.unwrap_or_default();
        let list = CustomerList {
            tenant: caller.tenant_id,
            scope: caller.row_scope(CUSTOMER_READ)?,
            contact: caller.row_scope(CUSTOMER_CONTACT_READ).ok(),
            stage: filter.stage.map(|s| s.as_str()),
            assigned_to: filter.assigned_to_id.as_ref().map(parse_user).transpose()?,
            location: filter
                .location_id
                .as_ref()
                .map(|l| LocationId::parse(l).map(|l| l.to_string()))
                .transpose()?,
            tag: filter
                .tag
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            active: filter.active.unwrap_or(true),
            search: switchyard_kernel::validate::search_term("search", search)?,
        };
        let db = ctx.services()?.db.clone();
        let rows = {
            let mut pooled = db.read().await?;
            list.page(&mut pooled.conn(), &bounds, order).await?
        };
        let count: switchyard_kernel::connection::CountFn = Box::new(move || {
            Box::pin(async move {
                let mut pooled = db.read().await?;
                list.count(&mut pooled.conn()).await
            })
        });
        Ok(Connection::from_batch(
            &page,
            rows,
            |r: &CustomerRow| match order.field {
                CustomerOrderField::Name => {
                    Cursor(vec![r.display_name.clone().into(), r.id.to_string().into()])
                }
                CustomerOrderField::CreatedAt => Cursor(vec![r.id.to_string().into()]),
            },
            Customer::all,
            Some(count),
        ))
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
        let candidates: Vec<CustomerRow> = db_run!(&mut conn, |c| {
            let mut query = customers::table
                .filter(customers::tenant_id.eq(caller.tenant_id))
                .filter(customers::id.ne(id))
                .filter(customers::active.eq(true))
                .select(CustomerRow::as_select())
                .into_boxed();
            customer_filter!(query, &scope);
            let same_name = crate::lower(customers::display_name).eq(name.clone());
            match &address {
                Some(a) => {
                    let street = format!("%{}%", a.line1.replace(['%', '_'], ""));
                    let postal = format!("%{}%", a.postal_code.replace(['%', '_'], ""));
                    query = query.filter(
                        same_name.or(customers::address
                            .like(street)
                            .and(customers::address.like(postal))),
                    );
                }
                None => query = query.filter(same_name),
            }
            query.order(customers::id.asc()).limit(20).load(c).await
        })?;
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
