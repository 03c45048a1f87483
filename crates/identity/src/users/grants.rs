//! Extra permissions held by one user, possibly until a given time.

use std::collections::HashMap;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Authenticated;
use switchyard_kernel::{ContextExt, Error, Scope, TenantId, UserId, db_run};

use super::User;
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
