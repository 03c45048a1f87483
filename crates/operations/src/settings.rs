//! A tenant's operations settings: the follow-up task a completed job raises for sales (a
//! satisfaction call, say), and how many days after completion it is due.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{Conn, ContextExt, Error, Rejection, TenantId, db_run, payload, time};

use crate::permissions::{JOB_READ, SETTINGS_MANAGE};
use crate::schema::operations_settings;

/// The tenant's operations settings.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct OperationsSettings {
    /// The title of the task a completed job raises for the customer's sales rep (the
    /// account-management queue when it has none); null: no follow-up.
    pub job_follow_up: Option<String>,
    /// Days after completion the follow-up is due.
    pub job_follow_up_days: i32,
    pub version: i32,
}

/// The settings (the defaults, no follow-up, until someone changes them).
pub async fn load(conn: &mut Conn<'_>, tenant: TenantId) -> Result<OperationsSettings, Error> {
    let row: Option<(Option<String>, i32, i32)> = db_run!(conn, |c| operations_settings::table
        .find(tenant)
        .select((
            operations_settings::job_follow_up,
            operations_settings::job_follow_up_days,
            operations_settings::version,
        ))
        .first(c)
        .await
        .optional())?;
    let (job_follow_up, job_follow_up_days, version) = row.unwrap_or((None, 1, 0));
    Ok(OperationsSettings {
        job_follow_up,
        job_follow_up_days,
        version,
    })
}

/// Changes to the operations settings.
#[derive(InputObject)]
pub struct UpdateOperationsSettingsInput {
    pub expected_version: Option<i32>,
    /// Empty: no follow-up.
    pub job_follow_up: Option<String>,
    /// 0 to 60.
    pub job_follow_up_days: Option<i32>,
}

payload!(
    /// The result of `updateOperationsSettings`.
    OperationsSettingsPayload { settings: OperationsSettings }
);

#[derive(Default)]
pub struct OperationsSettingsQuery;

#[Object]
impl OperationsSettingsQuery {
    /// The tenant's operations settings.
    #[graphql(directive = Require::apply(JOB_READ))]
    async fn operations_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<OperationsSettings> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(load(&mut pooled.conn(), caller.tenant_id).await?)
    }
}

#[derive(Default)]
pub struct OperationsSettingsMutation;

#[Object]
impl OperationsSettingsMutation {
    /// Changes the tenant's operations settings.
    #[graphql(directive = Require::apply(SETTINGS_MANAGE))]
    async fn update_operations_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateOperationsSettingsInput,
    ) -> async_graphql::Result<OperationsSettingsPayload> {
        let caller = ctx.caller()?;
        let tenant = caller.tenant_id;
        let outcome = ctx
            .mutate(async |tx| {
                let before = load(tx, tenant).await?;
                check_version(input.expected_version, before.version)?;
                let follow_up = match &input.job_follow_up {
                    None => before.job_follow_up.clone(),
                    Some(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
                };
                let days = input
                    .job_follow_up_days
                    .unwrap_or(before.job_follow_up_days);
                let mut check = Check::new();
                check
                    .max_len("input.jobFollowUp", follow_up.as_deref().unwrap_or(""), 200)
                    .within("input.jobFollowUpDays", days, 0..=60);
                check.finish()?;
                let version = before.version + 1;
                let row = (
                    operations_settings::tenant_id.eq(tenant),
                    operations_settings::job_follow_up.eq(&follow_up),
                    operations_settings::job_follow_up_days.eq(days),
                    operations_settings::updated_at.eq(time::now()),
                    operations_settings::version.eq(version),
                );
                db_run!(tx, |c| diesel::insert_into(operations_settings::table)
                    .values(row)
                    .on_conflict(operations_settings::tenant_id)
                    .do_update()
                    .set(row)
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>(OperationsSettings {
                    job_follow_up: follow_up.clone(),
                    job_follow_up_days: days,
                    version,
                })
            })
            .await;
        OperationsSettingsPayload::from_outcome(outcome, |settings| OperationsSettingsPayload {
            settings: Some(settings),
            user_errors: Vec::new(),
        })
    }
}
