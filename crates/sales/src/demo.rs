//! The demo company's sales data: 200 customers with believable names, addresses and
//! amounts; leads in every status; activities (some with call-backs); tasks, some waiting in
//! queues; quotes in every status, priced like a Swedish moving company would.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchyard_kernel::access::{Caller, Principal, Scope, UserKind};
use switchyard_kernel::address::Address;
use switchyard_kernel::money::Long;
use switchyard_kernel::{LocationId, Rejection, Services, TenantId, UserId, db_run, time};

use crate::activities::{ActivityId, ActivityKind};
use crate::activities::{ActivityRow, SalesActivity};
use crate::customers::CustomerStage;
use crate::customers::mutations::{Fields, insert as insert_customer};
use crate::ids::{CustomerId, TaskId};
use crate::leads::{Lead, LeadRow};
use crate::leads::{LeadId, LeadPriority, LeadStatus};
use crate::quotes::QuoteId;
use crate::quotes::mutations::{QuoteItemInput, create_draft, moved};
use crate::quotes::pricing::Line;
use crate::quotes::{QuoteItemCategory, QuoteStatus};
use crate::schema::quotes;
use crate::tasks::{self, NewTask, TaskKind, TaskQueue};
use switchyard_kernel::write;

/// Who the demo data belongs to.
pub struct DemoPeople {
    pub tenant: TenantId,
    pub reps: Vec<UserId>,
    pub manager: UserId,
    pub client: UserId,
    pub locations: Vec<LocationId>,
}

/// What was created.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub customers: usize,
    pub leads: usize,
    pub activities: usize,
    pub tasks: usize,
    pub quotes: usize,
    /// Bookings from the booking form waiting for a call back.
    pub bookings: usize,
    /// The quotes that became jobs: customer, quote, total and currency (operations' demo
    /// makes their jobs).
    pub converted: Vec<(CustomerId, QuoteId, i64, String)>,
}

const FIRST: &[&str] = &[
    "Anna", "Erik", "Maria", "Lars", "Karin", "Anders", "Eva", "Johan", "Sara", "Per", "Lena",
    "Mikael", "Emma", "Oskar", "Ingrid", "Nils", "Sofia", "Gustav", "Elin", "Henrik", "Maja",
    "Filip", "Astrid", "Viktor",
];
const LAST: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Lindberg",
    "Lindqvist",
    "Holm",
    "Berg",
    "Sandberg",
    "Ek",
    "Dahl",
    "Strand",
];
const COMPANIES: &[&str] = &[
    "Nordkust Konsult AB",
    "Vasa Tandvård",
    "Bergström Arkitekter",
    "Ljusgården Förskola",
    "Kvarnen Bageri",
    "Solvik Fastigheter",
    "Mälarens Advokatbyrå",
    "Fjällstuga Resor",
    "Östermalm Design",
    "Göta Logistik",
    "Skärgårdens Hotell",
    "Tornet IT-konsult",
];
const STREETS: &[&str] = &[
    "Storgatan",
    "Kungsgatan",
    "Drottninggatan",
    "Vasagatan",
    "Järnvägsgatan",
    "Skolgatan",
    "Parkvägen",
    "Björkvägen",
    "Sjövägen",
    "Hamngatan",
];
const CITIES: &[(&str, &str)] = &[
    ("Stockholm", "114"),
    ("Göteborg", "411"),
    ("Uppsala", "753"),
    ("Västerås", "722"),
    ("Örebro", "702"),
    ("Solna", "171"),
    ("Mölndal", "431"),
];
const SOURCES: &[&str] = &[
    "Website",
    "Referral",
    "Google Ads",
    "Trade show",
    "Returning customer",
    "Partner: real estate agent",
];
const TAGS: &[&str] = &[
    "moving",
    "storage",
    "office",
    "piano",
    "international",
    "vip",
    "packing",
];

/// (description, unit price in öre, unit cost in öre, category, optional)
const SERVICES: &[(&str, i64, i64, QuoteItemCategory, bool)] = &[
    (
        "Moving crew, two movers (per hour)",
        79_500,
        52_000,
        QuoteItemCategory::MovingServices,
        false,
    ),
    (
        "Moving truck 25 m³ (per day)",
        149_500,
        90_000,
        QuoteItemCategory::EquipmentRental,
        false,
    ),
    (
        "Packing service (per hour)",
        59_500,
        38_000,
        QuoteItemCategory::PackingServices,
        false,
    ),
    (
        "Packing materials kit",
        89_000,
        41_000,
        QuoteItemCategory::PackingServices,
        false,
    ),
    (
        "Piano transport",
        250_000,
        150_000,
        QuoteItemCategory::SpecialtyServices,
        false,
    ),
    (
        "Storage unit 10 m² (per month)",
        129_000,
        60_000,
        QuoteItemCategory::StorageServices,
        false,
    ),
    (
        "Disposal of old furniture",
        99_500,
        55_000,
        QuoteItemCategory::Other,
        false,
    ),
    (
        "Transport insurance, full value",
        49_500,
        20_000,
        QuoteItemCategory::Insurance,
        true,
    ),
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn acting_as(
    services: &Services,
    tenant: TenantId,
    user: UserId,
    locations: &[LocationId],
) -> Caller {
    Caller::new(
        tenant,
        Principal::User {
            id: user,
            kind: UserKind::Staff,
            session: None,
        },
        locations.to_vec(),
        services
            .catalog
            .all()
            .map(|d| (d.name.to_owned(), Scope::Tenant)),
    )
}

fn fail(r: Rejection) -> anyhow::Error {
    anyhow::anyhow!("{r:?}")
}

/// Fills the demo company's sales data (deterministic: the same every time).
pub async fn seed(services: &Services, people: &DemoPeople) -> anyhow::Result<DemoSummary> {
    let tenant = people.tenant;
    crate::settings::provision(services, tenant, "SEK", 2_500, true, "46").await?;
    let mut rng = StdRng::seed_from_u64(2026);
    let mut summary = DemoSummary::default();
    let statuses = LeadStatus::ALL;
    let quote_statuses = [
        QuoteStatus::Draft,
        QuoteStatus::Sent,
        QuoteStatus::Viewed,
        QuoteStatus::Accepted,
        QuoteStatus::Rejected,
        QuoteStatus::Expired,
        QuoteStatus::Converted,
    ];
    for i in 0..200usize {
        let rep = people.reps[i % people.reps.len()];
        let location = people.locations[i % people.locations.len()];
        let caller = acting_as(services, tenant, rep, &people.locations);
        let company = i % 4 == 3;
        let (first, last) = (
            pick(&mut rng, FIRST).to_string(),
            pick(&mut rng, LAST).to_string(),
        );
        let company_name = company.then(|| format!("{} {}", pick(&mut rng, COMPANIES), i));
        let local = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i)
            .replace(['å', 'ä'], "a")
            .replace('ö', "o");
        let (city, zip) = *pick(&mut rng, CITIES);
        let fields = Fields {
            first_name: (!company).then(|| first.clone()),
            last_name: (!company).then(|| last.clone()),
            company_name,
            email: Some(format!("{local}@example.se")),
            phone: Some(format!("+4670{:07}", 1_000_000 + i * 7_919 % 8_999_999)),
            phone_search: String::new(),
            address: Some(Address {
                line1: format!("{} {}", pick(&mut rng, STREETS), rng.random_range(1..120)),
                line2: None,
                city: city.to_owned(),
                region: None,
                postal_code: format!("{zip} {:02}", rng.random_range(10..99)),
                country: "SE".to_owned(),
                latitude: None,
                longitude: None,
            }),
            lead_source: Some(pick(&mut rng, SOURCES).to_string()),
            tags: vec![pick(&mut rng, TAGS).to_string()],
            assigned_to: (i % 10 != 9).then_some(rep),
            // The demo's portal client represents the second customer, which has quotes.
            portal_user: (i == 1).then_some(people.client),
            location: Some(location),
            estimated_value: Some((rng.random_range(50..1500) * 10_000, "SEK".to_owned())),
            notes: String::new(),
        };
        let mut fields = fields;
        if let Some(p) = &fields.phone {
            fields.phone_search = format!(
                "{} {}",
                p.trim_start_matches('+'),
                p.trim_start_matches("+46")
            );
        }
        let stage = match i % 9 {
            0 | 1 => CustomerStage::Prospect,
            2 => CustomerStage::Contacted,
            3 => CustomerStage::Qualified,
            4 => CustomerStage::Proposal,
            5 => CustomerStage::Negotiation,
            6 => CustomerStage::Won,
            7 => CustomerStage::Lost,
            _ => CustomerStage::Dormant,
        };
        let quote_status = (i < 140).then(|| quote_statuses[i % quote_statuses.len()]);
        let manager = people.manager;
        let counts = services
            .mutate(async |tx| {
                let customer =
                    insert_customer(tx, &caller, CustomerId::new(), &fields, stage).await?;
                let mut counts = DemoSummary {
                    customers: 1,
                    ..Default::default()
                };
                let now = time::now();
                if i < 120 {
                    let status = statuses[i % statuses.len()];
                    let lead = LeadRow {
                        id: LeadId::new(),
                        tenant_id: tenant,
                        customer_id: customer.id,
                        status,
                        priority: LeadPriority::ALL[i % 4],
                        score: (i * 37 % 100) as i32,
                        source: customer.lead_source.clone(),
                        estimated_move_date: Some(
                            (now + Duration::days((i % 90) as i64 + 7)).date(),
                        ),
                        estimated_value_minor: customer.estimated_value_minor,
                        currency: Some("SEK".to_owned()),
                        follow_up_at: None,
                        notes: String::new(),
                        created_by: Some(rep),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    write::insert::<Lead>(tx, lead).await?;
                    counts.leads += 1;
                }
                for a in 0..(i % 3) {
                    let kind = ActivityKind::ALL[(i + a) % ActivityKind::ALL.len()];
                    let follow_up =
                        (a == 0 && i % 5 == 0).then(|| now + Duration::days((i % 14) as i64 + 1));
                    let id = ActivityId::new();
                    let subject = format!(
                        "{} with {}",
                        match kind {
                            ActivityKind::Call => "Call",
                            ActivityKind::Email => "Email",
                            ActivityKind::Meeting => "Meeting",
                            ActivityKind::ProposalSent => "Proposal sent",
                            ActivityKind::FollowUp => "Follow-up",
                            ActivityKind::SiteVisit => "Site visit",
                            ActivityKind::Note => "Note",
                        },
                        customer.display_name
                    );
                    let task = match follow_up {
                        Some(due) => Some(
                            tasks::insert(
                                tx,
                                &caller,
                                TaskId::new(),
                                NewTask {
                                    kind: TaskKind::CallBack,
                                    title: format!("Call back: {subject}"),
                                    due_at: Some(due),
                                    customer: Some(customer.id),
                                    activity: Some(id),
                                    assignee: Some(rep),
                                    queue: None,
                                },
                            )
                            .await?,
                        ),
                        None => None,
                    };
                    counts.tasks += usize::from(task.is_some());
                    let activity = ActivityRow {
                        id,
                        tenant_id: tenant,
                        customer_id: customer.id,
                        lead_id: None,
                        owner_id: rep,
                        kind,
                        subject,
                        description:
                            "Discussed the move: dates, volume and access at both addresses."
                                .to_owned(),
                        outcome: Some("Interested".to_owned()),
                        next_action: None,
                        duration_minutes: Some(15 + (i % 4) as i32 * 15),
                        occurred_at: now - Duration::days((i % 30) as i64),
                        follow_up_at: follow_up,
                        follow_up_task_id: task.map(|t| t.id),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    write::insert::<SalesActivity>(tx, activity).await?;
                    counts.activities += 1;
                }
                if i % 20 == 0 {
                    tasks::insert(
                        tx,
                        &caller,
                        TaskId::new(),
                        NewTask {
                            kind: TaskKind::FollowUp,
                            title: format!("Qualify {}", customer.display_name),
                            due_at: Some(now + Duration::days(2)),
                            customer: Some(customer.id),
                            activity: None,
                            assignee: None,
                            queue: Some(if i % 40 == 0 {
                                TaskQueue::InsideSales
                            } else {
                                TaskQueue::SalesOps
                            }),
                        },
                    )
                    .await?;
                    counts.tasks += 1;
                }
                if let Some(status) = quote_status {
                    let lines: Vec<(QuoteItemInput, Line)> = (0..(2 + i % 4))
                        .map(|n| {
                            let (description, price, cost, category, optional) =
                                SERVICES[(i + n * 3) % SERVICES.len()];
                            let quantity = if description.contains("per hour") {
                                4 + (i % 5) as i32
                            } else {
                                1
                            };
                            (
                                QuoteItemInput {
                                    description: description.to_owned(),
                                    quantity,
                                    unit_price_minor: Long(price),
                                    unit_cost_minor: Some(Long(cost)),
                                    category,
                                    optional,
                                    sort_order: Some(n as i32),
                                },
                                Line {
                                    quantity: i64::from(quantity),
                                    unit_price: price,
                                    unit_cost: Some(cost),
                                    optional,
                                },
                            )
                        })
                        .collect();
                    let quote =
                        create_draft(tx, &caller, customer.id, &lines, now + Duration::days(30))
                            .await?;
                    let id = quote.id;
                    let quote = db_run!(tx, |c| diesel::update(quotes::table.find(id))
                        .set((
                            quotes::approved_by
                                .eq((status != QuoteStatus::Draft).then(|| manager.to_string())),
                            quotes::approved_at.eq((status != QuoteStatus::Draft).then_some(now)),
                            quotes::valid_until.eq(if status == QuoteStatus::Expired {
                                now - Duration::days(3)
                            } else {
                                now + Duration::days(30)
                            }),
                        ))
                        .returning(crate::quotes::QuoteRow::as_returning())
                        .get_result(c)
                        .await)?;
                    let mut row = quote;
                    let path: &[QuoteStatus] = match status {
                        QuoteStatus::Draft => &[],
                        QuoteStatus::Sent => &[QuoteStatus::Sent],
                        QuoteStatus::Viewed => &[QuoteStatus::Sent, QuoteStatus::Viewed],
                        QuoteStatus::Accepted => &[
                            QuoteStatus::Sent,
                            QuoteStatus::Viewed,
                            QuoteStatus::Accepted,
                        ],
                        QuoteStatus::Rejected => &[QuoteStatus::Sent, QuoteStatus::Rejected],
                        QuoteStatus::Expired => &[QuoteStatus::Sent, QuoteStatus::Expired],
                        QuoteStatus::Converted => &[
                            QuoteStatus::Sent,
                            QuoteStatus::Accepted,
                            QuoteStatus::Converted,
                        ],
                    };
                    for step in path {
                        let reason =
                            (*step == QuoteStatus::Rejected).then_some("Went with a cheaper offer");
                        let next = moved(&row, *step, Some(rep), reason);
                        row = write::store::<crate::Quote>(tx, &row, next).await?;
                    }
                    if status == QuoteStatus::Converted {
                        counts.converted.push((
                            customer.id,
                            row.id,
                            row.total_minor,
                            row.currency.clone(),
                        ));
                    }
                    counts.quotes += 1;
                }
                Ok::<_, Rejection>(counts)
            })
            .await
            .map_err(fail)?;
        summary.customers += counts.customers;
        summary.leads += counts.leads;
        summary.activities += counts.activities;
        summary.tasks += counts.tasks;
        summary.quotes += counts.quotes;
        summary.converted.extend(counts.converted);
    }
    summary.bookings = crate::bookings::intake::seed_demo(services, tenant, people.locations[0])
        .await
        .map_err(fail)?;
    Ok(summary)
}
