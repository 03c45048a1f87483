//! Locations: a tenant's branches and depots, each with its IANA time zone (working hours and
//! reminders are computed in it). A user's locations are what `location` scope reaches.

pub mod events;
pub mod mutations;

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::address::Address;
use switchyard_kernel::batch::Member;
use switchyard_kernel::connection::{Connection, Cursor, PageArgs, SortDirection};
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::read::{Aggregate, Expr};
use switchyard_kernel::{Conn, ContextExt, Error, LocationId, TenantId, UserId, db_run};

use crate::permissions::LOCATION_READ;
use crate::schema::{locations, user_locations};

/// A row of `locations`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    pub id: LocationId,
    pub tenant_id: TenantId,
    pub name: String,
    pub time_zone: String,
    pub address: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// A branch or depot of the tenant.
#[derive(Clone)]
pub struct Location(pub(crate) Member<LocationRow>);

#[Object(directive = Authenticated::apply())]
impl Location {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone, e.g. `Europe/Stockholm`.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn address(&self) -> Option<Address> {
        self.0.address.as_deref().and_then(Address::from_json)
    }
    /// Inactive locations are kept for history but take no new work.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

switchyard_kernel::node_type!(Location, LocationId);

/// Locations as other domains' relations read them: every location of the tenant, for anyone
/// signed in (the type is `@authenticated`; listing them takes `identity.location:read`).
impl Aggregate for Location {
    type Id = LocationId;
    type Row = LocationRow;
    const TABLE: &'static str = "locations";
    const TYPE_NAME: &'static str = LocationId::TYPE_NAME;
    const READ: &'static str = LOCATION_READ;

    fn scope(_caller: &switchyard_kernel::Caller, _permission: &str) -> Result<Expr, Error> {
        Ok(Expr::True)
    }
    fn id(row: &LocationRow) -> LocationId {
        row.id
    }
    fn owner(row: &LocationRow) -> (Option<UserId>, Option<LocationId>) {
        (None, Some(row.id))
    }
    fn node(member: Member<LocationRow>) -> Location {
        Location(member)
    }
    fn member(&self) -> &Member<LocationRow> {
        &self.0
    }
}

impl Location {
    pub fn row(&self) -> &LocationRow {
        self.0.row()
    }

    /// A location on its own.
    pub fn one(row: LocationRow) -> Location {
        Location(Member::one(row))
    }

    /// Locations loaded together.
    pub fn all(rows: Vec<LocationRow>) -> Vec<Location> {
        Member::all(rows).into_iter().map(Location).collect()
    }

    /// A location by ID in the caller's tenant, or NOT_FOUND.
    pub async fn find(ctx: &Context<'_>, id: LocationId) -> Result<Location, Error> {
        let caller = ctx.caller()?;
        caller.require(LOCATION_READ)?;
        switchyard_kernel::read::aggregate::load_one::<Location>(ctx, id)
            .await?
            .ok_or(Error::NotFound)
    }
}

/// Whether `id` is a location of the tenant (for other domains).
pub async fn exists(conn: &mut Conn<'_>, tenant: TenantId, id: LocationId) -> Result<bool, Error> {
    Ok(find_row(conn, tenant, id).await?.is_some())
}

pub(crate) async fn find_row(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: LocationId,
) -> Result<Option<LocationRow>, Error> {
    Ok(db_run!(conn, |c| locations::table
        .filter(locations::tenant_id.eq(tenant))
        .filter(locations::id.eq(id))
        .select(LocationRow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Filters for `locations`.
#[derive(Debug, Default, InputObject)]
pub struct LocationFilter {
    /// Part of the name, case-insensitive.
    pub search: Option<String>,
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct LocationQuery;

#[Object]
impl LocationQuery {
    /// A location by ID.
    #[graphql(directive = Require::apply(LOCATION_READ))]
    async fn location(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Location>> {
        Ok(Some(Location::find(ctx, LocationId::parse(&id)?).await?))
    }

    /// The tenant's locations, by name.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(LOCATION_READ))]
    #[allow(clippy::too_many_arguments)]
    async fn locations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<LocationFilter>,
        #[graphql(default)] direction: SortDirection,
    ) -> async_graphql::Result<Connection<Location>> {
        let caller = ctx.caller()?;
        let filter = filter.unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(term) =
            switchyard_kernel::validate::search_term("filter.search", filter.search)?
        {
            parts.push(Expr::Contains {
                column: "name",
                term,
            });
        }
        if let Some(active) = filter.active {
            parts.push(Expr::Cmp {
                column: "active",
                op: "=",
                value: active.into(),
            });
        }
        let listing = switchyard_kernel::read::Listing {
            table: "locations",
            tenant: caller.tenant_id,
            scope: Expr::True,
            filter: Expr::all(parts),
            order: switchyard_kernel::read::Order {
                column: Some("name"),
                desc: direction.is_desc(),
            },
        };
        Ok(listing
            .connection(
                &ctx.services()?.db,
                &PageArgs::new(first, after, last, before),
                2,
                |r: &LocationRow| Cursor(vec![r.name.clone().into(), r.id.to_string().into()]),
                Location::all,
            )
            .await?)
    }
}

/// The locations of users, by name, in one statement.
pub(crate) async fn locations_of(
    ctx: &Context<'_>,
    ids: Vec<UserId>,
) -> Result<HashMap<UserId, Vec<LocationRow>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<(UserId, LocationRow)> = db_run!(&mut conn, |c| user_locations::table
        .inner_join(locations::table)
        .filter(user_locations::tenant_id.eq(tenant))
        .filter(user_locations::user_id.eq_any(&ids))
        .order((user_locations::user_id.asc(), locations::name.asc()))
        .select((user_locations::user_id, LocationRow::as_select()))
        .load(c)
        .await)?;
    let mut out: HashMap<UserId, Vec<LocationRow>> = HashMap::new();
    for (user, row) in rows {
        out.entry(user).or_default().push(row);
    }
    Ok(out)
}
