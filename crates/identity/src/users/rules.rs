//! The rules every change of a user follows. A caller can only manage users inside their own
//! row scope (a manager: the users of their locations), and can only give or take away roles
//! and grants whose every permission they hold themselves at the same or a wider scope. So
//! nobody hands out more than they have, and only an owner makes an owner; the tenant keeps
//! an active owner. Also the writes of a user's role and location sets.

use async_graphql::{Context, ID};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Rejection, Scope, TenantId, UserErrorCode, UserId,
    db_run,
};

use super::{User, UserRow};
use crate::roles::{PermissionGrant, role_grants};
use crate::schema::{locations, user_locations, user_roles, users};
use switchyard_kernel::read::aggregate::find_in;

/// The user, if `caller` may manage them under `permission`: NOT_FOUND when not in the
/// tenant, FORBIDDEN when outside the caller's scope.
pub(crate) async fn managed_user(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: UserId,
) -> Result<UserRow, Rejection> {
    caller.row_scope(permission)?;
    let row: UserRow = db_run!(conn, |c| users::table
        .filter(users::tenant_id.eq(caller.tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional())?
    .ok_or(Error::NotFound)?;
    match find_in::<User>(conn, caller, permission, id).await {
        Ok(_) => {}
        Err(Error::NotFound) => {
            return Err(Error::forbidden(format!(
                "this user is outside the scope of your {permission} permission"
            ))
            .into());
        }
        Err(other) => return Err(other.into()),
    }
    Ok(row)
}

/// The first permission of `grants` the caller does not hold at that scope, if any.
pub(crate) fn beyond_caller<'a>(
    caller: &Caller,
    grants: &'a [PermissionGrant],
) -> Option<&'a PermissionGrant> {
    grants.iter().find(|g| {
        caller
            .scope_of(&g.permission)
            .is_none_or(|held| held < g.scope)
    })
}

/// Checks role keys: each must exist, and each must be within what the caller holds.
pub(crate) async fn check_roles(
    conn: &mut Conn<'_>,
    ctx: &Context<'_>,
    caller: &Caller,
    keys: &[String],
    path: &str,
    check: &mut Check,
) -> Result<(), Rejection> {
    let catalog = &ctx.services()?.catalog;
    for (i, key) in keys.iter().enumerate() {
        match role_grants(conn, catalog, caller.tenant_id, key).await? {
            None => {
                check.add(
                    &format!("{path}.{i}"),
                    UserErrorCode::UnknownReference,
                    format!("there is no role {key:?}"),
                );
            }
            Some(grants) => {
                if let Some(g) = beyond_caller(caller, &grants) {
                    check.add(
                        &format!("{path}.{i}"),
                        UserErrorCode::NotAllowed,
                        format!(
                            "role {key:?} includes {} at {} scope, which you do not hold",
                            g.permission,
                            g.scope.as_str()
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Parses location IDs; each must exist in the tenant and, for a location-scoped caller, be
/// one of the caller's own locations.
pub(crate) async fn check_locations(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    ids: &[ID],
    path: &str,
    check: &mut Check,
) -> Result<Vec<LocationId>, Rejection> {
    let scope = caller.require(permission)?;
    let mut parsed = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("{path}.{i}");
        let Some(location) = LocationId::from_global(id) else {
            check.add(&field, UserErrorCode::UnknownReference, "no such location");
            continue;
        };
        let exists: i64 = db_run!(conn, |c| locations::table
            .filter(locations::tenant_id.eq(caller.tenant_id))
            .filter(locations::id.eq(location))
            .count()
            .get_result(c)
            .await)?;
        if exists == 0 {
            check.add(&field, UserErrorCode::UnknownReference, "no such location");
        } else if scope == Scope::Location && !caller.location_ids.contains(&location) {
            check.add(
                &field,
                UserErrorCode::NotAllowed,
                "you may only use your own locations",
            );
        } else if !parsed.contains(&location) {
            parsed.push(location);
        }
    }
    if scope == Scope::Location && parsed.is_empty() && !check.failed() {
        check.add(
            path,
            UserErrorCode::Required,
            "give at least one of your locations (your permission is location-scoped)",
        );
    }
    Ok(parsed)
}

/// Sets a user's roles to `keys`.
pub(crate) async fn replace_roles(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    keys: &[String],
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::delete(
        user_roles::table
            .filter(user_roles::tenant_id.eq(tenant))
            .filter(user_roles::user_id.eq(user))
    )
    .execute(c)
    .await)?;
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    for key in keys {
        db_run!(conn, |c| diesel::insert_into(user_roles::table)
            .values((
                user_roles::tenant_id.eq(tenant),
                user_roles::user_id.eq(user),
                user_roles::role_key.eq(&key),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// Sets a user's locations to `ids`.
pub(crate) async fn replace_locations(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    ids: &[LocationId],
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::delete(
        user_locations::table
            .filter(user_locations::tenant_id.eq(tenant))
            .filter(user_locations::user_id.eq(user))
    )
    .execute(c)
    .await)?;
    for id in ids {
        db_run!(conn, |c| diesel::insert_into(user_locations::table)
            .values((
                user_locations::tenant_id.eq(tenant),
                user_locations::user_id.eq(user),
                user_locations::location_id.eq(*id),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

pub(crate) async fn role_keys(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<String>, Error> {
    Ok(db_run!(conn, |c| user_roles::table
        .filter(user_roles::tenant_id.eq(tenant))
        .filter(user_roles::user_id.eq(user))
        .order(user_roles::role_key.asc())
        .select(user_roles::role_key)
        .load(c)
        .await)?)
}

pub(crate) async fn active_owners(conn: &mut Conn<'_>, tenant: TenantId) -> Result<i64, Error> {
    Ok(db_run!(conn, |c| user_roles::table
        .inner_join(users::table)
        .filter(user_roles::tenant_id.eq(tenant))
        .filter(user_roles::role_key.eq("owner"))
        .filter(users::status.eq("active"))
        .count()
        .get_result(c)
        .await)?)
}

/// The roles a caller may not take away from (or give to) a user: checks each current role.
pub(crate) async fn check_current_roles_manageable(
    conn: &mut Conn<'_>,
    ctx: &Context<'_>,
    caller: &Caller,
    user: &UserRow,
    check: &mut Check,
    path: &str,
) -> Result<(), Rejection> {
    let catalog = &ctx.services()?.catalog;
    for key in role_keys(conn, caller.tenant_id, user.id).await? {
        if let Some(grants) = role_grants(conn, catalog, caller.tenant_id, &key).await?
            && let Some(g) = beyond_caller(caller, &grants)
        {
            check.add(
                path,
                UserErrorCode::NotAllowed,
                format!(
                    "this user holds role {key:?}, which includes {} at {} scope beyond yours",
                    g.permission,
                    g.scope.as_str()
                ),
            );
        }
    }
    Ok(())
}
