//! `recordFieldUpdate`: one report from a phone on site, applied in one transaction.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use switchyard_kernel::batch::Member;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::{Aggregate, aggregate};
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{ContextExt, Error, Rejection, UserErrorCode, time, write};

use super::events::FieldUpdateRecorded;
use super::{Attachment, AttachmentKind, FieldUpdate, FieldUpdateId, FieldUpdateRow};
use crate::jobs::events::JobProgressed;
use crate::jobs::mutations::{Step, finished, take};
use crate::jobs::{Job, JobId, JobRow, JobStatus};
use crate::permissions::JOB_WORK;
use crate::steps::events::JobStepMoved;
use crate::steps::{JobStep, JobStepId, StepStatus};

switchyard_kernel::payload!(
    /// The result of `recordFieldUpdate`.
    FieldUpdatePayload {
        /// The update as recorded (on a replay: as first recorded).
        field_update: FieldUpdate,
        /// The job after the update; on a CONFLICT, the job as it is now.
        job: Job,
    }
);

/// A position from the phone's GPS.
#[derive(InputObject)]
pub struct GeoPositionInput {
    /// −90 to 90.
    pub latitude: f64,
    /// −180 to 180.
    pub longitude: f64,
    pub accuracy_meters: Option<f64>,
}

/// A file the app stored (a photo, the customer's signature).
#[derive(InputObject)]
pub struct AttachmentInput {
    pub kind: AttachmentKind,
    pub reference: String,
}

/// One report from site. At least one of status, step, note, position or attachments.
#[derive(InputObject)]
pub struct RecordFieldUpdateInput {
    pub job_id: ID,
    /// Unique per report on the phone: sent again (a replayed queue), it answers the first
    /// result and records nothing more.
    pub idempotency_key: String,
    /// The job's version the phone saw. A status or step change made on an older version is
    /// refused with CONFLICT and the job as it is now; notes, positions and attachments are
    /// recorded whatever the version.
    pub expected_version: i32,
    /// When the phone recorded it (now, if absent).
    pub recorded_at: Option<DateTime<Utc>>,
    /// Moves the job: IN_PROGRESS (started) or COMPLETED (with `actualMinutes`).
    pub status: Option<JobStatus>,
    pub actual_minutes: Option<i32>,
    /// A step of the job to move, to `stepStatus`.
    pub step_id: Option<ID>,
    pub step_status: Option<StepStatus>,
    pub note: Option<String>,
    pub position: Option<GeoPositionInput>,
    #[graphql(default)]
    pub attachments: Vec<AttachmentInput>,
}

const MAX_ATTACHMENTS: usize = 20;

#[derive(Default)]
pub struct FieldUpdateMutation;

#[Object]
impl FieldUpdateMutation {
    /// Records what a phone on site reports about a job the caller works, and applies its
    /// status or step change, all or nothing.
    #[graphql(directive = Require::apply(JOB_WORK))]
    async fn record_field_update(
        &self,
        ctx: &Context<'_>,
        input: RecordFieldUpdateInput,
    ) -> async_graphql::Result<FieldUpdatePayload> {
        let caller = ctx.caller()?;
        let job_id = JobId::from_input(&input.job_id)?;
        let step_id = JobStepId::from_optional(input.step_id.as_ref())?;
        let outcome = ctx
            .mutate(async |tx| {
                let id = FieldUpdateId::new();
                let key = Some(input.idempotency_key.as_str());
                let replayed = write::replay::<FieldUpdate>(
                    tx,
                    caller,
                    "recordFieldUpdate",
                    key,
                    JOB_WORK,
                    id,
                )
                .await?;
                if let Some(first) = replayed {
                    let job = aggregate::find_in::<Job>(tx, caller, JOB_WORK, first.job_id).await?;
                    return Ok((first, job));
                }
                let job = aggregate::find_in::<Job>(tx, caller, JOB_WORK, job_id).await?;
                let row = recorded(&input, id, &job, step_id, caller.user_id())?;
                let moves = row.status.is_some() || row.step_id.is_some();
                if moves && input.expected_version != job.version {
                    return Err(Rejection::invalid(
                        "input.expectedVersion",
                        UserErrorCode::Conflict,
                        format!(
                            "the job changed since version {}: it is at version {} now (see job)",
                            input.expected_version, job.version
                        ),
                    ));
                }
                if moves && finished(job.status) {
                    return Err(Rejection::invalid(
                        "input.jobId",
                        UserErrorCode::InvalidState,
                        format!("a {} job does not move any more", job.status.as_str()),
                    ));
                }
                let mut after = job.clone();
                if let (Some(step), Some(to)) = (row.step_id, row.step_status) {
                    let before = aggregate::find_in::<JobStep>(tx, caller, JOB_WORK, step).await?;
                    if before.job_id != job.id {
                        return Err(Error::NotFound.into());
                    }
                    let moved = before.moved(to, "input.stepStatus")?;
                    write::update::<JobStep, _>(tx, caller, &before, moved, JobStepMoved::of)
                        .await?;
                }
                if let Some(to) = row.status {
                    let step = Step {
                        minutes: input.actual_minutes,
                        ..Step::new(JOB_WORK, to)
                    };
                    after = take(tx, caller, &job, &step).await?;
                } else if moves {
                    after =
                        write::update::<Job, _>(tx, caller, &job, job.clone(), JobProgressed::of)
                            .await?;
                }
                let row = write::create::<FieldUpdate, _>(tx, caller, row, FieldUpdateRecorded::of)
                    .await?;
                Ok((row, after))
            })
            .await;
        match outcome {
            Ok((update, job)) => Ok(FieldUpdatePayload {
                field_update: Some(FieldUpdate::node(Member::one(update))),
                job: Some(Job::node(Member::one(job))),
                user_errors: Vec::new(),
            }),
            Err(Rejection::Invalid(user_errors)) => {
                // A stale phone gets the job as it is now, to show its user.
                let stale = user_errors
                    .iter()
                    .any(|e| e.code == UserErrorCode::Conflict);
                let job = if stale {
                    let db = &ctx.services()?.db;
                    let mut found = aggregate::load::<Job>(db, caller, vec![job_id]).await?;
                    found.remove(&job_id)
                } else {
                    None
                };
                Ok(FieldUpdatePayload {
                    field_update: None,
                    job,
                    user_errors,
                })
            }
            Err(Rejection::Failed(error)) => Err(error.into()),
        }
    }
}

/// The update as it is to be stored, checked; its status change is one the crew may make.
fn recorded(
    input: &RecordFieldUpdateInput,
    id: FieldUpdateId,
    job: &JobRow,
    step_id: Option<JobStepId>,
    author: Option<switchyard_kernel::UserId>,
) -> Result<FieldUpdateRow, Rejection> {
    let mut check = Check::new();
    let now = time::now();
    let recorded_at = input.recorded_at.map(time::naive).unwrap_or(now);
    if recorded_at > now + chrono::Duration::minutes(5) {
        check.add(
            "input.recordedAt",
            UserErrorCode::OutOfRange,
            "lies in the future (check the phone's clock)",
        );
    }
    if let Some(status) = input.status
        && !matches!(status, JobStatus::InProgress | JobStatus::Completed)
    {
        check.add(
            "input.status",
            UserErrorCode::NotAllowed,
            "from the field a job is started (IN_PROGRESS) or completed (COMPLETED)",
        );
    }
    if input.status == Some(JobStatus::Completed) && input.actual_minutes.is_none() {
        check.add(
            "input.actualMinutes",
            UserErrorCode::Required,
            "completing a job records the minutes it took",
        );
    }
    if step_id.is_some() != input.step_status.is_some() {
        check.add(
            "input.stepStatus",
            UserErrorCode::Required,
            "a step change names the step and its new status",
        );
    }
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    check.max_len("input.note", note.unwrap_or_default(), 2000);
    if let Some(p) = &input.position {
        if !(-90.0..=90.0).contains(&p.latitude) {
            check.add(
                "input.position.latitude",
                UserErrorCode::OutOfRange,
                "between -90 and 90",
            );
        }
        if !(-180.0..=180.0).contains(&p.longitude) {
            check.add(
                "input.position.longitude",
                UserErrorCode::OutOfRange,
                "between -180 and 180",
            );
        }
        if p.accuracy_meters
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            check.add(
                "input.position.accuracyMeters",
                UserErrorCode::OutOfRange,
                "between 0 and 100000 meters",
            );
        }
    }
    if input.attachments.len() > MAX_ATTACHMENTS {
        check.add(
            "input.attachments",
            UserErrorCode::OutOfRange,
            format!("at most {MAX_ATTACHMENTS} per update"),
        );
    }
    for (i, a) in input.attachments.iter().enumerate() {
        let path = format!("input.attachments.{i}.reference");
        check.text(&path, a.reference.trim(), 500);
        if a.reference.chars().any(char::is_control) {
            check.add(&path, UserErrorCode::InvalidFormat, "no control characters");
        }
    }
    let empty = input.status.is_none()
        && step_id.is_none()
        && note.is_none()
        && input.position.is_none()
        && input.attachments.is_empty();
    if empty {
        check.add(
            "input",
            UserErrorCode::Required,
            "an update reports a status, a step, a note, a position or attachments",
        );
    }
    check.finish()?;
    let attachments: Vec<Attachment> = input
        .attachments
        .iter()
        .map(|a| Attachment {
            kind: a.kind,
            reference: a.reference.trim().to_owned(),
        })
        .collect();
    Ok(FieldUpdateRow {
        id,
        tenant_id: job.tenant_id,
        job_id: job.id,
        author_id: author,
        status: input.status,
        step_id,
        step_status: input.step_status,
        note: note.map(str::to_owned),
        latitude: input.position.as_ref().map(|p| p.latitude),
        longitude: input.position.as_ref().map(|p| p.longitude),
        accuracy_meters: input.position.as_ref().and_then(|p| p.accuracy_meters),
        attachments: serde_json::to_string(&attachments).map_err(Error::internal)?,
        recorded_at,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}
