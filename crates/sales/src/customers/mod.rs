//! Customers: people or companies a tenant sells to, with their place in the pipeline.

pub mod events;
pub mod mutations;
pub mod stage;

use std::collections::HashMap;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::{Location, User};
use switchyard_kernel::address::Address;
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::money::Money;
use switchyard_kernel::policy::{Inherit, Require};
use switchyard_kernel::read::{Expr, Listing, Ordering, aggregate};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, RowScope, TenantId, UserId, db_run,
};

use crate::activities::SalesActivity;
use crate::leads::Lead;
use crate::permissions::{CUSTOMER_CONTACT_READ, CUSTOMER_READ};
use crate::quotes::Quote;
use crate::schema::customer_stage_history;
use crate::tasks::Task;
pub use stage::CustomerStage;

pub use crate::ids::CustomerId;

/// The customers `caller` reaches with `permission`: its assignee (`own`), users of its
/// location (`location`), or anyone of the tenant (`tenant`).
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    Ok(crate::scope::customer_scope(&caller.row_scope(permission)?))
}

switchyard_kernel::aggregate! {
    /// A person or company the tenant sells to.
    #[aggregate(
        table = crate::schema::customers,
        id = CustomerId,
        read = CUSTOMER_READ,
        scope = scope,
        owner(user = assigned_to, location = location_id),
        order(display_name, asc),
        one(name = customer, doc = "A customer by ID."),
        changed(name = customer_changed, doc = "A customer (or, with `id`, that customer) as it is after each change you may see."),
        list(
            name = customers,
            doc = "Customers the caller may see. `search` matches words of the name and email, and phone numbers in national or international form.",
            search = search,
            defaults = active_unless_asked,
        ),
        has_many(name = leads, node = Lead, by = customer_id, doc = "The customer's leads, newest first."),
        has_many(name = activities, node = SalesActivity, by = customer_id, doc = "Calls, emails, meetings... newest first."),
        has_many(name = quotes, node = Quote, by = customer_id, doc = "Quotes (every revision), newest first."),
        has_many(name = tasks, node = Task, by = customer_id, doc = "Tasks about this customer, newest first."),
    )]
    pub struct Customer {
        /// The location serving the customer.
        #[field(to_one = Location, filter)]
        location_id: Option<LocationId>,
        first_name: Option<String>,
        last_name: Option<String>,
        company_name: Option<String>,
        /// The company name, or the first and last name.
        #[field(filter, order = Name)]
        display_name: String,
        /// Lower-cased; unique within the tenant. Null for callers whose contact permission
        /// does not reach this customer.
        #[field(hide_unless = CUSTOMER_CONTACT_READ)]
        email: Option<String>,
        /// E.164 (`+46701234567`); unique within the tenant. Null for callers whose contact
        /// permission does not reach this customer.
        #[field(hide_unless = CUSTOMER_CONTACT_READ)]
        phone: Option<String>,
        #[field(hidden)]
        phone_search: String,
        #[field(hidden)]
        search_text: String,
        #[field(hidden)]
        name_search: String,
        #[field(hidden)]
        address: Option<String>,
        /// Where the customer came from: website, referral, trade show...
        lead_source: Option<String>,
        #[field(hidden)]
        tags: String,
        /// The sales rep responsible.
        #[field(to_one = User, filter)]
        assigned_to: Option<UserId>,
        /// The customer-portal user who acts for this customer: quotes are addressed to them.
        #[field(to_one = User)]
        portal_user_id: Option<UserId>,
        #[field(hidden)]
        estimated_value_minor: Option<i64>,
        #[field(hidden)]
        currency: Option<String>,
        notes: String,
        /// False once merged into another customer or retired. Lists show active customers
        /// unless this filter is given (`eq: false`: inactive ones only).
        #[field(filter)]
        active: bool,
        /// Where the customer stands in the pipeline.
        #[field(filter)]
        stage: CustomerStage,
        stage_changed_at: NaiveDateTime,
        /// The customer this one was merged into.
        merged_into: Option<CustomerId>,
        #[field(hidden)]
        created_by: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        version: i32,
    }

    pub struct CustomerFilter {
        /// Customers carrying this tag.
        tag: Option<String>,
    }

    impl Customer {
        async fn address(&self) -> Option<Address> {
            self.row().address.as_deref().and_then(Address::from_json)
        }
        async fn tags(&self) -> Vec<String> {
            self.row().tags()
        }
        /// What the customer is expected to be worth.
        async fn estimated_value(&self) -> Option<Money> {
            let row = self.row();
            row.estimated_value_minor
                .zip(row.currency.clone())
                .map(|(v, c)| Money::new(v, c))
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
            Ok(histories.get(&self.row().id).cloned().unwrap_or_default())
        }
    }
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

/// A customer of the tenant whatever the caller's scope (facts a mutation needs about a
/// customer it reached through another object: a client accepting a quote cannot read
/// customers).
pub(crate) async fn find_in_tenant(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: CustomerId,
) -> Result<CustomerRow, Error> {
    Listing {
        table: "customers",
        tenant,
        scope: Expr::True,
        filter: Expr::True,
        order: CustomerOrder::default().order(),
    }
    .one(conn, &id.to_string())
    .await?
    .ok_or(Error::NotFound)
}

/// Resolves a customer reference for other types and domains: the customer, if the caller
/// reads it.
pub async fn load_customer(ctx: &Context<'_>, id: CustomerId) -> Result<Option<Customer>, Error> {
    let caller = ctx.caller()?;
    let mut found = aggregate::load::<Customer>(&ctx.services()?.db, caller, vec![id]).await?;
    Ok(found.remove(&id))
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

impl switchyard_kernel::read::FilterExtra for CustomerFilter {
    fn extra(&self, _caller: &Caller) -> Result<Vec<Expr>, Error> {
        let Some(tag) = self.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Vec::new());
        };
        // Tags are stored lower-case as a JSON array; match the quoted tag.
        let quoted = serde_json::to_string(&tag.to_lowercase()).unwrap_or_default();
        let mut sql = Sql::new("t.tags LIKE ");
        sql.bind(switchyard_kernel::validate::like_contains(&quoted))
            .push(" ESCAPE '\\'");
        Ok(vec![Expr::Sql(sql)])
    }
}

/// Active customers only, unless the filter's top level asks about `active`.
fn active_unless_asked(filter: &CustomerFilter, _caller: &Caller) -> Result<Vec<Expr>, Error> {
    Ok(match filter.active {
        Some(_) => Vec::new(),
        None => vec![Expr::Cmp {
            column: "active",
            op: "=",
            value: true.into(),
        }],
    })
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
fn search(caller: &Caller, term: &str) -> Result<Expr, Error> {
    let contact = caller.row_scope(CUSTOMER_CONTACT_READ).ok();
    let contact = contact.as_ref();
    let words = search_words(term);
    if words.is_empty() {
        return Ok(Expr::Sql(Sql::new("1 = 0")));
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
    Ok(Expr::all(parts))
}

/// Queries of customers beyond the declared ones.
#[derive(Default)]
pub struct CustomerDuplicatesQuery;

#[Object]
impl CustomerDuplicatesQuery {
    /// Active customers that may be the same as this one: the same name (ignoring case), or
    /// the same street address and postal code.
    #[graphql(directive = Require::apply(CUSTOMER_READ))]
    async fn possible_duplicates(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
    ) -> async_graphql::Result<Vec<Customer>> {
        let caller = ctx.caller()?;
        let id = CustomerId::parse(&customer_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let me = aggregate::find_in::<Customer>(&mut conn, caller, CUSTOMER_READ, id).await?;
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
        let candidates: Vec<CustomerRow> =
            aggregate::listing::<Customer>(caller, CUSTOMER_READ, filter, by_id.order())?
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
    aggregate::find_in::<Customer>(conn, caller, permission, id).await
}

/// What another domain copies from a customer onto its own records (a job's on-site contact
/// and address), so that its readers need no access to the customer.
#[derive(Debug, Clone)]
pub struct CustomerContact {
    pub name: String,
    /// Lower-cased.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// False once merged into another customer or retired.
    pub active: bool,
    /// The customer this one was merged into.
    pub merged_into: Option<CustomerId>,
    /// The postal address on one line.
    pub address: Option<String>,
    pub location: Option<LocationId>,
}

impl From<&CustomerRow> for CustomerContact {
    fn from(row: &CustomerRow) -> Self {
        let address = row
            .address
            .as_deref()
            .and_then(Address::from_json)
            .map(|a| {
                let mut parts = vec![a.line1];
                parts.extend(a.line2);
                parts.push(format!("{} {}", a.postal_code, a.city).trim().to_owned());
                parts.extend(a.region);
                parts.push(a.country);
                parts.retain(|p| !p.is_empty());
                parts.join(", ")
            });
        CustomerContact {
            name: row.display_name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            active: row.active,
            merged_into: row.merged_into,
            address,
            location: row.location_id,
        }
    }
}

/// The contact of an active customer that `caller` reaches with `permission` (NOT_FOUND when
/// it does not; a rejection naming `field` when the customer was merged or retired).
pub async fn contact_for(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: CustomerId,
    field: &str,
) -> Result<CustomerContact, switchyard_kernel::Rejection> {
    let row = customer_for(conn, caller, permission, id).await?;
    still_active(&row, field)?;
    Ok(CustomerContact::from(&row))
}

/// The contact of a customer of `tenant`, whatever anyone's scope (a reaction acting for
/// Switchyard).
pub async fn contact_in_tenant(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: CustomerId,
) -> Result<CustomerContact, Error> {
    Ok(CustomerContact::from(
        &find_in_tenant(conn, tenant, id).await?,
    ))
}
