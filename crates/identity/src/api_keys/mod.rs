//! Partner API keys: a secret shown once, stored as a digest, limited to chosen permissions,
//! revocable, with the time it was last used. A key acts for the user who created it and
//! stops working when that user is deactivated.

pub mod events;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use switchyard_kernel::access::RowScope;
use switchyard_kernel::audit;

use crate::roles::events::GrantData;
use events::{ApiKeyCreated, ApiKeyRevoked};
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::Expr;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    ApiKeyId, Caller, ContextExt, Db, Error, Rejection, Scope, UserErrorCode, UserId, db_run,
    idempotency, payload, time,
};

use crate::credentials::secrets;
use crate::permissions::{API_KEY_MANAGE, API_KEY_READ};
use crate::roles::{PermissionGrant, PermissionGrantInput};
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

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    /// What the key may do; each must be within what you hold.
    pub permissions: Vec<PermissionGrantInput>,
    pub expires_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
}

/// An API key to revoke.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

payload!(
    /// The result of `createApiKey`.
    CreateApiKeyPayload {
        api_key: ApiKey,
        /// The whole key. Shown this once: store it now.
        secret: String,
    }
);
payload!(
    /// The result of `revokeApiKey`.
    ApiKeyPayload { api_key: ApiKey }
);

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key limited to the given permissions. The secret is in the payload only.
    #[graphql(directive = Require::apply(API_KEY_MANAGE))]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let caller = ctx.caller()?;
        let services = ctx.services()?;
        let Some(owner) = caller.user_id() else {
            return Err(Error::forbidden("API keys are created by users").into());
        };
        let name = input.name.trim().to_owned();
        let mut check = Check::new();
        check.text("input.name", &name, 100);
        if input.permissions.is_empty() {
            check.add(
                "input.permissions",
                UserErrorCode::Required,
                "give the key at least one permission",
            );
        }
        let mut grants = Vec::new();
        for (i, grant) in input.permissions.iter().enumerate() {
            let path = format!("input.permissions.{i}.permission");
            if services.catalog.get(&grant.permission).is_none() {
                check.add(
                    &path,
                    UserErrorCode::UnknownReference,
                    format!("there is no permission {:?}", grant.permission),
                );
            } else if caller
                .scope_of(&grant.permission)
                .is_none_or(|held| held < grant.scope)
            {
                check.add(
                    &path,
                    UserErrorCode::NotAllowed,
                    format!(
                        "you do not hold {} at {} scope",
                        grant.permission,
                        grant.scope.as_str()
                    ),
                );
            } else {
                grants.push(StoredGrant {
                    permission: grant.permission.clone(),
                    scope: grant.scope,
                });
            }
        }
        if input.expires_at.is_some_and(|t| t <= Utc::now()) {
            check.add(
                "input.expiresAt",
                UserErrorCode::OutOfRange,
                "must be in the future",
            );
        }
        let outcome = services
            .mutate(async |tx| {
                let new_id = ApiKeyId::new();
                if let Some(_id) =
                    idempotency::claim(tx, caller, "createApiKey", input.idempotency_key.as_deref(), new_id).await?
                {
                    return Err(Rejection::invalid(
                        "input.idempotencyKey",
                        UserErrorCode::Duplicate,
                        "this key was already created; its secret was shown once and cannot be shown again",
                    ));
                }
                check.finish()?;
                let id = new_id;
                let prefix: String = secrets::random_token(9).chars().filter(|c| c.is_ascii_alphanumeric()).take(10).collect();
                let secret = format!("{KEY_PREFIX}{prefix}_{}", secrets::random_token(32));
                let row: ApiKeyRow = db_run!(tx, |c| diesel::insert_into(api_keys::table)
                    .values((
                        api_keys::id.eq(id),
                        api_keys::tenant_id.eq(caller.tenant_id),
                        api_keys::name.eq(&name),
                        api_keys::prefix.eq(&prefix),
                        api_keys::secret_hash.eq(secrets::digest(&secret)),
                        api_keys::permissions.eq(serde_json::to_string(&grants).unwrap_or_default()),
                        api_keys::created_by.eq(owner),
                        api_keys::created_at.eq(time::now()),
                        api_keys::expires_at.eq(input.expires_at.map(time::naive)),
                    ))
                    .returning(ApiKeyRow::as_returning())
                    .get_result(c)
                    .await)?;
                audit::record_event(
                    tx,
                    caller,
                    &ApiKeyCreated {
                        api_key_id: id,
                        name: name.clone(),
                        prefix: format!("{KEY_PREFIX}{prefix}"),
                        created_by: owner,
                        permissions: grant_data(&grants),
                    },
                    None,
                )
                .await?;
                Ok((row, secret))
            })
            .await;
        CreateApiKeyPayload::from_outcome(outcome, |(row, secret)| CreateApiKeyPayload {
            api_key: Some(ApiKey::one(row)),
            secret: Some(secret),
            user_errors: vec![],
        })
    }

    /// Revokes an API key; requests with it fail from now on.
    #[graphql(directive = Require::apply(API_KEY_MANAGE))]
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> async_graphql::Result<ApiKeyPayload> {
        let caller = ctx.caller()?;
        let scope = caller.row_scope(API_KEY_MANAGE)?;
        let id = ApiKeyId::parse(&input.id)?;
        let outcome = ctx
            .services()?
            .mutate(async |tx| {
                let row: ApiKeyRow = db_run!(tx, |c| {
                    let mut query = api_keys::table
                        .filter(api_keys::tenant_id.eq(caller.tenant_id))
                        .filter(api_keys::id.eq(id))
                        .select(ApiKeyRow::as_select())
                        .into_boxed();
                    if let RowScope::Own(me) | RowScope::Location { user: me, .. } = &scope {
                        query = query.filter(api_keys::created_by.eq(*me));
                    }
                    query.first(c).await.optional()
                })?
                .ok_or(Error::NotFound)?;
                if row.revoked_at.is_some() {
                    return Err(Rejection::invalid(
                        "input.id",
                        UserErrorCode::InvalidState,
                        "the key is already revoked",
                    ));
                }
                let row: ApiKeyRow = db_run!(tx, |c| diesel::update(
                    api_keys::table
                        .find(id)
                        .filter(api_keys::revoked_at.is_null())
                )
                .set(api_keys::revoked_at.eq(time::now()))
                .returning(ApiKeyRow::as_returning())
                .get_result(c)
                .await
                .optional())?
                .ok_or_else(Error::changed_meanwhile)?;
                audit::record_event(
                    tx,
                    caller,
                    &ApiKeyRevoked {
                        api_key_id: id,
                        revoked_at: row.revoked_at.unwrap_or_else(time::now).and_utc(),
                    },
                    None,
                )
                .await?;
                Ok(row)
            })
            .await;
        ApiKeyPayload::from_outcome(outcome, |row| ApiKeyPayload {
            api_key: Some(ApiKey::one(row)),
            user_errors: vec![],
        })
    }
}

/// Creates an API key for `owner` from the CLI (an operator action: any catalogue permission
/// may be given). Returns the secret, which is shown once.
pub async fn provision(
    services: &switchyard_kernel::Services,
    tenant: switchyard_kernel::TenantId,
    owner: UserId,
    name: &str,
    grants: Vec<(String, Scope)>,
) -> anyhow::Result<String> {
    for (permission, _) in &grants {
        anyhow::ensure!(
            services.catalog.get(permission).is_some(),
            "there is no permission {permission:?}"
        );
    }
    anyhow::ensure!(!grants.is_empty(), "give the key at least one permission");
    let stored: Vec<StoredGrant> = grants
        .into_iter()
        .map(|(permission, scope)| StoredGrant { permission, scope })
        .collect();
    let system = switchyard_kernel::Caller::system(tenant, &services.catalog);
    let prefix: String = secrets::random_token(9)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(10)
        .collect();
    let secret = format!("{KEY_PREFIX}{prefix}_{}", secrets::random_token(32));
    let id = ApiKeyId::new();
    services
        .mutate(async |tx| {
            db_run!(tx, |c| diesel::insert_into(api_keys::table)
                .values((
                    api_keys::id.eq(id),
                    api_keys::tenant_id.eq(tenant),
                    api_keys::name.eq(name),
                    api_keys::prefix.eq(&prefix),
                    api_keys::secret_hash.eq(secrets::digest(&secret)),
                    api_keys::permissions.eq(serde_json::to_string(&stored).unwrap_or_default()),
                    api_keys::created_by.eq(owner),
                    api_keys::created_at.eq(time::now()),
                ))
                .execute(c)
                .await)?;
            audit::record_event(
                tx,
                &system,
                &ApiKeyCreated {
                    api_key_id: id,
                    name: name.to_owned(),
                    prefix: format!("{KEY_PREFIX}{prefix}"),
                    created_by: owner,
                    permissions: grant_data(&stored),
                },
                None,
            )
            .await?;
            Ok::<_, Rejection>(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(secret)
}
