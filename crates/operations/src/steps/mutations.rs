//! Planning a job's steps: `addJobStep`. The crew moves them on through field updates.

use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{ContextExt, Rejection, UserErrorCode, db_run, time, write};

use super::events::JobStepAdded;
use super::{JobStep, JobStepId, JobStepRow, StepKind, StepStatus};
use crate::jobs::mutations::{JobPayload, finished};
use crate::jobs::{Job, JobId};
use crate::permissions::JOB_MANAGE;
use crate::schema::job_steps;

/// The most steps a job has.
const MAX_STEPS: i64 = 50;

/// A step to add at the end of a job's plan.
#[derive(InputObject)]
pub struct AddJobStepInput {
    pub job_id: ID,
    pub kind: StepKind,
    /// What to do, in a few words (`Load the piano first`).
    #[graphql(default)]
    pub title: String,
}

#[derive(Default)]
pub struct JobStepMutation;

#[Object]
impl JobStepMutation {
    /// Adds a step at the end of an unfinished job's plan; answers the job with its steps.
    #[graphql(directive = Require::apply(JOB_MANAGE))]
    async fn add_job_step(
        &self,
        ctx: &Context<'_>,
        input: AddJobStepInput,
    ) -> async_graphql::Result<JobPayload> {
        let caller = ctx.caller()?;
        let job_id = JobId::from_input(&input.job_id)?;
        let title = input.title.trim().to_owned();
        let outcome = ctx
            .mutate(async |tx| {
                let job = aggregate::find_in::<Job>(tx, caller, JOB_MANAGE, job_id).await?;
                if finished(job.status) {
                    return Err(Rejection::invalid(
                        "input.jobId",
                        UserErrorCode::InvalidState,
                        format!("a {} job's plan cannot change", job.status.as_str()),
                    ));
                }
                let mut check = Check::new();
                check.max_len("input.title", &title, 200);
                check.finish()?;
                let last: Vec<i32> = db_run!(tx, |c| job_steps::table
                    .filter(job_steps::tenant_id.eq(caller.tenant_id))
                    .filter(job_steps::job_id.eq(job_id))
                    .select(job_steps::position)
                    .load(c)
                    .await)?;
                if last.len() as i64 >= MAX_STEPS {
                    return Err(Rejection::invalid(
                        "input.jobId",
                        UserErrorCode::OutOfRange,
                        format!("a job has at most {MAX_STEPS} steps"),
                    ));
                }
                let now = time::now();
                let row = JobStepRow {
                    id: JobStepId::new(),
                    tenant_id: caller.tenant_id,
                    job_id,
                    position: last.iter().max().copied().unwrap_or(0) + 1,
                    kind: input.kind,
                    title: title.clone(),
                    status: StepStatus::Pending,
                    started_at: None,
                    ended_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                write::create::<JobStep, _>(tx, caller, row, JobStepAdded::of).await?;
                Ok(job)
            })
            .await;
        JobPayload::of(outcome)
    }
}
