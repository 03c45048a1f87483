//! Roles and grants. Built-in roles come from the permission catalogue; a tenant may define
//! custom roles (its own sets of permission and scope); a user may hold extra grants that
//! expire.

pub mod events;
pub mod mutations;

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{BuiltinRole, Catalog};
use switchyard_kernel::connection::{Connection, Cursor, PageArgs};
use switchyard_kernel::policy::{Authenticated, Inherit, Require};
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, Scope, TenantId, UserErrorCode, UserId, db_run,
};

use crate::permissions::ROLE_READ;
use crate::schema::{role_permissions, roles, user_roles};

/// A permission and how far it reaches.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(directive = Inherit::apply())]
pub struct PermissionGrant {
    /// `domain.resource:action`.
    pub permission: String,
    pub scope: Scope,
}

/// A permission and scope to grant (to an API key, or to a custom role).
#[derive(InputObject)]
pub struct PermissionGrantInput {
    pub permission: String,
    pub scope: Scope,
}

/// Whether `caller` may hand `permission` at `scope` to someone (a role's entry or a user's
/// grant): it must exist, and the caller must hold it at that scope or wider. Adds the reason
/// under `path` otherwise.
pub(crate) fn grantable(
    check: &mut Check,
    catalog: &Catalog,
    caller: &Caller,
    path: &str,
    permission: &str,
    scope: Scope,
) -> bool {
    if catalog.get(permission).is_none() {
        check.add(
            path,
            UserErrorCode::UnknownReference,
            format!("there is no permission {permission:?}"),
        );
        return false;
    }
    if caller.scope_of(permission).is_none_or(|held| held < scope) {
        check.add(
            path,
            UserErrorCode::NotAllowed,
            format!("you do not hold {permission} at {} scope", scope.as_str()),
        );
        return false;
    }
    true
}

/// A role: a named set of permissions, each with a scope.
#[derive(Debug, Clone)]
pub struct Role {
    pub key: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<PermissionGrant>,
    pub version: i32,
}

#[Object(directive = Authenticated::apply())]
impl Role {
    /// The key users are assigned by (`sales_rep`, or a custom key).
    async fn key(&self) -> &str {
        &self.key
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn description(&self) -> &str {
        &self.description
    }
    /// Built-in roles exist in every tenant and cannot be changed.
    async fn builtin(&self) -> bool {
        self.builtin
    }
    async fn permissions(&self) -> &[PermissionGrant] {
        &self.permissions
    }
    /// Increases with every change of a custom role (always 1 for built-in roles).
    async fn version(&self) -> i32 {
        self.version
    }
}

impl Role {
    pub fn from_builtin(role: BuiltinRole, catalog: &Catalog) -> Role {
        Role {
            key: role.key().to_owned(),
            name: role.name().to_owned(),
            description: role.description().to_owned(),
            builtin: true,
            permissions: catalog
                .role_grants(role)
                .map(|(permission, scope)| PermissionGrant {
                    permission: permission.to_owned(),
                    scope,
                })
                .collect(),
            version: 1,
        }
    }
}

/// A row of `roles` (custom roles).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct RoleRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub key: String,
    pub name: String,
    pub description: String,
    pub version: i32,
}

/// Custom roles of a tenant with their permissions, by key (all of them when `keys` is None).
pub(crate) async fn custom_roles(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    keys: Option<&[String]>,
) -> Result<Vec<Role>, Error> {
    let rows: Vec<RoleRow> = db_run!(conn, |c| {
        let mut query = roles::table
            .filter(roles::tenant_id.eq(tenant))
            .select(RoleRow::as_select())
            .into_boxed();
        if let Some(keys) = keys {
            query = query.filter(roles::key.eq_any(keys.to_vec()));
        }
        query.order(roles::key.asc()).load(c).await
    })?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let perms: Vec<(String, String, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        db_run!(conn, |c| role_permissions::table
            .filter(role_permissions::tenant_id.eq(tenant))
            .filter(role_permissions::role_id.eq_any(&ids))
            .order(role_permissions::permission.asc())
            .select((
                role_permissions::role_id,
                role_permissions::permission,
                role_permissions::scope,
            ))
            .load(c)
            .await)?
    };
    let mut by_role: HashMap<String, Vec<PermissionGrant>> = HashMap::new();
    for (role_id, permission, scope) in perms {
        if let Some(scope) = Scope::parse(&scope) {
            by_role
                .entry(role_id)
                .or_default()
                .push(PermissionGrant { permission, scope });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Role {
            permissions: by_role.remove(&r.id).unwrap_or_default(),
            key: r.key,
            name: r.name,
            description: r.description,
            builtin: false,
            version: r.version,
        })
        .collect())
}

/// The (permission, scope) pairs a role key stands for, or `None` if no such role exists.
pub(crate) async fn role_grants(
    conn: &mut Conn<'_>,
    catalog: &Catalog,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Vec<PermissionGrant>>, Error> {
    if let Some(role) = BuiltinRole::from_key(key) {
        return Ok(Some(Role::from_builtin(role, catalog).permissions));
    }
    Ok(custom_roles(conn, tenant, Some(&[key.to_owned()]))
        .await?
        .pop()
        .map(|r| r.permissions))
}

/// The roles of users, in two statements: their role keys, and the custom roles among them
/// (built-in ones come from the catalogue).
pub(crate) async fn roles_of(
    ctx: &Context<'_>,
    ids: Vec<UserId>,
) -> Result<HashMap<UserId, Vec<Role>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let catalog = &ctx.services()?.catalog;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<(UserId, String)> = db_run!(&mut conn, |c| user_roles::table
        .filter(user_roles::tenant_id.eq(tenant))
        .filter(user_roles::user_id.eq_any(&ids))
        .order((user_roles::user_id.asc(), user_roles::role_key.asc()))
        .select((user_roles::user_id, user_roles::role_key))
        .load(c)
        .await)?;
    let mut custom: Vec<String> = rows
        .iter()
        .filter(|(_, k)| BuiltinRole::from_key(k).is_none())
        .map(|(_, k)| k.clone())
        .collect();
    custom.sort_unstable();
    custom.dedup();
    let custom: HashMap<String, Role> = if custom.is_empty() {
        HashMap::new()
    } else {
        custom_roles(&mut conn, tenant, Some(&custom))
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect()
    };
    let mut out: HashMap<UserId, Vec<Role>> = HashMap::new();
    for (user, key) in rows {
        let role = match BuiltinRole::from_key(&key) {
            Some(role) => Some(Role::from_builtin(role, catalog)),
            None => custom.get(&key).cloned(),
        };
        out.entry(user).or_default().extend(role);
    }
    Ok(out)
}

/// A permission of the catalogue.
#[derive(SimpleObject)]
#[graphql(directive = Authenticated::apply())]
pub struct PermissionInfo {
    /// `domain.resource:action`.
    pub name: String,
    pub description: String,
    /// Built-in roles holding it, with their scope.
    pub builtin_roles: Vec<BuiltinRoleGrant>,
}

/// A built-in role's hold on a permission.
#[derive(SimpleObject)]
#[graphql(directive = Authenticated::apply())]
pub struct BuiltinRoleGrant {
    pub role: String,
    pub scope: Scope,
}

#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// Built-in and custom roles, by key.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(ROLE_READ))]
    async fn roles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Role>> {
        let caller = ctx.caller()?;
        let page = PageArgs::new(first, after, last, before).page()?;
        let services = ctx.services()?;
        let mut all: Vec<Role> = BuiltinRole::ALL
            .iter()
            .map(|r| Role::from_builtin(*r, &services.catalog))
            .collect();
        let mut pooled = services.db.read().await?;
        all.extend(custom_roles(&mut pooled.conn(), caller.tenant_id, None).await?);
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Connection::from_sorted(
            &page,
            all,
            |r| Cursor(vec![r.key.clone().into()]),
            |a, b| a.str(0).cmp(&b.str(0)),
        ))
    }

    /// One role by key.
    #[graphql(directive = Require::apply(ROLE_READ))]
    async fn role(&self, ctx: &Context<'_>, key: String) -> async_graphql::Result<Option<Role>> {
        let caller = ctx.caller()?;
        let services = ctx.services()?;
        let mut pooled = services.db.read().await?;
        let grants = role_grants(
            &mut pooled.conn(),
            &services.catalog,
            caller.tenant_id,
            &key,
        )
        .await?;
        let _ = grants.ok_or(Error::NotFound)?;
        let role = match BuiltinRole::from_key(&key) {
            Some(role) => Role::from_builtin(role, &services.catalog),
            None => custom_roles(&mut pooled.conn(), caller.tenant_id, Some(&[key]))
                .await?
                .pop()
                .ok_or(Error::NotFound)?,
        };
        Ok(Some(role))
    }

    /// Every permission there is, and which built-in roles hold it.
    #[graphql(directive = Authenticated::apply())]
    async fn permissions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PermissionInfo>> {
        Ok(ctx
            .services()?
            .catalog
            .all()
            .map(|def| PermissionInfo {
                name: def.name.to_owned(),
                description: def.description.to_owned(),
                builtin_roles: def
                    .roles
                    .iter()
                    .map(|(role, scope)| BuiltinRoleGrant {
                        role: role.key().to_owned(),
                        scope: *scope,
                    })
                    .collect(),
            })
            .collect())
    }
}
