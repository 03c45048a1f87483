//! Changing API keys: create (the secret is shown once) and revoke; the CLI's provisioning.

use super::events::{ApiKeyCreated, ApiKeyRevoked};
use super::{ApiKey, ApiKeyRow, KEY_PREFIX, StoredGrant, grant_data};
use crate::credentials::secrets;
use crate::permissions::API_KEY_MANAGE;
use crate::roles::PermissionGrantInput;
use crate::schema::api_keys;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::RowScope;
use switchyard_kernel::audit;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    ApiKeyId, ContextExt, Error, Rejection, Scope, UserErrorCode, UserId, db_run, idempotency,
    payload, time,
};

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
        let outcome = ctx.mutate(async |tx| {
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
