//! The demo company's support desk (deterministic, stored without events): tickets from
//! several portal clients in every status and priority, with replies and internal notes,
//! assigned and waiting in the queue, some past their service level, and on the first a
//! client's photo and a file for staff only.

use chrono::Duration;
use switchyard_kernel::{Rejection, Services, TenantId, UserId, time, write};

use crate::activities::{TicketActivity, TicketActivityId, TicketActivityKind, TicketActivityRow};
use crate::attachments::{TicketAttachment, TicketAttachmentId, TicketAttachmentRow, storage_key};
use crate::slas;
use crate::tickets::{Ticket, TicketId, TicketPriority, TicketRow, TicketStatus, search_text};

/// Who works the demo desk.
pub struct DemoDesk {
    pub tenant: TenantId,
    /// Portal clients asking (at least one).
    pub clients: Vec<UserId>,
    pub agent: UserId,
    pub admin: UserId,
}

struct Spec {
    subject: &'static str,
    description: &'static str,
    status: TicketStatus,
    priority: TicketPriority,
    assigned: bool,
    hours_ago: i64,
    reply: Option<&'static str>,
    note: Option<&'static str>,
    tags: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        subject: "Scratched piano lid",
        description: "The movers scratched the lid of our piano while carrying it upstairs.",
        status: TicketStatus::InProgress,
        priority: TicketPriority::High,
        assigned: true,
        hours_ago: 30,
        reply: Some("We are sorry! Could you send a photo of the scratch?"),
        note: Some("Crew lead confirms; offer repair by our partner."),
        tags: "[\"damage\"]",
    },
    Spec {
        subject: "Truck has not arrived",
        description: "Our move was booked for 08:00 and nobody is here.",
        status: TicketStatus::New,
        priority: TicketPriority::Urgent,
        assigned: false,
        hours_ago: 2,
        reply: None,
        note: None,
        tags: "[\"delay\"]",
    },
    Spec {
        subject: "Invoice address is wrong",
        description: "Please send the invoice to our company address instead.",
        status: TicketStatus::WaitingOnClient,
        priority: TicketPriority::Medium,
        assigned: true,
        hours_ago: 20,
        reply: Some("Which organisation number should the invoice carry?"),
        note: None,
        tags: "[\"billing\"]",
    },
    Spec {
        subject: "Can we add packing boxes?",
        description: "We need 20 more boxes delivered before Friday.",
        status: TicketStatus::New,
        priority: TicketPriority::Low,
        assigned: false,
        hours_ago: 5,
        reply: None,
        note: None,
        tags: "[]",
    },
    Spec {
        subject: "Missing box of books",
        description: "One box of books did not arrive at the new flat.",
        status: TicketStatus::Resolved,
        priority: TicketPriority::High,
        assigned: true,
        hours_ago: 72,
        reply: Some("The box was found in the truck and delivered this morning."),
        note: Some("Box was left behind at the depot."),
        tags: "[\"damage\", \"lost\"]",
    },
    Spec {
        subject: "Thank you!",
        description: "Great job by the crew yesterday.",
        status: TicketStatus::Closed,
        priority: TicketPriority::Low,
        assigned: true,
        hours_ago: 200,
        reply: Some("Thank you, we passed it on to the crew!"),
        note: None,
        tags: "[]",
    },
    Spec {
        subject: "Reschedule storage pick-up",
        description: "Can the pick-up from storage move to next week?",
        status: TicketStatus::New,
        priority: TicketPriority::Medium,
        assigned: true,
        hours_ago: 12,
        reply: None,
        note: Some("Check the storage calendar first."),
        tags: "[\"storage\"]",
    },
    Spec {
        subject: "Elevator booking at destination",
        description: "Do you book the elevator in the new building or do we?",
        status: TicketStatus::InProgress,
        priority: TicketPriority::Medium,
        assigned: false,
        hours_ago: 3,
        reply: Some("We book it; we need the caretaker's number."),
        note: None,
        tags: "[]",
    },
];

/// A photo of the scratch (a 2×2 PNG).
const PHOTO: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x61, 0xa3, 0x01,
    0x44, 0x0c, 0x10, 0x0a, 0x00, 0x23, 0x5e, 0x04, 0xb1, 0x6e, 0x03, 0x7e, 0x1c, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The repair partner's quote, for staff only.
const QUOTE: &[u8] = b"Repair of piano lid (French polish): 2 400 SEK, 3 working days.\n";

/// Stores the demo tickets; returns how many.
pub async fn seed(services: &Services, desk: &DemoDesk) -> anyhow::Result<usize> {
    let outcome = services
        .mutate(async |tx| {
            let now = time::now();
            for (i, spec) in SPECS.iter().enumerate() {
                let client = desk.clients[i % desk.clients.len()];
                let opened = now - Duration::hours(spec.hours_ago);
                let agent = if i % 3 == 2 { desk.admin } else { desk.agent };
                let mut row = TicketRow {
                    id: TicketId::new(),
                    tenant_id: desk.tenant,
                    number: 1001 + i32::try_from(i).unwrap_or(0),
                    subject: spec.subject.to_owned(),
                    description: spec.description.to_owned(),
                    search_text: search_text(spec.subject, spec.description),
                    status: spec.status,
                    priority: spec.priority,
                    requester_id: client,
                    assignee_id: spec.assigned.then_some(agent),
                    customer_id: None,
                    job_id: None,
                    tags: spec.tags.to_owned(),
                    reply_token: crate::inbound::token(),
                    first_response_at: spec.reply.map(|_| opened + Duration::minutes(45)),
                    resolved_at: matches!(
                        spec.status,
                        TicketStatus::Resolved | TicketStatus::Closed
                    )
                    .then(|| opened + Duration::hours(4)),
                    closed_at: (spec.status == TicketStatus::Closed)
                        .then(|| opened + Duration::hours(30)),
                    first_response_due_at: opened,
                    resolution_due_at: opened,
                    due_at: opened,
                    sla_breached: false,
                    priority_rank: 0,
                    status_rank: 0,
                    metadata: "{}".into(),
                    created_by: Some(client),
                    created_at: opened,
                    updated_at: opened,
                    version: 1,
                };
                let sla = slas::of(tx, desk.tenant, spec.priority).await?;
                slas::plan(&mut row, sla);
                slas::settle(&mut row, now);
                crate::tickets::ranked(&mut row);
                let row = write::insert::<Ticket>(tx, row).await?;
                let mut entries = vec![(
                    TicketActivityKind::Opened,
                    Some(client),
                    Some(spec.description),
                    0,
                )];
                if let Some(reply) = spec.reply {
                    entries.push((TicketActivityKind::Comment, Some(agent), Some(reply), 45));
                }
                if let Some(note) = spec.note {
                    entries.push((
                        TicketActivityKind::InternalNote,
                        Some(agent),
                        Some(note),
                        50,
                    ));
                }
                if i == 0 {
                    let files = [
                        (
                            "piano-scratch.png",
                            "image/png",
                            PHOTO,
                            Some(client),
                            false,
                            60,
                        ),
                        (
                            "repair-quote.txt",
                            "text/plain",
                            QUOTE,
                            Some(agent),
                            true,
                            70,
                        ),
                    ];
                    for (name, content_type, bytes, author, internal, minutes) in files {
                        let at = opened + Duration::minutes(minutes);
                        let id = TicketAttachmentId::new();
                        let file = TicketAttachmentRow {
                            id,
                            tenant_id: desk.tenant,
                            ticket_id: row.id,
                            file_name: name.to_owned(),
                            content_type: content_type.to_owned(),
                            size_bytes: bytes.len() as i64,
                            internal,
                            author_id: author,
                            created_at: at,
                            updated_at: at,
                            version: 1,
                        };
                        write::insert::<TicketAttachment>(tx, file).await?;
                        let entry = TicketActivityRow {
                            id: TicketActivityId::new(),
                            tenant_id: desk.tenant,
                            ticket_id: row.id,
                            kind: TicketActivityKind::AttachmentAdded,
                            author_id: author,
                            body: Some(name.to_owned()),
                            from_value: None,
                            to_value: Some(id.to_global().to_string()),
                            created_at: at,
                            updated_at: at,
                            version: 1,
                            internal,
                        };
                        write::insert::<TicketActivity>(tx, entry).await?;
                        services
                            .files
                            .put(&storage_key(desk.tenant, id), bytes.into())
                            .await?;
                    }
                }
                for (kind, author, body, minutes) in entries {
                    let at = opened + Duration::minutes(minutes);
                    let entry = TicketActivityRow {
                        id: TicketActivityId::new(),
                        tenant_id: desk.tenant,
                        ticket_id: row.id,
                        kind,
                        author_id: author,
                        body: body.map(str::to_owned),
                        from_value: None,
                        to_value: None,
                        created_at: at,
                        updated_at: at,
                        version: 1,
                        internal: kind == TicketActivityKind::InternalNote,
                    };
                    write::insert::<TicketActivity>(tx, entry).await?;
                }
            }
            crate::tickets::opening::reserve_numbers(
                tx,
                desk.tenant,
                1000 + i32::try_from(SPECS.len()).unwrap_or(0),
            )
            .await?;
            Ok::<_, Rejection>(SPECS.len())
        })
        .await;
    outcome.map_err(|r| anyhow::anyhow!("demo support desk: {r:?}"))
}
