//! Defining the tenant's custom roles.

use async_graphql::{Context, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::BuiltinRole;
use switchyard_kernel::audit;

use super::events::{RoleCreated, RoleData, RoleDeleted, RoleUpdated};
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, db_run, payload, time,
};

use super::PermissionGrantInput;
use super::{PermissionGrant, Role, RoleRow, custom_roles};
use crate::permissions::ROLE_MANAGE;
use crate::schema::{role_permissions, roles, user_roles};
use switchyard_kernel::validate::check_version;

payload!(
    /// The result of `createRole` and `updateRole`.
    RolePayload { role: Role }
);
payload!(
    /// The result of `deleteRole`.
    DeleteRolePayload {
        /// The key of the deleted role.
        deleted_key: String,
    }
);

/// A new custom role.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// Lower case letters, digits and underscores; not a built-in role's key.
    pub key: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub permissions: Vec<PermissionGrantInput>,
}

/// Changes to a custom role.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub key: String,
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replaces the role's permissions.
    pub permissions: Option<Vec<PermissionGrantInput>>,
}

/// A custom role to delete.
#[derive(InputObject)]
pub struct DeleteRoleInput {
    pub key: String,
}

fn check_permissions(
    ctx: &Context<'_>,
    caller: &switchyard_kernel::Caller,
    permissions: &[PermissionGrantInput],
    check: &mut Check,
) -> Result<Vec<PermissionGrant>, Error> {
    let catalog = &ctx.services()?.catalog;
    let mut out: Vec<PermissionGrant> = Vec::new();
    for (i, p) in permissions.iter().enumerate() {
        let path = format!("input.permissions.{i}.permission");
        if !super::grantable(check, catalog, caller, &path, &p.permission, p.scope) {
            continue;
        }
        if out.iter().any(|g| g.permission == p.permission) {
            check.add(&path, UserErrorCode::Duplicate, "listed twice");
        } else {
            out.push(PermissionGrant {
                permission: p.permission.clone(),
                scope: p.scope,
            });
        }
    }
    Ok(out)
}

async fn write_permissions(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    role_id: &str,
    grants: &[PermissionGrant],
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::delete(
        role_permissions::table
            .filter(role_permissions::tenant_id.eq(tenant))
            .filter(role_permissions::role_id.eq(role_id))
    )
    .execute(c)
    .await)?;
    for g in grants {
        db_run!(conn, |c| diesel::insert_into(role_permissions::table)
            .values((
                role_permissions::tenant_id.eq(tenant),
                role_permissions::role_id.eq(role_id),
                role_permissions::permission.eq(&g.permission),
                role_permissions::scope.eq(g.scope.as_str()),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

async fn find_role(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<RoleRow>, Error> {
    Ok(db_run!(conn, |c| roles::table
        .filter(roles::tenant_id.eq(tenant))
        .filter(roles::key.eq(key))
        .select(RoleRow::as_select())
        .first(c)
        .await
        .optional())?)
}

async fn load_role(conn: &mut Conn<'_>, tenant: TenantId, key: &str) -> Result<Role, Error> {
    custom_roles(conn, tenant, Some(&[key.to_owned()]))
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 50
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Defines a custom role. Its permissions must be within what you hold.
    #[graphql(directive = Require::apply(ROLE_MANAGE))]
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        input: CreateRoleInput,
    ) -> async_graphql::Result<RolePayload> {
        let caller = ctx.caller()?;
        let key = input.key.trim().to_owned();
        let name = input.name.trim().to_owned();
        let mut check = Check::new();
        if !valid_key(&key) {
            check.add("input.key", UserErrorCode::InvalidFormat, "use lower case letters, digits and underscores, starting with a letter (at most 50)");
        } else if BuiltinRole::from_key(&key).is_some() {
            check.add(
                "input.key",
                UserErrorCode::Duplicate,
                "a built-in role has this key",
            );
        }
        check
            .text("input.name", &name, 100)
            .max_len("input.description", &input.description, 500);
        let grants = check_permissions(ctx, caller, &input.permissions, &mut check)?;
        let outcome = ctx
            .mutate(async |tx| {
                if find_role(tx, caller.tenant_id, &key).await?.is_some() {
                    check.add(
                        "input.key",
                        UserErrorCode::Duplicate,
                        "another role has this key",
                    );
                }
                check.finish()?;
                let id = uuid::Uuid::now_v7().to_string();
                let now = time::now();
                db_run!(tx, |c| diesel::insert_into(roles::table)
                    .values((
                        roles::id.eq(&id),
                        roles::tenant_id.eq(caller.tenant_id),
                        roles::key.eq(&key),
                        roles::name.eq(&name),
                        roles::description.eq(input.description.trim()),
                        roles::created_at.eq(now),
                        roles::updated_at.eq(now),
                        roles::version.eq(1),
                    ))
                    .execute(c)
                    .await)?;
                write_permissions(tx, caller.tenant_id, &id, &grants).await?;
                let role = load_role(tx, caller.tenant_id, &key).await?;
                audit::record_event(
                    tx,
                    caller,
                    &RoleCreated {
                        role: (&role).into(),
                    },
                    None,
                )
                .await?;
                Ok(role)
            })
            .await;
        RolePayload::from_outcome(outcome, |role| RolePayload {
            role: Some(role),
            user_errors: vec![],
        })
    }

    /// Changes a custom role; users holding it gain or lose permissions at their next request.
    #[graphql(directive = Require::apply(ROLE_MANAGE))]
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoleInput,
    ) -> async_graphql::Result<RolePayload> {
        let caller = ctx.caller()?;
        let key = input.key.trim().to_owned();
        let mut check = Check::new();
        if let Some(name) = &input.name {
            check.text("input.name", name.trim(), 100);
        }
        if let Some(description) = &input.description {
            check.max_len("input.description", description, 500);
        }
        let grants = match &input.permissions {
            Some(p) => Some(check_permissions(ctx, caller, p, &mut check)?),
            None => None,
        };
        let outcome = ctx
            .mutate(async |tx| {
                if BuiltinRole::from_key(&key).is_some() {
                    return Err(Rejection::invalid(
                        "input.key",
                        UserErrorCode::InvalidState,
                        "built-in roles cannot be changed",
                    ));
                }
                let row = find_role(tx, caller.tenant_id, &key)
                    .await?
                    .ok_or(Error::NotFound)?;
                check_version(input.expected_version, row.version)?;
                let before = load_role(tx, caller.tenant_id, &key).await?;
                // Changing a role changes what its holders may do: the caller must be able to
                // grant both the old and the new permissions.
                if let Some(g) = before.permissions.iter().find(|g| {
                    caller
                        .scope_of(&g.permission)
                        .is_none_or(|held| held < g.scope)
                }) {
                    check.add(
                        "input.key",
                        UserErrorCode::NotAllowed,
                        format!(
                            "the role includes {} at {} scope, which you do not hold",
                            g.permission,
                            g.scope.as_str()
                        ),
                    );
                }
                check.finish()?;
                let updated = db_run!(tx, |c| diesel::update(
                    roles::table
                        .find(&row.id)
                        .filter(roles::version.eq(row.version))
                )
                .set((
                    roles::name.eq(input.name.as_deref().map(str::trim).unwrap_or(&row.name)),
                    roles::description.eq(input
                        .description
                        .as_deref()
                        .map(str::trim)
                        .unwrap_or(&row.description)),
                    roles::version.eq(row.version + 1),
                    roles::updated_at.eq(time::now()),
                ))
                .execute(c)
                .await)?;
                if updated == 0 {
                    return Err(Error::changed_meanwhile().into());
                }
                if let Some(grants) = &grants {
                    write_permissions(tx, caller.tenant_id, &row.id, grants).await?;
                }
                let role = load_role(tx, caller.tenant_id, &key).await?;
                audit::record_event(
                    tx,
                    caller,
                    &RoleUpdated {
                        role: (&role).into(),
                    },
                    serde_json::to_value(RoleData::from(&before)).ok(),
                )
                .await?;
                Ok(role)
            })
            .await;
        RolePayload::from_outcome(outcome, |role| RolePayload {
            role: Some(role),
            user_errors: vec![],
        })
    }

    /// Deletes a custom role that nobody holds.
    #[graphql(directive = Require::apply(ROLE_MANAGE))]
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        input: DeleteRoleInput,
    ) -> async_graphql::Result<DeleteRolePayload> {
        let caller = ctx.caller()?;
        let key = input.key.trim().to_owned();
        let outcome = ctx
            .mutate(async |tx| {
                if BuiltinRole::from_key(&key).is_some() {
                    return Err(Rejection::invalid(
                        "input.key",
                        UserErrorCode::InvalidState,
                        "built-in roles cannot be deleted",
                    ));
                }
                let row = find_role(tx, caller.tenant_id, &key)
                    .await?
                    .ok_or(Error::NotFound)?;
                let holders: i64 = db_run!(tx, |c| user_roles::table
                    .filter(user_roles::tenant_id.eq(caller.tenant_id))
                    .filter(user_roles::role_key.eq(&key))
                    .count()
                    .get_result(c)
                    .await)?;
                if holders > 0 {
                    return Err(Rejection::invalid(
                        "input.key",
                        UserErrorCode::InvalidState,
                        format!("{holders} user(s) hold this role; take it away from them first"),
                    ));
                }
                write_permissions(tx, caller.tenant_id, &row.id, &[]).await?;
                db_run!(tx, |c| diesel::delete(roles::table.find(&row.id))
                    .execute(c)
                    .await)?;
                audit::record_event(
                    tx,
                    caller,
                    &RoleDeleted {
                        key: key.clone(),
                        name: row.name.clone(),
                    },
                    None,
                )
                .await?;
                Ok(key.clone())
            })
            .await;
        DeleteRolePayload::from_outcome(outcome, |key| DeleteRolePayload {
            deleted_key: Some(key),
            user_errors: vec![],
        })
    }
}
