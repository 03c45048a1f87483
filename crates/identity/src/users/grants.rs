//! Extra permissions held by one user, possibly until a given time: the grant type, its batch
//! loader, and `grantPermission` / `revokeGrant` (under the rules of `rules.rs`).

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Authenticated;

use switchyard_kernel::audit;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    ContextExt, Error, Rejection, Scope, TenantId, UserErrorCode, UserId, db_run, payload, time,
    write,
};

use super::User;
use super::events::{UserPermissionGranted, UserPermissionRevoked};
use super::mutations::UserPayload;
use super::rules::managed_user;
use crate::permissions::USER_ASSIGN_ROLES;
use crate::schema::user_grants;

/// A row of `user_grants`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_grants)]
pub struct GrantRow {
    pub id: GrantId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub permission: String,
    pub scope: Scope,
    pub expires_at: Option<NaiveDateTime>,
    pub reason: String,
    pub granted_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

switchyard_kernel::id_type!(
    /// An extra permission granted to one user.
    GrantId,
    "UserGrant"
);

/// An extra permission held by one user, possibly until a given time.
#[derive(Clone)]
pub struct UserGrant(pub(crate) GrantRow);

#[Object(directive = Authenticated::apply())]
impl UserGrant {
    async fn id(&self) -> ID {
        self.0.id.to_global()
    }
    async fn permission(&self) -> &str {
        &self.0.permission
    }
    async fn scope(&self) -> Scope {
        self.0.scope
    }
    /// After this time the grant no longer counts; null means it never expires.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(|t| t.and_utc())
    }
    /// Whether the grant counts now.
    async fn active(&self) -> bool {
        self.0
            .expires_at
            .is_none_or(|t| t > switchyard_kernel::time::now())
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Who granted it.
    async fn granted_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.granted_by {
            Some(id) => Ok(switchyard_kernel::read::aggregate::load_one::<User>(ctx, id).await?),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
}

/// The grants of users, in one statement.
pub(crate) async fn grants_of(
    ctx: &Context<'_>,
    ids: Vec<UserId>,
) -> Result<HashMap<UserId, Vec<GrantRow>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let mut conn = pooled.conn();
    let rows: Vec<GrantRow> = db_run!(&mut conn, |c| user_grants::table
        .filter(user_grants::tenant_id.eq(tenant))
        .filter(user_grants::user_id.eq_any(&ids))
        .order(user_grants::id.asc())
        .select(GrantRow::as_select())
        .load(c)
        .await)?;
    let mut out: HashMap<UserId, Vec<GrantRow>> = HashMap::new();
    for row in rows {
        out.entry(row.user_id).or_default().push(row);
    }
    Ok(out)
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

payload!(
    /// The result of `grantPermission`.
    GrantPermissionPayload { grant: UserGrant, user: User }
);

#[derive(Default)]
pub struct GrantMutation;

#[Object]
impl GrantMutation {
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
                crate::roles::grantable(
                    &mut check,
                    &catalog,
                    caller,
                    "input.permission",
                    &input.permission,
                    input.scope,
                );
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
}
