//! Field updates: what a crew member's phone reports from site (a status or step change, a
//! note, a GPS position, photo and signature references). A phone that was offline replays its
//! queue: every update carries an idempotency key (a replay answers the first result and
//! writes nothing) and the job version it saw (a change of the job's state made on a stale
//! view is refused as CONFLICT, with the job as it is now).

pub mod events;
pub mod mutations;

use async_graphql::SimpleObject;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use switchyard_identity::User;
use switchyard_kernel::UserId;
use switchyard_kernel::policy::Inherit;

use crate::jobs::{Job, JobId, JobStatus};
use crate::permissions::JOB_READ;
use crate::steps::{JobStep, JobStepId, StepStatus};

pub use crate::ids::FieldUpdateId;

switchyard_kernel::aggregate! {
    /// What a phone on site reported about a job.
    #[aggregate(
        table = crate::schema::field_updates,
        id = FieldUpdateId,
        read = JOB_READ,
        scope = crate::scope::job_child,
        order(created_at, desc),
        event = FieldUpdateData,
        one(name = field_update, doc = "A field update by ID."),
    )]
    pub struct FieldUpdate {
        /// The job, if you may see it.
        #[field(to_one = Job, filter, event)]
        job_id: JobId,
        /// Who sent it.
        #[field(to_one = User, event)]
        author_id: Option<UserId>,
        /// The job's status it set, if it moved the job.
        #[field(event)]
        status: Option<JobStatus>,
        /// The step it moved, if any.
        #[field(to_one = JobStep, event)]
        step_id: Option<JobStepId>,
        /// The step's status it set.
        #[field(event)]
        step_status: Option<StepStatus>,
        note: Option<String>,
        #[field(hidden)]
        latitude: Option<f64>,
        #[field(hidden)]
        longitude: Option<f64>,
        #[field(hidden)]
        accuracy_meters: Option<f64>,
        #[field(hidden)]
        attachments: String,
        /// When the phone recorded it (it may have been offline for a while).
        #[field(event)]
        recorded_at: NaiveDateTime,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }

    impl FieldUpdate {
        /// Where the phone was.
        async fn position(&self) -> Option<GeoPosition> {
            let row = self.row();
            Some(GeoPosition {
                latitude: row.latitude?,
                longitude: row.longitude?,
                accuracy_meters: row.accuracy_meters,
            })
        }
        /// Photos, signatures and documents it carried (references to stored files).
        async fn attachments(&self) -> Vec<Attachment> {
            serde_json::from_str(&self.row().attachments).unwrap_or_default()
        }
    }
}

/// A position on earth (WGS 84).
#[derive(SimpleObject, Clone, Copy)]
#[graphql(directive = Inherit::apply())]
pub struct GeoPosition {
    pub latitude: f64,
    pub longitude: f64,
    /// How far off it may be, in meters.
    pub accuracy_meters: Option<f64>,
}

switchyard_kernel::text_enum! {
    /// What an attachment is.
    pub enum AttachmentKind {
        Photo = "PHOTO",
        Signature = "SIGNATURE",
        Document = "DOCUMENT",
    }
}

/// A file a field update refers to.
#[derive(SimpleObject, Clone, Serialize, Deserialize)]
#[graphql(directive = Inherit::apply())]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub kind: AttachmentKind,
    /// Where the app stored the file (an upload's reference).
    pub reference: String,
}
