//! Changing users: create or invite, update, roles, deactivate and reactivate, each under the
//! rules of `rules.rs` (who may be managed, which roles may be given), writing through
//! `kernel::write`. Extra grants are changed in `grants.rs`.

use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::UserKind;
use switchyard_kernel::audit;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::check_version;
use switchyard_kernel::validate::{Check, normalize_email};
use switchyard_kernel::{
    ContextExt, Error, Rejection, UserErrorCode, UserId, db_run, payload, time, write,
};

use super::events::{UserCreated, UserDeactivated, UserReactivated, UserRolesChanged, UserUpdated};
use super::rules::{
    active_owners, check_current_roles_manageable, check_locations, check_roles, managed_user,
    replace_locations, replace_roles, role_keys,
};
use super::{User, UserRow, UserStatus};
use crate::credentials::{TokenLifetimes, password, secrets, sessions};
use crate::permissions::{USER_ASSIGN_ROLES, USER_CREATE, USER_DEACTIVATE, USER_UPDATE};
use crate::schema::users;

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

/// A user to deactivate or reactivate.
#[derive(InputObject)]
pub struct UserStatusInput {
    pub id: ID,
    pub expected_version: Option<i32>,
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
