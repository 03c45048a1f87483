//! Locations: a tenant's branches and depots, each with its IANA time zone (working hours and
//! reminders are computed in it). A user's locations are what `location` scope reaches.

pub mod events;
pub mod mutations;

use std::collections::HashMap;

use async_graphql::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::address::Address;
use switchyard_kernel::read::Expr;
use switchyard_kernel::{Caller, Conn, ContextExt, Error, LocationId, TenantId, UserId, db_run};

use crate::permissions::LOCATION_READ;
use crate::schema::{locations, user_locations};

/// Every location of the tenant: references to locations read for anyone signed in (the type
/// is `@authenticated`); `location(id:)`, `node(id:)` and `locations` take
/// `identity.location:read` by their rule.
fn scope(_caller: &Caller, _permission: &str) -> Result<Expr, Error> {
    Ok(Expr::True)
}

/// Locations whose name contains the term, case-insensitively.
fn search(_caller: &Caller, term: &str) -> Result<Expr, Error> {
    Ok(Expr::Contains {
        column: "name",
        term: term.to_owned(),
    })
}

switchyard_kernel::aggregate! {
    /// A branch or depot of the tenant.
    #[aggregate(
        table = crate::schema::locations,
        id = LocationId,
        read = LOCATION_READ,
        event = LocationData,
        scope = scope,
        access = authenticated,
        owner(location = id),
        order(name, asc),
        one(name = location, doc = "A location by ID."),
        changed(name = location_changed, doc = "A location (or, with `id`, that location) as it is after each change."),
        list(name = locations, doc = "The tenant's locations, by name.", search = search),
    )]
    pub struct Location {
        #[field(filter, order, event)]
        name: String,
        /// IANA time zone, e.g. `Europe/Stockholm`.
        #[field(event)]
        time_zone: String,
        #[field(hidden)]
        address: Option<String>,
        /// Inactive locations are kept for history but take no new work.
        #[field(filter, event)]
        active: bool,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
        version: i32,
    }

    impl Location {
        async fn address(&self) -> Option<Address> {
            self.row().address.as_deref().and_then(Address::from_json)
        }
    }
}

/// Whether `id` is a location of the tenant (for other domains).
pub async fn exists(conn: &mut Conn<'_>, tenant: TenantId, id: LocationId) -> Result<bool, Error> {
    Ok(find_row(conn, tenant, id).await?.is_some())
}

/// The IANA time zone of a location of the tenant (for other domains); NOT_FOUND if it is
/// not one.
pub async fn time_zone(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: LocationId,
) -> Result<String, Error> {
    Ok(find_row(conn, tenant, id)
        .await?
        .ok_or(Error::NotFound)?
        .time_zone)
}

/// `<column> IN (<the users of these locations>)`, for a column of user IDs: how other
/// domains follow "the people of my locations".
pub fn push_users_of(
    sql: &mut switchyard_kernel::db::sql::Sql,
    column: &str,
    tenant: TenantId,
    locations: &[LocationId],
) {
    sql.push(column)
        .push(" IN (SELECT ul.user_id FROM user_locations ul WHERE ul.tenant_id = ")
        .bind(tenant.to_string())
        .push(" AND ul.location_id")
        .is_in(locations.iter().map(ToString::to_string))
        .push(")");
}

/// The row scope of records that belong to a person (`t.user_id`): the caller's own at
/// `own`, also those of the people of its locations at `location`, all at `tenant`. Time
/// off, the message log and the like follow it.
pub fn people_scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    use switchyard_kernel::access::RowScope;
    use switchyard_kernel::db::sql::Sql;
    Ok(match caller.row_scope(permission)? {
        RowScope::Tenant => Expr::True,
        RowScope::Own(user) => {
            let mut sql = Sql::new("t.user_id = ");
            sql.bind(user.to_string());
            Expr::Sql(sql)
        }
        RowScope::Location { user, locations } => {
            let mut sql = Sql::new("(t.user_id = ");
            sql.bind(user.to_string()).push(" OR ");
            push_users_of(&mut sql, "t.user_id", caller.tenant_id, &locations);
            sql.push(")");
            Expr::Sql(sql)
        }
    })
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

/// The tenant's location when it has exactly one (where work with no location named goes).
pub async fn only(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Option<LocationId>, Error> {
    let ids: Vec<LocationId> = db_run!(conn, |c| locations::table
        .filter(locations::tenant_id.eq(tenant))
        .filter(locations::active.eq(true))
        .select(locations::id)
        .limit(2)
        .load(c)
        .await)?;
    Ok(match ids.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

/// Whether `user` works at one of `locations` (a planner's reach over people).
pub async fn works_at(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    locations: &[LocationId],
) -> Result<bool, Error> {
    let n: i64 = db_run!(conn, |c| user_locations::table
        .filter(user_locations::tenant_id.eq(tenant))
        .filter(user_locations::user_id.eq(user))
        .filter(user_locations::location_id.eq_any(locations))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// The locations of each of `users` (one statement).
pub async fn of_users(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<LocationId>>, Error> {
    let rows: Vec<(UserId, LocationId)> = db_run!(conn, |c| user_locations::table
        .filter(user_locations::tenant_id.eq(tenant))
        .filter(user_locations::user_id.eq_any(users))
        .select((user_locations::user_id, user_locations::location_id))
        .load(c)
        .await)?;
    let mut by_user: HashMap<UserId, Vec<LocationId>> = HashMap::new();
    for (user, location) in rows {
        by_user.entry(user).or_default().push(location);
    }
    Ok(by_user)
}

/// The name and position (from its address, when known) of every location of the tenant (one
/// statement; a tenant has a handful).
pub async fn positions(
    conn: &mut Conn<'_>,
    tenant: TenantId,
) -> Result<HashMap<LocationId, (String, Option<(f64, f64)>)>, Error> {
    let rows: Vec<(LocationId, String, Option<String>)> = db_run!(conn, |c| locations::table
        .filter(locations::tenant_id.eq(tenant))
        .select((locations::id, locations::name, locations::address))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, address)| {
            let position = address
                .as_deref()
                .and_then(Address::from_json)
                .and_then(|a| a.position());
            (id, (name, position))
        })
        .collect())
}
