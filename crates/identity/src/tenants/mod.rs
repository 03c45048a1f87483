//! Tenants: the companies using Switchyard (the seeds' "Client"). Every other row belongs to
//! exactly one tenant. Tenants are created by the operator (CLI), not over the API.

pub mod events;
pub mod provision;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use switchyard_kernel::audit;

use events::TenantUpdated;
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::validate::Check;
use switchyard_kernel::{ContextExt, TenantId, db_run, payload, time};

use crate::permissions::TENANT_MANAGE;
use crate::schema::tenants;
use switchyard_kernel::validate::check_version;

/// A row of `tenants`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub slug: String,
    pub settings: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// The company the caller belongs to.
#[derive(Clone)]
pub struct Tenant(TenantRow);

#[Object(directive = Authenticated::apply())]
impl Tenant {
    async fn id(&self) -> ID {
        self.0.id.to_global()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Short name used at sign-in when an email belongs to several companies.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Changes to the caller's tenant.
#[derive(InputObject)]
pub struct UpdateTenantInput {
    pub expected_version: Option<i32>,
    pub name: String,
}

payload!(
    /// The result of `updateTenant`.
    TenantPayload { tenant: Tenant }
);

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The caller's company.
    #[graphql(directive = Authenticated::apply())]
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Tenant> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let row: TenantRow = db_run!(&mut conn, |c| tenants::table
            .find(caller.tenant_id)
            .select(TenantRow::as_select())
            .first(c)
            .await)?;
        Ok(Tenant(row))
    }
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Renames the caller's company.
    #[graphql(directive = Require::apply(TENANT_MANAGE))]
    async fn update_tenant(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantInput,
    ) -> async_graphql::Result<TenantPayload> {
        let caller = ctx.caller()?;
        let name = input.name.trim().to_owned();
        let outcome = ctx
            .mutate(async |tx| {
                let before: TenantRow = db_run!(tx, |c| tenants::table
                    .find(caller.tenant_id)
                    .select(TenantRow::as_select())
                    .first(c)
                    .await)?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                check.text("input.name", &name, 200);
                check.finish()?;
                let row: TenantRow = db_run!(tx, |c| diesel::update(
                    tenants::table
                        .find(caller.tenant_id)
                        .filter(tenants::version.eq(before.version))
                )
                .set((
                    tenants::name.eq(&name),
                    tenants::version.eq(before.version + 1),
                    tenants::updated_at.eq(time::now()),
                ))
                .returning(TenantRow::as_returning())
                .get_result(c)
                .await
                .optional())?
                .ok_or_else(switchyard_kernel::Error::changed_meanwhile)?;
                audit::record_event(
                    tx,
                    caller,
                    &TenantUpdated {
                        tenant_id: caller.tenant_id,
                        name: row.name.clone(),
                    },
                    Some(json!({"name": before.name})),
                )
                .await?;
                Ok::<_, switchyard_kernel::Rejection>(row)
            })
            .await;
        TenantPayload::from_outcome(outcome, |row| TenantPayload {
            tenant: Some(Tenant(row)),
            user_errors: vec![],
        })
    }
}

/// The tenant with this slug, in the caller's transaction (public forms name their tenant by
/// slug).
pub async fn by_slug(
    conn: &mut switchyard_kernel::Conn<'_>,
    slug: &str,
) -> Result<Option<switchyard_kernel::TenantId>, switchyard_kernel::Error> {
    use crate::schema::tenants;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let slug = slug.to_owned();
    Ok(switchyard_kernel::db_run!(conn, |c| tenants::table
        .filter(tenants::slug.eq(&slug))
        .select(tenants::id)
        .first::<switchyard_kernel::TenantId>(c)
        .await
        .optional())?)
}
