//! The demo company's jobs: one per converted quote, spread over the weeks around today, in
//! every status, with steps, crews and field updates (deterministic, stored without events).

use chrono::{Datelike, Duration, NaiveTime, Weekday};
use switchyard_kernel::{LocationId, Rejection, Services, TenantId, UserId, time, write};
use switchyard_sales::customers::CustomerId;
use switchyard_sales::quotes::QuoteId;

use crate::crew::{CrewMember, CrewMemberId, CrewMemberRow, ResourceKind};
use crate::field_updates::{
    Attachment, AttachmentKind, FieldUpdate, FieldUpdateId, FieldUpdateRow,
};
use crate::jobs::{Job, JobId, JobRow, JobStatus};
use crate::steps::{JobStep, JobStepId, JobStepRow, StepKind, StepStatus};

/// Who works the demo company's jobs.
pub struct DemoCrew {
    pub tenant: TenantId,
    pub dispatcher: UserId,
    /// Crew members and their location.
    pub crew: Vec<(UserId, LocationId)>,
    /// The converted quotes: customer, quote, total, currency.
    pub converted: Vec<(CustomerId, QuoteId, i64, String)>,
}

/// Makes the jobs; returns how many.
pub async fn seed(services: &Services, demo: &DemoCrew) -> anyhow::Result<usize> {
    let today = time::now().date();
    let mut made = 0;
    for (i, (customer, quote, total, currency)) in demo.converted.iter().enumerate() {
        // Weekdays from two weeks back to three weeks ahead.
        let mut day = today + Duration::days(i as i64 * 2 - 12);
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day += Duration::days(1);
        }
        let offset = (day - today).num_days();
        let status = match offset {
            _ if i % 7 == 3 => JobStatus::Cancelled,
            ..0 => JobStatus::Completed,
            0 => JobStatus::InProgress,
            1..=2 => JobStatus::Dispatched,
            _ => JobStatus::Scheduled,
        };
        let planned = i % 9 != 8 || status != JobStatus::Scheduled;
        let start = day.and_time(NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default());
        let end = start + Duration::hours(8);
        let done = |s: JobStatus| (status == s).then_some(end);
        let outcome = services
            .mutate(async |tx| {
                let contact =
                    switchyard_sales::customers::contact_in_tenant(tx, demo.tenant, *customer)
                        .await?;
                let location = contact.location;
                let crew: Vec<UserId> = demo
                    .crew
                    .iter()
                    .filter(|(_, l)| Some(*l) == location || location.is_none())
                    .map(|(u, _)| *u)
                    .collect();
                let now = time::now();
                let job = JobRow {
                    id: JobId::new(),
                    tenant_id: demo.tenant,
                    customer_id: *customer,
                    quote_id: Some(*quote),
                    location_id: location,
                    status,
                    contact_name: Some(contact.name),
                    on_site_phone: contact.phone,
                    origin: contact.address,
                    destination: Some(format!("Nygatan {}, Uppsala", 3 + i)),
                    planned_start: planned.then_some(start),
                    planned_end: planned.then_some(end),
                    estimated_minutes: Some(420),
                    crew_size: Some(2),
                    notes: if i % 4 == 0 {
                        "Piano on the third floor, no lift.".into()
                    } else {
                        String::new()
                    },
                    currency: Some(currency.clone()),
                    items: "[]".into(),
                    total_minor: Some(*total),
                    actual_minutes: done(JobStatus::Completed).map(|_| 450),
                    dispatched_at: (offset <= 2 && planned).then_some(start - Duration::hours(14)),
                    started_at: matches!(status, JobStatus::InProgress | JobStatus::Completed)
                        .then_some(start),
                    completed_at: done(JobStatus::Completed),
                    cancelled_at: done(JobStatus::Cancelled).map(|_| start - Duration::days(2)),
                    cancel_reason: done(JobStatus::Cancelled)
                        .map(|_| "The customer postponed the move".into()),
                    follow_up_task_id: None,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let job = write::insert::<Job>(tx, job).await?;
                if planned && status != JobStatus::Cancelled {
                    let pair = [
                        crew.get(i % crew.len().max(1)),
                        crew.get((i + 1) % crew.len().max(1)),
                    ];
                    for (n, user) in pair.into_iter().flatten().enumerate() {
                        if n == 1 && pair[0] == pair[1] {
                            break;
                        }
                        let member = CrewMemberRow {
                            id: CrewMemberId::new(),
                            tenant_id: demo.tenant,
                            job_id: job.id,
                            resource_kind: ResourceKind::User,
                            resource_id: user.to_string(),
                            user_id: Some(*user),
                            lead: n == 0,
                            assigned_by: Some(demo.dispatcher),
                            created_at: now,
                            updated_at: now,
                            version: 1,
                            planned_start: job.planned_start,
                            planned_end: job.planned_end,
                        };
                        write::insert::<CrewMember>(tx, member).await?;
                    }
                    // Reminders before the jobs still ahead.
                    crate::crew::notices::plan(tx, &job).await?;
                }
                for (n, kind) in [StepKind::Load, StepKind::Drive, StepKind::Unload]
                    .into_iter()
                    .enumerate()
                {
                    let step_status = match (status, n) {
                        (JobStatus::Completed, _) => StepStatus::Done,
                        (JobStatus::InProgress, 0) => StepStatus::Done,
                        (JobStatus::InProgress, 1) => StepStatus::InProgress,
                        _ => StepStatus::Pending,
                    };
                    let begun = step_status != StepStatus::Pending;
                    let step = JobStepRow {
                        id: JobStepId::new(),
                        tenant_id: demo.tenant,
                        job_id: job.id,
                        position: n as i32 + 1,
                        kind,
                        title: String::new(),
                        status: step_status,
                        started_at: begun.then_some(start + Duration::hours(n as i64 * 2)),
                        ended_at: (step_status == StepStatus::Done)
                            .then_some(start + Duration::hours(n as i64 * 2 + 2)),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    write::insert::<JobStep>(tx, step).await?;
                }
                let lead = crew.get(i % crew.len().max(1)).copied();
                let reports: &[(&str, Option<AttachmentKind>)] = match status {
                    JobStatus::InProgress => &[(
                        "Arrived on site; loading started.",
                        Some(AttachmentKind::Photo),
                    )],
                    JobStatus::Completed => &[
                        (
                            "Arrived on site; loading started.",
                            Some(AttachmentKind::Photo),
                        ),
                        (
                            "All delivered; the customer signed.",
                            Some(AttachmentKind::Signature),
                        ),
                    ],
                    _ => &[],
                };
                for (n, (note, attachment)) in reports.iter().enumerate() {
                    let at = start + Duration::hours(n as i64 * 7);
                    let attachments: Vec<Attachment> = attachment
                        .iter()
                        .map(|kind| Attachment {
                            kind: *kind,
                            reference: format!("demo/{}-{n}.jpg", job.id),
                        })
                        .collect();
                    let update = FieldUpdateRow {
                        id: FieldUpdateId::new(),
                        tenant_id: demo.tenant,
                        job_id: job.id,
                        author_id: lead,
                        status: (n == 0).then_some(JobStatus::InProgress),
                        step_id: None,
                        step_status: None,
                        note: Some((*note).to_owned()),
                        latitude: Some(59.33 + i as f64 * 0.01),
                        longitude: Some(18.06),
                        accuracy_meters: Some(8.0),
                        attachments: serde_json::to_string(&attachments)
                            .unwrap_or_else(|_| "[]".into()),
                        recorded_at: at,
                        created_at: at,
                        updated_at: at,
                        version: 1,
                    };
                    write::insert::<FieldUpdate>(tx, update).await?;
                }
                Ok::<_, Rejection>(())
            })
            .await;
        outcome.map_err(|r| anyhow::anyhow!("demo job: {r:?}"))?;
        made += 1;
    }
    Ok(made)
}
