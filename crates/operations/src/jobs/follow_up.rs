//! A completed job raises the follow-up the tenant configured (`operationsSettings`): a sales
//! task about the customer, due some days later. The reaction to `operations.job.completed`,
//! once per job however often the event is delivered: the job's `follow_up_task_id` is
//! claimed by a conditional update in the task's transaction.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::events::{EventHandler, on};
use switchyard_kernel::{Caller, Error, Rejection, Services, TenantId, db_run, time};
use switchyard_sales::tasks::{TaskId, TaskKind};

use super::events::JobCompleted;
use crate::schema::jobs;

/// The reaction, as the module registers it.
pub fn handler(services: &Services) -> Arc<dyn EventHandler> {
    let services = services.clone();
    on::<JobCompleted, _, _>("operations.job_follow_up", move |completed, event| {
        let services = services.clone();
        async move {
            raise(&services, event.tenant_id, &completed)
                .await
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("follow-up of job {}: {e:?}", completed.job.id))
        }
    })
}

/// Raises the follow-up of a completed job unless it was raised (or none is configured);
/// returns the new task.
pub async fn raise(
    services: &Services,
    tenant: TenantId,
    completed: &JobCompleted,
) -> Result<Option<TaskId>, Error> {
    let system = Caller::system(tenant, &services.catalog);
    let job = &completed.job;
    let outcome = services
        .mutate(async |tx| {
            let settings = crate::settings::load(tx, tenant).await?;
            let Some(title) = settings.job_follow_up else {
                return Ok(None);
            };
            let customer: switchyard_sales::customers::CustomerId = db_run!(tx, |c| jobs::table
                .filter(jobs::tenant_id.eq(tenant))
                .find(job.id)
                .select(jobs::customer_id)
                .first(c)
                .await)?;
            let id = TaskId::new();
            let claimed = db_run!(tx, |c| diesel::update(
                jobs::table
                    .filter(jobs::tenant_id.eq(tenant))
                    .filter(jobs::id.eq(job.id))
                    .filter(jobs::follow_up_task_id.is_null())
            )
            .set(jobs::follow_up_task_id.eq(id.to_string()))
            .execute(c)
            .await)?;
            if claimed == 0 {
                return Ok(None);
            }
            let done = job.completed_at.map(time::naive).unwrap_or_else(time::now);
            let due = done + Duration::days(settings.job_follow_up_days.into());
            let task = switchyard_sales::tasks::follow_up_customer(
                tx,
                &system,
                id,
                customer,
                TaskKind::FollowUp,
                title,
                due,
            )
            .await?;
            Ok::<_, Rejection>(Some(task.id))
        })
        .await;
    outcome.map_err(|r| match r {
        Rejection::Failed(e) => e,
        Rejection::Invalid(errors) => Error::internal(anyhow::anyhow!("{errors:?}")),
    })
}
