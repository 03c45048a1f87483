//! A job's steps (the seed's journey: load, drive, unload, storage...), in order, each with
//! its status and actual start and end. Planned by dispatchers (`addJobStep`); moved on by the
//! crew through field updates.

pub mod events;
pub mod mutations;

use std::collections::HashMap;

use async_graphql::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{ContextExt, Error, Rejection, UserErrorCode, db_run, time};

use crate::schema::job_steps;

use crate::jobs::{Job, JobId};
use crate::permissions::JOB_READ;

pub use crate::ids::JobStepId;

switchyard_kernel::text_enum! {
    /// What a step is.
    pub enum StepKind {
        Pack = "PACK",
        Load = "LOAD",
        Drive = "DRIVE",
        Unload = "UNLOAD",
        Unpack = "UNPACK",
        Assemble = "ASSEMBLE",
        Storage = "STORAGE",
        Clean = "CLEAN",
        Inspect = "INSPECT",
        Other = "OTHER",
    }
}

switchyard_kernel::text_enum! {
    /// Where a step stands. PENDING → IN_PROGRESS → DONE; a step not done may be SKIPPED.
    pub enum StepStatus {
        Pending = "PENDING",
        InProgress = "IN_PROGRESS",
        Done = "DONE",
        Skipped = "SKIPPED",
    }
}

switchyard_kernel::aggregate! {
    /// A step of a job.
    #[aggregate(
        table = crate::schema::job_steps,
        id = JobStepId,
        read = JOB_READ,
        scope = crate::scope::job_child,
        order(position, asc),
        event = JobStepData,
        one(name = job_step, doc = "A job's step by ID."),
    )]
    pub struct JobStep {
        /// The job, if you may see it.
        #[field(to_one = Job, filter, event)]
        job_id: JobId,
        /// 1 for the first step.
        #[field(event, order)]
        position: i32,
        #[field(event)]
        kind: StepKind,
        title: String,
        #[field(filter, event)]
        status: StepStatus,
        #[field(event)]
        started_at: Option<NaiveDateTime>,
        #[field(event)]
        ended_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }
}

/// The steps of jobs, each job's in order, in one statement (the jobs were reached already;
/// their steps follow them).
pub(crate) async fn of_jobs(
    ctx: &Context<'_>,
    jobs: Vec<JobId>,
) -> Result<HashMap<JobId, Vec<JobStepRow>>, Error> {
    let tenant = ctx.caller()?.tenant_id;
    let mut pooled = ctx.services()?.db.read().await?;
    let rows: Vec<JobStepRow> = db_run!(&mut pooled.conn(), |c| job_steps::table
        .filter(job_steps::tenant_id.eq(tenant))
        .filter(job_steps::job_id.eq_any(&jobs))
        .order((job_steps::job_id.asc(), job_steps::position.asc()))
        .select(JobStepRow::as_select())
        .load(c)
        .await)?;
    let mut out: HashMap<JobId, Vec<JobStepRow>> = HashMap::new();
    for row in rows {
        out.entry(row.job_id).or_default().push(row);
    }
    Ok(out)
}

impl JobStepRow {
    /// The step moved to `to`, with its times; or why it cannot.
    pub(crate) fn moved(&self, to: StepStatus, path: &str) -> Result<JobStepRow, Rejection> {
        use StepStatus::*;
        let allowed: &[StepStatus] = match to {
            InProgress => &[Pending],
            Done => &[Pending, InProgress],
            Skipped => &[Pending, InProgress],
            Pending => &[],
        };
        if !allowed.contains(&self.status) {
            return Err(Rejection::invalid(
                path,
                UserErrorCode::InvalidTransition,
                format!(
                    "a {} step cannot become {}",
                    self.status.as_str(),
                    to.as_str()
                ),
            ));
        }
        let now = Some(time::now());
        let mut row = JobStepRow {
            status: to,
            ..self.clone()
        };
        match to {
            InProgress => row.started_at = now,
            Done | Skipped => {
                row.started_at = row.started_at.or(now);
                row.ended_at = now;
            }
            Pending => {}
        }
        Ok(row)
    }
}
