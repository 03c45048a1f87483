//! Partner API keys: a secret shown once, stored as a digest, limited to chosen permissions,
//! revocable, with the time it was last used. A key acts for the user who created it and
//! stops working when that user is deactivated.

pub mod events;
pub mod mutations;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use switchyard_kernel::access::RowScope;

use crate::roles::events::GrantData;
use switchyard_kernel::read::Expr;
use switchyard_kernel::{ApiKeyId, Caller, Db, Error, Scope, UserId, db_run, time};

use crate::credentials::secrets;
use crate::permissions::API_KEY_READ;
use crate::roles::PermissionGrant;
use crate::schema::{api_keys, users};
use crate::users::User;

/// Every API key starts with this, so the gateway can tell it from a JWT.
pub const KEY_PREFIX: &str = "sy_";

/// How often `lastUsedAt` is written at most, to keep reads from turning into writes.
const LAST_USED_PRECISION: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredGrant {
    permission: String,
    scope: Scope,
}

impl ApiKeyRow {
    fn grants(&self) -> Vec<StoredGrant> {
        serde_json::from_str(&self.permissions).unwrap_or_default()
    }
}

/// What a valid API key carries: whose it is and what it may do at most.
pub struct KeyGrant {
    pub tenant: switchyard_kernel::TenantId,
    pub id: ApiKeyId,
    /// The user it acts for; the key never exceeds what this user holds now.
    pub owner: UserId,
    pub grants: Vec<(String, Scope)>,
    pub expires_at: Option<NaiveDateTime>,
}

/// Checks an API key: UNAUTHENTICATED when unknown, of a wrong secret, revoked, expired, or
/// when its creator is deactivated.
pub async fn authenticate(db: &Db, key: &str) -> Result<KeyGrant, Error> {
    let invalid = || Error::unauthenticated("invalid API key");
    let rest = key.strip_prefix(KEY_PREFIX).ok_or_else(invalid)?;
    let (prefix, _) = rest.split_once('_').ok_or_else(invalid)?;
    let found: Option<(ApiKeyRow, String)> = {
        let mut pooled = db.read().await?;
        let mut conn = pooled.conn();
        db_run!(&mut conn, |c| api_keys::table
            .inner_join(users::table)
            .filter(api_keys::prefix.eq(prefix))
            .select((ApiKeyRow::as_select(), users::status))
            .first(c)
            .await
            .optional())?
    };
    let Some((row, owner_status)) = found else {
        return Err(invalid());
    };
    let now = time::now();
    if !secrets::same_digest(&secrets::digest(key), &row.secret_hash) {
        return Err(invalid());
    }
    if row.revoked_at.is_some() {
        return Err(Error::unauthenticated("API key revoked"));
    }
    if row.expires_at.is_some_and(|t| t <= now) {
        return Err(Error::unauthenticated("API key expired"));
    }
    if owner_status != "active" {
        return Err(Error::unauthenticated("the API key's owner is deactivated"));
    }
    if row
        .last_used_at
        .is_none_or(|t| now - t > LAST_USED_PRECISION)
    {
        let mut pooled = db.write().await?;
        let mut conn = pooled.conn();
        db_run!(&mut conn, |c| diesel::update(api_keys::table.find(row.id))
            .set(api_keys::last_used_at.eq(now))
            .execute(c)
            .await)?;
    }
    Ok(KeyGrant {
        expires_at: row.expires_at,
        tenant: row.tenant_id,
        id: row.id,
        owner: row.created_by,
        grants: row
            .grants()
            .into_iter()
            .map(|g| (g.permission, g.scope))
            .collect(),
    })
}

fn grant_data(grants: &[StoredGrant]) -> Vec<GrantData> {
    grants
        .iter()
        .map(|g| GrantData {
            permission: g.permission.clone(),
            scope: g.scope,
        })
        .collect()
}

/// The keys `caller` reaches with `permission`: all of the tenant's, or the ones it created.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    Ok(match caller.row_scope(permission)? {
        RowScope::Tenant => Expr::True,
        RowScope::Own(me) | RowScope::Location { user: me, .. } => Expr::Cmp {
            column: "created_by",
            op: "=",
            value: me.to_string().into(),
        },
    })
}

/// Keys in use only, unless the filter's top level asks about `revokedAt`.
fn unrevoked_unless_asked(filter: &ApiKeyFilter, _caller: &Caller) -> Result<Vec<Expr>, Error> {
    Ok(match filter.revoked_at {
        Some(_) => Vec::new(),
        None => vec![Expr::IsNull {
            column: "revoked_at",
            null: true,
        }],
    })
}

switchyard_kernel::aggregate! {
    /// A partner API key (never its secret).
    #[aggregate(
        table = crate::schema::api_keys,
        id = ApiKeyId,
        read = API_KEY_READ,
        scope = scope,
        access = authenticated,
        owner(user = created_by),
        order(created_at, desc),
        list(
            name = api_keys,
            doc = "API keys, newest first; revoked ones when the filter asks about `revokedAt`.",
            defaults = unrevoked_unless_asked,
        ),
    )]
    pub struct ApiKey {
        #[field(filter, order)]
        name: String,
        #[field(hidden)]
        prefix: String,
        #[field(hidden)]
        secret_hash: String,
        #[field(hidden)]
        permissions: String,
        #[field(to_one = User, filter)]
        created_by: UserId,
        created_at: NaiveDateTime,
        #[field(filter)]
        expires_at: Option<NaiveDateTime>,
        /// Recorded at most once a minute.
        last_used_at: Option<NaiveDateTime>,
        #[field(filter)]
        revoked_at: Option<NaiveDateTime>,
    }

    impl ApiKey {
        /// The public part of the key (`sy_<prefix>_…`), to recognise it.
        async fn prefix(&self) -> String {
            format!("{KEY_PREFIX}{}", self.row().prefix)
        }

        /// What the key may do.
        async fn permissions(&self) -> Vec<PermissionGrant> {
            self.row()
                .grants()
                .into_iter()
                .map(|g| PermissionGrant {
                    permission: g.permission,
                    scope: g.scope,
                })
                .collect()
        }

        /// Neither revoked nor expired.
        async fn active(&self) -> bool {
            let row = self.row();
            row.revoked_at.is_none() && row.expires_at.is_none_or(|t| t > time::now())
        }
    }
}
