//! Signing in and out over GraphQL: `login`, `refreshSession`, `logout`, `changePassword`,
//! and `acceptInvitation` (in the users module, implemented here).

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{Caller, Principal};
use switchyard_kernel::audit::{self, Change};
use switchyard_kernel::policy::{Authenticated, Public};
use switchyard_kernel::validate::{Check, normalize_email};
use switchyard_kernel::{
    ClientAddr, ContextExt, Error, Rejection, TenantId, UserErrorCode, UserId, db_run, payload,
    time, write,
};

use super::Authenticator;
use crate::credentials::sessions::{self, Rotation};
use crate::credentials::{password, secrets};
use crate::schema::{tenants, users};
use crate::users::events::{UserPasswordChanged, UserSignedOut};
use crate::users::mutations::UserPayload;
use crate::users::{User, UserRow, UserStatus};

payload!(
    /// Credentials for a session: a short-lived access token and a refresh token.
    SessionPayload {
        /// Send as `Authorization: Bearer <accessToken>`.
        access_token: String,
        /// When the access token expires.
        expires_at: DateTime<Utc>,
        /// Exchange for new tokens with `refreshSession`; each is good for one use.
        refresh_token: String,
        user: User,
    }
);
payload!(
    /// The result of `logout`.
    LogoutPayload {
        /// How many sessions ended.
        sessions_ended: i32,
    }
);

/// Email and password.
#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The company's slug; needed only when the email belongs to users of several companies.
    pub tenant: Option<String>,
}

/// A refresh token to exchange.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

/// Which sessions to end.
#[derive(InputObject, Default)]
pub struct LogoutInput {
    /// End every session of the user, not only this one.
    #[graphql(default)]
    pub all_sessions: bool,
}

/// A password change.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

fn authenticator<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Authenticator>, Error> {
    ctx.data_opt::<Arc<Authenticator>>()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("Authenticator missing from schema data")))
}

/// A caller standing for a user who is signing in, for the audit log.
fn acting_as(row: &UserRow) -> Caller {
    Caller::new(
        row.tenant_id,
        Principal::User {
            id: row.id,
            kind: row.kind,
            session: None,
        },
        vec![],
        [],
    )
}

/// Starts a session for `row` inside a transaction and returns the payload.
async fn open_session(
    ctx: &Context<'_>,
    auth: &Authenticator,
    row: UserRow,
    action: &'static str,
    set_password: Option<String>,
) -> Result<SessionPayload, Rejection> {
    let actor = acting_as(&row);
    let (row, session, refresh) = ctx
        .mutate(async |tx| {
            let mut row = row;
            if let Some(hash) = &set_password {
                let accepted = UserRow {
                    password_hash: Some(hash.clone()),
                    status: UserStatus::Active,
                    invitation_hash: None,
                    invitation_expires_at: None,
                    ..row.clone()
                };
                row = write::store::<User>(tx, &row, accepted).await?;
            }
            let (session, refresh) =
                sessions::start(tx, row.tenant_id, row.id, auth.lifetimes.refresh).await?;
            audit::record(
                tx,
                &actor,
                Change {
                    action,
                    entity_type: "User",
                    entity_id: row.id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "session": session })),
                },
            )
            .await?;
            Ok::<_, Rejection>((row, session, refresh))
        })
        .await?;
    let (access, expires) = auth.access_token(row.tenant_id, row.id, &session)?;
    Ok(SessionPayload {
        access_token: Some(access),
        expires_at: Some(expires),
        refresh_token: Some(refresh),
        user: Some(User::one(row)),
        user_errors: vec![],
    })
}

/// Accepts an invitation token and sets the first password.
async fn accept_invitation(
    ctx: &Context<'_>,
    token: String,
    new_password: String,
) -> async_graphql::Result<SessionPayload> {
    let auth = authenticator(ctx)?;
    let digest = secrets::digest(token.trim());
    let row: Option<(UserRow, Option<chrono::NaiveDateTime>)> = {
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        db_run!(&mut conn, |c| users::table
            .filter(users::invitation_hash.eq(&digest))
            .filter(users::status.eq("invited"))
            .select((UserRow::as_select(), users::invitation_expires_at))
            .first(c)
            .await
            .optional())?
    };
    let Some((row, Some(expires))) = row else {
        return Err(Error::unauthenticated("invalid or expired invitation").into());
    };
    if expires <= time::now() {
        return Err(Error::unauthenticated("invalid or expired invitation").into());
    }
    if let Some(why) = password::weakness(&new_password, &row.email) {
        return Ok(SessionPayload {
            user_errors: vec![switchyard_kernel::UserError::new(
                "input.password",
                UserErrorCode::WeakPassword,
                format!("the password {why}"),
            )],
            ..Default::default()
        });
    }
    let hash = password::hash(new_password).await?;
    SessionPayload::from_outcome(
        open_session(
            ctx,
            auth,
            row,
            "identity.user.invitation_accepted",
            Some(hash),
        )
        .await,
        |p| p,
    )
}

/// Accepting an invitation: the token from `createUser` and a password.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    pub token: String,
    pub password: String,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Accepts an invitation: sets the password and signs the user in.
    #[graphql(directive = Public::apply())]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> async_graphql::Result<SessionPayload> {
        accept_invitation(ctx, input.token, input.password).await
    }

    /// Signs in with email and password.
    #[graphql(directive = Public::apply())]
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<SessionPayload> {
        let auth = authenticator(ctx)?;
        let email = normalize_email(&input.email);
        let mut check = Check::new();
        check
            .required("input.email", &email)
            .required("input.password", &input.password);
        if let Err(Rejection::Invalid(user_errors)) = check.finish() {
            return Ok(SessionPayload {
                user_errors,
                ..Default::default()
            });
        }
        let address = ctx.data_opt::<ClientAddr>().map(|a| a.0);
        auth.limiter().check(&email, address)?;
        let tenant = input
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let candidates: Vec<UserRow> = {
            let mut pooled = ctx.services()?.db.read().await?;
            let mut conn = pooled.conn();
            db_run!(&mut conn, |c| {
                let mut query = users::table
                    .inner_join(tenants::table)
                    .filter(users::email.eq(&email))
                    .filter(users::status.eq("active"))
                    .select(UserRow::as_select())
                    .into_boxed();
                if let Some(slug) = &tenant {
                    query = query.filter(tenants::slug.eq(slug.clone()));
                }
                query.limit(2).load(c).await
            })?
        };
        // An email of several companies without the company's slug fails like any other
        // failure (same message, same cost, same count): no answer tells whether an address
        // is registered anywhere.
        let row = match <[UserRow; 1]>::try_from(candidates) {
            Ok([row]) => Some(row),
            Err(_) => None,
        };
        let ok = password::verify(
            input.password,
            row.as_ref().and_then(|r| r.password_hash.clone()),
        )
        .await?;
        let Some(row) = row.filter(|_| ok) else {
            auth.limiter().failed(&email, address);
            return Err(Error::unauthenticated(
                "invalid email or password (if your email is registered with several companies, give the company's slug as `tenant`)",
            )
            .into());
        };
        auth.limiter().succeeded(&email, address);
        SessionPayload::from_outcome(
            open_session(ctx, auth, row, "identity.user.signed_in", None).await,
            |p| p,
        )
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once; using one
    /// twice ends its session.
    #[graphql(directive = Public::apply())]
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let auth = authenticator(ctx)?;
        let rotation = ctx
            .mutate(async |tx| {
                Ok::<_, Rejection>(
                    sessions::rotate(tx, input.refresh_token.trim(), auth.lifetimes.refresh)
                        .await?,
                )
            })
            .await;
        let (tenant, user, session, refresh): (TenantId, UserId, String, String) = match rotation {
            Ok(Rotation::Rotated {
                tenant,
                user,
                session,
                refresh,
            }) => (tenant, user, session, refresh),
            Ok(Rotation::Reused) => {
                return Err(Error::unauthenticated(
                    "this refresh token was already used; the session has been ended",
                )
                .into());
            }
            Ok(Rotation::Invalid) => {
                return Err(Error::unauthenticated("invalid refresh token").into());
            }
            Err(Rejection::Failed(e)) => return Err(e.into()),
            Err(Rejection::Invalid(user_errors)) => {
                return Ok(SessionPayload {
                    user_errors,
                    ..Default::default()
                });
            }
        };
        let (access, expires) = auth.access_token(tenant, user, &session)?;
        let row = {
            let mut pooled = ctx.services()?.db.read().await?;
            let mut conn = pooled.conn();
            db_run!(&mut conn, |c| users::table
                .find(user)
                .select(UserRow::as_select())
                .first(c)
                .await)?
        };
        Ok(SessionPayload {
            access_token: Some(access),
            expires_at: Some(expires),
            refresh_token: Some(refresh),
            user: Some(User::one(row)),
            user_errors: vec![],
        })
    }

    /// Ends this session (or all of the user's sessions). Access tokens of an ended session
    /// stop working at once.
    #[graphql(directive = Authenticated::apply())]
    async fn logout(
        &self,
        ctx: &Context<'_>,
        input: Option<LogoutInput>,
    ) -> async_graphql::Result<LogoutPayload> {
        let caller = ctx.caller()?;
        let input = input.unwrap_or_default();
        let Principal::User { id, session, .. } = &caller.principal else {
            return Err(Error::forbidden("only a signed-in user has a session to end").into());
        };
        let outcome = ctx
            .mutate(async |tx| {
                if input.all_sessions {
                    sessions::revoke_all(tx, caller.tenant_id, *id, None, "signed out everywhere")
                        .await?;
                } else if let Some(session) = session {
                    sessions::revoke(tx, session, "signed out").await?;
                }
                // An event: open WebSockets of this user check their access again.
                audit::record_event(
                    tx,
                    caller,
                    &UserSignedOut {
                        user_id: *id,
                        all_sessions: input.all_sessions,
                    },
                    None,
                )
                .await?;
                Ok::<_, Rejection>(())
            })
            .await;
        LogoutPayload::from_outcome(outcome, |()| LogoutPayload {
            sessions_ended: Some(1),
            user_errors: vec![],
        })
    }

    /// Changes the signed-in user's password; every other session of theirs ends.
    #[graphql(directive = Authenticated::apply())]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = ctx.caller()?;
        let Principal::User { id, session, .. } = &caller.principal else {
            return Err(Error::forbidden("only a signed-in user has a password").into());
        };
        let row: UserRow = {
            let mut pooled = ctx.services()?.db.read().await?;
            let mut conn = pooled.conn();
            db_run!(&mut conn, |c| users::table
                .filter(users::tenant_id.eq(caller.tenant_id))
                .filter(users::id.eq(*id))
                .select(UserRow::as_select())
                .first(c)
                .await)?
        };
        let mut check = Check::new();
        if !password::verify(input.current_password, row.password_hash.clone()).await? {
            check.add(
                "input.currentPassword",
                UserErrorCode::InvalidCredentials,
                "the current password is wrong",
            );
        }
        if let Some(why) = password::weakness(&input.new_password, &row.email) {
            check.add(
                "input.newPassword",
                UserErrorCode::WeakPassword,
                format!("the password {why}"),
            );
        }
        if let Err(Rejection::Invalid(user_errors)) = check.finish() {
            return Ok(UserPayload {
                user_errors,
                ..Default::default()
            });
        }
        let hash = password::hash(input.new_password).await?;
        let outcome = ctx
            .mutate(async |tx| {
                let changed = UserRow {
                    password_hash: Some(hash.clone()),
                    ..row.clone()
                };
                let row = write::store::<User>(tx, &row, changed).await?;
                sessions::revoke_all(
                    tx,
                    caller.tenant_id,
                    *id,
                    session.as_deref(),
                    "password changed",
                )
                .await?;
                // An event: open WebSockets of this user check their access again.
                audit::record_event(tx, caller, &UserPasswordChanged { user_id: *id }, None)
                    .await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        UserPayload::of(outcome)
    }
}
