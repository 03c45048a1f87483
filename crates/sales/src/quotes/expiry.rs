//! Quotes past `validUntil` become EXPIRED without anyone asking. The deadline is in the
//! database, so a sweep after a restart catches up; each sweep flips only quotes still
//! unanswered (the update is conditioned on the version it read, so a quote accepted meanwhile
//! stays accepted and concurrent sweepers on several replicas are harmless) and records the
//! change like any other.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{Caller, Error, Rejection, Services, TenantId, db_run, time};
use tokio_util::sync::CancellationToken;

use super::events::QuoteExpired;
use super::mutations::moved;
use super::{QuoteId, QuoteRow, QuoteStatus};
use crate::Quote;
use crate::schema::quotes;
use switchyard_kernel::write;

/// Expires every quote that is due; returns how many.
pub async fn sweep(services: &Services) -> Result<usize, Error> {
    let mut expired = 0;
    loop {
        let now = time::now();
        let due: Vec<(QuoteId, TenantId)> = {
            let mut pooled = services.db.read().await?;
            let mut conn = pooled.conn();
            db_run!(&mut conn, |c| quotes::table
                .filter(quotes::status.eq_any(["SENT", "VIEWED"]))
                .filter(quotes::valid_until.le(now))
                .order(quotes::valid_until.asc())
                .limit(100)
                .select((quotes::id, quotes::tenant_id))
                .load(c)
                .await)?
        };
        if due.is_empty() {
            return Ok(expired);
        }
        for (id, tenant) in due {
            let system = Caller::system(tenant, &services.catalog);
            let done = services
                .mutate(async |tx| {
                    let before: Option<QuoteRow> = db_run!(tx, |c| quotes::table
                        .find(id)
                        .filter(quotes::status.eq_any(["SENT", "VIEWED"]))
                        .select(QuoteRow::as_select())
                        .first(c)
                        .await
                        .optional())?;
                    let Some(before) = before else {
                        return Ok(false);
                    };
                    // A quote answered or viewed in between is left for the next pass.
                    let row = moved(&before, QuoteStatus::Expired, None, None);
                    let expired = QuoteExpired::of;
                    match write::update::<Quote, _>(tx, &system, &before, row, expired).await {
                        Ok(_) => {}
                        Err(Error::Conflict(_)) => return Ok(false),
                        Err(e) => return Err(e.into()),
                    }
                    Ok::<_, Rejection>(true)
                })
                .await
                .map_err(|r| match r {
                    Rejection::Failed(e) => e,
                    Rejection::Invalid(_) => Error::internal(anyhow::anyhow!("expiry refused")),
                })?;
            expired += usize::from(done);
        }
    }
}

/// Sweeps every `interval` until `shutdown`.
pub fn spawn(
    services: Services,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&services).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "quotes expired"),
                Err(error) => tracing::warn!(?error, "quote expiry sweep failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    })
}
