//! An accepted quote becomes a job by itself: the reaction to `sales.quote.accepted`.
//!
//! Exactly once, however often the event is delivered and however many processes handle it:
//! the job and the quote's move to CONVERTED commit in one transaction, a job already made
//! for the quote ends the reaction, and the unique index on `(tenant_id, quote_id)` refuses a
//! second job from a racing process (whose transaction then finds the first one's job).

use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::events::{EventHandler, on};
use switchyard_kernel::{Caller, Error, Rejection, Services, TenantId, db_run, time, write};
use switchyard_sales::quotes::events::QuoteAccepted;

use super::events::JobCreated;
use super::{Job, JobId, JobRow, JobStatus};
use crate::schema::jobs;

/// The reaction, as the module registers it.
pub fn handler(services: &Services) -> Arc<dyn EventHandler> {
    let services = services.clone();
    on::<QuoteAccepted, _, _>("operations.job_from_quote", move |accepted, event| {
        let services = services.clone();
        async move {
            make(&services, event.tenant_id, &accepted)
                .await
                .map(|_| ())
                .map_err(|e| {
                    anyhow::anyhow!("making the job of quote {}: {e:?}", accepted.quote.id)
                })
        }
    })
}

/// Makes the job of an accepted quote, unless it was made; returns the new job's ID.
pub async fn make(
    services: &Services,
    tenant: TenantId,
    accepted: &QuoteAccepted,
) -> Result<Option<JobId>, Error> {
    let system = Caller::system(tenant, &services.catalog);
    let quote = &accepted.quote;
    let outcome = services
        .mutate(async |tx| {
            if made(tx, tenant, quote.id).await?.is_some() {
                return Ok(None);
            }
            let contact =
                switchyard_sales::customers::contact_in_tenant(tx, tenant, quote.customer_id)
                    .await?;
            let booked = switchyard_sales::bookings::move_of_quote(tx, tenant, quote.id).await?;
            let location = accepted
                .location_id
                .or(booked.as_ref().and_then(|b| b.location))
                .or(contact.location);
            let window = match (&booked, location) {
                (Some(booked), Some(location)) => {
                    let zone =
                        switchyard_identity::locations::time_zone(tx, tenant, location).await?;
                    moving_day(booked.date, &zone)
                }
                _ => None,
            };
            let now = time::now();
            let row = JobRow {
                id: JobId::new(),
                tenant_id: tenant,
                customer_id: quote.customer_id,
                quote_id: Some(quote.id),
                location_id: location,
                status: JobStatus::Scheduled,
                contact_name: Some(contact.name),
                on_site_phone: contact.phone,
                origin: booked
                    .as_ref()
                    .map(|b| b.origin.clone())
                    .or(contact.address),
                destination: booked.as_ref().map(|b| b.destination.clone()),
                planned_start: window.map(|w| w.0),
                planned_end: window.map(|w| w.1),
                estimated_minutes: None,
                crew_size: None,
                notes: format!("Quote {} as accepted.", quote.number),
                currency: Some(quote.currency.clone()),
                items: serde_json::to_string(&accepted.items).map_err(Error::internal)?,
                total_minor: Some(quote.total_minor),
                actual_minutes: None,
                dispatched_at: None,
                started_at: None,
                completed_at: None,
                cancelled_at: None,
                cancel_reason: None,
                follow_up_task_id: None,
                created_by: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let row = write::create::<Job, _>(tx, &system, row, JobCreated::of).await?;
            crate::crew::notices::plan(tx, &row).await?;
            switchyard_sales::quotes::mutations::convert(tx, &system, quote.id).await?;
            Ok::<_, Rejection>(Some(row.id))
        })
        .await;
    match outcome {
        Ok(made) => Ok(made),
        // Another process made it between our check and our insert.
        Err(Rejection::Failed(Error::Conflict(_))) if made_now(services, tenant, quote).await? => {
            Ok(None)
        }
        Err(Rejection::Failed(error)) => Err(error),
        Err(Rejection::Invalid(errors)) => Err(Error::internal(anyhow::anyhow!(
            "the job of an accepted quote was refused: {errors:?}"
        ))),
    }
}

/// A booked moving day, 08:00 to 16:00 in the location's time zone (as UTC), until a
/// dispatcher plans it otherwise; none for a zone that does not resolve.
fn moving_day(
    date: chrono::NaiveDate,
    zone: &str,
) -> Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    use chrono::TimeZone;
    let zone: chrono_tz::Tz = zone.parse().ok()?;
    let at = |hour| {
        let local = date.and_hms_opt(hour, 0, 0)?;
        Some(zone.from_local_datetime(&local).earliest()?.naive_utc())
    };
    Some((at(8)?, at(16)?))
}

/// The job already made from `quote`, if any.
async fn made(
    tx: &mut switchyard_kernel::Conn<'_>,
    tenant: TenantId,
    quote: switchyard_sales::quotes::QuoteId,
) -> Result<Option<JobId>, Error> {
    Ok(db_run!(tx, |c| jobs::table
        .filter(jobs::tenant_id.eq(tenant))
        .filter(jobs::quote_id.eq(quote))
        .select(jobs::id)
        .first(c)
        .await
        .optional())?)
}

async fn made_now(
    services: &Services,
    tenant: TenantId,
    quote: &switchyard_sales::quotes::events::QuoteData,
) -> Result<bool, Error> {
    let mut pooled = services.db.read().await?;
    Ok(made(&mut pooled.conn(), tenant, quote.id).await?.is_some())
}
