//! (Over 600 lines: user, role and grant management share the two safety rules below (scope and last owner), which every mutation here applies before it writes through `kernel::write`.)
//!
//! Changing users: create or invite, update, roles and grants, deactivate and reactivate.
//!
//! Two rules keep role management safe: a caller can only manage users inside their own row
//! scope (a manager: the users of their locations), and can only give or take away roles and
//! grants whose every permission they hold themselves at the same or a wider scope. So nobody
//! hands out more than they have, and only an owner makes an owner.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{RowScope, UserKind};
use switchyard_kernel::audit;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::check_version;
use switchyard_kernel::validate::{Check, normalize_email};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Rejection, Scope, TenantId, UserErrorCode, UserId,
    db_run, payload, time, write,
};

use super::events::{
    UserCreated, UserDeactivated, UserPermissionGranted, UserPermissionRevoked, UserReactivated,
    UserRolesChanged, UserUpdated,
};
use super::grants::{GrantId, GrantRow, UserGrant};
use super::{User, UserRow, UserStatus, find_scoped};
use crate::credentials::{TokenLifetimes, password, secrets, sessions};
use crate::permissions::{USER_ASSIGN_ROLES, USER_CREATE, USER_DEACTIVATE, USER_UPDATE};
use crate::roles::{PermissionGrant, role_grants};
use crate::schema::{locations, user_grants, user_locations, user_roles, users};

payload!(
    /// The result of `createUser`.
    CreateUserPayload {
        user: User,
        /// When the user was created without a password: the one-time invitation token to
        /// hand to them (shown once, never again).
        invitation_token: String,
    }
);
payload!(
    /// The result of `updateUser`, `setUserRoles`, `deactivateUser`, `reactivateUser`.
    UserPayload { user: User } from row
);
payload!(
    /// The result of `grantPermission`.
    GrantPermissionPayload { grant: UserGrant, user: User }
);

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
    #[graphql(default_with = "UserKind::Staff")]
    pub kind: UserKind,
    /// Role keys to assign.
    #[graphql(default)]
    pub roles: Vec<String>,
    #[graphql(default)]
    pub location_ids: Vec<ID>,
    /// The initial password; without one the user is INVITED and the payload carries an
    /// invitation token.
    pub password: Option<String>,
    /// A retried request with the same key returns the first result instead of creating twice.
    pub idempotency_key: Option<String>,
}

/// Changes to a user.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    /// The version you read; a stale one answers CONFLICT.
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    /// Replaces the user's locations.
    pub location_ids: Option<Vec<ID>>,
}

/// The complete new set of a user's roles.
#[derive(InputObject)]
pub struct SetUserRolesInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub roles: Vec<String>,
}

/// An extra permission for one user.
#[derive(InputObject)]
pub struct GrantPermissionInput {
    pub user_id: ID,
    pub permission: String,
    pub scope: Scope,
    /// When the grant stops counting; omit for a permanent grant.
    pub expires_at: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub reason: String,
}

/// A grant to withdraw.
#[derive(InputObject)]
pub struct RevokeGrantInput {
    pub id: ID,
}

/// A user to deactivate or reactivate.
#[derive(InputObject)]
pub struct UserStatusInput {
    pub id: ID,
    pub expected_version: Option<i32>,
}

/// The user, if `caller` may manage them under `permission`: NOT_FOUND when not in the
/// tenant, FORBIDDEN when outside the caller's scope.
pub(crate) async fn managed_user(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: UserId,
) -> Result<UserRow, Rejection> {
    let scope = caller.row_scope(permission)?;
    let row = find_scoped(conn, caller.tenant_id, &RowScope::Tenant, id)
        .await?
        .ok_or(Error::NotFound)?;
    if find_scoped(conn, caller.tenant_id, &scope, id)
        .await?
        .is_none()
    {
        return Err(Error::forbidden(format!(
            "this user is outside the scope of your {permission} permission"
        ))
        .into());
    }
    Ok(row)
}

/// The first permission of `grants` the caller does not hold at that scope, if any.
fn beyond_caller<'a>(
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
async fn check_roles(
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
async fn check_locations(
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

async fn active_owners(conn: &mut Conn<'_>, tenant: TenantId) -> Result<i64, Error> {
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
async fn check_current_roles_manageable(
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

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user, with a password or as an invitation.
    #[graphql(directive = Require::apply(USER_CREATE))]
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<CreateUserPayload> {
        let caller = ctx.caller()?;
        let email = normalize_email(&input.email);
        let name = input.name.trim().to_owned();
        let ttl = ctx.data::<TokenLifetimes>()?.invitation;
        let mut check = Check::new();
        check
            .email("input.email", &email)
            .text("input.name", &name, 200);
        if let Some(password) = &input.password
            && let Some(why) = password::weakness(password, &email)
        {
            check.add(
                "input.password",
                UserErrorCode::WeakPassword,
                format!("the password {why}"),
            );
        }
        if !input.roles.is_empty() {
            caller.require(USER_ASSIGN_ROLES)?;
        }
        let hash = match &input.password {
            Some(p) if !check.failed() => Some(password::hash(p.clone()).await?),
            _ => None,
        };
        let outcome = ctx
            .mutate(async |tx| {
                let new_id = UserId::new();
                let key = input.idempotency_key.as_deref();
                if let Some(first) =
                    write::replay::<User>(tx, caller, "createUser", key, USER_CREATE, new_id)
                        .await?
                {
                    return Ok((first, None));
                }
                let mut check = check;
                check_roles(tx, ctx, caller, &input.roles, "input.roles", &mut check).await?;
                let locations = check_locations(
                    tx,
                    caller,
                    USER_CREATE,
                    &input.location_ids,
                    "input.locationIds",
                    &mut check,
                )
                .await?;
                let taken: i64 = db_run!(tx, |c| users::table
                    .filter(users::tenant_id.eq(caller.tenant_id))
                    .filter(users::email.eq(&email))
                    .count()
                    .get_result(c)
                    .await)?;
                if taken > 0 {
                    check.add(
                        "input.email",
                        UserErrorCode::Duplicate,
                        "another user has this email",
                    );
                }
                check.finish()?;
                let id = new_id;
                let now = time::now();
                let invitation = hash
                    .is_none()
                    .then(|| format!("syi_{}", secrets::random_token(32)));
                let expires = now + chrono::Duration::from_std(ttl).map_err(Error::internal)?;
                let row = UserRow {
                    id,
                    tenant_id: caller.tenant_id,
                    email,
                    name,
                    kind: input.kind,
                    status: if hash.is_some() {
                        UserStatus::Active
                    } else {
                        UserStatus::Invited
                    },
                    password_hash: hash,
                    invitation_hash: invitation.as_deref().map(secrets::digest),
                    invitation_expires_at: invitation.as_ref().map(|_| expires),
                    last_login_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let roles = input.roles.clone();
                let row = write::create::<User, _>(tx, caller, row, |row| UserCreated {
                    user: row.into(),
                    roles: roles.clone(),
                })
                .await?;
                replace_roles(tx, caller.tenant_id, id, &input.roles).await?;
                replace_locations(tx, caller.tenant_id, id, &locations).await?;
                Ok((row, invitation))
            })
            .await;
        CreateUserPayload::from_outcome(outcome, |(row, invitation)| CreateUserPayload {
            user: Some(User::one(row)),
            invitation_token: invitation,
            user_errors: vec![],
        })
    }

    /// Changes a user's name or locations.
    #[graphql(directive = Require::apply(USER_UPDATE))]
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let id = UserId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = managed_user(tx, caller, USER_UPDATE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                let name = input.name.as_ref().map(|n| n.trim().to_owned());
                if let Some(name) = &name {
                    check.text("input.name", name, 200);
                }
                let locations = match &input.location_ids {
                    Some(ids) => Some(
                        check_locations(
                            tx,
                            caller,
                            USER_UPDATE,
                            ids,
                            "input.locationIds",
                            &mut check,
                        )
                        .await?,
                    ),
                    None => None,
                };
                check.finish()?;
                if let Some(locations) = &locations {
                    replace_locations(tx, caller.tenant_id, id, locations).await?;
                }
                let mut row = before.clone();
                write::set(&mut row.name, name);
                Ok(write::update::<User, _>(tx, caller, &before, row, UserUpdated::of).await?)
            })
            .await;
        UserPayload::of(outcome)
    }

    /// Replaces a user's roles. Roles given or taken away must be within what you hold.
    #[graphql(directive = Require::apply(USER_ASSIGN_ROLES))]
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        input: SetUserRolesInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let id = UserId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = managed_user(tx, caller, USER_ASSIGN_ROLES, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                check_roles(tx, ctx, caller, &input.roles, "input.roles", &mut check).await?;
                check_current_roles_manageable(tx, ctx, caller, &before, &mut check, "input.id")
                    .await?;
                check.finish()?;
                let old_roles = role_keys(tx, caller.tenant_id, id).await?;
                replace_roles(tx, caller.tenant_id, id, &input.roles).await?;
                if old_roles.iter().any(|r| r == "owner")
                    && active_owners(tx, caller.tenant_id).await? == 0
                {
                    return Err(Rejection::invalid(
                        "input.roles",
                        UserErrorCode::InvalidState,
                        "the tenant must keep at least one active owner",
                    ));
                }
                // The event carries the roles, which are not in the row: the before-image is
                // the event of the row as it was, with the roles it had.
                let row = write::store::<User>(tx, &before, before.clone()).await?;
                let was = UserRolesChanged {
                    user: (&before).into(),
                    roles: old_roles,
                };
                let roles = role_keys(tx, caller.tenant_id, id).await?;
                audit::record_event(
                    tx,
                    caller,
                    &UserRolesChanged {
                        user: (&row).into(),
                        roles,
                    },
                    serde_json::to_value(was).ok(),
                )
                .await?;
                Ok(row)
            })
            .await;
        UserPayload::of(outcome)
    }

    /// Grants one extra permission to a user, optionally until a given time.
    #[graphql(directive = Require::apply(USER_ASSIGN_ROLES))]
    async fn grant_permission(
        &self,
        ctx: &Context<'_>,
        input: GrantPermissionInput,
    ) -> async_graphql::Result<GrantPermissionPayload> {
        let caller = ctx.caller()?;
        let catalog = ctx.services()?.catalog.clone();
        let id = UserId::parse(&input.user_id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let user = managed_user(tx, caller, USER_ASSIGN_ROLES, id).await?;
                let mut check = Check::new();
                if catalog.get(&input.permission).is_none() {
                    check.add(
                        "input.permission",
                        UserErrorCode::UnknownReference,
                        format!("there is no permission {:?}", input.permission),
                    );
                } else if caller
                    .scope_of(&input.permission)
                    .is_none_or(|held| held < input.scope)
                {
                    check.add(
                        "input.permission",
                        UserErrorCode::NotAllowed,
                        format!(
                            "you do not hold {} at {} scope",
                            input.permission,
                            input.scope.as_str()
                        ),
                    );
                }
                if input.expires_at.is_some_and(|t| t <= Utc::now()) {
                    check.add(
                        "input.expiresAt",
                        UserErrorCode::OutOfRange,
                        "must be in the future",
                    );
                }
                check.max_len("input.reason", &input.reason, 500);
                check.finish()?;
                let grant = GrantId::new();
                let row: GrantRow = db_run!(tx, |c| diesel::insert_into(user_grants::table)
                    .values((
                        user_grants::id.eq(grant),
                        user_grants::tenant_id.eq(caller.tenant_id),
                        user_grants::user_id.eq(id),
                        user_grants::permission.eq(&input.permission),
                        user_grants::scope.eq(input.scope.as_str()),
                        user_grants::expires_at.eq(input.expires_at.map(time::naive)),
                        user_grants::reason.eq(input.reason.trim()),
                        user_grants::granted_by.eq(caller.user_id().map(|u| u.to_string())),
                        user_grants::created_at.eq(time::now()),
                    ))
                    .returning(GrantRow::as_returning())
                    .get_result(c)
                    .await)?;
                let user = write::store::<User>(tx, &user, user.clone()).await?;
                audit::record_event(
                    tx,
                    caller,
                    &UserPermissionGranted {
                        user_id: id,
                        grant_id: grant.to_string(),
                        permission: input.permission.clone(),
                        scope: input.scope,
                        expires_at: input.expires_at,
                    },
                    None,
                )
                .await?;
                Ok((row, user))
            })
            .await;
        GrantPermissionPayload::from_outcome(outcome, |(grant, user)| GrantPermissionPayload {
            grant: Some(UserGrant(grant)),
            user: Some(User::one(user)),
            user_errors: vec![],
        })
    }

    /// Withdraws an extra permission.
    #[graphql(directive = Require::apply(USER_ASSIGN_ROLES))]
    async fn revoke_grant(
        &self,
        ctx: &Context<'_>,
        input: RevokeGrantInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let grant = GrantId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let row: GrantRow = db_run!(tx, |c| user_grants::table
                    .filter(user_grants::tenant_id.eq(caller.tenant_id))
                    .filter(user_grants::id.eq(grant))
                    .select(GrantRow::as_select())
                    .first(c)
                    .await
                    .optional())?
                .ok_or(Error::NotFound)?;
                let user = managed_user(tx, caller, USER_ASSIGN_ROLES, row.user_id).await?;
                let scope = row.scope;
                if caller
                    .scope_of(&row.permission)
                    .is_none_or(|held| held < scope)
                {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::NotAllowed,
                        format!("you do not hold {} at {} scope", row.permission, row.scope),
                    ));
                }
                db_run!(tx, |c| diesel::delete(user_grants::table.find(row.id))
                    .execute(c)
                    .await)?;
                let user = write::store::<User>(tx, &user, user.clone()).await?;
                audit::record_event(
                    tx,
                    caller,
                    &UserPermissionRevoked {
                        user_id: user.id,
                        grant_id: row.id.to_string(),
                        permission: row.permission.clone(),
                        scope: row.scope,
                    },
                    None,
                )
                .await?;
                Ok(user)
            })
            .await;
        UserPayload::of(outcome)
    }

    /// Deactivates a user: they cannot sign in, and every session and API key of theirs stops
    /// working at once.
    #[graphql(directive = Require::apply(USER_DEACTIVATE))]
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserStatusInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let id = UserId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = managed_user(tx, caller, USER_DEACTIVATE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                if caller.user_id() == Some(id) {
                    check.add(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "you cannot deactivate yourself",
                    );
                }
                if before.status == UserStatus::Deactivated {
                    check.add(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "the user is already deactivated",
                    );
                }
                check_current_roles_manageable(tx, ctx, caller, &before, &mut check, "input.id")
                    .await?;
                check.finish()?;
                sessions::revoke_all(tx, caller.tenant_id, id, None, "user deactivated").await?;
                let row = UserRow {
                    status: UserStatus::Deactivated,
                    ..before.clone()
                };
                Ok(write::update::<User, _>(tx, caller, &before, row, UserDeactivated::of).await?)
            })
            .await;
        UserPayload::of(outcome)
    }

    /// Lets a deactivated user sign in again (or accept their invitation).
    #[graphql(directive = Require::apply(USER_DEACTIVATE))]
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserStatusInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let id = UserId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = managed_user(tx, caller, USER_DEACTIVATE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                if before.status != UserStatus::Deactivated {
                    check.add(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "the user is not deactivated",
                    );
                }
                check_current_roles_manageable(tx, ctx, caller, &before, &mut check, "input.id")
                    .await?;
                check.finish()?;
                let row = UserRow {
                    status: if before.password_hash.is_some() {
                        UserStatus::Active
                    } else {
                        UserStatus::Invited
                    },
                    ..before.clone()
                };
                Ok(write::update::<User, _>(tx, caller, &before, row, UserReactivated::of).await?)
            })
            .await;
        UserPayload::of(outcome)
    }
}
