//! The follow-ups completed appointments raise, per kind (`setAppointmentFollowUp`,
//! `appointmentFollowUps`): a sales task about the appointment's customer, raised by
//! `completeAppointment` in its own transaction, so once.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{Caller, Conn, ContextExt, Error, Rejection, TenantId, db_run};
use switchyard_sales::tasks::{TaskId, TaskKind};

use super::{AppointmentKind, AppointmentRow};
use crate::permissions::APPOINTMENT_READ;
use crate::schema::appointment_follow_ups;

/// The follow-up a completed appointment of one kind raises.
#[derive(SimpleObject, Clone)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct AppointmentFollowUp {
    pub kind: AppointmentKind,
    /// The task's title (a site-visit report, a satisfaction call...).
    pub title: String,
    /// Days after completion it is due.
    pub days: i32,
}

switchyard_kernel::payload!(
    /// The result of `setAppointmentFollowUp`.
    AppointmentFollowUpPayload { follow_ups: Vec<AppointmentFollowUp> }
);

#[derive(Default)]
pub struct AppointmentFollowUpMutation;

#[Object]
impl AppointmentFollowUpMutation {
    /// Sets the follow-up a completed appointment of `kind` raises (a task about its customer
    /// for the customer's sales rep); no `title`: none.
    #[graphql(directive = Require::apply(switchyard_operations::permissions::SETTINGS_MANAGE))]
    async fn set_appointment_follow_up(
        &self,
        ctx: &Context<'_>,
        kind: AppointmentKind,
        title: Option<String>,
        #[graphql(default = 1)] days: i32,
    ) -> async_graphql::Result<AppointmentFollowUpPayload> {
        let caller = ctx.caller()?;
        let tenant = caller.tenant_id;
        let title = title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        let outcome = ctx
            .mutate(async |tx| {
                let mut check = Check::new();
                check
                    .max_len("title", title.as_deref().unwrap_or(""), 200)
                    .within("days", days, 0..=60);
                check.finish()?;
                db_run!(tx, |c| diesel::delete(
                    appointment_follow_ups::table
                        .filter(appointment_follow_ups::tenant_id.eq(tenant))
                        .filter(appointment_follow_ups::kind.eq(kind.as_str()))
                )
                .execute(c)
                .await)?;
                if let Some(title) = &title {
                    let row = (
                        appointment_follow_ups::tenant_id.eq(tenant),
                        appointment_follow_ups::kind.eq(kind.as_str()),
                        appointment_follow_ups::title.eq(title),
                        appointment_follow_ups::days.eq(days),
                    );
                    db_run!(tx, |c| diesel::insert_into(appointment_follow_ups::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
                Ok::<_, Rejection>(follow_ups(tx, tenant).await?)
            })
            .await;
        AppointmentFollowUpPayload::from_outcome(outcome, |all| AppointmentFollowUpPayload {
            follow_ups: Some(all),
            user_errors: Vec::new(),
        })
    }
}

#[derive(Default)]
pub struct AppointmentFollowUpQuery;

#[Object]
impl AppointmentFollowUpQuery {
    /// The follow-ups completed appointments raise, per kind.
    #[graphql(directive = Require::apply(APPOINTMENT_READ))]
    async fn appointment_follow_ups(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AppointmentFollowUp>> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(follow_ups(&mut pooled.conn(), caller.tenant_id).await?)
    }
}

async fn follow_ups(
    conn: &mut Conn<'_>,
    tenant: TenantId,
) -> Result<Vec<AppointmentFollowUp>, Error> {
    let rows: Vec<(String, String, i32)> = db_run!(conn, |c| appointment_follow_ups::table
        .filter(appointment_follow_ups::tenant_id.eq(tenant))
        .order(appointment_follow_ups::kind.asc())
        .select((
            appointment_follow_ups::kind,
            appointment_follow_ups::title,
            appointment_follow_ups::days
        ))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, title, days)| {
            Some(AppointmentFollowUp {
                kind: AppointmentKind::parse(&kind)?,
                title,
                days,
            })
        })
        .collect())
}

/// The follow-up task of a completed appointment, if its kind has one and it is about a
/// customer.
pub(super) async fn raise(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &AppointmentRow,
    now: NaiveDateTime,
) -> Result<Option<TaskId>, Error> {
    let Some(customer) = row.customer_id else {
        return Ok(None);
    };
    let configured = follow_ups(tx, caller.tenant_id).await?;
    let Some(follow_up) = configured.into_iter().find(|f| f.kind == row.kind) else {
        return Ok(None);
    };
    let task = switchyard_sales::tasks::follow_up_customer(
        tx,
        caller,
        TaskId::new(),
        customer,
        TaskKind::FollowUp,
        format!("{}: {}", follow_up.title, row.title),
        now + Duration::days(follow_up.days.into()),
    )
    .await?;
    Ok(Some(task.id))
}
