//! Sessions and rotating refresh tokens. A session is one sign-in; each refresh hands out a
//! new refresh token and retires the old one. Presenting a retired token again means it was
//! stolen or replayed: the whole session (the token family) is revoked.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{Conn, Error, TenantId, UserId, db_run, time};

use super::secrets;
use crate::schema::{refresh_tokens, sessions, users};

/// Prefix of refresh tokens, so they are recognisable in logs and secret scanners.
const REFRESH_PREFIX: &str = "syr_";

/// A new refresh token for `session`; only its digest is stored.
async fn issue_refresh(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    session: &str,
    ttl: Duration,
) -> Result<String, Error> {
    let token = format!("{REFRESH_PREFIX}{}", secrets::random_token(32));
    let now = time::now();
    let expires = now + chrono::Duration::from_std(ttl).map_err(Error::internal)?;
    let row = (
        refresh_tokens::id.eq(uuid::Uuid::now_v7().to_string()),
        refresh_tokens::tenant_id.eq(tenant),
        refresh_tokens::session_id.eq(session),
        refresh_tokens::token_hash.eq(secrets::digest(&token)),
        refresh_tokens::created_at.eq(now),
        refresh_tokens::expires_at.eq(expires),
    );
    db_run!(conn, |c| diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(token)
}

/// Starts a session for a user who just proved who they are; returns (session, refresh token).
pub async fn start(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    ttl: Duration,
) -> Result<(String, String), Error> {
    let session = uuid::Uuid::now_v7().to_string();
    let now = time::now();
    let row = (
        sessions::id.eq(&session),
        sessions::tenant_id.eq(tenant),
        sessions::user_id.eq(user),
        sessions::created_at.eq(now),
    );
    db_run!(conn, |c| diesel::insert_into(sessions::table)
        .values(row)
        .execute(c)
        .await)?;
    let refresh = issue_refresh(conn, tenant, &session, ttl).await?;
    db_run!(conn, |c| diesel::update(users::table.find(user))
        .set(users::last_login_at.eq(now))
        .execute(c)
        .await)?;
    Ok((session, refresh))
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// A fresh token in the same session.
    Rotated {
        tenant: TenantId,
        user: UserId,
        session: String,
        refresh: String,
    },
    /// The token was already used: the session has been revoked.
    Reused,
    /// Unknown, expired, or its session or user is no longer valid.
    Invalid,
}

/// Rotates a refresh token inside the caller's transaction.
pub async fn rotate(conn: &mut Conn<'_>, token: &str, ttl: Duration) -> Result<Rotation, Error> {
    let digest = secrets::digest(token);
    type Found = (
        String,
        TenantId,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        UserId,
        String,
    );
    let found: Option<Found> = db_run!(conn, |c| refresh_tokens::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(&digest))
        .select((
            refresh_tokens::id,
            refresh_tokens::tenant_id,
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            sessions::revoked_at,
            users::id,
            users::status,
        ))
        .first::<Found>(c)
        .await
        .optional())?;
    let Some((id, tenant, session, expires_at, used_at, revoked_at, user, status)) = found else {
        return Ok(Rotation::Invalid);
    };
    if used_at.is_some() {
        if revoked_at.is_none() {
            revoke(conn, &session, "refresh token reused").await?;
            tracing::warn!(%session, "refresh token reused; session revoked");
        }
        return Ok(Rotation::Reused);
    }
    let now = time::now();
    if revoked_at.is_some() || expires_at <= now || status != "active" {
        return Ok(Rotation::Invalid);
    }
    // One conditional write decides: of several presentations racing with one token, exactly
    // one marks it used; for every other the row has moved on (PostgreSQL re-reads it after the
    // winner commits), and that presentation is a reuse like any other.
    let won = db_run!(conn, |c| diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(&id))
            .filter(refresh_tokens::used_at.is_null())
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(c)
    .await)?;
    if won == 0 {
        revoke(conn, &session, "refresh token reused").await?;
        tracing::warn!(%session, "refresh token presented twice at once; session revoked");
        return Ok(Rotation::Reused);
    }
    let refresh = issue_refresh(conn, tenant, &session, ttl).await?;
    Ok(Rotation::Rotated {
        tenant,
        user,
        session,
        refresh,
    })
}

/// Revokes one session; its access tokens stop working at their next request.
pub async fn revoke(conn: &mut Conn<'_>, session: &str, reason: &str) -> Result<(), Error> {
    let now = time::now();
    db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::id.eq(session))
            .filter(sessions::revoked_at.is_null())
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason)
    ))
    .execute(c)
    .await)?;
    Ok(())
}

/// Revokes every live session of a user, except `keep`.
pub async fn revoke_all(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    user: UserId,
    keep: Option<&str>,
    reason: &str,
) -> Result<(), Error> {
    let now = time::now();
    let keep = keep.unwrap_or_default().to_owned();
    db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant))
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(&keep))
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason)
    ))
    .execute(c)
    .await)?;
    Ok(())
}
